package main

import (
	"github.com/fsepuglia/fsepuglia/adapter/sim"
	"strings"
	"testing"
	"time"
)

// TestDoctorMiddleware: doctor covers the middleware: its URL, the JWT certificate, the
// identity claims, the scenario; in a middleware scenario its host is contacted.
func TestDoctorMiddleware(t *testing.T) {
	s := startSimWith(t, sim.Options{})
	simCfg := s.ClientConfigPath()
	scenario := func(sc string, more func(map[string]any)) func(map[string]any) {
		return func(m map[string]any) {
			g, _ := m["gateway"].(map[string]any)
			g["scenario"] = sc
			if more != nil {
				more(m)
			}
		}
	}
	cases := []struct {
		name, check, severity, has string
		edit                       func(map[string]any)
		code                       int
	}{
		{"final: JWT certificate", checkJWTCert, "info", `"01234567897.example.it"`, scenario("final", nil), exitOK},
		{"final: middleware URL", checkMiddleware, "info", "/api/v1 (configured)", scenario("final", nil), exitOK},
		{"final: claims", checkJWTClaims, "info", "well formed", scenario("final", nil), exitOK},
		{"final: no application version", checkJWTClaims, "error", "subject_application", scenario("final", func(m map[string]any) {
			m["application"].(map[string]any)["version"] = ""
		}), exitInput},
		{"current: the same is a warning", checkJWTClaims, "warning", "subject_application", scenario("current", func(m map[string]any) {
			m["application"].(map[string]any)["version"] = ""
		}), exitOK},
		{"final: role not in the gateway's table", checkJWTClaims, "error", "subject_role", scenario("final", func(m map[string]any) {
			m["operator"].(map[string]any)["role"] = "OGC"
		}), exitInput},
		{"unknown scenario", checkScenario, "error", "unknown scenario", scenario("pilot", nil), exitInput},
		{"final in prod: no middleware URL published", checkMiddleware, "error", "not published", scenario("final", func(m map[string]any) {
			m["environment"], m["allow_production"] = "prod", false
		}), exitInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, e, code := runDoctor(t, editConfig(t, simCfg, tc.edit), time.Now)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%+v\n%s", code, tc.code, got, e)
			}
			f, ok := got.find(tc.check, tc.severity)
			if !ok || !strings.Contains(f.Message, tc.has) {
				t.Fatalf("no %s %s finding with %q: %+v", tc.severity, tc.check, tc.has, got.Findings)
			}
		})
	}
}
