package docmeta_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/signeddoc"
)

var (
	kitOnce sync.Once
	kit     *signeddoc.Kit
	kitErr  error
)

func testKit(t *testing.T) *signeddoc.Kit {
	kitOnce.Do(func() { kit, kitErr = signeddoc.NewKit() })
	if kitErr != nil {
		t.Fatal(kitErr)
	}
	return kit
}

// TestSignatureChecks: with VerifySignatures the report carries what each signature is,
// and the required ones must verify: the PDF's (signature.valid, the gateway's
// /msg/sign-error) and the CDA's (cda.signature, the legacy FSE-10001).
func TestSignatureChecks(t *testing.T) {
	k := testKit(t)
	good, err := k.Document(pdfcdatest.CDA{}, pdfcdatest.PDF{}, signeddoc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	unsignedCDA, err := k.Document(pdfcdatest.CDA{}, pdfcdatest.PDF{}, signeddoc.Options{UnsignedCDA: true})
	if err != nil {
		t.Fatal(err)
	}
	appended := append(append([]byte{}, good...), []byte("15 0 obj\n<< /Producer (altro) >>\nendobj\n%%EOF\n")...)
	tampered := bytes.Replace(good, []byte("Documento di prova"), []byte("Documento di pr0va"), 1)
	fake := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes(), Sign: true}.Bytes()
	trust := sign.VerifyOptions{Roots: k.CA.Pool()}
	pdfReq := docmeta.Options{VerifySignatures: true, RequireSignature: true, Trust: trust}
	cdaReq := docmeta.Options{VerifySignatures: true, RequireCDASignature: true, Trust: trust}
	for _, tc := range []struct {
		name  string
		data  []byte
		opts  docmeta.Options
		check string
		ok    bool
		fault string
	}{
		{"signed PDF", good, pdfReq, docmeta.CheckSignatureValid, true, ""},
		{"fake signature", fake, pdfReq, docmeta.CheckSignatureValid, false, "/msg/sign-error"},
		{"changed after signing", tampered, pdfReq, docmeta.CheckSignatureValid, false, "/msg/sign-error"},
		{"update appended after signing", appended, pdfReq, docmeta.CheckSignatureValid, false, "/msg/sign-error"},
		{"signed CDA", good, cdaReq, docmeta.CheckCDASignature, true, ""},
		{"unsigned CDA", unsignedCDA, cdaReq, docmeta.CheckCDASignature, false, "FSE-10001"},
		{"unsigned CDA in a plain PDF", pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes()}.Bytes(), cdaReq, docmeta.CheckCDASignature, false, "FSE-10001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := docmeta.InspectBytes(tc.data, "doc.pdf", tc.opts)
			c, ran := r.Check(tc.check)
			if !ran || c.OK != tc.ok || c.FaultCode != tc.fault {
				t.Fatalf("check %s: ran %v %+v\n%+v", tc.check, ran, c, r.Checks)
			}
			if (r.Err() == nil) != tc.ok {
				t.Fatalf("Err %v", r.Err())
			}
		})
	}
	r := docmeta.InspectBytes(good, "doc.pdf", docmeta.Options{VerifySignatures: true, Trust: trust})
	if len(r.PAdES) != 1 || !r.PAdES[0].Trusted || r.PAdES[0].SignerCF != pdfcdatest.TestCF || r.CDASignature == nil || !r.CDASignature.Trusted || r.CDASignature.Format != sign.FormatXAdES {
		t.Fatalf("report %+v %+v", r.PAdES, r.CDASignature)
	}
	// Without VerifySignatures nothing is verified (and nothing is required).
	if r := docmeta.InspectBytes(fake, "doc.pdf", docmeta.Options{}); r.PAdES != nil || r.CDASignature != nil || r.Err() != nil {
		t.Fatalf("unverified report %+v", r)
	}
}
