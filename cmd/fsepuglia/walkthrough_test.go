package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The README's walk-through is a console session: `$ command` lines, each followed by what
// the command prints (stderr first, then stdout). TestREADMEWalkthrough runs it as a user
// would, with the fsepuglia binary on PATH, against the simulator it starts with the
// walk-through's own first command, and compares every output. So the README cannot drift
// from what the program does.
//
// Conventions of the block (README.md, "A walk-through"):
//   - the first command is `fsepuglia sim …`; the test runs it in the background with port
//     0 and reads the real port from its output;
//   - `export K=V` sets a variable for the commands after it; `echo $?` prints the exit
//     code of the command before; any other line runs with bash in a scratch directory
//     where `fixtures` is the repository's fixtures directory;
//   - an output line that is only `…` stands for any number of lines, a line ending in `…`
//     for any line beginning with what comes before it;
//   - these are normalised on both sides before comparing, so that legitimate changes of
//     the day and the machine do not count: runs of blanks (table widths), RFC 3339 times,
//     dates, durations of the clock check, SHA-256 hashes, uuids, the simulator's port and
//     data directory, log timestamps.

const walkthroughDataDir = "/tmp/fsesim" // the simulator's --data-dir as the README writes it

// walkStep is one `$ command` of the walk-through and the lines it must print.
type walkStep struct {
	line int // in README.md
	cmd  string
	want []string
}

// parseWalkthrough returns the steps of the ```console block under the walk-through heading.
func parseWalkthrough(readme []byte) ([]walkStep, error) {
	var steps []walkStep
	sc := bufio.NewScanner(bytes.NewReader(readme))
	inSection, inBlock, n := false, false, 0
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "### A walk-through"):
			inSection = true
		case inSection && !inBlock && l == "```console":
			inBlock = true
		case inBlock && l == "```":
			return steps, nil
		case inBlock && strings.HasPrefix(l, "$ "):
			steps = append(steps, walkStep{line: n, cmd: strings.TrimPrefix(l, "$ ")})
		case inBlock && len(steps) > 0:
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, l)
		}
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("README.md: no ```console block under \"### A walk-through\"")
	}
	return nil, fmt.Errorf("README.md: the walk-through block is not closed")
}

var walkNormalisers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`time="[^"]*"`), `time="<time>"`},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`), "<time>"},
	{regexp.MustCompile(`valid until \d{4}-\d{2}-\d{2}`), "valid until <date>"},
	{regexp.MustCompile(`by -?\d+(\.\d+)?(ms|s|m)`), "by <duration>"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "<sha256>"},
	{regexp.MustCompile(`uuid:[0-9a-f-]{36}`), "uuid:<uuid>"},
	{regexp.MustCompile(`[ \t]+`), " "},
}

func normaliseWalk(s string) string {
	for _, n := range walkNormalisers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return strings.TrimRight(s, " ")
}

// matchLines reports whether got matches want, where a want line `…` matches any number of
// lines and a want line ending in `…` matches any line with that prefix.
func matchLines(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	w := want[0]
	if w == "…" {
		for i := 0; i <= len(got); i++ {
			if matchLines(want[1:], got[i:]) {
				return true
			}
		}
		return false
	}
	if len(got) == 0 {
		return false
	}
	if p, ok := strings.CutSuffix(w, "…"); ok {
		if !strings.HasPrefix(got[0], strings.TrimRight(p, " ")) {
			return false
		}
	} else if w != got[0] {
		return false
	}
	return matchLines(want[1:], got[1:])
}

func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts the simulator")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	steps, err := parseWalkthrough(readme)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(steps[0].cmd, "fsepuglia sim ") {
		t.Fatalf("README.md:%d: the walk-through must start with `fsepuglia sim …`, not %q", steps[0].line, steps[0].cmd)
	}

	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "fsepuglia"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work, simDir, home := t.TempDir(), filepath.Join(t.TempDir(), "fsesim"), t.TempDir()
	if err := os.Symlink(filepath.Join(root, "fixtures"), filepath.Join(work, "fixtures")); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "LANG=C.UTF-8"}
	local := func(s string) string { return strings.ReplaceAll(s, walkthroughDataDir, simDir) }

	// The simulator, in the background, on a free port.
	re := regexp.MustCompile(`--addr 127\.0\.0\.1:(\d+)`)
	m := re.FindStringSubmatch(steps[0].cmd)
	if m == nil {
		t.Fatalf("README.md:%d: the sim command needs --addr 127.0.0.1:PORT", steps[0].line)
	}
	readmePort := m[1]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	simCmd := exec.CommandContext(ctx, "bash", "-c", "exec "+local(re.ReplaceAllString(steps[0].cmd, "--addr 127.0.0.1:0")))
	simCmd.Dir, simCmd.Env = work, env
	simCmd.Cancel = func() error { return simCmd.Process.Signal(os.Interrupt) }
	var simOut, simErr syncBuffer
	simCmd.Stdout, simCmd.Stderr = &simOut, &simErr
	if err := simCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); simCmd.Wait() }()
	port := ""
	portRe := regexp.MustCompile(`base URL: +https?://127\.0\.0\.1:(\d+)`)
	for deadline := time.Now().Add(30 * time.Second); port == "" && strings.Count(simOut.String(), "\n") < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("the simulator did not start:\n%s%s", simOut.String(), simErr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := portRe.FindStringSubmatch(simOut.String()); m != nil {
		port = m[1]
	} else {
		t.Fatalf("no base URL in the simulator's output:\n%s", simOut.String())
	}
	readmeForm := func(s string) string {
		s = strings.ReplaceAll(s, simDir, walkthroughDataDir)
		return strings.ReplaceAll(s, "127.0.0.1:"+port, "127.0.0.1:"+readmePort)
	}
	compare := func(st walkStep, got string) {
		t.Helper()
		var want, have []string
		for _, l := range st.want {
			if l != "" {
				want = append(want, normaliseWalk(l))
			}
		}
		for _, l := range strings.Split(readmeForm(got), "\n") {
			if l != "" {
				have = append(have, normaliseWalk(l))
			}
		}
		if !matchLines(want, have) {
			t.Errorf("README.md:%d: `%s` prints something else than the README says.\n--- README (normalised)\n%s\n--- got (normalised)\n%s\n--- got\n%s",
				st.line, st.cmd, strings.Join(want, "\n"), strings.Join(have, "\n"), got)
		}
	}
	// The simulator's start-up lines are compared once they are all there.
	compare(steps[0], simErr.String()+simOut.String())

	last := 0
	for _, st := range steps[1:] {
		cmd := strings.TrimSpace(st.cmd)
		if i := strings.Index(cmd, "  #"); i >= 0 {
			cmd = strings.TrimSpace(cmd[:i])
		}
		switch {
		case cmd == "echo $?":
			compare(st, fmt.Sprintf("%d\n", last))
			continue
		case strings.HasPrefix(cmd, "export "):
			kv := strings.TrimPrefix(cmd, "export ")
			if !strings.Contains(kv, "=") {
				t.Fatalf("README.md:%d: export needs NAME=value", st.line)
			}
			env = append(env, local(kv))
			compare(st, "")
			continue
		}
		c := exec.Command("bash", "-c", local(cmd))
		c.Dir, c.Env = work, env
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		last = 0
		if ee, ok := err.(*exec.ExitError); ok {
			last = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("README.md:%d: %v", st.line, err)
		}
		compare(st, stderr.String()+stdout.String())
		if last != 0 && !nextIsEcho(steps, st) {
			t.Errorf("README.md:%d: `%s` exited %d and the README does not show it (add `echo $?` after it, or fix the step)\n%s", st.line, st.cmd, last, stderr.String())
		}
	}
}

// nextIsEcho reports whether the step after st is `echo $?` (the README shows its exit code).
func nextIsEcho(steps []walkStep, st walkStep) bool {
	for i := range steps {
		if steps[i].line == st.line {
			return i+1 < len(steps) && strings.TrimSpace(steps[i+1].cmd) == "echo $?"
		}
	}
	return false
}

func TestWalkthroughMatcher(t *testing.T) {
	for _, tc := range []struct {
		want, got []string
		ok        bool
	}{
		{[]string{"a", "…", "d"}, []string{"a", "b", "c", "d"}, true},
		{[]string{"a", "…", "d"}, []string{"a", "d"}, true},
		{[]string{"a", "…", "d"}, []string{"a", "b"}, false},
		{[]string{"a b…"}, []string{"a b c"}, true},
		{[]string{"a b…"}, []string{"a c"}, false},
		{[]string{"a"}, []string{"a", "b"}, false},
		{nil, nil, true},
	} {
		if got := matchLines(tc.want, tc.got); got != tc.ok {
			t.Errorf("matchLines(%q, %q) = %v", tc.want, tc.got, got)
		}
	}
	if got := normaliseWalk("C2    true   2026-12-01T08:38:28Z  AAS"); got != "C2 true <time> AAS" {
		t.Errorf("normalise: %q", got)
	}
}
