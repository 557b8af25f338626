package saml_test

import (
	"crypto"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/wssectest"
)

const (
	operatorCF = "OPRTST80A01A662A" // synthetic, valid check letter
	patientCF  = "PROVAX00X00X000Y" // published test identity
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func attrs() saml.Attributes {
	return saml.Attributes{
		OperatorCF: operatorCF, Role: "OGC", StructureName: "CUP", StructureCode: "160114000001",
		PurposeOfUse: "CONSENT", Action: "UPDATE", PatientCF: patientCF,
	}
}

func pin(c *x509.Certificate) func(*x509.Certificate) error {
	return func(got *x509.Certificate) error {
		if !got.Equal(c) {
			return errors.New("not the pinned certificate")
		}
		return nil
	}
}

// envelopeAround places the assertion inside an envelope that declares other prefixes and
// a default namespace: the inclusive-c14n trap of gowsdl.md.
func envelopeAround(t *testing.T, assertion []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	err := doc.ReadFromString(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:default" xmlns:x="urn:x"><soap:Header>` +
		`<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:saml="urn:other">` +
		string(assertion) + `</wsse:Security></soap:Header><soap:Body/></soap:Envelope>`)
	if err != nil {
		t.Fatal(err)
	}
	el := doc.FindElement("//Assertion")
	if el == nil {
		t.Fatal("assertion not found")
	}
	return el
}

func TestBuildVerify(t *testing.T) {
	s := wssectest.NewTestSigner(t, operatorCF)
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA1} {
		t.Run(h.String(), func(t *testing.T) {
			id, at, err := saml.Build(attrs(), saml.SignOptions{Signer: s.Key, Cert: s.Cert, Hash: h, Issuer: "urn:test:issuer", Now: now, TTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			o := saml.VerifyOptions{Now: now.Add(time.Minute), Trust: pin(s.Cert)}
			ia, cert, err := saml.Verify(envelopeAround(t, id), o)
			if err != nil {
				t.Fatalf("identity: %v", err)
			}
			aa, _, err := saml.Verify(envelopeAround(t, at), o)
			if err != nil {
				t.Fatalf("attribute: %v", err)
			}
			if !cert.Equal(s.Cert) {
				t.Error("returned certificate is not the signer's")
			}
			if ia.ID != saml.IdentityAssertionID || aa.ID != saml.AttributeAssertionID {
				t.Errorf("IDs = %q, %q", ia.ID, aa.ID)
			}
			if !ia.Authn || aa.Authn {
				t.Errorf("AuthnStatement: identity %v, attribute %v; want only on identity", ia.Authn, aa.Authn)
			}
			if ia.NameID != operatorCF || ia.Issuer != "urn:test:issuer" {
				t.Errorf("subject/issuer = %q / %q", ia.NameID, ia.Issuer)
			}
			if !ia.NotOnOrAfter.Equal(now.Add(time.Hour)) || !ia.NotBefore.Equal(now) {
				t.Errorf("conditions = %v..%v", ia.NotBefore, ia.NotOnOrAfter)
			}
			// Wire formats of domain.md §3.
			wantValues := map[string]string{
				saml.AttrSubjectID:       "OPRTST80A01A662A^^^&2.16.840.1.113883.2.9.4.3.2&ISO",
				saml.AttrLocality:        "CUP^^^^^&2.16.840.1.113883.2.9.4.1.3&ISO^^^^160114000001",
				saml.AttrOrganizationID:  "160",
				saml.AttrOrganization:    "Regione Puglia",
				saml.AttrHomeCommunityID: "2.16.840.1.113883.2.9.2.160",
				saml.AttrResourceID:      patientCF,
				saml.AttrPatientConsent:  "false",
			}
			for name, want := range wantValues {
				got := append(ia.Attributes[name], aa.Attributes[name]...)
				if len(got) != 1 || got[0] != want {
					t.Errorf("%s = %q, want [%q]", name, got, want)
				}
			}
			if _, ok := aa.Attributes[saml.AttrDocumentType]; ok {
				t.Error("hl7:type sent although DocumentType is empty")
			}
			if got, want := saml.AttributesFrom(ia, aa), attrs().WithDefaults(); got != want {
				t.Errorf("AttributesFrom = %+v, want %+v", got, want)
			}
		})
	}
}

func TestSignatureRightAfterIssuer(t *testing.T) {
	s := wssectest.NewTestSigner(t, operatorCF)
	id, _, err := saml.Build(attrs(), saml.SignOptions{Signer: s.Key, Cert: s.Cert, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(id); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	if root.SelectAttrValue("xmlns:saml", "") != saml.NS {
		t.Error("xmlns:saml not declared on the assertion")
	}
	var tags []string
	for _, c := range root.ChildElements() {
		tags = append(tags, c.FullTag())
	}
	if strings.Join(tags, ",") != "saml:Issuer,ds:Signature,saml:Subject,saml:Conditions,saml:AuthnStatement,saml:AttributeStatement" {
		t.Errorf("children = %v", tags)
	}
	if m := root.FindElement("ds:Signature/ds:SignedInfo/ds:CanonicalizationMethod"); m == nil || m.SelectAttrValue("Algorithm", "") != "http://www.w3.org/2001/10/xml-exc-c14n#" {
		t.Error("assertion not signed with exclusive c14n")
	}
}

func TestVerifyRefuses(t *testing.T) {
	s := wssectest.NewTestSigner(t, operatorCF)
	other := wssectest.NewTestSigner(t, "OPRSEC75M41A662D")
	id, _, err := saml.Build(attrs(), saml.SignOptions{Signer: s.Key, Cert: s.Cert, Now: now, TTL: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		xml    string
		o      saml.VerifyOptions
		target error
	}{
		{"untrusted signer", string(id), saml.VerifyOptions{Now: now, Trust: pin(other.Cert)}, saml.ErrUntrusted},
		{"expired", string(id), saml.VerifyOptions{Now: now.Add(6 * time.Minute), Trust: pin(s.Cert)}, nil},
		{"not yet valid", string(id), saml.VerifyOptions{Now: now.Add(-time.Minute), Trust: pin(s.Cert)}, nil},
		{"tampered role", strings.Replace(string(id), ">OGC<", ">APR<", 1), saml.VerifyOptions{Now: now, Trust: pin(s.Cert)}, nil},
		{"unsigned", strings.ReplaceAll(string(id), "ds:Signature", "ds:Xignature"), saml.VerifyOptions{Now: now, Trust: pin(s.Cert)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := saml.Verify(envelopeAround(t, []byte(tt.xml)), tt.o)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("err = %v, want %v", err, tt.target)
			}
			if strings.Contains(err.Error(), operatorCF) {
				t.Error("error text carries a CF")
			}
		})
	}
	// Within the skew allowance the expired assertion is accepted.
	if _, _, err := saml.Verify(envelopeAround(t, id), saml.VerifyOptions{Now: now.Add(6 * time.Minute), Skew: 2 * time.Minute, Trust: pin(s.Cert)}); err != nil {
		t.Errorf("skew not applied: %v", err)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*saml.Attributes)
		ok   bool
	}{
		{"complete", func(*saml.Attributes) {}, true},
		{"no operator", func(a *saml.Attributes) { a.OperatorCF = "" }, false},
		{"no role", func(a *saml.Attributes) { a.Role = " " }, false},
		{"no structure code", func(a *saml.Attributes) { a.StructureCode = "" }, false},
		{"no purpose", func(a *saml.Attributes) { a.PurposeOfUse = "" }, false},
		{"no action", func(a *saml.Attributes) { a.Action = "" }, false},
		{"no patient (privacy notice)", func(a *saml.Attributes) { a.PatientCF = "" }, true},
		{"patient already formatted", func(a *saml.Attributes) { a.PatientCF = saml.SubjectIDValue(patientCF) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := attrs()
			tt.mod(&a)
			err := a.Check()
			if (err == nil) != tt.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, saml.ErrInvalidAttributes) {
				t.Errorf("err %v does not wrap ErrInvalidAttributes", err)
			}
			if err != nil && strings.Contains(err.Error(), patientCF) {
				t.Error("error text carries a CF")
			}
		})
	}
}

func TestValueFormats(t *testing.T) {
	// Expected strings are the formats quoted in domain.md §3 and §6.
	if got := saml.DocumentTypeValue("11502-2"); got != "('11502-2^^2.16.840.1.113883.6.1')" {
		t.Errorf("DocumentTypeValue = %q", got)
	}
	if got := saml.SubjectIDValue("PROVAX00X00X000Y"); got != "PROVAX00X00X000Y^^^&2.16.840.1.113883.2.9.4.3.2&ISO" {
		t.Errorf("SubjectIDValue = %q", got)
	}
	if got := saml.LocalityValue("NAME", "CODE"); got != "NAME^^^^^&2.16.840.1.113883.2.9.4.1.3&ISO^^^^CODE" {
		t.Errorf("LocalityValue = %q", got)
	}
}
