package pades

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
)

type pki struct {
	ca      *signtest.CA
	rsa, ec *signtest.Leaf
}

var (
	pkiOnce sync.Once
	pkiVal  pki
	pkiErr  error
)

func testPKI(t testing.TB) pki {
	t.Helper()
	pkiOnce.Do(func() {
		var p pki
		if p.ca, pkiErr = signtest.NewCA("pades test CA"); pkiErr != nil {
			return
		}
		if p.rsa, pkiErr = p.ca.Issue(signtest.LeafOptions{}); pkiErr != nil {
			return
		}
		p.ec, pkiErr = p.ca.Issue(signtest.LeafOptions{Key: signtest.ECDSAP256})
		pkiVal = p
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiVal
}

var frozen = time.Now().In(time.FixedZone("CET", 3600)).Truncate(time.Second)

func clock() time.Time { return frozen }

func write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// bases are the PDFs we sign: our fixtures (classic xref table, xref stream with object
// streams, already signed with a fake signature, appended) and the ministry's real samples.
func bases(t *testing.T) map[string][]byte {
	lab := pdfcdatest.CDA{}.Bytes()
	m := map[string][]byte{
		"table":  pdfcdatest.PDF{Attachment: lab}.Bytes(),
		"objstm": pdfcdatest.PDF{Attachment: lab, ObjectStream: true, Kids: true}.Bytes(),
		"no-eol": bytes.TrimRight(pdfcdatest.PDF{Attachment: lab}.Bytes(), "\n"),
	}
	if dir := filepath.Join(testenv.ModuleRoot(t), "..", "shared", "samples", "signed-pdf"); true {
		if b, err := os.ReadFile(filepath.Join(dir, "LAB.pdf")); err == nil {
			m["ministry LAB (already signed)"] = b
		}
	}
	return m
}

func TestSignVerify(t *testing.T) {
	p := testPKI(t)
	for name, base := range bases(t) {
		for _, leaf := range []*signtest.Leaf{p.rsa, p.ec} {
			t.Run(name+"/"+leaf.Certificate().PublicKeyAlgorithm.String(), func(t *testing.T) {
				signed, err := SignBytes(base, leaf, SignOptions{Now: clock, Reason: "Referto"})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(signed[:len(base)], base) {
					t.Fatal("the original bytes changed: not an incremental update")
				}
				sigs, err := Verify(signed, sign.VerifyOptions{Roots: p.ca.Pool()})
				if err != nil {
					t.Fatal(err)
				}
				last := sigs[len(sigs)-1]
				if !last.Valid || !last.Trusted || !last.CoversWholeFile || last.Format != sign.FormatPAdES ||
					last.SignerCF != signtest.OperatorCF || !last.SigningTime.Equal(frozen) || len(last.Problems) != 0 {
					t.Fatalf("%+v", last)
				}
				if !Intact(sigs) {
					t.Fatal("not intact")
				}
				// The document still reads: the CDA is found in the signed file.
				doc, err := pdfcda.ReadPDF(signed, pdfcda.Limits{})
				if err != nil || doc.CDA == nil {
					t.Fatalf("signed PDF does not read: %v", err)
				}
				// Signing again keeps the first signature and adds a second field.
				twice, err := SignBytes(signed, leaf, SignOptions{Now: clock})
				if err != nil {
					t.Fatal(err)
				}
				sigs2, err := Verify(twice, sign.VerifyOptions{Roots: p.ca.Pool()})
				if err != nil || len(sigs2) != len(sigs)+1 || !sigs2[len(sigs)].Valid || !sigs2[len(sigs)-1].Valid ||
					sigs2[len(sigs)-1].CoversWholeFile || sigs2[len(sigs)-1].AppendedBytes != int64(len(twice)-len(signed)) {
					t.Fatalf("second signature: %v %+v", err, sigs2)
				}
			})
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	p := testPKI(t)
	base := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes()}.Bytes()
	signed, err := SignBytes(base, p.rsa, SignOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(base, sign.VerifyOptions{}); !errors.Is(err, sign.ErrUnsigned) {
		t.Fatalf("unsigned: %v", err)
	}
	// A byte changed in the signed range.
	changed := bytes.Replace(signed, []byte("Documento di prova"), []byte("Documento di pr0va"), 1)
	sigs, err := Verify(changed, sign.VerifyOptions{})
	if err != nil || sigs[0].Valid || !strings.Contains(strings.Join(sigs[0].Problems, ";"), "message digest mismatch") {
		t.Fatalf("changed: %v %+v", err, sigs)
	}
	// An incremental update after the signature: still valid for what it covers, flagged.
	appended := append(append([]byte{}, signed...), []byte("1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")...)
	sigs, err = Verify(appended, sign.VerifyOptions{})
	if err != nil || !sigs[0].Valid || sigs[0].CoversWholeFile || sigs[0].AppendedBytes == 0 || Intact(sigs) ||
		!strings.Contains(strings.Join(sigs[0].Problems, ";"), "added after this signature") {
		t.Fatalf("appended: %v %+v", err, sigs)
	}
	// The fake signature of the fixtures has the right shape and no CMS.
	sigs, err = Verify(pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes(), Sign: true}.Bytes(), sign.VerifyOptions{})
	if err != nil || sigs[0].Valid {
		t.Fatalf("fake: %v %+v", err, sigs)
	}
	// A ByteRange that does not leave out the /Contents.
	s := VerifyRange(signed, []int64{0, 100, 200, int64(len(signed)) - 200}, "ETSI.CAdES.detached", sign.VerifyOptions{})
	if s.Valid || !strings.Contains(s.Problems[0], "not the /Contents") {
		t.Fatalf("%+v", s)
	}
	s = VerifyRange(signed, []int64{0, 100, 200, 1 << 40}, "ETSI.CAdES.detached", sign.VerifyOptions{})
	if s.Valid || !strings.Contains(s.Problems[0], "inside the file") {
		t.Fatalf("%+v", s)
	}
}

// TestMinistrySamples: the ministry's PAdES samples verify (their certificate has expired,
// so they are valid but not trusted).
func TestMinistrySamples(t *testing.T) {
	dir := filepath.Join(testenv.SamplesDir(t), "signed-pdf")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sigs, err := Verify(data, sign.VerifyOptions{})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		if len(sigs) != 1 || !sigs[0].Valid || !sigs[0].CoversWholeFile || sigs[0].SignerName != "Test Certificate Sign" || sigs[0].SigningTime.IsZero() {
			t.Fatalf("%s: %+v", filepath.Base(f), sigs)
		}
	}
}

// TestPdfsigAndOpenSSL: qpdf --check finds the signed file's structure sound, poppler's
// pdfsig validates what Sign makes (signature valid, total document signed) and openssl cms verifies the CMS over the extracted ranges trusting the
// CA; both refuse a tampered copy.
func TestPdfsigAndOpenSSL(t *testing.T) {
	p := testPKI(t)
	pdfsig := testenv.Tool(t, "pdfsig", "apt-get install poppler-utils")
	openssl := testenv.Tool(t, "openssl", "apt-get install openssl")
	qpdf := testenv.Tool(t, "qpdf", "apt-get install qpdf")
	caFile := write(t, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.ca.Cert.Raw}))
	for name, base := range bases(t) {
		for _, leaf := range []*signtest.Leaf{p.rsa, p.ec} {
			t.Run(name+"/"+leaf.Certificate().PublicKeyAlgorithm.String(), func(t *testing.T) {
				signed, err := SignBytes(base, leaf, SignOptions{Now: clock})
				if err != nil {
					t.Fatal(err)
				}
				file := write(t, "signed.pdf", signed)
				if out, err := exec.Command(qpdf, "--check", file).CombinedOutput(); err != nil {
					t.Fatalf("qpdf --check: %v\n%s", err, out)
				}
				out, _ := exec.Command(pdfsig, "-nocert", file).CombinedOutput()
				last := string(out)[strings.LastIndex(string(out), "Signature #"):]
				if !strings.Contains(last, "Signature Validation: Signature is Valid.") || !strings.Contains(last, "Total document signed") ||
					!strings.Contains(last, "ETSI.CAdES.detached") {
					t.Fatalf("pdfsig:\n%s", out)
				}
				tampered := write(t, "tampered.pdf", bytes.Replace(signed, []byte("/MediaBox [0 0 595 842]"), []byte("/MediaBox [0 0 595 843]"), 1))
				if bytes.Contains(signed, []byte("/MediaBox [0 0 595 842]")) {
					out, _ = exec.Command(pdfsig, "-nocert", tampered).CombinedOutput()
					if strings.Contains(string(out)[strings.LastIndex(string(out), "Signature #"):], "Signature is Valid.") {
						t.Fatalf("pdfsig accepts a tampered file:\n%s", out)
					}
				}
				sigs, err := Verify(signed, sign.VerifyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				br := sigs[len(sigs)-1].ByteRange
				content := append(append([]byte{}, signed[:br[1]]...), signed[br[2]:br[2]+br[3]]...)
				padded := make([]byte, (br[2]-br[1]-2)/2)
				if _, err := hex.Decode(padded, signed[br[1]+1:br[2]-1]); err != nil {
					t.Fatal(err)
				}
				var raw asn1.RawValue // the CMS without the /Contents zero padding
				if _, err := asn1.Unmarshal(padded, &raw); err != nil {
					t.Fatal(err)
				}
				der := raw.FullBytes
				contentFile, sigFile := write(t, "content.bin", content), write(t, "sig.der", der)
				if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigFile, "-content", contentFile,
					"-CAfile", caFile, "-purpose", "any", "-out", os.DevNull).CombinedOutput(); err != nil {
					t.Fatalf("openssl cms -verify: %v\n%s", err, out)
				}
				content[len(content)/2] ^= 1
				if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigFile, "-content", write(t, "c2.bin", content),
					"-CAfile", caFile, "-purpose", "any", "-out", os.DevNull).CombinedOutput(); err == nil {
					t.Fatalf("openssl accepts a changed range: %s", out)
				}
			})
		}
	}
}
