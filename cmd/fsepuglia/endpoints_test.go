package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		urls     []string // URLs that must be listed
		warn     string   // substring of a warning on stderr
		errHas   string
		count    int // number of endpoints, when > 0
		withASLs bool
	}{
		{name: "prod aslta", args: []string{"--env", "prod", "--asl", "aslta"}, count: 3,
			urls: []string{"https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181/aslta/IDocumentService", "https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181/aslta/ITaccuinoService"}},
		{name: "prod alias warns", args: []string{"--env", "prod", "--asl", "ashta"}, count: 3, warn: "aslta",
			urls: []string{"https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181/aslta/IGestoreConsensoService"}},
		{name: "test default tenant", args: []string{"--env", "test"}, count: 3 + 1,
			urls: []string{"https://pddasl-preprod.sanita.regione.rsr.rupar.puglia.it:8181/aslba_test/IDocumentService",
				"https://mdw-fse-preprod.sanita.regione.rsr.rupar.puglia.it/api/v1"}},
		{name: "middleware only", args: []string{"--env", "test", "--service", "middleware"}, count: 1,
			urls: []string{"https://mdw-fse-preprod.sanita.regione.rsr.rupar.puglia.it/api/v1"}},
		{name: "one service", args: []string{"--env", "test", "--service", "ITaccuinoService"}, count: 1,
			urls: []string{"https://pddasl-preprod.sanita.regione.rsr.rupar.puglia.it:8181/aslba_test/ITaccuinoService"}},
		{name: "local needs base url", args: []string{"--env", "local", "--asl", "aslle"}, code: exitInput, errHas: "base_url"},
		{name: "local with base url", args: []string{"--env", "local", "--asl", "aslle", "--base-url", "https://127.0.0.1:8443"}, count: 3,
			urls: []string{"https://127.0.0.1:8443/aslle/IDocumentService"}},
		{name: "unknown ASL in test", args: []string{"--env", "test", "--asl", "aslle"}, code: exitInput, errHas: "aslba_test"},
		{name: "unknown service", args: []string{"--env", "test", "--service", "IFoo"}, code: exitInput, errHas: "IDocumentService"},
		{name: "no environment", args: nil, code: exitUsage, errHas: "--all"},
		{name: "all", args: []string{"--all"}, count: 3 + 6*3 + 1, withASLs: true,
			urls: []string{"https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181/aslfg/IDocumentService", "https://pddasl-preprod.sanita.regione.rsr.rupar.puglia.it:8181/aslba_test/ITaccuinoService"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.env = map[string]string{}
			var global, local []string
			for i := 0; i < len(tt.args); i++ {
				switch tt.args[i] {
				case "--all":
					local = append(local, tt.args[i])
				case "--service":
					local = append(local, tt.args[i], tt.args[i+1])
					i++
				default:
					global = append(global, tt.args[i], tt.args[i+1])
					i++
				}
			}
			args := append(append(append([]string{"--output", "json"}, global...), "endpoints"), local...)
			out, e, code := h.run(args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, e)
			}
			if tt.errHas != "" && !strings.Contains(e, tt.errHas) {
				t.Fatalf("stderr %q lacks %q", e, tt.errHas)
			}
			if code != 0 {
				return
			}
			var v endpointsOutput
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatal(err)
			}
			if tt.count > 0 && len(v.Endpoints) != tt.count {
				t.Errorf("%d endpoints, want %d", len(v.Endpoints), tt.count)
			}
			for _, u := range tt.urls {
				if !strings.Contains(out, `"`+u+`"`) {
					t.Errorf("missing %s", u)
				}
			}
			if tt.warn != "" && (!strings.Contains(e, "warning: ") || !strings.Contains(e, tt.warn) || len(v.Warnings) == 0) {
				t.Errorf("no warning about %q: stderr %q", tt.warn, e)
			}
			if tt.withASLs != (len(v.ASLs) == 6) {
				t.Errorf("%d ASLs in the table", len(v.ASLs))
			}
			if h.builds != 0 {
				t.Error("endpoints built a client: it must work offline without credentials")
			}
		})
	}
}
