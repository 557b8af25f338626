package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter"
)

func TestConfigPrecedence(t *testing.T) {
	const fileCfg = `{"environment":"test","asl":"aslba_test","base_url":"https://file.example:8181","trace_dir":"/from/file","tls":{"cert_file":"file.pem"},"operator":{"cf":"PROVAX00X00X000Y","role":"APR"},"structure":{"code":"S1","name":"Lab"}}`
	tests := []struct {
		name     string
		file     string            // content of the default config file ("" = none)
		env      map[string]string // FSEPUGLIA_*
		flags    []string          // global flags
		wantCode int
		check    func(t *testing.T, c adapter.Config)
		errHas   []string
	}{
		{name: "file only", file: fileCfg, check: func(t *testing.T, c adapter.Config) {
			if c.BaseURL != "https://file.example:8181" || c.TLS.CertFile != "file.pem" || c.Operator.Role != "APR" || c.TraceDir != "/from/file" {
				t.Errorf("config from file not applied: %+v", c)
			}
		}},
		{name: "env overrides file", file: fileCfg, env: map[string]string{"FSEPUGLIA_BASE_URL": "https://env.example", "FSEPUGLIA_CERT_FILE": "env.pem", "FSEPUGLIA_TRACE_DIR": "/from/env"},
			check: func(t *testing.T, c adapter.Config) {
				if c.BaseURL != "https://env.example" || c.TLS.CertFile != "env.pem" || c.TraceDir != "/from/env" {
					t.Errorf("env did not override: %+v", c)
				}
				if c.ASL != "aslba_test" {
					t.Errorf("file value lost: asl %q", c.ASL)
				}
			}},
		{name: "flag overrides env and file", file: fileCfg, env: map[string]string{"FSEPUGLIA_BASE_URL": "https://env.example", "FSEPUGLIA_ASL": "aslba"},
			flags: []string{"--base-url", "https://flag.example", "--trace-raw"},
			check: func(t *testing.T, c adapter.Config) {
				if c.BaseURL != "https://flag.example" || !c.TraceRaw {
					t.Errorf("flag did not override: %+v", c)
				}
				if c.ASL != "aslba" {
					t.Errorf("env value lost: asl %q", c.ASL)
				}
			}},
		{name: "missing default file is fine", flags: []string{"--env", "test"}, check: func(t *testing.T, c adapter.Config) {
			if c.Environment != "test" || c.ASL != "" || c.BaseURL != "" {
				t.Errorf("want only --env: %+v", c)
			}
		}},
		{name: "no environment anywhere", wantCode: exitInput, errHas: []string{"environment", "test, prod or local"}},
		{name: "unknown ASL named before any call", flags: []string{"--env", "test", "--asl", "aslxx"}, wantCode: exitInput, errHas: []string{"aslxx", "aslba_test"}},
		{name: "unknown environment", flags: []string{"--env", "preprod"}, wantCode: exitInput, errHas: []string{"preprod", "test, prod or local"}},
		{name: "alias warns", flags: []string{"--env", "prod", "--asl", "aslfgr"}, env: map[string]string{"FSEPUGLIA_ALLOW_PRODUCTION": "1"}, errHas: []string{"warning: ", "aslfg"},
			check: func(t *testing.T, c adapter.Config) {}},
		{name: "missing explicit file names it", flags: []string{"--config", "/nonexistent/fse.json"}, wantCode: exitInput,
			errHas: []string{"/nonexistent/fse.json", "--config"}},
		{name: "missing file from FSEPUGLIA_CONFIG names it", env: map[string]string{"FSEPUGLIA_CONFIG": "/nonexistent/env.json"}, wantCode: exitInput,
			errHas: []string{"/nonexistent/env.json"}},
		{name: "empty file is an empty config", file: "\n", flags: []string{"--env", "test"}, check: func(t *testing.T, c adapter.Config) {
			if c.Environment != "test" || c.ASL != "" {
				t.Errorf("config from an empty file: %+v", c)
			}
		}},
		{name: "truncated file", file: `{"environment":"test"`, wantCode: exitInput, errHas: []string{"config.json", "invalid JSON"}},
		{name: "unknown key in file", file: `{"enviroment":"test"}`, wantCode: exitInput, errHas: []string{"config.json", "enviroment"}},
		{name: "password is not serialised from file", file: `{"tls":{"key_password":"x"}}`, wantCode: exitInput, errHas: []string{"key_password"}},
		{name: "password from env", env: map[string]string{"FSEPUGLIA_ENV": "test", "FSEPUGLIA_KEY_PASSWORD": "s3cret"}, check: func(t *testing.T, c adapter.Config) {
			if c.TLS.KeyPassword != "s3cret" || c.Signer.KeyPassword != "s3cret" {
				t.Errorf("password not applied to TLS and signer")
			}
		}},
		{name: "password flag value refused", flags: []string{"--key-password", "s3cret"}, wantCode: exitUsage},
		{name: "prod without opt-in", flags: []string{"--env", "prod"}, wantCode: exitInput, errHas: []string{"FSEPUGLIA_ALLOW_PRODUCTION", "allow_production"}},
		{name: "prod with env opt-in", env: map[string]string{"FSEPUGLIA_ALLOW_PRODUCTION": "1"}, flags: []string{"--env", "prod", "--asl", "aslfg"},
			check: func(t *testing.T, c adapter.Config) {
				if c.Environment != "prod" || !c.AllowProduction {
					t.Errorf("opt-in not applied: %+v", c)
				}
			}},
		{name: "prod with file opt-in", file: `{"environment":"prod","asl":"aslta","allow_production":true}`, check: func(t *testing.T, c adapter.Config) {
			if !c.AllowProduction {
				t.Errorf("opt-in from file not applied")
			}
		}},
		{name: "bad env boolean names the variable", env: map[string]string{"FSEPUGLIA_ALLOW_PRODUCTION": "yes please"}, wantCode: exitInput, errHas: []string{"FSEPUGLIA_ALLOW_PRODUCTION"}},
		{name: "bad output format", flags: []string{"--output", "xml"}, wantCode: exitInput, errHas: []string{"--output", "table or json"}},
		{name: "bad timeout from env", env: map[string]string{"FSEPUGLIA_TIMEOUT": "soon"}, wantCode: exitInput, errHas: []string{"FSEPUGLIA_TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.env = map[string]string{} // only what the case sets
			if tt.file != "" {
				p := filepath.Join(h.cfgDir, "fsepuglia", "config.json")
				os.MkdirAll(filepath.Dir(p), 0o700)
				if err := os.WriteFile(p, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for k, v := range tt.env {
				h.env[k] = v
			}
			args := append(append([]string{}, tt.flags...), "search", "--patient", cfA)
			h.region.searchRes = &adapter.SearchResult{}
			_, errOut, code := h.run(args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr %q does not name %q", errOut, s)
				}
			}
			if tt.check != nil {
				if h.gotCfg == nil {
					t.Fatal("the library client was never built")
				}
				tt.check(t, *h.gotCfg)
			}
			if tt.wantCode != 0 && h.gotCfg != nil {
				t.Errorf("the client was built despite a configuration error")
			}
		})
	}
}

func TestKeyPasswordFile(t *testing.T) {
	h := newHarness(t)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("from-file\n"), 0o600)
	h.env["FSEPUGLIA_KEY_PASSWORD"] = "from-env"
	h.region.searchRes = &adapter.SearchResult{}
	if _, e, code := h.run("--key-password-file", pw, "search", "--patient", cfA); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if h.gotCfg.TLS.KeyPassword != "from-file" {
		t.Fatalf("password %q, want the file's (without newline) over the environment's", h.gotCfg.TLS.KeyPassword)
	}
	_, e, code := h.run("--key-password-file", "/nonexistent/pw", "search", "--patient", cfA)
	if code != exitInput || !strings.Contains(e, "/nonexistent/pw") {
		t.Fatalf("missing password file: exit %d, stderr %q", code, e)
	}
}

func TestDataDirDefault(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	doc := writeDoc(t, dir, "a.pdf", "%PDF a", sidecar(cfA, "2.16.840.1.113883.2.9.2.160.4.4^A"))
	if _, e, code := h.run("publish", doc); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if _, err := os.Stat(filepath.Join(h.dataDir, "fsepuglia", "outbox.db")); err != nil {
		t.Fatalf("outbox not in <cache dir>/fsepuglia: %v", err)
	}
	other := t.TempDir()
	h.env["FSEPUGLIA_DATA_DIR"] = other
	h.run("publish", "--resume")
	if _, err := os.Stat(filepath.Join(other, "outbox.db")); err != nil {
		t.Fatalf("FSEPUGLIA_DATA_DIR ignored: %v", err)
	}
}
