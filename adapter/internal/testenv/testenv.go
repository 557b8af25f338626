// Package testenv locates the module and the shared real-world samples for tests. It imports
// testing, so only tests may import it (the document builders in pdfcdatest do not, and the
// demo uses them in the binary).
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the directory holding go.mod, walking up from the working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// SamplesDir returns ../shared/samples relative to the module root, skipping the test when
// it is absent.
func SamplesDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(ModuleRoot(t), "..", "shared", "samples")
	if _, err := os.Stat(filepath.Join(dir, "signed-pdf")); err != nil {
		t.Skipf("real samples not available at %s: skipping", dir)
	}
	return dir
}
