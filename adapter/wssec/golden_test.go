package wssec_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
)

var update = flag.Bool("update", false, "rewrite the golden envelopes under fixtures/wssec")

const fixtures = "../../fixtures/wssec"

// fixtureSigner loads the committed TEST-ONLY key and certificate.
func fixtureSigner(t testing.TB) wssec.Signer {
	t.Helper()
	kp, err := os.ReadFile(filepath.Join(fixtures, "test-only-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := os.ReadFile(filepath.Join(fixtures, "test-only-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := pem.Decode(kp)
	cb, _ := pem.Decode(cp)
	if kb == nil || cb == nil {
		t.Fatal("fixture PEM unreadable")
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return wssec.Signer{Key: key.(crypto.Signer), Cert: cert}
}

func TestGoldenEnvelopes(t *testing.T) {
	s := fixtureSigner(t)
	tests := []struct {
		file     string
		alg      wssec.Algorithm
		signBody bool
	}{
		{"golden_adddocument_rsasha256.xml", wssec.RSASHA256, false},
		{"golden_adddocument_rsasha1_signbody.xml", wssec.RSASHA1, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), params(s, tt.alg, tt.signBody))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(fixtures, tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("secured envelope differs from %s (review, then -update)\ngot:\n%s", path, got)
			}
			// The committed golden must itself verify, with our verifier and with xmlsec1.
			if _, err := wssec.Verify(want, pinned(s, t0)); err != nil {
				t.Errorf("golden does not verify: %v", err)
			}
			for _, xp := range []string{xpTimestampSig, xpIdentitySig, xpAttributeSig} {
				checkXMLSec1(t, want, s.Cert, xp, true)
			}
		})
	}
}

// TestRealSampleBody signs the Body of an envelope carrying a real published CDA (inline
// XML: comments, namespaces, attributes) and a real signed PDF (base64), the hardest inputs
// for Body canonicalisation, and checks them with both verifiers.
func TestRealSampleBody(t *testing.T) {
	const samples = "../../../shared/samples"
	cda, err := os.ReadFile(filepath.Join(samples, "cda", "LAB.xml"))
	if err != nil {
		t.Skipf("shared samples not available (%v)", err)
	}
	pdf, err := os.ReadFile(filepath.Join(samples, "signed-pdf", "LAB.pdf"))
	if err != nil {
		t.Skipf("shared samples not available (%v)", err)
	}
	// Drop the XML declaration and processing instructions: they cannot appear inside a Body.
	inline := regexp.MustCompile(`<\?[^?]*\?>`).ReplaceAllString(string(cda), "")
	body := `<addDocument xmlns="` + fseNS + `"><document><file>` + base64.StdEncoding.EncodeToString(pdf) +
		`</file><cda>` + strings.TrimSpace(inline) + `</cda></document></addDocument>`
	s := testSigner(t)
	for _, alg := range []wssec.Algorithm{wssec.RSASHA256, wssec.RSASHA1} {
		t.Run(alg.String(), func(t *testing.T) {
			out, err := wssec.Secure(gowsdlEnvelope(body), params(s, alg, true))
			if err != nil {
				t.Fatal(err)
			}
			m, err := wssec.Verify(out, pinned(s, t0))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !m.BodySigned {
				t.Error("Body not signed")
			}
			checkXMLSec1(t, out, s.Cert, xpTimestampSig, true)
		})
	}
}
