package pades

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/readcount"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

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
		f := readcount.Bytes(data)
		got, gerr := VerifyAt(f, int64(len(data)), opt)
		if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: VerifyAt %v %+v, Verify %v %+v", name, gerr, got, werr, want)
		}
		if f.BytesRead() > int64(len(data))+1<<20 {
			t.Fatalf("%s: read %d bytes of a %d-byte file", name, f.BytesRead(), len(data))
		}
	}
	if sigs, _ := VerifyAt(readcount.Bytes(signed), int64(len(signed)), opt); !Intact(sigs) {
		t.Fatalf("not intact: %+v", sigs)
	}
}
