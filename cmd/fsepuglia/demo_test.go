package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/sim"
)

// demoDeps are the production dependencies with an empty environment.
func demoDeps() deps {
	d := defaultDeps()
	d.getenv = func(string) string { return "" }
	return d
}

// runDemo runs `fsepuglia demo` in-process with an empty config file.
func runDemo(t *testing.T, extra ...string) (string, string, int) {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	args := append([]string{"fsepuglia", "--config", empty, "--data-dir", t.TempDir(), "demo"}, extra...)
	code := runWith(context.Background(), args, &out, &errOut, demoDeps())
	return out.String(), errOut.String(), code
}

var demoExitLine = regexp.MustCompile(`(?m)^exit (\d+) \(expected (\d+)\): (.*)$`)

// TestDemo runs the whole demo against its own simulator and checks every step: its header,
// its exit code (the two consent refusals end with 5), and the final summary.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	out, errOut, code := runDemo(t, "--keep")
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errOut)
	}
	// 9 steps make the documents (sign the CDA, inject, sign the PDF, for each of three), an
	// unsigned CDA is injected then refused before sending (3), then the scenario.
	wantCodes := []string{"0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "3",
		"0", "0", "5", "0", "0", "0", "0", "0", "0", "0", "0", "0", "5",
		"0", "0", "0", "0", "0", "0", "0", "3"} // FSE 2.0: intermediate and final scenarios
	lines := demoExitLine.FindAllStringSubmatch(out, -1)
	if len(lines) != len(wantCodes) {
		t.Fatalf("%d step results, want %d:\n%s", len(lines), len(wantCodes), out)
	}
	for i, m := range lines {
		t.Run(fmt.Sprintf("step %d", i+1), func(t *testing.T) {
			if !strings.Contains(out, fmt.Sprintf("\n== %d. ", i+1)) {
				t.Errorf("no header for step %d", i+1)
			}
			if m[1] != wantCodes[i] || m[2] != wantCodes[i] || m[3] != "as expected" {
				t.Errorf("step %d: %q, want exit %s as expected", i+1, m[0], wantCodes[i])
			}
		})
	}
	if n := strings.Count(out, "FSE-00451"); n < 2 {
		t.Errorf("the two refusals should show FSE-00451, seen %d time(s)", n)
	}
	if !regexp.MustCompile(`sha256 published ([0-9a-f]{64}) = retrieved ([0-9a-f]{64})`).MatchString(out) {
		t.Error("the retrieve step does not show the two hashes")
	}
	if !strings.Contains(out, "\ndemo: 32 steps, all as expected\n") {
		t.Errorf("no summary line:\n%s", out)
	}
	// --keep leaves the directory and says where; the published files are inside.
	m := regexp.MustCompile(`demo: files kept in (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("--keep did not print the directory")
	}
	t.Cleanup(func() { os.RemoveAll(m[1]) })
	if _, err := os.Stat(filepath.Join(m[1], "retrieved.pdf")); err != nil {
		t.Errorf("kept directory: %v", err)
	}
	// No log line on stderr names the patient.
	if strings.Contains(errOut, demoPatient) {
		t.Error("stderr names the patient")
	}
}

// TestDemoRemovesItsDirectory checks that without --keep nothing is left behind.
func TestDemoRemovesItsDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	out, errOut, code := runDemo(t)
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errOut)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "fsepuglia-demo-*"))
	if len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// TestDemoStepMismatch checks that a step ending with another exit code than expected, or
// failing its check, is not counted as expected.
func TestDemoStepMismatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	s, err := sim.Start(context.Background(), sim.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := &appEnv{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, deps: demoDeps()}
	args := []string{"fsepuglia", "--config", s.ClientConfigPath(), "--data-dir", t.TempDir(), "search", "--patient", demoPatient}
	for _, tc := range []struct {
		name string
		st   demoStep
		ok   bool
	}{
		{"refusal expected", demoStep{want: exitConsent}, true},
		{"success expected", demoStep{want: exitOK}, false},
		{"check fails", demoStep{want: exitConsent, check: func(string, string) error { return fmt.Errorf("no") }}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _, _ := a.runDemoStep(context.Background(), args, tc.st)
			if res.code != exitConsent {
				t.Fatalf("search without consent: exit %d", res.code)
			}
			if res.ok(tc.st.want) != tc.ok {
				t.Errorf("ok = %v, want %v", !tc.ok, tc.ok)
			}
		})
	}
}
