package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
)

// fse2Steps are the FSE 2.0 part of the demo (seed 000 §4.1): in the intermediate scenario a
// document is validated by the middleware before it is signed and published on the legacy
// service; in the final scenario it is validated, signed and published through the
// middleware, and its transaction looked up; a document never validated is refused before
// anything is sent. Each scenario has its own copy of the simulator's client configuration.
func fse2Steps(srv *sim.Server, tmp string) ([]demoStep, error) {
	dir := filepath.Join(tmp, "fse2")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	cfgFor := func(scenario string) (string, error) {
		raw, err := os.ReadFile(srv.ClientConfigPath())
		if err != nil {
			return "", err
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return "", err
		}
		g, _ := m["gateway"].(map[string]any)
		if g == nil {
			g = map[string]any{}
			m["gateway"] = g
		}
		g["scenario"] = scenario
		out, _ := json.MarshalIndent(m, "", "  ")
		p := filepath.Join(tmp, "config-"+scenario+".json")
		return p, os.WriteFile(p, out, 0o600)
	}
	inter, err := cfgFor("intermediate")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	final, err := cfgFor("final")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	operator, err := sign.New(srv.Data().PKI.Operator.Key, srv.Data().PKI.Operator.Cert)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	write := func(name string, c pdfcdatest.CDA) (string, error) {
		// The CDA is signed (XAdES) before anything else: the legacy route refuses an
		// unsigned one (FSE-10001), and the gateway compares it between validation and
		// publication.
		cda, err := xades.Sign(c.Bytes(), operator, xades.SignOptions{})
		if err != nil {
			return "", err
		}
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, pdfcdatest.PDF{Attachment: cda}.Bytes(), 0o600)
	}
	rsa, err := write("4-referto-specialistico.pdf", pdfcdatest.CDA{PatientCF: demoPatient, TypeCode: "11488-4", TypeDisplay: "Referto specialistico",
		TemplateRoot: "2.16.840.1.113883.2.9.10.1.9.1", IDExtension: "DEMO.RSA.2026.0004", EffectiveTime: "20260410120000+0200"})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	ldo, err := write("5-lettera-dimissione.pdf", pdfcdatest.CDA{PatientCF: demoPatient, TypeCode: "34105-7", TypeDisplay: "Lettera di dimissione ospedaliera",
		TemplateRoot: "2.16.840.1.113883.2.9.10.1.5", IDExtension: "DEMO.LDO.2026.0005", EffectiveTime: "20260412180000+0200"})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	unvalidated, err := write("6-referto-non-validato.pdf", pdfcdatest.CDA{PatientCF: demoPatient, IDExtension: "DEMO.LAB.2026.0006"})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}

	signed := func(path string) string { return strings.TrimSuffix(path, ".pdf") + ".signed.pdf" }
	var wii string
	valid := func(capture bool) func(string, string) error {
		return func(stdout, _ string) error {
			var vs []validation
			if err := json.Unmarshal([]byte(stdout), &vs); err != nil || len(vs) != 1 {
				return fmt.Errorf("unreadable validate output: %v", err)
			}
			if vs[0].Outcome != "valid" || vs[0].WorkflowInstanceID == "" {
				return fmt.Errorf("outcome %q, workflowInstanceId %q", vs[0].Outcome, vs[0].WorkflowInstanceID)
			}
			if capture {
				wii = vs[0].WorkflowInstanceID
			}
			return nil
		}
	}
	routed := func(route string) func(string, string) error {
		return func(stdout, _ string) error {
			var po publishOutput
			if err := json.Unmarshal([]byte(stdout), &po); err != nil || len(po.Items) != 1 {
				return fmt.Errorf("unreadable publish output: %v", err)
			}
			if it := po.Items[0]; it.Route != route || it.State != "done" {
				return fmt.Errorf("route %q state %q, want %s done", it.Route, it.State, route)
			}
			return nil
		}
	}
	js := []string{"--output", "json"}
	return []demoStep{
		{title: "FSE 2.0, intermediate scenario: validate the unsigned specialist report at the middleware", config: inter,
			args: append(js, "validate", rsa), want: exitOK, check: valid(false)},
		{title: "sign it (PAdES, fsepuglia sign) only after the positive validation", config: inter,
			args: []string{"sign", "--pdf", rsa, "-o", signed(rsa), "--reason", "Referto validato"}, want: exitOK},
		{title: "publish it: intermediate scenario, route legacy (the validation is checked first)", config: inter,
			args: append(js, "publish", signed(rsa)), want: exitOK, check: routed("legacy")},
		{title: "final scenario: validate the discharge letter at the middleware", config: final,
			args: append(js, "validate", ldo), want: exitOK, check: valid(true)},
		{title: "sign it (PAdES)", config: final, args: []string{"sign", "--pdf", ldo, "-o", signed(ldo)}, want: exitOK},
		{title: "publish it: final scenario, route middleware (both JWTs, mutual TLS)", config: final,
			args: append(js, "publish", signed(ldo)), want: exitOK, check: routed("middleware")},
		{title: "status of its transaction at the middleware", config: final, argsFn: func() []string { return []string{"status", wii} }, want: exitOK,
			check: func(stdout, _ string) error {
				if !strings.Contains(stdout, "PUBLICATION") || !strings.Contains(stdout, "SUCCESS") {
					return fmt.Errorf("no successful PUBLICATION event")
				}
				return nil
			}},
		{title: "a document never validated is not signed (exit 3): validate first", config: final,
			args: []string{"sign", "--pdf", unvalidated}, want: exitInput, check: func(_, stderr string) error {
				if !strings.Contains(stderr, "never validated") {
					return fmt.Errorf("the refusal does not say why")
				}
				return nil
			}},
	}, nil
}
