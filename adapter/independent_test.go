package adapter

import (
	"bytes"
	"context"
	"encoding/pem"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

// TestSentEnvelopesPassIndependentCheckers takes the envelopes the client really sent for
// every operation, in both security profiles, and checks them with tools that share none of
// our code: xmllint validates each Body payload against the service's XSD; xmlsec1 verifies,
// on the whole envelope, the one message signature of the Puglia profile (Timestamp and the
// Header's assertion) or, in the national profile, the Timestamp signature and both SAML
// assertion signatures.
func TestSentEnvelopesPassIndependentCheckers(t *testing.T) {
	for _, profile := range []string{"puglia", "national"} {
		t.Run(profile, func(t *testing.T) { sentEnvelopesPassIndependentCheckers(t, profile) })
	}
}

func sentEnvelopesPassIndependentCheckers(t *testing.T, profile string) {
	xmllint := testenv.Tool(t, "xmllint", "apt-get install libxml2-utils")
	xmlsec1 := testenv.Tool(t, "xmlsec1", "apt-get install xmlsec1")
	r := newRegion(t)
	c := r.client(t, func(cfg *Config) { cfg.Security.Profile = profile })
	ctx := context.Background()
	pub, err := c.Documents.Publish(ctx, publishRequest(testPDF(t, 2000), "IND"))
	if err != nil {
		t.Fatal(err)
	}
	calls := []func() error{
		func() error {
			_, err := c.Documents.Search(ctx, SearchQuery{PatientCF: patient, From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
			return err
		},
		func() error { _, err := c.Documents.Retrieve(ctx, patient, pub.UniqueID); return err },
		func() error {
			_, err := c.Documents.Replace(ctx, pub.UniqueID, publishRequest(testPDF(t, 100), "IND2"))
			return err
		},
		func() error { return c.Documents.Delete(ctx, patient, "2.16.840.1.113883.2.9.2.160.4.4^IND2") },
		func() error {
			_, err := c.Consents.Set(ctx, ConsentChange{PatientCF: patient, Values: map[ConsentCode]bool{"C2": true},
				OnBehalfOf: &Representative{CF: "FSELBR01C41A145S", Role: "GEN"}})
			return err
		},
	}
	for _, k := range TaccuinoKinds {
		calls = append(calls, func() error {
			_, err := c.Taccuino.Items(ctx, TaccuinoQuery{PatientCF: patient, Kind: k, From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)})
			return err
		})
	}
	calls = append(calls, func() error { _, err := c.Taccuino.Summary(ctx, patient); return err })
	for _, call := range calls {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.raw) != 14 {
		t.Fatalf("captured %d operations, want all 14", len(r.raw))
	}

	// xmllint and xmlsec1 split file names on commas: t.TempDir (named after the test) is fine
	// here, but keep to a plain directory for both.
	dir, err := os.MkdirTemp("", "adapter-independent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	certPath := filepath.Join(dir, "signer.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.pki.signer.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for op, env := range r.raw {
		t.Run(op, func(t *testing.T) {
			{
				payload := bodyPayload(t, env)
				p := filepath.Join(dir, op+".payload.xml")
				if err := os.WriteFile(p, payload, 0o600); err != nil {
					t.Fatal(err)
				}
				xsd := map[string]string{"IDocumentService": "IDocument.xsd", "IGestoreConsensoService": "IGestoreConsenso.xsd",
					"ITaccuinoService": "ITaccuino.xsd"}[serviceOf(op)]
				if out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("..", "wsdl", xsd), p).CombinedOutput(); err != nil {
					t.Errorf("xmllint refuses the %s payload the client sent:\n%s", op, out)
				}
			}
			{
				p := filepath.Join(dir, op+".envelope.xml")
				if err := os.WriteFile(p, env, 0o600); err != nil {
					t.Fatal(err)
				}
				xps := []string{"/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']/*[local-name()='Signature']"}
				if profile == "national" {
					xps = append(xps, "//*[local-name()='Assertion'][@ID='identity-assertion']/*[local-name()='Signature']",
						"//*[local-name()='Assertion'][@ID='attribute-assertion']/*[local-name()='Signature']")
				} else if !bytes.Contains(env, []byte(`<Reference URI="#identity-assertion">`)) {
					t.Errorf("the %s envelope's signature does not cover the assertion", op)
				}
				for _, xp := range xps {
					out, err := exec.Command(xmlsec1, "--verify", "--pubkey-cert-pem", certPath,
						"--id-attr:Id", wssec.NSWSU+":Timestamp",
						"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
						"--node-xpath", xp, p).CombinedOutput()
					if err != nil {
						t.Errorf("xmlsec1 refuses %s in the %s envelope:\n%s", xp, op, out)
					}
				}
			}
		})
	}
}

// bodyPayload returns the bytes of the SOAP Body's child element as sent.
func bodyPayload(t *testing.T, env []byte) []byte {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(env))
	inBody := false
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no Body payload: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if inBody {
			if err := d.Skip(); err != nil {
				t.Fatal(err)
			}
			return env[off:d.InputOffset()]
		}
		inBody = se.Name.Local == "Body"
	}
}
