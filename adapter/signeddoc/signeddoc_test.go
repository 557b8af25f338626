package signeddoc

import (
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
)

func TestDocument(t *testing.T) {
	k, err := NewKit()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		opt          Options
		cdaOK, pdfOK bool
	}{
		{"both signed", Options{}, true, true},
		{"CDA unsigned", Options{UnsignedCDA: true}, false, true},
		{"PDF unsigned", Options{UnsignedPDF: true}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pdf, err := k.Document(pdfcdatest.CDA{}, pdfcdatest.PDF{PDFA: 3}, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := pdfcda.Read(pdf, pdfcda.Limits{})
			if err != nil || doc.CDA == nil {
				t.Fatalf("read: %v", err)
			}
			r, err := xades.Verify(doc.CDA, sign.VerifyOptions{Roots: k.CA.Pool()})
			if (err == nil && r.Trusted) != tc.cdaOK {
				t.Fatalf("CDA signature: %v", err)
			}
			sigs, err := pades.Verify(pdf, sign.VerifyOptions{Roots: k.CA.Pool()})
			if (err == nil && pades.Intact(sigs)) != tc.pdfOK {
				t.Fatalf("PDF signature: %v %+v", err, sigs)
			}
		})
	}
}
