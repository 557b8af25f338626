package sim

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/sim/seed"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

// zeepPython is the interpreter where python3-zeep is importable (not the python3 on PATH).
const zeepPython = "/usr/bin/python3"

// TestZeepInterop runs zeep (python3-zeep, an independent SOAP stack) against the simulator
// in relaxed plain-HTTP mode: it loads each WSDL from ?wsdl and calls every operation of the
// three services; every answer must deserialize and the expected faults must come back as
// zeep Faults carrying the FSE code.
func TestZeepInterop(t *testing.T) {
	if err := exec.Command(zeepPython, "-c", "import zeep").Run(); err != nil {
		testenv.Missing(t, fmt.Sprintf("python3-zeep not importable from %s: %v", zeepPython, err), "apt-get install python3-zeep")
	}
	h := startSim(t, func(o *Options) { o.Relaxed = true; o.PlainHTTP = true })
	dir := t.TempDir()
	pdf, pdf3 := filepath.Join(dir, "doc.pdf"), filepath.Join(dir, "doc3.pdf")
	// The first document's base64 is over elideThreshold: zeep's addDocument, its duplicate
	// and the retrieval take the large-text path (file on arrival, streamed answer); the
	// replacement is small (held in memory).
	big := pdfSized(patA, "zeep.1", recent, "N", 4*elideThreshold)
	if base64.StdEncoding.EncodedLen(len(big)) <= elideThreshold {
		t.Fatal("zeep's first document too small for the large-text path")
	}
	if err := os.WriteFile(pdf, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pdf3, pdfFor(patA, "zeep.3"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, zeepPython, filepath.Join("zeeptest", "zeep_interop.py"), h.srv.URL(), pdf, pdf3, patA, seed.PatientB, otherCF(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zeep script: %v\n%s", err, out)
	}
	ok := map[string]bool{}
	var declared []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "OK":
			ok[f[1]] = true
		case len(f) == 3 && f[0] == "OPS":
			declared = append(declared, strings.Split(f[2], ",")...)
		}
	}
	var want []string
	for _, ops := range operations {
		for op := range ops {
			want = append(want, op)
		}
	}
	sort.Strings(want)
	sort.Strings(declared)
	if strings.Join(want, ",") != strings.Join(declared, ",") {
		t.Fatalf("the WSDLs declare %v, the simulator serves %v", declared, want)
	}
	for _, op := range want {
		if !ok[op] {
			t.Errorf("no successful zeep call of %s", op)
		}
	}
	for _, code := range []string{"FAULT comunicazioneConsensi FSE-00400", "FAULT addDocument FSE-00409", "FAULT addDocument FSE-00000",
		"FAULT retrieveDocument FSE-00404", "FAULT deleteDocument FSE-00404"} {
		if !strings.Contains(string(out), code) {
			t.Errorf("zeep did not report %q", code)
		}
	}
	if t.Failed() {
		t.Logf("zeep output:\n%s", out)
	}
	// What zeep did is in the store.
	m, err := h.srv.Data().Store.Meta("2.16.840.1.113883.2.9.2.160.4.4^zeep.1")
	if err != nil || m.ReplacedBy == "" {
		t.Fatalf("zeep's publication not replaced in the store: %+v %v", m, err)
	}
}
