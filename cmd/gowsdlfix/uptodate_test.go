package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate regenerates every package into a temporary directory
// with the real pipeline (`go tool gowsdl`, then the repairs) and compares it
// byte for byte with generated/: a hand edit, a stale generation or a
// non-deterministic generator fails here.
func TestGeneratedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gowsdl: skipped in -short mode")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	out := t.TempDir()
	if err := run("../../wsdl", out, defaultMap, []string{"go", "tool", "gowsdl"}); err != nil {
		t.Fatal(err)
	}
	m, err := parseMap(defaultMap)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range m {
		files, err := filepath.Glob(filepath.Join(out, pkg, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: nothing generated (%v)", pkg, err)
		}
		for _, f := range files {
			got, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			committed := filepath.Join("../../generated", pkg, filepath.Base(f))
			want, err := os.ReadFile(committed)
			if err != nil {
				t.Errorf("%s: %v (run make generate)", committed, err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from a fresh generation (run make generate; never edit it by hand)", committed)
			}
		}
	}
}
