package endpoint

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		svc      Service
		url      string
		tenant   string
		warnings int
	}{
		{"test default tenant", Config{Environment: "test"}, DocumentService,
			"https://pddasl-preprod.sanita.regione.rsr.rupar.puglia.it:8181/aslba_test/IDocumentService", "aslba_test", 0},
		{"test explicit tenant", Config{Environment: "test", ASL: "aslba_test"}, ConsentService,
			"https://pddasl-preprod.sanita.regione.rsr.rupar.puglia.it:8181/aslba_test/IGestoreConsensoService", "aslba_test", 0},
		{"test aslba maps with warning", Config{Environment: "test", ASL: "aslba"}, TaccuinoService,
			"https://pddasl-preprod.sanita.regione.rsr.rupar.puglia.it:8181/aslba_test/ITaccuinoService", "aslba_test", 1},
		{"prod aslle", Config{Environment: "prod", ASL: "aslle"}, DocumentService,
			"https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181/aslle/IDocumentService", "aslle", 0},
		{"prod upper case", Config{Environment: "PROD", ASL: " ASLBR "}, DocumentService,
			"https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181/aslbr/IDocumentService", "aslbr", 0},
		{"prod alias aslfgr", Config{Environment: "prod", ASL: "aslfgr"}, ConsentService,
			"https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181/aslfg/IGestoreConsensoService", "aslfg", 1},
		{"prod alias ashta", Config{Environment: "prod", ASL: "ashta"}, TaccuinoService,
			"https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181/aslta/ITaccuinoService", "aslta", 1},
		{"prod base override", Config{Environment: "prod", ASL: "aslbt", BaseURL: "https://pdd-new.example.it:9443/"}, DocumentService,
			"https://pdd-new.example.it:9443/aslbt/IDocumentService", "aslbt", 0},
		{"prod base override with prefix", Config{Environment: "prod", ASL: "aslbt", BaseURL: "https://gw.example.it/fse/"}, DocumentService,
			"https://gw.example.it/fse/aslbt/IDocumentService", "aslbt", 0},
		{"service override wins", Config{Environment: "prod", ASL: "aslba", BaseURL: "https://x.example.it",
			ServiceURLs: map[string]string{"IDocumentService": "https://doc.example.it:8181/custom/Doc"}}, DocumentService,
			"https://doc.example.it:8181/custom/Doc", "aslba", 0},
		{"service override for another service", Config{Environment: "prod", ASL: "aslba",
			ServiceURLs: map[string]string{"IDocumentService": "https://doc.example.it:8181/custom/Doc"}}, TaccuinoService,
			"https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181/aslba/ITaccuinoService", "aslba", 0},
		{"local simulator http", Config{Environment: "local", ASL: "aslta", BaseURL: "http://127.0.0.1:8080"}, DocumentService,
			"http://127.0.0.1:8080/aslta/IDocumentService", "aslta", 0},
		{"local test tenant", Config{Environment: "local", ASL: "aslba_test", BaseURL: "https://127.0.0.1:8443"}, ConsentService,
			"https://127.0.0.1:8443/aslba_test/IGestoreConsensoService", "aslba_test", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, warns, err := Resolve(tc.cfg, tc.svc)
			if err != nil {
				t.Fatal(err)
			}
			if ep.URL != tc.url || ep.Tenant != tc.tenant || ep.Service != tc.svc {
				t.Errorf("got %s tenant %s, want %s tenant %s", ep.URL, ep.Tenant, tc.url, tc.tenant)
			}
			if len(warns) != tc.warnings {
				t.Errorf("warnings %v, want %d", warns, tc.warnings)
			}
			for _, w := range warns {
				if w.Field != "asl" || w.Message == "" {
					t.Errorf("bad warning %+v", w)
				}
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		svc     Service
		unknown bool   // *UnknownASLError expected, else *FieldError
		field   string // for FieldError
		valid   []string
	}{
		{"unknown asl prod", Config{Environment: "prod", ASL: "aslxx"}, DocumentService, true, "",
			[]string{"aslba", "aslbt", "aslbr", "aslle", "aslfg", "aslta"}},
		{"other asl in test", Config{Environment: "test", ASL: "aslle"}, DocumentService, true, "", []string{"aslba_test", "aslba"}},
		{"test tenant in prod", Config{Environment: "prod", ASL: "aslba_test"}, DocumentService, true, "",
			[]string{"aslba", "aslbt", "aslbr", "aslle", "aslfg", "aslta"}},
		{"empty asl in prod", Config{Environment: "prod"}, DocumentService, true, "",
			[]string{"aslba", "aslbt", "aslbr", "aslle", "aslfg", "aslta"}},
		{"unknown env", Config{Environment: "staging", ASL: "aslba"}, DocumentService, false, "environment", nil},
		{"unknown service", Config{Environment: "prod", ASL: "aslba"}, Service("IFoo"), false, "service", nil},
		{"local without base", Config{Environment: "local", ASL: "aslba"}, DocumentService, false, "base_url", nil},
		{"http in prod", Config{Environment: "prod", ASL: "aslba", BaseURL: "http://pdd.example.it"}, DocumentService, false, "base_url", nil},
		{"relative base", Config{Environment: "local", ASL: "aslba", BaseURL: "127.0.0.1:8080"}, DocumentService, false, "base_url", nil},
		{"base with query", Config{Environment: "prod", ASL: "aslba", BaseURL: "https://x.example.it/?a=b"}, DocumentService, false, "base_url", nil},
		{"base with credentials", Config{Environment: "prod", ASL: "aslba", BaseURL: "https://u:p@x.example.it"}, DocumentService, false, "base_url", nil},
		{"typo in service_urls key", Config{Environment: "prod", ASL: "aslba",
			ServiceURLs: map[string]string{"IDocumentServce": "https://x.example.it/d"}}, TaccuinoService, false, "service_urls", nil},
		{"http service url in test", Config{Environment: "test",
			ServiceURLs: map[string]string{"IDocumentService": "http://x.example.it/d"}}, DocumentService, false, "service_urls.IDocumentService", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Resolve(tc.cfg, tc.svc)
			if err == nil {
				t.Fatal("no error")
			}
			var ue *UnknownASLError
			var ce *FieldError
			switch {
			case tc.unknown:
				if !errors.As(err, &ue) {
					t.Fatalf("got %T %v, want *UnknownASLError", err, err)
				}
				if !reflect.DeepEqual(ue.Valid, tc.valid) {
					t.Errorf("valid = %v, want %v", ue.Valid, tc.valid)
				}
				for _, v := range tc.valid {
					if !strings.Contains(err.Error(), v) {
						t.Errorf("message %q does not list %q", err, v)
					}
				}
			default:
				if !errors.As(err, &ce) {
					t.Fatalf("got %T %v, want *FieldError", err, err)
				}
				if ce.Field != tc.field || ce.Fix == "" {
					t.Errorf("field %q fix %q, want field %q and a fix", ce.Field, ce.Fix, tc.field)
				}
			}
		})
	}
}

func TestResolveAll(t *testing.T) {
	all, warns, err := ResolveAll(Config{Environment: "prod", ASL: "aslfgr"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || len(warns) != 1 {
		t.Fatalf("got %d endpoints and %d warnings, want 3 and 1", len(all), len(warns))
	}
	for _, s := range Services() {
		if !strings.HasSuffix(all[s].URL, "/aslfg/"+string(s)) {
			t.Errorf("%s: %s", s, all[s].URL)
		}
	}
}

// TestREADMETableMatchesCode keeps the markdown table and the Go table equal.
func TestREADMETableMatchesCode(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []ASL
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| asl") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 6 {
			t.Fatalf("row with %d cells: %q", len(cells), line)
		}
		a := ASL{Name: cells[0], Sigla: cells[1], FullName: cells[2], NationalCode: cells[3], CodeVerified: cells[4] == "verified"}
		if cells[4] != "verified" && cells[4] != "unverified" {
			t.Errorf("code status %q", cells[4])
		}
		if cells[5] != "" {
			a.Aliases = strings.Split(cells[5], ", ")
		}
		rows = append(rows, a)
	}
	if !reflect.DeepEqual(rows, List()) {
		t.Errorf("README table differs from asls:\nREADME %+v\ncode   %+v", rows, List())
	}
}

// TestTableFacts checks the table against domain.md: six ASLs, national codes 160xxx,
// only ASL BA verified (160114), unique names and aliases.
func TestTableFacts(t *testing.T) {
	want := map[string]string{"aslba": "160114", "aslbr": "160106", "aslta": "160112", "aslbt": "160113", "aslfg": "160115", "aslle": "160116"}
	seen := map[string]bool{}
	list := List()
	if len(list) != len(want) {
		t.Fatalf("%d ASLs, want %d", len(list), len(want))
	}
	for _, a := range list {
		t.Run(a.Name, func(t *testing.T) {
			if want[a.Name] != a.NationalCode {
				t.Errorf("code %s, want %s", a.NationalCode, want[a.Name])
			}
			if a.CodeVerified != (a.Name == "aslba") {
				t.Errorf("verified = %v", a.CodeVerified)
			}
			for _, n := range append([]string{a.Name}, a.Aliases...) {
				if seen[n] {
					t.Errorf("duplicate name %s", n)
				}
				seen[n] = true
				got, _, ok := Lookup(n)
				if !ok || got.Name != a.Name {
					t.Errorf("Lookup(%s) = %v %v", n, got.Name, ok)
				}
			}
		})
	}
	// List returns a copy.
	list[0].Aliases = append(list[0].Aliases, "mutated")
	list[4].Aliases[0] = "mutated"
	if _, _, ok := Lookup("mutated"); ok {
		t.Error("List exposes the internal table")
	}
}

func TestBaseURLsPerEnvironment(t *testing.T) {
	urls := map[string]string{"test": "https://preprod.example.it:8181", "prod": "https://prod.example.it:8181", "local": "https://127.0.0.1:9443"}
	cases := []struct {
		env, asl, base, want string
	}{
		{"test", "aslba_test", "", "https://preprod.example.it:8181/aslba_test/ITaccuinoService"},
		{"prod", "aslle", "", "https://prod.example.it:8181/aslle/ITaccuinoService"},
		{"local", "aslba", "", "https://127.0.0.1:9443/aslba/ITaccuinoService"},
		{"prod", "aslle", "https://moved.example.it", "https://moved.example.it/aslle/ITaccuinoService"}, // base_url wins
	}
	for _, tc := range cases {
		t.Run(tc.env+" "+tc.base, func(t *testing.T) {
			ep, _, err := Resolve(Config{Environment: tc.env, ASL: tc.asl, BaseURL: tc.base, BaseURLs: urls}, TaccuinoService)
			if err != nil || ep.URL != tc.want {
				t.Fatalf("Resolve = %q, %v; want %q", ep.URL, err, tc.want)
			}
		})
	}
	_, _, err := Resolve(Config{Environment: "prod", ASL: "aslle", BaseURLs: map[string]string{"prod": "http://insecure.example.it"}}, TaccuinoService)
	var ce *FieldError
	if !errors.As(err, &ce) || ce.Field != "base_urls.prod" {
		t.Errorf("a plain-http production base from base_urls: %v (want a FieldError naming base_urls.prod)", err)
	}
}

// TestProductionHostNeedsProd: the production lock keys on the host, not only on the
// environment's name; the check is on the name, before any DNS lookup.
func TestProductionHostNeedsProd(t *testing.T) {
	prodHosts := []string{
		"https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181",
		"https://PDD-VIRTASL.rmmg.rsr.rupar.puglia.it.:8181/",
		"https://other.rmmg.rsr.rupar.puglia.it",
	}
	for _, env := range []string{"test", "local"} {
		for _, base := range prodHosts {
			for _, cfg := range []Config{
				{Environment: env, ASL: "aslba", BaseURL: base},
				{Environment: env, ASL: "aslba", BaseURLs: map[string]string{env: base}},
				{Environment: env, ASL: "aslba", BaseURL: "https://127.0.0.1:8443", ServiceURLs: map[string]string{"IDocumentService": base + "/aslba/IDocumentService"}},
			} {
				_, _, err := ResolveAll(cfg)
				var fe *FieldError
				if !errors.As(err, &fe) || !strings.Contains(fe.Msg, "production host") {
					t.Errorf("%s with %+v: %v, want a FieldError on the production host", env, cfg, err)
				}
			}
		}
	}
	// prod itself (the opt-in is adapter.New's and transport's second lock).
	if _, _, err := ResolveAll(Config{Environment: "prod", ASL: "aslba", BaseURL: prodHosts[2]}); err != nil {
		t.Errorf("prod on a production host: %v", err)
	}
	for _, h := range []string{"pddasl-preprod.sanita.regione.rsr.rupar.puglia.it:8181", "127.0.0.1", "[::1]:8443", "rmmg.rsr.rupar.puglia.it.example.com", "xrmmg.rsr.rupar.puglia.it"} {
		if IsProductionHost(h) {
			t.Errorf("IsProductionHost(%q) = true", h)
		}
	}
	if !IsProductionHost("pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181") {
		t.Error("the production gateway with its port is not a production host")
	}
}
