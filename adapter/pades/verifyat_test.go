package pades

import (
	"bytes"
	"io"
	"reflect"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

// countingFile is an io.ReaderAt that is not a *bytes.Reader and counts the bytes read.
type countingFile struct {
	data []byte
	read int64
}

func (r *countingFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r.data)) {
		return 0, io.EOF
	}
	n := copy(p, r.data[off:])
	r.read += int64(n)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestVerifyAt: verifying from a file says what verifying the bytes says, valid or
// changed, and reads the signed ranges once (hashed as they are read, never whole).
func TestVerifyAt(t *testing.T) {
	p := testPKI(t)
	base := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes(), PadTo: 8 << 20}.Bytes()
	signed, err := SignBytes(base, p.rsa, SignOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(signed, []byte("Documento di prova"), []byte("Documento di pr0va"), 1)
	appended := append(append([]byte{}, signed...), []byte("1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")...)
	opt := sign.VerifyOptions{Roots: p.ca.Pool()}
	for name, data := range map[string][]byte{"signed": signed, "changed": changed, "appended": appended} {
		want, werr := Verify(data, opt)
		f := &countingFile{data: data}
		got, gerr := VerifyAt(f, int64(len(data)), opt)
		if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: VerifyAt %v %+v, Verify %v %+v", name, gerr, got, werr, want)
		}
		if f.read > int64(len(data))+1<<20 {
			t.Fatalf("%s: read %d bytes of a %d-byte file", name, f.read, len(data))
		}
	}
	if sigs, _ := VerifyAt(&countingFile{data: signed}, int64(len(signed)), opt); !Intact(sigs) {
		t.Fatalf("not intact: %+v", sigs)
	}
}
