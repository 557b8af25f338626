package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/endpoint"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/sim/pki"
	"github.com/urfave/cli/v2"
)

func TestExitCodeMapping(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"usage", usagef("x"), exitUsage},
		{"input error wrapped", fmt.Errorf("file a.pdf: %w", &adapter.InputError{Field: "patient_cf"}), exitInput},
		{"codice fiscale", fmt.Errorf("--patient: %w", codicefiscale.Validate("FSEPGL01E41A145X")), exitInput},
		{"consent refused", fmt.Errorf("search: %w", &fakeFault{"FSE-00451", "consenso C2 mancante"}), exitConsent},
		{"other fault", &fakeFault{"FSE-00407", "asserzioni"}, exitFault},
		{"not found fault", &fakeFault{"FSE-00404", "not found"}, exitFault},
		{"transport", fmt.Errorf("search: %w", fakeTransport{}), exitTransport},
		{"url error", &url.Error{Op: "Post", URL: "https://127.0.0.1:1", Err: errors.New("refused")}, exitTransport},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), exitTransport},
		{"partial batch", &batchError{failed: 1}, exitPartial},
		{"cli.Exit keeps its code", fmt.Errorf("x: %w", cli.Exit("bad spec", 2)), exitUsage},
		{"internal", errors.New("boom"), exitInternal},
		{"fault.Fault consent", fmt.Errorf("search: %w", &fault.Fault{Code: "FSE-00451", Class: fault.ConsentMissing}), exitConsent},
		{"fault.Fault security", &fault.Fault{Code: "FSE-00407", Class: fault.Security}, exitFault},
		{"fault.Fault without code", &fault.Fault{Text: "errore generico", Class: fault.Unknown}, exitFault},
		{"fault.CallError", fmt.Errorf("search: %w", &fault.CallError{Op: "searchDocuments", Err: errors.New("tls: bad certificate")}), exitTransport},
		{"fault.CallError HTTP status", &fault.CallError{Op: "addDocument", Err: &fault.StatusError{StatusCode: 502}}, exitTransport},
		{"adapter.ConfigError", &adapter.ConfigError{Field: "tls.cert_file", Msg: "missing"}, exitInput},
		{"adapter.ConfigError over a missing file", &adapter.ConfigError{Field: "signer.key_file",
			Err: &fs.PathError{Op: "open", Path: "/x/key.pem", Err: syscall.ENOENT}}, exitInput},
		{"endpoint.FieldError", fmt.Errorf("x: %w", &endpoint.FieldError{Field: "environment", Msg: "unknown environment"}), exitInput},
		{"endpoint.UnknownASLError", &endpoint.UnknownASLError{Input: "aslxx"}, exitInput},
		// syscall.Errno satisfies net.Error: a missing file is not the region being unreachable.
		{"bare errno is not transport", fmt.Errorf("read: %w", &fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}), exitInternal},
		{"net.OpError is transport", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, exitTransport},
		{"DNS error is transport", &net.DNSError{Err: "no such host", Name: "pdd.example"}, exitTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.want {
				t.Fatalf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestExitCodesEndToEnd(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(h *harness)
		args   []string
		want   int
		errHas string
	}{
		{"unknown flag", nil, []string{"--nope"}, exitUsage, "nope"},
		{"unknown command flag", nil, []string{"search", "--nope"}, exitUsage, "nope"},
		{"sim: bad injection spec", nil, []string{"sim", "--inject", "addDocument:nonsense=1", "--data-dir", "/nonexistent/never-created"}, exitUsage, "--inject"},
		{"missing argument", nil, []string{"delete", "--patient", cfA}, exitUsage, "one document ID"},
		{"missing patient", nil, []string{"search"}, exitInput, "--patient"},
		{"invalid CF", nil, []string{"search", "--patient", "FSEPGL01E41A145X"}, exitInput, "check letter"},
		{"bad date", nil, []string{"search", "--patient", cfA, "--from", "01/02/2026"}, exitInput, "--from"},
		{"consent refused", func(h *harness) { h.region.err = &fakeFault{"FSE-00451", "C2 mancante"} }, []string{"search", "--patient", cfA}, exitConsent, "FSE-00451"},
		{"remote fault", func(h *harness) { h.region.err = &fakeFault{"FSE-00407", "asserzioni"} }, []string{"taccuino", "summary", "--patient", cfA}, exitFault, "FSE-00407"},
		{"transport", func(h *harness) { h.region.err = fakeTransport{} }, []string{"consent", "status", "--patient", cfA}, exitTransport, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			_, e, code := h.run(tt.args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.want, e)
			}
			if !contains(e, tt.errHas) {
				t.Fatalf("stderr %q does not mention %q", e, tt.errHas)
			}
		})
	}
}

func TestRunUnknownCommand(t *testing.T) {
	var out, errOut bytesBuffer
	if code := run(context.Background(), []string{"fsepuglia", "frobnicate"}, &out, &errOut); code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if !contains(errOut.String(), "frobnicate") {
		t.Fatalf("stderr %q", errOut.String())
	}
}

func TestRunKnownCommandsAndHelp(t *testing.T) {
	for _, args := range [][]string{{"fsepuglia", "--help"}, {"fsepuglia", "search", "--help"}, {"fsepuglia", "consent", "set", "--help"}} {
		var out, errOut bytesBuffer
		if code := run(context.Background(), args, &out, &errOut); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		if !contains(out.String(), "USAGE") {
			t.Fatalf("%v: no help on stdout: %s", args, out.String())
		}
	}
}

func TestRunPrintsRedactedErrorAndHint(t *testing.T) {
	h := newHarness(t)
	h.region.err = &fakeFault{"FSE-00451", "consenso C2 mancante per " + cfA}
	var out, errOut bytesBuffer
	code := runWith(context.Background(), []string{"fsepuglia", "search", "--patient", cfA}, &out, &errOut, h.deps())
	if code != exitConsent {
		t.Fatalf("exit %d", code)
	}
	e := errOut.String()
	if contains(e, cfA) || !contains(e, "FSE-00451") || !contains(e, "hint: ") || !contains(e, "consent set") {
		t.Fatalf("stderr %q", e)
	}
}

// TestNewAppInProcess runs the production app (real dependencies) in-process on paths that
// stop before any network call.
func TestNewAppInProcess(t *testing.T) {
	t.Setenv("FSEPUGLIA_CONFIG", "")
	empty := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(empty, []byte("{}"), 0o600)
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"fsepuglia", "--config", "/nonexistent/c.json", "search", "--patient", cfA}, exitInput},
		{[]string{"fsepuglia", "--data-dir", t.TempDir(), "--config", empty, "search", "--patient", "NOTACF"}, exitInput},
		{[]string{"fsepuglia", "--config", empty, "taccuino", "nope"}, exitUsage},
		{[]string{"fsepuglia", "--config", empty, "consent"}, exitOK}, // the group's help
	}
	for _, tt := range tests {
		var out, errOut bytesBuffer
		err := newApp(&out, &errOut).RunContext(context.Background(), tt.args)
		if got := exitCode(err); got != tt.want {
			t.Errorf("%v: exit %d (%v), want %d", tt.args[1:], got, err, tt.want)
		}
	}
}

// TestExitCodeConfigMistakes runs the real application (real adapter.New, real certificate
// files) on configuration mistakes: each must exit 3 naming the field, with no
// "configuration: configuration:" stutter, and nothing sent (base URLs are a closed loopback
// port, so a mistake not caught would exit 6 instead).
func TestExitCodeConfigMistakes(t *testing.T) {
	t.Setenv("FSEPUGLIA_CONFIG", "")
	dir := t.TempDir()
	p, err := pki.Ensure(dir, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n"), 0o600)
	missing := filepath.Join(dir, "missing.pem")
	base := func() map[string]any {
		return map[string]any{
			"environment": "local", "asl": "aslba", "base_url": "https://127.0.0.1:1",
			"tls":      map[string]any{"cert_file": p.Client.CertFile, "key_file": p.Client.KeyFile, "ca_file": p.CA.CertFile},
			"signer":   map[string]any{"cert_file": p.Operator.CertFile, "key_file": p.Operator.KeyFile},
			"operator": map[string]any{"cf": pki.DefaultOperatorCF, "role": "AAS"},
			"structure": map[string]any{"code": "160101", "name": "Struttura di prova",
				"repository_id": "2.16.840.1.113883.2.9.2.160.4.5.1", "facility_type": "Ospedale", "practice_setting": "AD_PSC001"},
		}
	}
	sub := func(m map[string]any, k string) map[string]any { return m[k].(map[string]any) }
	prod := func(m map[string]any) { m["environment"], m["allow_production"] = "prod", true }
	tests := []struct {
		name, field string
		mod         func(m map[string]any)
	}{
		{"missing certificate", "tls.cert_file", func(m map[string]any) { sub(m, "tls")["cert_file"] = missing }},
		{"garbage certificate", "tls.cert_file", func(m map[string]any) { sub(m, "tls")["cert_file"] = garbage }},
		{"key of another certificate", "tls.key_file", func(m map[string]any) { sub(m, "tls")["key_file"] = p.Operator.KeyFile }},
		{"self-signed TLS certificate in prod", "tls.cert_file", func(m map[string]any) {
			prod(m)
			sub(m, "tls")["cert_file"], sub(m, "tls")["key_file"] = p.CA.CertFile, p.CA.KeyFile
		}},
		{"self-signed signer in prod", "signer.cert_file", func(m map[string]any) {
			prod(m)
			sub(m, "signer")["cert_file"], sub(m, "signer")["key_file"] = p.CA.CertFile, p.CA.KeyFile
		}},
		{"security disabled in prod", "security.disabled", func(m map[string]any) {
			prod(m)
			m["security"] = map[string]any{"disabled": true}
		}},
		{"PROD in capitals without opt-in", "allow_production", func(m map[string]any) { m["environment"] = "PROD" }},
		{"missing signer key", "signer.key_file", func(m map[string]any) { sub(m, "signer")["key_file"] = missing }},
		{"signer key of another certificate", "signer.key_file", func(m map[string]any) { sub(m, "signer")["key_file"] = p.Client.KeyFile }},
		{"unknown environment", "environment", func(m map[string]any) { m["environment"] = "staging" }},
		{"unknown ASL", "asl", func(m map[string]any) { m["asl"] = "aslxx" }},
		{"local without base URL", "base_url", func(m map[string]any) { delete(m, "base_url") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.mod(m)
			raw, _ := json.Marshal(m)
			cfgFile := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(cfgFile, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytesBuffer
			code := runWith(context.Background(), []string{"fsepuglia", "--config", cfgFile, "--data-dir", t.TempDir(),
				"search", "--patient", cfA}, &out, &errOut, defaultDeps())
			e := errOut.String()
			if code != exitInput {
				t.Fatalf("exit %d, want %d; stderr %s", code, exitInput, e)
			}
			if !contains(e, "configuration "+tt.field+": ") || contains(e, "configuration: configuration") {
				t.Fatalf("stderr %q: want one \"configuration %s: \"", e, tt.field)
			}
		})
	}
}
