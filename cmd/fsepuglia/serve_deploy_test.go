package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestDeployFiles: the systemd unit and the Containerfile call flags that exist, and the unit
// passes systemd-analyze verify where systemd is installed.
func TestDeployFiles(t *testing.T) {
	var out, errb bytes.Buffer
	app := newApp(&out, &errb)
	flags := map[string]bool{}
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			flags[n] = true
		}
	}
	for _, c := range app.Commands {
		if c.Name == "serve" {
			for _, f := range c.Flags {
				for _, n := range f.Names() {
					flags[n] = true
				}
			}
		}
	}
	flagRe := regexp.MustCompile(`--([a-z][a-z0-9-]+)`)
	for _, name := range []string{"deploy/fsepuglia.service", "deploy/Containerfile"} {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var cmdLines []string
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "ExecStart=") || strings.HasPrefix(l, "    serve") || strings.HasPrefix(l, "ENTRYPOINT") || strings.HasPrefix(l, "CMD") {
				cmdLines = append(cmdLines, l)
			}
		}
		if len(cmdLines) == 0 {
			t.Fatalf("%s: no command line", name)
		}
		for _, l := range cmdLines {
			for _, m := range flagRe.FindAllStringSubmatch(l, -1) {
				if !flags[m[1]] {
					t.Errorf("%s: --%s is not a flag of fsepuglia or serve", name, m[1])
				}
			}
			if !strings.Contains(strings.Join(cmdLines, " "), "serve") {
				t.Errorf("%s: does not run serve", name)
			}
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: the unit's syntax is not verified here")
		return
	}
	vout, err := exec.Command(sa, "verify", "deploy/fsepuglia.service").CombinedOutput()
	// The binary and the user do not exist on a test machine: only syntax errors count.
	for _, l := range strings.Split(string(vout), "\n") {
		if strings.Contains(l, "Unknown key") || strings.Contains(l, "Invalid") || strings.Contains(l, "Failed to parse") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
	_ = err
}
