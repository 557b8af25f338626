// Package testenv locates the module and the shared real-world samples for tests. It imports
// testing, so only tests may import it (the document builders in pdfcdatest do not, and the
// demo uses them in the binary).
package testenv

import (
	"fmt"
	"os"
	"os/exec"
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

// RequireCheckersEnv names the environment variable that turns a missing independent checker
// from a skip into a failure. CI sets it: a skipped independent check is a failure there.
const RequireCheckersEnv = "FSEPUGLIA_REQUIRE_CHECKERS"

// Tool returns the path of the independent checker named (xmllint, xmlsec1, qpdf, pdfsig,
// openssl, node, ...). When it is absent the test is skipped with hint (how to install it),
// or fails when FSEPUGLIA_REQUIRE_CHECKERS=1.
func Tool(t testing.TB, name, hint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not installed", hint)
	}
	return path
}

// Missing reports that an independent checker is not available: a skip, or a failure when
// FSEPUGLIA_REQUIRE_CHECKERS=1. what says what is missing, hint how to get it.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	msg := fmt.Sprintf("independent check skipped: %s (%s)", what, hint)
	if os.Getenv(RequireCheckersEnv) == "1" {
		t.Fatalf("%s; %s=1 makes this a failure", msg, RequireCheckersEnv)
	}
	t.Skip(msg)
}
