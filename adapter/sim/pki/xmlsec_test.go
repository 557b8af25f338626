package pki

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

const sigTemplate = `<?xml version="1.0" encoding="UTF-8"?>
<Doc xmlns="urn:test"><Data>firmato con il certificato operatore di sviluppo</Data><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature></Doc>
`

// TestXmlsec1TrustsOperatorCert: xmlsec1, an independent XML-DSig implementation, signs with
// the operator pair (RSA-SHA256, certificate in KeyInfo) and verifies the signature only
// when the development CA is trusted.
func TestXmlsec1TrustsOperatorCert(t *testing.T) {
	testenv.Tool(t, "xmlsec1", "apt-get install xmlsec1")
	p := ensure(t, t.TempDir(), Options{})
	other := ensure(t, t.TempDir(), Options{})
	dir := t.TempDir()
	tmpl, signed := filepath.Join(dir, "tmpl.xml"), filepath.Join(dir, "signed.xml")
	if err := os.WriteFile(tmpl, []byte(sigTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmlsec1", "--sign", "--privkey-pem", p.Operator.KeyFile+","+p.Operator.CertFile,
		"--output", signed, tmpl).CombinedOutput()
	if err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, out)
	}
	tests := []struct {
		name    string
		trusted string
		ok      bool
	}{
		{"trusting the development CA", p.CA.CertFile, true},
		{"trusting another CA", other.CA.CertFile, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command("xmlsec1", "--verify", "--trusted-pem", tc.trusted, "--enabled-key-data", "x509", signed).CombinedOutput()
			if (err == nil) != tc.ok {
				t.Fatalf("xmlsec1 --verify: err %v, want ok=%v\n%s", err, tc.ok, out)
			}
		})
	}
}
