package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
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

func TestRetryableAndDuplicateClassification(t *testing.T) {
	tests := []struct {
		name                     string
		err                      error
		retryable, dup, notFound bool
	}{
		{"503 fault", &fault.Fault{Code: "FSE-00503", Class: fault.Transient}, true, false, false},
		{"409 fault", fmt.Errorf("x: %w", &fault.Fault{Code: "FSE-00409", Class: fault.Duplicate}), false, true, false},
		{"404 fault", &fault.Fault{Code: "FSE-00404", Class: fault.NotFound}, false, false, true},
		{"validation fault", &fault.Fault{Code: "FSE-00415", Class: fault.Validation}, false, false, false},
		{"fake 409", &fakeFault{"FSE-00409", "dup"}, false, true, false},
		{"connection refused", &fault.CallError{Err: syscall.ECONNREFUSED}, true, false, false},
		{"per-call deadline", &fault.CallError{Err: context.DeadlineExceeded}, true, false, false},
		{"TLS certificate", &fault.CallError{Err: errors.New("x509: certificate signed by unknown authority")}, true, false, false},
		{"closed connection", &fault.CallError{Err: net.ErrClosed}, true, false, false},
		{"security fault", &fault.Fault{Code: "FSE-00401", Class: fault.Security}, false, false, false},
		{"plain error", errors.New("file changed"), false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isRetryable(tt.err); got != tt.retryable {
				t.Errorf("isRetryable = %v", got)
			}
			if got := isDuplicate(tt.err); got != tt.dup {
				t.Errorf("isDuplicate = %v", got)
			}
			if got := isNotFound(tt.err); got != tt.notFound {
				t.Errorf("isNotFound = %v", got)
			}
		})
	}
}
