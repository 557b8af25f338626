package main

import (
	"io"

	"encoding/json"
	"github.com/urfave/cli/v2"
	"os"
	"path/filepath"
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

// TestDestructiveCommandsConfirm: delete and consent revoke ask on a terminal, refuse
// without a terminal unless --yes, and send nothing when not confirmed.
func TestDestructiveCommandsConfirm(t *testing.T) {
	const id = "2.16.840.1.113883.2.9.2.160.4.4^DEL1"
	for _, tc := range []struct {
		name    string
		tty     bool
		answer  string
		yes     bool
		code    int
		deleted bool
		stderr  string
	}{
		{name: "no terminal, no --yes: refused", code: exitUsage, stderr: "pass --yes"},
		{name: "no terminal, --yes", yes: true, deleted: true},
		{name: "terminal, answered y", tty: true, answer: "y\n", deleted: true, stderr: "[y/N]"},
		{name: "terminal, answered n", tty: true, answer: "n\n", code: exitUsage, stderr: "not confirmed"},
		{name: "terminal, no answer", tty: true, answer: "", code: exitUsage, stderr: "not confirmed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range [][]string{{"delete", id, "--patient", cfB}, {"consent", "revoke", "--patient", cfA, "C3"}} {
				h := newHarness(t)
				h.region.docs[id] = []byte("x")
				h.stdin, h.stdinTTY = strings.NewReader(tc.answer), tc.tty
				args := cmd
				if tc.yes {
					args = append(append([]string{}, cmd...), "--yes")
				}
				_, e, code := h.run(args...)
				if code != tc.code || !strings.Contains(e, tc.stderr) {
					t.Fatalf("%v: exit %d, stderr %q (want %d, %q)", args, code, e, tc.code, tc.stderr)
				}
				sent := len(h.region.deleted) + len(h.region.consentCh)
				if tc.deleted != (sent == 1) {
					t.Fatalf("%v: %d calls reached the region", args, sent)
				}
				if strings.Contains(e, cfA) || strings.Contains(e, cfB) {
					t.Fatalf("the question shows the fiscal code: %s", e)
				}
			}
		})
	}
}

// TestRetrieveToStdout: -o - writes the document alone on stdout, the summary on stderr; a
// terminal on stdout is refused; -o json is taken for a format mistake.
func TestRetrieveToStdout(t *testing.T) {
	const id = "2.16.840.1.113883.2.9.2.160.4.4^OUT1"
	h := newHarness(t)
	h.region.docs[id] = []byte("%PDF-1.7 the document")
	out, e, code := h.run("retrieve", id, "--patient", cfA, "-o", "-", "--format", "json")
	if code != 0 || out != "%PDF-1.7 the document" || !strings.Contains(e, `"sha256"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, e)
	}
	out, e, code = h.run("consent", "informativa", "-o", "-")
	if code != 0 || !strings.HasPrefix(out, "%PDF") || !strings.Contains(e, "160^3") {
		t.Fatalf("informativa -o -: exit %d, stdout %q, stderr %q", code, out, e)
	}
	h.tty = true
	if _, e, code := h.run("retrieve", id, "--patient", cfA, "-o", "-"); code != exitUsage || !strings.Contains(e, "stdout is a terminal") {
		t.Fatalf("terminal: exit %d %s", code, e)
	}
	h.tty = false
	if _, e, code := h.run("retrieve", id, "--patient", cfA, "-o", "json"); code != exitUsage || !strings.Contains(e, "--format json") {
		t.Fatalf("-o json: exit %d %s", code, e)
	}
}

// TestJSONErrors: with --format json a failure is also a JSON object on stdout, with the same
// exit code as without it, whichever way the format was asked for.
func TestJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name         string
		env          map[string]string
		args         []string
		code         int
		errCode      string
		class, field string
	}{
		{"bad fiscal code", nil, []string{"--format", "json", "search", "--patient", "FSEPGL0lE41A145J"}, exitInput, "invalid-input", "input", "--patient"},
		{"format after the command", nil, []string{"search", "--patient", "FSEPGL0lE41A145J", "--format=json"}, exitInput, "invalid-input", "input", "--patient"},
		{"older --output name", nil, []string{"--output", "json", "search", "--patient", "FSEPGL0lE41A145J"}, exitInput, "invalid-input", "input", "--patient"},
		{"usage", nil, []string{"--format", "json", "pubish"}, exitUsage, "usage", "usage", ""},
		{"unknown flag beside --format", nil, []string{"search", "--patinet", cfA, "--format", "json"}, exitUsage, "usage", "usage", ""},
		{"unknown global flag", nil, []string{"--timout", "5s", "--format=json", "search"}, exitUsage, "usage", "usage", ""},
		{"fault of the region", nil, []string{"--format", "json", "retrieve", "2.16.840.1.113883.2.9.2.160.4.4^NONE", "--patient", cfA, "-o", "x.pdf"}, exitFault, "FSE-00404", "fault", ""},
		{"no configuration", map[string]string{"FSEPUGLIA_ENV": "", "FSEPUGLIA_FORMAT": "json"}, []string{"search", "--patient", cfA}, exitInput, "configuration", "input", "environment"},
		{"config file unreadable", map[string]string{"FSEPUGLIA_CONFIG": "/nonexistent/config.json"}, []string{"--format", "json", "search", "--patient", cfA}, exitInput, "configuration", "input", "config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for k, v := range tc.env {
				h.env[k] = v
			}
			out, e, code := h.run(tc.args...)
			var v errorOutput
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("stdout is not the JSON error: %v\n%q\nstderr %s", err, out, e)
			}
			if code != tc.code || v.Error.ExitCode != code || v.Error.Code != tc.errCode || v.Error.Class != tc.class || v.Error.Field != tc.field || v.Error.Message == "" {
				t.Fatalf("exit %d, %+v", code, v.Error)
			}
			if !strings.Contains(e, v.Error.Message) {
				t.Fatalf("stderr %q lacks the message %q", e, v.Error.Message)
			}
			if tc.code == exitInput && v.Error.Fix == "" {
				t.Errorf("no fix for an input error: %+v", v.Error)
			}
			if strings.Contains(out, cfA) {
				t.Errorf("the JSON error shows a fiscal code: %s", out)
			}
			// Without JSON: the same exit code, nothing on stdout.
			var plain []string
			for _, a := range tc.args {
				if a != "--format" && a != "--output" && a != "json" && a != "--format=json" {
					plain = append(plain, a)
				}
			}
			h.env["FSEPUGLIA_FORMAT"] = ""
			if out, _, code2 := h.run(plain...); code2 != code || out != "" {
				t.Fatalf("without --format json: exit %d (want %d), stdout %q", code2, code, out)
			}
		})
	}
}

// TestFirstRunWithoutConfiguration: no file, no variable: the error says where the file was
// looked for and how to start.
func TestFirstRunWithoutConfiguration(t *testing.T) {
	h := newHarness(t)
	delete(h.env, "FSEPUGLIA_ENV")
	_, e, code := h.run("search", "--patient", cfA)
	want := filepath.Join(h.cfgDir, "fsepuglia", "config.json")
	if code != exitInput || !strings.Contains(e, "no config file at "+want) || !strings.Contains(e, "fsepuglia sim") || !strings.Contains(e, "fsepuglia help config") {
		t.Fatalf("exit %d: %s", code, e)
	}
	if h.builds != 0 {
		t.Fatal("a client was built")
	}
	out, _, code := h.run("doctor", "--format", "json")
	if code != exitInput || !strings.Contains(out, `"check": "config"`) || !strings.Contains(out, "no config file at "+want) {
		t.Fatalf("doctor without configuration: exit %d\n%s", code, out)
	}
	out, _, code = h.run("help", "config")
	if code != 0 || !strings.Contains(out, "FSEPUGLIA_CONFIG") || !strings.Contains(out, "tls.cert_file") {
		t.Fatalf("help config: exit %d\n%s", code, out)
	}
}

// TestConfigShow: each value with its source (file, environment, flag, default), secrets
// masked, and the file that was read.
func TestConfigShow(t *testing.T) {
	h := newHarness(t)
	cfgFile := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(cfgFile, []byte(`{"environment":"test","asl":"aslba_test","tls":{"cert_file":"file.pem"},"base_urls":{"prod":"https://p.example.it"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env = map[string]string{"FSEPUGLIA_CONFIG": cfgFile, "FSEPUGLIA_OPERATOR_ROLE": "APR", "FSEPUGLIA_KEY_PASSWORD": "s3cret-pw"}
	out, e, code := h.run("config", "show", "--timeout", "9s", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if strings.Contains(out, "s3cret-pw") {
		t.Fatalf("a password is shown: %s", out)
	}
	var v configShowOutput
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	got := map[string]configSettingOutput{}
	for _, s := range v.Settings {
		got[s.Key] = s
	}
	for key, want := range map[string][2]string{
		"environment":      {"test", "file " + cfgFile},
		"tls.cert_file":    {"file.pem", "file " + cfgFile},
		"base_urls.prod":   {"https://p.example.it", "file " + cfgFile},
		"operator.role":    {"APR", "env FSEPUGLIA_OPERATOR_ROLE"},
		"timeout":          {"9s", "flag --timeout"},
		"tls.key_password": {"(set, hidden)", "env FSEPUGLIA_KEY_PASSWORD"},
		"format":           {"json", "flag --format"},
		"log_level":        {"warn", "default"},
	} {
		if s := got[key]; s.Value != want[0] || s.Source != want[1] {
			t.Errorf("%s: %+v, want %v", key, s, want)
		}
	}
	if !v.File.Found || v.File.Path != cfgFile || v.File.From != "FSEPUGLIA_CONFIG" {
		t.Errorf("file %+v", v.File)
	}
	if h.builds != 0 {
		t.Error("config show built a client")
	}
}

// TestHelpExamples: every command of this list has examples in its help page, and every
// example parses: its command path exists and its flags are the command's or global ones.
func TestHelpExamples(t *testing.T) {
	app := newAppWith(io.Discard, io.Discard, newHarness(t).deps())
	for path, lines := range examples {
		cmd := findCommand(app.Commands, strings.Fields(path))
		if cmd == nil {
			t.Errorf("examples for %q: no such command", path)
			continue
		}
		if !strings.Contains(cmd.Description, "Examples:\n  "+lines[0]) {
			t.Errorf("%s: help page lacks its examples", path)
		}
		for _, l := range lines {
			if i := strings.Index(l, "  #"); i >= 0 {
				l = l[:i]
			}
			if i := strings.IndexAny(l, "|>"); i >= 0 {
				l = l[:i]
			}
			words := strings.Fields(l)
			if words[0] != "fsepuglia" {
				t.Errorf("%s: example %q does not start with fsepuglia", path, l)
				continue
			}
			// Global flags before the command, then the command path, then the rest.
			rest := words[1:]
			for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
				if f := findFlag(app.Flags, strings.TrimLeft(rest[0], "-")); f == nil {
					t.Errorf("%s: example %q: unknown global flag %s", path, l, rest[0])
				}
				rest = rest[2:]
			}
			n := len(strings.Fields(path))
			if got := strings.Join(rest[:n], " "); got != path {
				t.Errorf("example %q listed under %q runs %q", l, path, got)
				continue
			}
			if _, err := splitArgs(cmd, app.Flags, rest[n:]); err != nil {
				t.Errorf("%s: example %q: %v", path, l, err)
			}
		}
	}
	for _, name := range []string{"endpoints", "publish", "replace", "delete", "search", "retrieve", "sim", "demo", "inspect", "doctor", "config", "version", "completion", "validate", "status", "inject", "sign", "serve"} {
		if cmd := findCommand(app.Commands, []string{name}); cmd == nil || !strings.Contains(cmd.Description, "Examples:") {
			t.Errorf("%s: no examples in its help page", name)
		}
	}
	out, _, code := newHarness(t).run("help", "search")
	if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "--from 2026-01-01") {
		t.Fatalf("help search: exit %d\n%s", code, out)
	}
	out, _, code = newHarness(t).run("search", "--help")
	if code != 0 || !strings.Contains(out, "Examples:") {
		t.Fatalf("search --help: exit %d\n%s", code, out)
	}
}

func findCommand(cmds []*cli.Command, path []string) *cli.Command {
	for _, c := range cmds {
		if c.Name == path[0] {
			if len(path) == 1 {
				return c
			}
			return findCommand(c.Subcommands, path[1:])
		}
	}
	return nil
}

// TestDemoJSON: `demo --format json` writes one JSON document with every step (the text of
// the plain demo is not mixed in), the same verdicts as the text.
func TestDemoJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	out, e, code := runDemo(t, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, e)
	}
	var v demoOutput
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&v); err != nil || dec.More() {
		t.Fatalf("stdout is not one JSON document (%v):\n%s", err, out)
	}
	if v.Total != len(v.Steps) || v.Total < 10 || v.NotAsExpected != 0 || !strings.HasPrefix(v.Simulator, "https://127.0.0.1:") || len(v.Documents) != 3 {
		t.Fatalf("summary %+v", v)
	}
	refusals := 0
	for _, s := range v.Steps {
		if !s.AsExpected || s.ExitCode != s.Expected || s.Command == "" || s.Title == "" {
			t.Errorf("step %+v", s)
		}
		if s.ExitCode == exitConsent && strings.Contains(s.Stderr, "FSE-00451") {
			refusals++
		}
		if strings.Contains(s.Command+s.Stdout+s.Stderr, demoPatient) {
			t.Errorf("step %d shows the patient's fiscal code", s.Step)
		}
	}
	if refusals < 2 {
		t.Errorf("%d consent refusals with FSE-00451, want 2", refusals)
	}
}

// TestErrorsPointToHelpNotSources: a wrong sidecar lists the keys it may hold; no error
// message names a file of the source tree.
func TestErrorsPointToHelpNotSources(t *testing.T) {
	h := newHarness(t)
	doc := writeDoc(t, t.TempDir(), "a.pdf", "%PDF a", `{"patient_cf":"`+cfA+`","unique_idd":"x"}`)
	_, e, code := h.run("publish", doc)
	if code != exitInput || !strings.Contains(e, "patient_cf, unique_id") || strings.Contains(e, ".md") {
		t.Fatalf("exit %d: %s", code, e)
	}
	h.env["FSEPUGLIA_CONFIG"] = writeDoc(t, t.TempDir(), "c.json", `{"environment":"test","tsl":{}}`, "")
	_, e, code = h.run("search", "--patient", cfA)
	if code != exitInput || !strings.Contains(e, `unknown key "tsl"`) || !strings.Contains(e, "fsepuglia help config") || strings.Contains(e, ".md") {
		t.Fatalf("exit %d: %s", code, e)
	}
}
