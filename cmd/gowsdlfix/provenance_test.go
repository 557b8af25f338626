package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/wsdl"
)

// declaredNames returns every name="..." declared in the WSDLs and XSDs of dir
// (operations, messages, parts, portTypes, bindings, services, ports, faults,
// elements, complex and simple types), with the files declaring it.
func declaredNames(t *testing.T, dir string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.wsdl"))
	if err != nil {
		t.Fatal(err)
	}
	xsds, err := filepath.Glob(filepath.Join(dir, "*.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, xsds...)
	if len(files) == 0 {
		t.Fatalf("no WSDL/XSD in %s", dir)
	}
	out := map[string][]string{}
	for _, f := range files {
		doc := etree.NewDocument()
		if err := doc.ReadFromFile(f); err != nil {
			t.Fatal(err)
		}
		var walk func(e *etree.Element)
		walk = func(e *etree.Element) {
			if n := e.SelectAttrValue("name", ""); n != "" {
				out[n] = append(out[n], filepath.Base(f))
			}
			for _, c := range e.ChildElements() {
				walk(c)
			}
		}
		walk(doc.Root())
	}
	return out
}

// missingFromProvenance lists the declared names not written as `name` in the document.
func missingFromProvenance(names map[string][]string, doc string) []string {
	var missing []string
	for n := range names {
		if !strings.Contains(doc, "`"+n+"`") {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	return missing
}

// TestProvenanceCoversEveryName keeps wsdl/PROVENANCE.md from drifting: every
// name declared in wsdl/ must appear there (in backquotes) with its source.
func TestProvenanceCoversEveryName(t *testing.T) {
	names := declaredNames(t, "../../wsdl")
	doc, err := os.ReadFile("../../wsdl/PROVENANCE.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range missingFromProvenance(names, string(doc)) {
		t.Errorf("%s (declared in %v) is not listed in wsdl/PROVENANCE.md", n, names[n])
	}
	// The check itself must be able to fail.
	if m := missingFromProvenance(map[string][]string{"notDeclaredAnywhere": nil}, string(doc)); len(m) != 1 {
		t.Errorf("missingFromProvenance did not report an absent name")
	}
}

// TestFaultsTableComplete checks that wsdl/FAULTS.md has a row for every code of the Go
// table (adapter/fault) and of the operations' table (wsdl.Operations).
func TestFaultsTableComplete(t *testing.T) {
	doc, err := os.ReadFile("../../wsdl/FAULTS.md")
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, c := range fault.Codes() {
		codes[c.Code] = true
	}
	for _, op := range wsdl.Operations {
		for _, c := range append(op.Faults, wsdl.CommonFaults...) {
			if _, ok := fault.Lookup(c); !ok {
				t.Errorf("operation %s may answer %s, which adapter/fault does not know", op.Name, c)
			}
			codes[c] = true
		}
	}
	for c := range codes {
		if !strings.Contains(string(doc), "| "+c+" |") {
			t.Errorf("FAULTS.md has no table row for %s", c)
		}
	}
}

// TestProvenanceObservedClaimsNameAThread keeps "observed" honest: every table row of
// wsdl/PROVENANCE.md and wsdl/FAULTS.md that calls something observed names the public
// thread (it-fse-support #N) that shows it.
func TestProvenanceObservedClaimsNameAThread(t *testing.T) {
	thread := regexp.MustCompile(`#\d+`)
	for _, name := range []string{"PROVENANCE.md", "FAULTS.md"} {
		b, err := os.ReadFile(filepath.Join("../../wsdl", name))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			l := strings.ToLower(line)
			if !strings.HasPrefix(strings.TrimSpace(line), "|") || !strings.Contains(l, "observed") ||
				strings.Contains(l, "not observed") || strings.Contains(l, "never observed") {
				continue
			}
			if !thread.MatchString(line) {
				t.Errorf("%s:%d claims observed without a thread number: %s", name, i+1, strings.TrimSpace(line))
			}
		}
	}
}
