package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestGlobalFlagsAfterCommand: a global flag is accepted after the command and wins over the
// environment, as before it; a command's own flag of the same name stays the command's.
func TestGlobalFlagsAfterCommand(t *testing.T) {
	h := newHarness(t)
	h.env["FSEPUGLIA_ENV"] = "test"
	out, e, code := h.run("endpoints", "--env", "prod", "--asl", "ashta", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	var v endpointsOutput
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(v.Endpoints) != 3 || v.Endpoints[0].Environment != "prod" || v.Endpoints[0].ASL != "aslta" {
		t.Fatalf("--env/--asl after the command not applied: %+v", v.Endpoints)
	}
	if !strings.Contains(e, `"ashta" is a variant`) {
		t.Errorf("alias warning missing: %s", e)
	}
	// The same with --key=value and the older --output name, interleaved with arguments.
	h.region.searchRes = sampleSearch()
	out, e, code = h.run("search", "--output=json", "--patient", cfA, "--timeout", "7s")
	if code != 0 || !strings.HasPrefix(out, "{") {
		t.Fatalf("exit %d, out %q: %s", code, out, e)
	}
	if h.gotCfg == nil || time.Duration(h.gotCfg.Timeout) != 7*time.Second {
		t.Fatalf("--timeout after the command not applied: %+v", h.gotCfg)
	}
	// A global flag between a command group and its subcommand: named as such.
	_, e, code = h.run("consent", "--env", "test", "status", "--patient", cfA)
	if code != exitUsage || !strings.Contains(e, "--env is a global flag") {
		t.Fatalf("exit %d: %s", code, e)
	}
}

func TestDidYouMean(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pubish"}, "did you mean publish?"},
		{[]string{"search", "--patinet", cfA}, "did you mean --patient?"},
		{[]string{"consent", "stauts"}, "did you mean status?"},
		{[]string{"--timout", "5s", "search"}, "did you mean --timeout?"},
		{[]string{"completion", "bsh"}, "did you mean bash?"},
	} {
		_, e, code := h.run(tc.args...)
		if code != exitUsage || !strings.Contains(e, tc.want) {
			t.Errorf("%v: exit %d, stderr %q lacks %q", tc.args, code, e, tc.want)
		}
	}
	if _, e, _ := h.run("xyzzy"); strings.Contains(e, "did you mean") {
		t.Errorf("a suggestion for a name close to nothing: %s", e)
	}
}

func TestVersionHelpCompletion(t *testing.T) {
	h := newHarness(t)
	out, e, code := h.run("--version")
	if code != 0 || !strings.HasPrefix(out, "fsepuglia ") || !strings.Contains(out, "go1.") {
		t.Fatalf("--version: exit %d %q %s", code, out, e)
	}
	out, _, code = h.run("version", "--format", "json")
	var v versionOutput
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 || v.Version == "" || !strings.HasPrefix(v.Go, "go1.") {
		t.Fatalf("version json: exit %d %q (%v)", code, out, err)
	}
	out, _, code = h.run("help")
	if code != 0 || !strings.Contains(out, "help, h") || !strings.Contains(out, "completion") || !strings.Contains(out, "version") {
		t.Fatalf("help: exit %d\n%s", code, out)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out, e, code := h.run("completion", sh)
		if code != 0 || !strings.Contains(out, "fsepuglia") {
			t.Fatalf("completion %s: exit %d %s", sh, code, e)
		}
	}
	if out, _, _ := h.run("completion", "fish"); !strings.Contains(out, "complete -c fsepuglia") || !strings.Contains(out, "publish") {
		t.Fatalf("fish completion lacks the commands:\n%s", out)
	}
}
