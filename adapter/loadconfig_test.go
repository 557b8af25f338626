package adapter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"environment":"test","asl":"aslba_test","timeout":"30s",
  "tls":{"cert_file":"c.pem","key_file":"k.pem"},"base_urls":{"prod":"https://p.example.it"}}`)
	cfg, err := LoadConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Environment != "test" || cfg.TLS.CertFile != "c.pem" || time.Duration(cfg.Timeout) != 30*time.Second || cfg.BaseURLs["prod"] != "https://p.example.it" {
		t.Fatalf("%+v", cfg)
	}
	if cfg, err := LoadConfig(write("empty.json", " \n")); err != nil || cfg.Environment != "" {
		t.Fatalf("empty file: %+v %v", cfg, err)
	}
	for _, tc := range []struct {
		name, body, field, msg string
	}{
		{"unknown key", `{"environment":"test","tsl":{}}`, "tsl", "unknown key"},
		{"syntax", "{\n  \"environment\": \"test\",\n  \"asl\" \"aslba\"\n}", "config", ":3:9: invalid JSON"},
		{"truncated", `{"environment":"te`, "config", "ends in the middle"},
		{"type", `{"environment":"test","retries":"two"}`, "retries", "must be a int"},
		{"two values", `{} {}`, "config", "more than one JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(write(tc.name+".json", tc.body))
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field || !strings.Contains(ce.Msg, tc.msg) || ce.Fix == "" {
				t.Fatalf("%#v", err)
			}
		})
	}
	_, err = LoadConfig(filepath.Join(dir, "missing.json"))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "config" || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
