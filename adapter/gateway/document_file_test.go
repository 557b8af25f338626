package gateway_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware/mwtest"
)

// TestNewDocumentFile: the Document of a file (read as a stream) is the Document of its bytes
// but for Data; the CDA hash the workflow checks is the same; a missing file is an error, a
// PDF without cda.xml the same refusal.
func TestNewDocumentFile(t *testing.T) {
	dir := t.TempDir()
	data := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes(), Sign: true, PadTo: 2 << 20}.Bytes()
	path := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := docmeta.Options{Profile: mwtest.Profile}
	want, _, err := gateway.NewDocument(data, "doc.pdf", opts)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := gateway.NewDocumentFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got.Data != nil {
		t.Fatal("Data read into memory")
	}
	w := *want
	w.Data = nil
	if !reflect.DeepEqual(*got, w) {
		t.Fatalf("from the file:\n%+v\nfrom the bytes:\n%+v", *got, w)
	}
	h1, err1 := got.CDAHash()
	h2, err2 := want.CDAHash()
	if err1 != nil || err2 != nil || h1 != h2 {
		t.Fatalf("CDA hashes %s %v, %s %v", h1, err1, h2, err2)
	}
	if _, _, err := gateway.NewDocumentFile(filepath.Join(dir, "missing.pdf"), opts); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	bare := pdfcdatest.PDF{}.Bytes()
	bp := filepath.Join(dir, "bare.pdf")
	if err := os.WriteFile(bp, bare, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, e1 := gateway.NewDocument(bare, "bare.pdf", opts)
	_, _, e2 := gateway.NewDocumentFile(bp, opts)
	if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Fatalf("no cda.xml: %v / %v", e2, e1)
	}
}
