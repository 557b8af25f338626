package wssec_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
)

// pugliaAttrs are the observed profile's facts (#2501): bare CF, typeofcare REF, purpose C,
// action C, bare LOINC, the ASL as organization.
func pugliaAttrs() *saml.Attributes {
	return &saml.Attributes{
		OperatorCF: operatorCF, Role: "RIS000044", StructureCode: "160114123456", Organization: "ASLBA",
		PurposeOfUse: "C", Action: "C", PatientCF: patientCF, DocumentType: "11488-4", TypeOfCare: "REF",
	}
}

func pugliaParams(s wssec.Signer, alg wssec.Algorithm, signBody bool) wssec.Params {
	return wssec.Params{
		Signer: s, Algorithm: alg, To: endpoint, Action: action, MessageID: fixedMsgID,
		Clock: at(t0), SignBody: signBody, Attributes: pugliaAttrs(),
		Issuer: "FSEPUGLIA", NameID: "01234567890.fsepuglia.example.it",
	}
}

const xpPugliaSig = "/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']/*[local-name()='Signature']"

// TestPugliaLayout checks the envelope the default profile writes against what #2501 and
// #2511 show, piece by piece, in order.
func TestPugliaLayout(t *testing.T) {
	s := testSigner(t)
	out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), pugliaParams(s, wssec.AlgorithmDefault, false))
	if err != nil {
		t.Fatal(err)
	}
	env := string(out)
	order := []string{
		`<To xmlns="http://www.w3.org/2005/08/addressing">` + endpoint + `</To>`,
		`<Action xmlns="http://www.w3.org/2005/08/addressing" soap:mustUnderstand="1">` + action + `</Action>`,
		`<ReplyTo xmlns="http://www.w3.org/2005/08/addressing" soap:mustUnderstand="1"><Address>http://www.w3.org/2005/08/addressing/anonymous</Address></ReplyTo>`,
		`<FaultTo xmlns="http://www.w3.org/2005/08/addressing" soap:mustUnderstand="1"><Address>http://www.w3.org/2005/08/addressing/anonymous</Address></FaultTo>`,
		`<MessageID xmlns="http://www.w3.org/2005/08/addressing" soap:mustUnderstand="1">` + fixedMsgID + `</MessageID>`,
		`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:wsu="` + wssec.NSWSU + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`,
		` ID="identity-assertion" IssueInstant="`,
		` Version="2.0" wsu:Id="identity-assertion" xsi:schemaLocation="urn:oasis:names:tc:SAML:2.0:assertion saml-schema-assertion-2.0.xsd">`,
		`<saml:Issuer>FSEPUGLIA</saml:Issuer><saml:Subject><saml:NameID>01234567890.fsepuglia.example.it</saml:NameID></saml:Subject>`,
		`<saml:Attribute Name="urn:oasis:names:tc:xacml:1.0:resource:resource-id" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue xsi:type="xs:string">` + patientCF + `</saml:AttributeValue>`,
		`Name="urn:oasis:names:tc:fse:1.0:subject:typeofcare" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue xsi:type="xs:string">REF<`,
		`Name="urn:oasis:names:tc:xspa:1.0:subject:purposeofuse" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue xsi:type="xs:string">C<`,
		`Name="urn:oasis:names:tc:xspa:1.0:resource:hl7:type" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue xsi:type="xs:string">11488-4<`,
		`Name="urn:oasis:names:tc:xspa:1.0:resource:patient:hl7:confidentiality-code" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue xsi:type="xs:string">false<`,
		`Name="urn:oasis:names:tc:xacml:1.0:action:action-id" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue xsi:type="xs:string">C<`,
		`Name="urn:oasis:names:tc:xspa:1.0:resource:patient:home-community-id" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue xsi:type="xs:string">2.16.840.1.113883.2.9.2.160<`,
		`</saml:Assertion><wsse:Security`,
		`<wsu:Timestamp wsu:Id="TS-1">`,
		`<wsse:BinarySecurityToken EncodingType="` + wssec.EncodingBase64Binary + `" ValueType="` + wssec.ValueTypeX509v3 + `" wsu:Id="X509-1">`,
		`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>`,
		`<SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>`,
		`<Reference URI="#TS-1">`, `<DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>`,
		`<Reference URI="#identity-assertion">`,
		`<KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#X509-1" ValueType="` + wssec.ValueTypeX509v3 + `"/></wsse:SecurityTokenReference></KeyInfo></Signature></wsse:Security></soap:Header><soap:Body>`,
	}
	at := 0
	for _, frag := range order {
		i := strings.Index(env[at:], frag)
		if i < 0 {
			t.Fatalf("missing or out of order: %s\nenvelope:\n%s", frag, env)
		}
		at += i + len(frag)
	}
	if n := strings.Count(env, "<Signature ") + strings.Count(env, "<ds:Signature"); n != 1 {
		t.Errorf("%d signatures, want one per message", n)
	}
	if regexp.MustCompile(`IssueInstant="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"`).FindString(env) == "" {
		t.Error("IssueInstant is not milliseconds with an offset (#2511)")
	}
	// SHA-1 digests are 20 bytes: 28 base64 characters (#2501's last DigestValue).
	for _, d := range regexp.MustCompile(`<DigestValue>([^<]*)</DigestValue>`).FindAllStringSubmatch(env, -1) {
		if len(d[1]) != 28 {
			t.Errorf("digest %q is not SHA-1", d[1])
		}
	}
}

// TestPugliaVerifies: our verifier and xmlsec1 (on the whole envelope as sent) accept the
// default profile's envelopes, with and without the Body signed, for both algorithms; the
// verifier reports the profile, the attributes and the signature value.
func TestPugliaVerifies(t *testing.T) {
	s := testSigner(t)
	for _, alg := range []wssec.Algorithm{wssec.AlgorithmDefault, wssec.RSASHA256} {
		for _, signBody := range []bool{false, true} {
			t.Run(alg.String()+map[bool]string{false: "", true: "+body"}[signBody], func(t *testing.T) {
				out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), pugliaParams(s, alg, signBody))
				if err != nil {
					t.Fatal(err)
				}
				m, err := wssec.Verify(out, pinned(s, t0))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				a := m.Attributes
				if m.Profile != wssec.ProfilePuglia || m.BodySigned != signBody || a == nil || a.PatientCF != patientCF ||
					a.OperatorCF != operatorCF || a.Action != "C" || a.PurposeOfUse != "C" || a.TypeOfCare != "REF" ||
					a.DocumentType != "11488-4" || a.StructureCode != "160114123456" || m.SignatureValue == "" ||
					m.Identity.Issuer != "FSEPUGLIA" || m.Identity.NameID != "01234567890.fsepuglia.example.it" {
					t.Fatalf("message %+v attributes %+v", m, a)
				}
				if want := map[wssec.Algorithm]wssec.Algorithm{wssec.AlgorithmDefault: wssec.RSASHA1, wssec.RSASHA256: wssec.RSASHA256}[alg]; m.Algorithm != want {
					t.Errorf("algorithm %v, want %v", m.Algorithm, want)
				}
				checkXMLSec1(t, out, s.Cert, xpPugliaSig, true)
			})
		}
	}
}

// TestPugliaTampering: the one signature protects the assertion, the Timestamp and (when
// signed) the Body; both verifiers refuse a change to any of them.
func TestPugliaTampering(t *testing.T) {
	s := testSigner(t)
	out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), pugliaParams(s, wssec.AlgorithmDefault, true))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"patient changed in the assertion", ">" + patientCF + "<", ">FSELBR01C41A145S<"},
		{"action changed in the assertion", `xsi:type="xs:string">C</saml:AttributeValue></saml:Attribute><saml:Attribute Name="urn:oasis:names:tc:xspa:1.0:environment:locality"`,
			`xsi:type="xs:string">D</saml:AttributeValue></saml:Attribute><saml:Attribute Name="urn:oasis:names:tc:xspa:1.0:environment:locality"`},
		{"NameID changed", "01234567890.fsepuglia", "09876543210.fsepuglia"},
		{"Body changed", "referto.pdf", "referto.PDF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Replace(out, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(bad, out) {
				t.Fatalf("fragment %q not found", tc.from)
			}
			if _, err := wssec.Verify(bad, pinned(s, t0)); err == nil {
				t.Error("our verifier accepts it")
			}
			checkXMLSec1(t, bad, s.Cert, xpPugliaSig, false)
		})
	}
	// An assertion outside the signature is refused.
	noRef := regexp.MustCompile(`<Reference URI="#identity-assertion">.*?</Reference>`).ReplaceAll(out, nil)
	if _, err := wssec.Verify(noRef, pinned(s, t0)); err == nil {
		t.Error("an unsigned assertion is accepted")
	}
}

// TestPugliaGolden pins the default profile's bytes (fixed key, clock and MessageID).
func TestPugliaGolden(t *testing.T) {
	s := fixtureSigner(t)
	p := pugliaParams(s, wssec.AlgorithmDefault, false)
	got, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(fixtures, "golden_adddocument_puglia.xml")
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
	if _, err := wssec.Verify(want, pinned(s, t0)); err != nil {
		t.Errorf("golden does not verify: %v", err)
	}
	checkXMLSec1(t, want, s.Cert, xpPugliaSig, true)
}
