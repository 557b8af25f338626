package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
)

// samples is the folder of real documents published by the Ministry of Health (not copied
// into the repository).
const samples = "../../../shared/samples"

// TestPublishRealSamples publishes the real signed PDFs with metadata derived from their CDA
// (adapter/docmeta) and no sidecar at all.
func TestPublishRealSamples(t *testing.T) {
	dir := filepath.Join(samples, "signed-pdf")
	for _, name := range []string{"LAB", "RAD", "LDO"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".pdf")
			if _, err := os.Stat(path); err != nil {
				t.Skipf("sample %s absent: %v", path, err)
			}
			h := newHarness(t)
			d := h.deps()
			d.docMetadata = docmetaMetadata
			var out, errOut bytesBuffer
			// The ministry's samples are PAdES-signed but their CDA is not: the legacy
			// services would refuse them (FSE-10001), so publish refuses them before sending.
			err := newAppWith(&out, &errOut, d).RunContext(context.Background(), []string{"fsepuglia", "publish", path})
			var ce *docmeta.CheckError
			if !errors.As(err, &ce) || !ce.Has(docmeta.CheckCDASignature) || len(h.region.publishes) != 0 {
				t.Fatalf("unsigned CDA: err %v, %d sent", err, len(h.region.publishes))
			}
			err = newAppWith(&out, &errOut, d).RunContext(context.Background(), []string{"fsepuglia", "--cda-signature", "allow", "publish", path})
			if err != nil {
				t.Fatalf("publish: %v (stderr %d bytes)", err, errOut.Len())
			}
			if len(h.region.publishes) != 1 {
				t.Fatalf("published %d", len(h.region.publishes))
			}
			m := h.region.meta[h.region.publishes[0]]
			want := map[string]string{"LAB": "11502-2", "RAD": "68604-8", "LDO": "34105-7"}[name]
			if m.TypeCode != want || m.ClassCode == "" || !strings.Contains(m.UniqueID, "^") {
				t.Fatalf("derived type %q class %q id %q, want type %s", m.TypeCode, m.ClassCode, m.UniqueID, want)
			}
			if codicefiscale.Validate(m.PatientCF) != nil {
				t.Fatal("derived patient is not a valid codice fiscale")
			}
			if strings.Contains(errOut.String(), m.PatientCF) {
				t.Fatal("stderr shows the patient's fiscal code")
			}
		})
	}
}

func TestPublishRefusesNonPDFWithoutSkipChecks(t *testing.T) {
	h := newHarness(t)
	d := h.deps()
	d.docMetadata = docmetaMetadata
	doc := writeDoc(t, t.TempDir(), "a.pdf", "not a pdf at all", sidecar(cfA, idRoot+"NP"))
	run := func(args ...string) int {
		var out, errOut bytesBuffer
		return exitCode(newAppWith(&out, &errOut, d).RunContext(context.Background(), append([]string{"fsepuglia", "publish"}, args...)))
	}
	if code := run(doc); code != exitInput {
		t.Fatalf("non-PDF: exit %d, want %d", code, exitInput)
	}
	if len(h.region.publishes) != 0 {
		t.Fatal("a refused document was sent")
	}
	if code := run("--skip-checks", doc); code != 0 {
		t.Fatalf("--skip-checks: exit %d", code)
	}
}
