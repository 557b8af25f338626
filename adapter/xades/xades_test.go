package xades

import (
	"bytes"
	"encoding/base64"
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
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
)

type pki struct {
	ca, other *signtest.CA
	rsa, ec   *signtest.Leaf
}

var (
	pkiOnce sync.Once
	pkiVal  pki
	pkiErr  error
)

// testPKI is made once per test binary (RSA key generation is slow).
func testPKI(t testing.TB) pki {
	t.Helper()
	pkiOnce.Do(func() {
		var p pki
		if p.ca, pkiErr = signtest.NewCA("xades test CA"); pkiErr != nil {
			return
		}
		if p.other, pkiErr = signtest.NewCA("another CA"); pkiErr != nil {
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

var frozen = time.Now().Truncate(time.Second)

func clock() time.Time { return frozen }

func TestSignVerify(t *testing.T) {
	p := testPKI(t)
	cda := pdfcdatest.CDA{}.Bytes()
	for _, tc := range []struct {
		name   string
		signer *signtest.Leaf
		alg    string
	}{
		{"RSA", p.rsa, "RSA-SHA256"},
		{"ECDSA", p.ec, "ECDSA-SHA256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed, err := Sign(cda, tc.signer, SignOptions{Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			// The document minus the signature is the input, byte for byte.
			i := bytes.Index(signed, []byte("<ds:Signature "))
			j := bytes.Index(signed, []byte("</ds:Signature>")) + len("</ds:Signature>")
			if i < 0 || !bytes.Equal(append(append([]byte{}, signed[:i]...), signed[j:]...), cda) {
				t.Fatal("signing changed the CDA's own bytes")
			}
			r, err := Verify(signed, sign.VerifyOptions{Roots: p.ca.Pool(), Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Valid || !r.Trusted || r.Format != sign.FormatXAdES || r.Algorithm != tc.alg ||
				r.SignerCF != signtest.OperatorCF || !r.SigningTime.Equal(frozen) || len(r.Problems) != 0 {
				t.Fatalf("result %+v", r)
			}
			r, err = Verify(signed, sign.VerifyOptions{Roots: p.other.Pool()})
			if err != nil || !r.Valid || r.Trusted || len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "trusted root") {
				t.Fatalf("other CA: err %v result %+v", err, r)
			}
			if _, err := Sign(signed, tc.signer, SignOptions{}); !errors.Is(err, ErrAlreadySigned) {
				t.Fatalf("signing twice: %v", err)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	p := testPKI(t)
	cda := pdfcdatest.CDA{}.Bytes()
	signed, err := Sign(cda, p.rsa, SignOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	s := string(signed)
	sigStart := strings.Index(s, "<ds:Signature ")
	sigEnd := strings.Index(s, "</ds:Signature>") + len("</ds:Signature>")
	sigEl := s[sigStart:sigEnd]
	value := between(s, "<ds:SignatureValue", "</ds:SignatureValue>")
	for _, tc := range []struct {
		name, doc, problem string
	}{
		{"patient CF changed", strings.Replace(s, pdfcdatest.PatientCF, pdfcdatest.PatientCF2, 1), "the document was changed"},
		{"body text changed", strings.Replace(s, "<title>Chimica", "<title>Chimic4", 1), "the document was changed"},
		{"signing time changed", strings.Replace(s, frozen.Format("2006-01-02T15:04:05"), frozen.Add(-time.Hour).Format("2006-01-02T15:04:05"), 1), "the signed content was changed"},
		{"signature value changed", strings.Replace(s, value, value[:len(value)-6]+"AAAA==", 1), "does not verify"},
		{"signed properties reference dropped", dropSecondReference(s), "does not verify"},
		{"another certificate in KeyInfo", strings.Replace(s, between(s, "<ds:X509Certificate>", "</ds:X509Certificate>"), base64.StdEncoding.EncodeToString(p.ec.Certificate().Raw), 1), "does not verify"},
		{"duplicate Id (wrapping)", strings.Replace(s, "<realmCode", `<realmCode Id="`+between(s, `<xades:SignedProperties Id="`, `"`)+`"/><realmCode`, 1), "several elements have this Id"},
		{"signature moved out of the root's children", s[:sigStart] + s[sigEnd:strings.LastIndex(s, "</ClinicalDocument>")] + "<x:w xmlns:x=\"urn:x\">" + sigEl + "</x:w></ClinicalDocument>\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Verify([]byte(tc.doc), sign.VerifyOptions{Roots: p.ca.Pool()})
			if tc.problem == "" {
				if !errors.Is(err, sign.ErrUnsigned) {
					t.Fatalf("err %v, want ErrUnsigned", err)
				}
				return
			}
			var ie *sign.InvalidError
			if !errors.As(err, &ie) || r == nil || r.Valid || r.Trusted {
				t.Fatalf("err %v result %+v", err, r)
			}
			if !strings.Contains(err.Error(), tc.problem) {
				t.Fatalf("error %q does not say %q", err, tc.problem)
			}
		})
	}
	if _, err := Verify(cda, sign.VerifyOptions{}); !errors.Is(err, sign.ErrUnsigned) {
		t.Fatalf("unsigned: %v", err)
	}
	var se *SyntaxError
	if _, err := Verify(cda[:len(cda)/2], sign.VerifyOptions{}); !errors.As(err, &se) {
		t.Fatalf("truncated: %v", err)
	}
}

// TestExpiredCertificate: a signature made while the certificate was valid is valid; the
// signing time is checked against the certificate's validity.
func TestExpiredCertificate(t *testing.T) {
	p := testPKI(t)
	leaf, err := p.ca.Issue(signtest.LeafOptions{Key: signtest.ECDSAP256, NotBefore: frozen.Add(-48 * time.Hour), NotAfter: frozen.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := Sign(pdfcdatest.CDA{}.Bytes(), leaf, SignOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Verify(signed, sign.VerifyOptions{Roots: p.ca.Pool()})
	if err != nil || r.Trusted || len(r.Problems) == 0 || !strings.Contains(r.Problems[0], "not valid at") {
		t.Fatalf("err %v result %+v", err, r)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a) + len(a)
	return s[i : i+strings.Index(s[i:], b)]
}

func dropSecondReference(s string) string {
	i := strings.Index(s, `<ds:Reference Type=`)
	j := strings.Index(s[i:], "</ds:Reference>") + i + len("</ds:Reference>")
	return s[:i] + s[j:]
}

// TestPIsOutsideRoot: a CDA with a stylesheet processing instruction before the root (as
// many CDAs have) signs and verifies, and xmlsec1 agrees (the PI is part of URI="").
func TestPIsOutsideRoot(t *testing.T) {
	p := testPKI(t)
	cda := pdfcdatest.CDA{}.Bytes()
	cda = bytes.Replace(cda, []byte("?>\n"), []byte("?>\n<?xml-stylesheet type=\"text/xsl\" href=\"CDA.xsl\"?>\n"), 1)
	signed, err := Sign(cda, p.rsa, SignOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(signed, sign.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	xmlsec1Verify(t, p, signed, true)
	// Changing the PI breaks the signature, for both verifiers.
	changed := bytes.Replace(signed, []byte("CDA.xsl"), []byte("XYZ.xsl"), 1)
	if _, err := Verify(changed, sign.VerifyOptions{}); err == nil {
		t.Fatal("a changed processing instruction still verifies")
	}
	xmlsec1Verify(t, p, changed, false)
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func caFile(t *testing.T, ca *signtest.CA) string {
	return writeTemp(t, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}))
}

// xmlsec1Verify runs xmlsec1 --verify trusting the test CA. The SignedProperties Id must be
// declared as an ID attribute (no DTD or schema says so).
func xmlsec1Verify(t *testing.T, p pki, doc []byte, wantOK bool) {
	t.Helper()
	xmlsec1 := testenv.Tool(t, "xmlsec1", "apt-get install xmlsec1")
	out, err := exec.Command(xmlsec1, "--verify", "--id-attr:Id", NSXAdES+":SignedProperties",
		"--trusted-pem", caFile(t, p.ca), "--enabled-key-data", "x509", writeTemp(t, "signed.xml", doc)).CombinedOutput()
	if (err == nil) != wantOK {
		t.Fatalf("xmlsec1 --verify: err %v, want ok=%v\n%s", err, wantOK, out)
	}
}

// TestXmlsec1VerifiesOurs: xmlsec1 verifies both references of what Sign makes (RSA and
// ECDSA), trusting the CA, and refuses a tampered copy and an untrusted CA.
func TestXmlsec1VerifiesOurs(t *testing.T) {
	p := testPKI(t)
	for _, leaf := range []*signtest.Leaf{p.rsa, p.ec} {
		signed, err := Sign(pdfcdatest.CDA{BodyPadding: 2000}.Bytes(), leaf, SignOptions{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		xmlsec1Verify(t, p, signed, true)
		xmlsec1Verify(t, p, bytes.Replace(signed, []byte("Valori nella norma"), []byte("Valori alterati!!!"), 1), false)
		xmlsec1Verify(t, p, bytes.Replace(signed, []byte("<xades:MimeType>text/xml"), []byte("<xades:MimeType>text/txt"), 1), false)
		xmlsec1Verify(t, pki{ca: p.other}, signed, false)
	}
}

// TestVerifiesXmlsec1: what xmlsec1 signs (plain XML-DSig, exclusive and inclusive C14N)
// verifies here, and is refused once changed.
func TestVerifiesXmlsec1(t *testing.T) {
	p := testPKI(t)
	xmlsec1 := testenv.Tool(t, "xmlsec1", "apt-get install xmlsec1")
	cert, key, err := p.rsa.PEM()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := writeTemp(t, "cert.pem", cert), writeTemp(t, "key.pem", key)
	cda := string(pdfcdatest.CDA{}.Bytes())
	for _, c14n := range []string{algExcC14N, dsigC14N10, "http://www.w3.org/2006/12/xml-c14n11"} {
		t.Run(c14n, func(t *testing.T) {
			tmpl := `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="` + c14n + `"/>` +
				`<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI=""><Transforms>` +
				`<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><Transform Algorithm="` + c14n + `"/></Transforms>` +
				`<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>`
			doc := strings.Replace(cda, "</ClinicalDocument>", tmpl+"</ClinicalDocument>", 1)
			signedFile := filepath.Join(t.TempDir(), "signed.xml")
			out, err := exec.Command(xmlsec1, "--sign", "--privkey-pem", keyFile+","+certFile, "--output", signedFile, writeTemp(t, "tmpl.xml", []byte(doc))).CombinedOutput()
			if err != nil {
				t.Fatalf("xmlsec1 --sign: %v\n%s", err, out)
			}
			signed, err := os.ReadFile(signedFile)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Verify(signed, sign.VerifyOptions{Roots: p.ca.Pool()})
			if err != nil || !r.Valid || !r.Trusted || r.Format != sign.FormatXMLDSig || r.SignerCF != signtest.OperatorCF {
				t.Fatalf("err %v result %+v", err, r)
			}
			if _, err := Verify(bytes.Replace(signed, []byte("Struttura di prova"), []byte("Struttura di prov4"), 1), sign.VerifyOptions{}); err == nil {
				t.Fatal("changed document verifies")
			}
		})
	}
	// XAdES properties that no reference signs are refused (anyone could have added them).
	t.Run("unsigned XAdES properties", func(t *testing.T) {
		tmpl := `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="s1"><SignedInfo><CanonicalizationMethod Algorithm="` + algExcC14N + `"/>` +
			`<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI=""><Transforms>` +
			`<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><Transform Algorithm="` + algExcC14N + `"/></Transforms>` +
			`<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo>` +
			`<Object><xades:QualifyingProperties xmlns:xades="` + NSXAdES + `" Target="#s1"><xades:SignedProperties Id="sp"><xades:SignedSignatureProperties>` +
			`<xades:SigningTime>2020-01-01T00:00:00Z</xades:SigningTime></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></Object></Signature>`
		doc := strings.Replace(cda, "</ClinicalDocument>", tmpl+"</ClinicalDocument>", 1)
		signedFile := filepath.Join(t.TempDir(), "signed.xml")
		out, err := exec.Command(xmlsec1, "--sign", "--privkey-pem", keyFile+","+certFile, "--output", signedFile, writeTemp(t, "tmpl.xml", []byte(doc))).CombinedOutput()
		if err != nil {
			t.Fatalf("xmlsec1 --sign: %v\n%s", err, out)
		}
		signed, err := os.ReadFile(signedFile)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Verify(signed, sign.VerifyOptions{})
		if err == nil || r.Valid || !strings.Contains(err.Error(), "not covered by a verified Reference") {
			t.Fatalf("err %v result %+v", err, r)
		}
	})
}

// nodeModules is where .ci/run installs the npm checkers (xadesjs): $NODE_PATH, else
// $HOME/.cache/fsepuglia-checkers/node_modules.
func nodeModules(t *testing.T) (node, dir string) {
	t.Helper()
	node = testenv.Tool(t, "node", "apt-get install nodejs")
	dir = os.Getenv("NODE_PATH")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "fsepuglia-checkers", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(dir, "xadesjs", "package.json")); err != nil {
		testenv.Missing(t, "npm package xadesjs not found in "+dir,
			"npm install --prefix ~/.cache/fsepuglia-checkers xadesjs@2.6.8 @xmldom/xmldom@0.9.12 xpath@0.0.34, or set NODE_PATH")
	}
	return node, dir
}

// TestXadesjsVerifiesOurs: the npm package xadesjs, a third implementation, verifies what
// Sign makes (both references and the XAdES signing time) and refuses a tampered copy.
func TestXadesjsVerifiesOurs(t *testing.T) {
	p := testPKI(t)
	node, dir := nodeModules(t)
	script := filepath.Join(testenv.ModuleRoot(t), "fixtures", "checkers", "xadesjs-verify.js")
	run := func(doc []byte) (string, error) {
		cmd := exec.Command(node, script, writeTemp(t, "signed.xml", doc), "--xades")
		cmd.Env = append(os.Environ(), "NODE_PATH="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, leaf := range []*signtest.Leaf{p.rsa, p.ec} {
		signed, err := Sign(pdfcdatest.CDA{BodyPadding: 500}.Bytes(), leaf, SignOptions{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		if out, err := run(signed); err != nil || !strings.HasPrefix(out, "valid 1") {
			t.Fatalf("xadesjs refused our signature: %v\n%s", err, out)
		}
		for _, tamper := range [][2]string{{"<title>Chimica", "<title>Chimic4"}, {"<xades:MimeType>text/xml", "<xades:MimeType>text/txt"}} {
			if out, err := run(bytes.Replace(signed, []byte(tamper[0]), []byte(tamper[1]), 1)); err == nil {
				t.Fatalf("xadesjs accepted a tampered copy (%s): %s", tamper[1], out)
			}
		}
	}
}
