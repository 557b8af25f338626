package wssec_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/wssectest"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

const (
	operatorCF = "OPRTST80A01A662A" // synthetic, valid check letter
	patientCF  = "FSEPGL01E41A145J" // published test identity
	otherCF    = "FSELBR01C41A145S" // published test identity
	fseNS      = "http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/"
	endpoint   = "https://pddasl-preprod.sanita.regione.rsr.rupar.puglia.it:8181/aslba_test/IDocumentService"
	action     = fseNS + "addDocument"
	fixedMsgID = "uuid:6f1c1d0e-8a39-4d1e-9a57-2b8f3c4d5e6f"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

func testAttrs() *saml.Attributes {
	return &saml.Attributes{
		OperatorCF: operatorCF, Role: "APR", StructureName: "AMBULATORIO TEST & PROVA", StructureCode: "160114123456",
		PurposeOfUse: "TREATMENT", Action: "CREATE", PatientCF: patientCF, DocumentType: "11502-2", Consent: true,
		ApplicationID: "fsepuglia", Vendor: "fsepuglia project", Version: "0.1.0",
	}
}

// gowsdlEnvelope is the shape gowsdl v0.5.0's soap.Client marshals: no XML declaration,
// soap prefix declared on Envelope, no Header when no header was added.
func gowsdlEnvelope(body string) []byte {
	return []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + body + `</soap:Body></soap:Envelope>`)
}

const addDocumentBody = `<addDocument xmlns="` + fseNS + `"><document><documentName>referto.pdf</documentName><file>JVBERi0xLjcKJcfs</file><status>Approved</status><note>a &amp; b &lt; c</note></document></addDocument>`

func params(s wssec.Signer, alg wssec.Algorithm, signBody bool) wssec.Params {
	return wssec.Params{
		Signer: s, Profile: wssec.ProfileNational, Algorithm: alg, To: endpoint, Action: action, MessageID: fixedMsgID,
		Clock: at(t0), SignBody: signBody, Attributes: testAttrs(),
	}
}

func pinned(s wssec.Signer, now time.Time) wssec.VerifyOptions {
	return wssec.VerifyOptions{Clock: at(now), Pinned: []*x509.Certificate{s.Cert}}
}

var (
	signerOnce wssec.Signer
)

// testSigner shares one key across tests of this package (RSA key generation is slow).
func testSigner(t testing.TB) wssec.Signer {
	t.Helper()
	if signerOnce.Key == nil {
		signerOnce = wssectest.NewTestSigner(t, operatorCF)
	}
	return signerOnce
}

func TestRoundTrip(t *testing.T) {
	s := testSigner(t)
	shapes := map[string][]byte{
		"gowsdl, no header": gowsdlEnvelope(addDocumentBody),
		"existing header": []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><x:Custom xmlns:x="urn:x">v</x:Custom></soap:Header>` +
			"\n<soap:Body>" + addDocumentBody + `</soap:Body></soap:Envelope>`),
		"self-closing header": []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Header/><S:Body>` + addDocumentBody + `</S:Body></S:Envelope>`),
		"default namespace":   []byte(`<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body>` + addDocumentBody + `</Body></Envelope>`),
	}
	for name, env := range shapes {
		for _, alg := range []wssec.Algorithm{wssec.RSASHA256, wssec.RSASHA1} {
			for _, signBody := range []bool{false, true} {
				t.Run(name+"/"+alg.String()+"/signBody="+boolStr(signBody), func(t *testing.T) {
					out, err := wssec.Secure(env, params(s, alg, signBody))
					if err != nil {
						t.Fatalf("Secure: %v", err)
					}
					m, err := wssec.Verify(out, pinned(s, t0.Add(time.Minute)))
					if err != nil {
						t.Fatalf("Verify: %v\n%s", err, out)
					}
					if m.MessageID != fixedMsgID || m.Action != action || m.To != endpoint {
						t.Errorf("addressing = %q %q %q", m.MessageID, m.Action, m.To)
					}
					if !m.Created.Equal(t0) || !m.Expires.Equal(t0.Add(5*time.Minute)) {
						t.Errorf("timestamp = %v..%v, want %v + 5m", m.Created, m.Expires, t0)
					}
					if m.BodySigned != signBody {
						t.Errorf("BodySigned = %v, want %v", m.BodySigned, signBody)
					}
					if m.SignerCF != operatorCF {
						t.Errorf("SignerCF = %q", m.SignerCF)
					}
					if want := testAttrs().WithDefaults(); m.Attributes == nil || *m.Attributes != want {
						t.Errorf("attributes = %+v\nwant %+v", m.Attributes, want)
					}
					if !bytes.Contains(out, []byte(addDocumentBody)) {
						t.Error("the Body content was not carried byte for byte")
					}
					for _, alg2 := range []string{alg.SignatureMethod(), alg.DigestMethod()} {
						if !bytes.Contains(out, []byte(`Algorithm="`+alg2+`"`)) {
							t.Errorf("algorithm %s not used", alg2)
						}
					}
					if signBody {
						checkXMLSec1(t, out, s.Cert, xpTimestampSig, true)
					}
				})
			}
		}
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestHeaderOrder(t *testing.T) {
	s := testSigner(t)
	out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), params(s, wssec.RSASHA256, false))
	if err != nil {
		t.Fatal(err)
	}
	str := string(out)
	order := []string{"<soap:Header>", "<wsa:To ", "<wsa:Action ", `soap:mustUnderstand="1">` + action, "<wsa:MessageID ", "<wsa:ReplyTo ",
		"<wsa:Address>" + wssec.AnonymousAddress, "<wsa:FaultTo ", "<wsse:Security ", "<wsu:Timestamp ", "<wsse:BinarySecurityToken ",
		`ID="identity-assertion"`, `ID="attribute-assertion"`, `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="` + wssec.AlgExcC14N,
		"<wsse:SecurityTokenReference><wsse:Reference URI=\"#X509-", "</wsse:Security></soap:Header><soap:Body>"}
	pos := 0
	for _, o := range order {
		i := strings.Index(str[pos:], o)
		if i < 0 {
			t.Fatalf("%q not found after offset %d", o, pos)
		}
		pos += i + len(o)
	}
	if n := strings.Count(str, `soap:mustUnderstand="1"`); n != 2 {
		t.Errorf("mustUnderstand on %d headers, want 2 (Action, Security)", n)
	}
	if !strings.Contains(str, `<saml:Issuer>`+operatorCF+`</saml:Issuer><ds:Signature`) {
		t.Error("assertion signature is not right after saml:Issuer")
	}
}

func TestGeneratedMessageID(t *testing.T) {
	s := testSigner(t)
	p := params(s, wssec.RSASHA256, false)
	p.MessageID = ""
	out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := wssec.Verify(out, pinned(s, t0))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.MessageID) != len("uuid:")+36 || !strings.HasPrefix(m.MessageID, "uuid:") || m.MessageID[5+14] != '4' {
		t.Errorf("MessageID %q is not uuid:<v4>", m.MessageID)
	}
	if a, b := wssec.NewMessageID(), wssec.NewMessageID(); a == b {
		t.Error("two MessageIDs are equal")
	}
}

func TestSecureRefuses(t *testing.T) {
	s := testSigner(t)
	other := wssectest.NewTestSigner(t, otherCF)
	tests := []struct {
		name string
		env  string
		mod  func(*wssec.Params)
		want error
	}{
		{"no signer", string(gowsdlEnvelope("<a/>")), func(p *wssec.Params) { p.Signer = wssec.Signer{} }, wssec.ErrInvalidParams},
		{"key does not match cert", string(gowsdlEnvelope("<a/>")), func(p *wssec.Params) { p.Signer.Cert = other.Cert }, wssec.ErrInvalidParams},
		{"no action", string(gowsdlEnvelope("<a/>")), func(p *wssec.Params) { p.Action = "" }, wssec.ErrInvalidParams},
		{"missing attribute", string(gowsdlEnvelope("<a/>")), func(p *wssec.Params) { p.Attributes.Action = "" }, saml.ErrInvalidAttributes},
		{"SOAP 1.2", `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`, nil, wssec.ErrEnvelope},
		{"no body", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/></soap:Envelope>`, nil, wssec.ErrEnvelope},
		{"not xml", `hello`, nil, wssec.ErrEnvelope},
		{"stranger in envelope", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Foo/><soap:Body/></soap:Envelope>`, nil, wssec.ErrEnvelope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := params(s, wssec.RSASHA256, false)
			if tt.mod != nil {
				tt.mod(&p)
			}
			_, err := wssec.Secure([]byte(tt.env), p)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSecureReaderMatchesSecure(t *testing.T) {
	s := testSigner(t)
	for _, signBody := range []bool{false, true} {
		env := gowsdlEnvelope(addDocumentBody)
		orig := bytes.Clone(env)
		want, err := wssec.Secure(env, params(s, wssec.RSASHA256, signBody))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(env, orig) {
			t.Fatal("Secure modified its input")
		}
		r, n, err := wssec.SecureReader(env, params(s, wssec.RSASHA256, signBody))
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) || n != int64(len(want)) {
			t.Errorf("signBody=%v: SecureReader differs from Secure (n=%d, len=%d)", signBody, n, len(want))
		}
	}
}

func TestWithoutAssertions(t *testing.T) {
	s := testSigner(t)
	p := params(s, wssec.RSASHA1, false)
	p.Attributes = nil
	out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), p)
	if err != nil {
		t.Fatal(err)
	}
	o := pinned(s, t0)
	if _, err := wssec.Verify(out, o); kindOf(err) != wssec.KindAssertion {
		t.Errorf("strict Verify: err = %v, want KindAssertion", err)
	}
	o.AssertionsOptional = true
	m, err := wssec.Verify(out, o)
	if err != nil {
		t.Fatalf("optional: %v", err)
	}
	if m.Attributes != nil {
		t.Error("Attributes set without assertions")
	}
}

func kindOf(err error) wssec.Kind {
	var e *wssec.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// replaceOnce replaces the only occurrence of old; it fails the test if old is not there once.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("%q occurs %d times, want 1", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	j := strings.Index(s[i+1:], end)
	if i < 0 || j < 0 {
		t.Fatalf("%q..%q not found", start, end)
	}
	return s[i : i+1+j+len(end)]
}

const (
	xpTimestampSig = "/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']/*[local-name()='Signature']"
	xpIdentitySig  = "//*[local-name()='Assertion'][@ID='identity-assertion']/*[local-name()='Signature']"
	xpAttributeSig = "//*[local-name()='Assertion'][@ID='attribute-assertion']/*[local-name()='Signature']"
)

func TestVerifyRefuses(t *testing.T) {
	s := testSigner(t)
	good, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), params(s, wssec.RSASHA256, true))
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	ca := wssectest.NewCA(t)
	stranger := wssectest.NewTestSigner(t, otherCF)
	tests := []struct {
		name    string
		mutate  func(t *testing.T, s string) string
		opts    func(o *wssec.VerifyOptions)
		want    wssec.Kind
		xmlsec1 string // signature node xmlsec1 must also refuse, "" when not applicable
	}{
		{name: "timestamp Created changed", want: wssec.KindSecurity, xmlsec1: xpTimestampSig,
			mutate: func(t *testing.T, s string) string {
				return replaceOnce(t, s, "<wsu:Created>2026-11-23T10:00:00.000Z", "<wsu:Created>2026-11-23T10:00:01.000Z")
			}},
		{name: "body changed", want: wssec.KindSecurity, xmlsec1: xpTimestampSig,
			mutate: func(t *testing.T, s string) string { return replaceOnce(t, s, "JVBERi0xLjcKJcfs", "JVBERi0xLjcKJcft") }},
		{name: "patient attribute changed", want: wssec.KindAssertion, xmlsec1: xpAttributeSig,
			mutate: func(t *testing.T, s string) string {
				return replaceOnce(t, s, "<saml:AttributeValue>"+patientCF+"<", "<saml:AttributeValue>"+otherCF+"<")
			}},
		{name: "identity subject changed", want: wssec.KindAssertion, xmlsec1: xpIdentitySig,
			mutate: func(t *testing.T, s string) string {
				id := between(t, s, `ID="identity-assertion"`, "</saml:Assertion>")
				return strings.Replace(s, id, strings.Replace(id, ">"+operatorCF+"</saml:NameID>", ">"+otherCF+"</saml:NameID>", 1), 1)
			}},
		{name: "signature value changed", want: wssec.KindSecurity, xmlsec1: xpTimestampSig,
			mutate: func(t *testing.T, s string) string {
				sig := between(t, s, "</saml:Assertion><ds:Signature", "</ds:SignatureValue>")
				i := strings.Index(sig, "<ds:SignatureValue>") + len("<ds:SignatureValue>")
				c := "A"
				if sig[i] == 'A' {
					c = "B"
				}
				return strings.Replace(s, sig, sig[:i]+c+sig[i+1:], 1)
			}},
		{name: "wrapping: second Timestamp with the same Id", want: wssec.KindSecurity,
			mutate: func(t *testing.T, s string) string {
				ts := between(t, s, "<wsu:Timestamp", "</wsu:Timestamp>")
				fake := strings.Replace(strings.Replace(ts, "2026-11-23T10:05", "2026-11-23T23:05", 1), "<wsu:Timestamp", `<wsu:Timestamp xmlns:wsu="`+wssec.NSWSU+`"`, 1)
				return replaceOnce(t, s, "<soap:Header>", "<soap:Header><x:W xmlns:x=\"urn:x\">"+fake+"</x:W>")
			}},
		{name: "wrapping: signed Timestamp moved, unsigned one in its place", want: wssec.KindSecurity,
			mutate: func(t *testing.T, s string) string {
				ts := between(t, s, "<wsu:Timestamp", "</wsu:Timestamp>")
				moved := strings.Replace(ts, "<wsu:Timestamp", `<wsu:Timestamp xmlns:wsu="`+wssec.NSWSU+`"`, 1)
				s = replaceOnce(t, s, ts, "<wsu:Timestamp><wsu:Created>2026-11-23T10:00:00.000Z</wsu:Created><wsu:Expires>2027-11-23T10:00:00.000Z</wsu:Expires></wsu:Timestamp>")
				return replaceOnce(t, s, "<soap:Header>", "<soap:Header><x:W xmlns:x=\"urn:x\">"+moved+"</x:W>")
			}},
		{name: "wrapping: second assertion with the same ID", want: wssec.KindAssertion,
			mutate: func(t *testing.T, s string) string {
				a := between(t, s, `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="attribute-assertion"`, "</saml:Assertion>")
				fake := strings.Replace(a, patientCF, otherCF, 1)
				return replaceOnce(t, s, "<soap:Header>", "<soap:Header><x:W xmlns:x=\"urn:x\">"+fake+"</x:W>")
			}},
		{name: "assertions removed", want: wssec.KindAssertion,
			mutate: func(t *testing.T, s string) string {
				a := between(t, s, `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="identity-assertion"`, "</saml:Assertion>")
				return replaceOnce(t, s, a, "")
			}},
		{name: "timestamp signature removed", want: wssec.KindSecurity,
			mutate: func(t *testing.T, s string) string {
				sig := between(t, s, "</saml:Assertion><ds:Signature", "</ds:Signature>")
				return replaceOnce(t, s, sig, "</saml:Assertion>")
			}},
		{name: "no WS-Security", want: wssec.KindSecurity,
			mutate: func(t *testing.T, s string) string { return string(gowsdlEnvelope(addDocumentBody)) }},
		{name: "not XML", want: wssec.KindMalformed,
			mutate: func(t *testing.T, s string) string { return s[:len(s)/2] }},
		{name: "MessageID missing", want: wssec.KindMalformed,
			mutate: func(t *testing.T, s string) string {
				return replaceOnce(t, s, between(t, s, "<wsa:MessageID", "</wsa:MessageID>"), "")
			}},
		{name: "timestamp expired", want: wssec.KindSecurity, opts: func(o *wssec.VerifyOptions) { o.Clock = at(t0.Add(8 * time.Minute)) }},
		{name: "timestamp from the future", want: wssec.KindSecurity, opts: func(o *wssec.VerifyOptions) { o.Clock = at(t0.Add(-3 * time.Minute)) }},
		{name: "skew allowance accepts 1m late", want: 0, opts: func(o *wssec.VerifyOptions) { o.Clock = at(t0.Add(6 * time.Minute)) }},
		{name: "no skew refuses 1m late", want: wssec.KindSecurity, opts: func(o *wssec.VerifyOptions) { o.Clock = at(t0.Add(6 * time.Minute)); o.Skew = -1 }},
		{name: "untrusted certificate", want: wssec.KindSecurity, opts: func(o *wssec.VerifyOptions) { o.Pinned = []*x509.Certificate{stranger.Cert} }},
		{name: "certificate not from the trusted CA", want: wssec.KindSecurity, opts: func(o *wssec.VerifyOptions) { o.Pinned = nil; o.Roots = ca.Pool() }},
		{name: "no trust anchors", want: wssec.KindSecurity, opts: func(o *wssec.VerifyOptions) { o.Pinned = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := g
			if tt.mutate != nil {
				env = tt.mutate(t, g)
			}
			o := pinned(s, t0)
			if tt.opts != nil {
				tt.opts(&o)
			}
			_, err := wssec.Verify([]byte(env), o)
			if got := kindOf(err); got != tt.want {
				t.Fatalf("kind = %v, want %v (err: %v)", got, tt.want, err)
			}
			t.Logf("Verify: %v", err)
			if tt.want != 0 && strings.Contains(err.Error(), patientCF) {
				t.Error("error text carries the patient's CF")
			}
			if tt.xmlsec1 != "" {
				checkXMLSec1(t, []byte(env), s.Cert, tt.xmlsec1, false)
			}
		})
	}
}

func TestVerifyCAIssued(t *testing.T) {
	ca := wssectest.NewCA(t)
	s := ca.Issue(t, operatorCF)
	out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), params(s, wssec.RSASHA256, false))
	if err != nil {
		t.Fatal(err)
	}
	m, err := wssec.Verify(out, wssec.VerifyOptions{Clock: at(t0), Roots: ca.Pool()})
	if err != nil {
		t.Fatalf("Verify with Roots: %v", err)
	}
	if m.SignerCF != operatorCF {
		t.Errorf("SignerCF = %q", m.SignerCF)
	}
}

func TestAssertionConditionsExpire(t *testing.T) {
	s := testSigner(t)
	p := params(s, wssec.RSASHA256, false)
	p.TimestampTTL = 30 * time.Minute
	p.AssertionTTL = time.Minute
	out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wssec.Verify(out, pinned(s, t0.Add(30*time.Second))); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	if _, err := wssec.Verify(out, pinned(s, t0.Add(10*time.Minute))); kindOf(err) != wssec.KindAssertion {
		t.Fatalf("err = %v, want KindAssertion", err)
	}
}

func TestXMLSec1AcceptsWholeEnvelope(t *testing.T) {
	s := testSigner(t)
	for _, alg := range []wssec.Algorithm{wssec.RSASHA256, wssec.RSASHA1} {
		t.Run(alg.String(), func(t *testing.T) {
			out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), params(s, alg, false))
			if err != nil {
				t.Fatal(err)
			}
			for _, xp := range []string{xpTimestampSig, xpIdentitySig, xpAttributeSig} {
				checkXMLSec1(t, out, s.Cert, xp, true)
			}
		})
	}
}

// checkXMLSec1 runs xmlsec1 --verify on the whole envelope for the signature at xpath and
// checks it accepts (wantOK) or refuses it.
func checkXMLSec1(t *testing.T, env []byte, cert *x509.Certificate, xpath string, wantOK bool) {
	t.Helper()
	bin := testenv.Tool(t, "xmlsec1", "apt-get install xmlsec1")
	// xmlsec1 splits file names on commas: t.TempDir (named after the test) will not do.
	dir, err := os.MkdirTemp("", "wssec-xmlsec1-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	envPath, certPath := filepath.Join(dir, "env.xml"), filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(envPath, env, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--verify",
		"--pubkey-cert-pem", certPath,
		"--id-attr:Id", wssec.NSWSU+":Timestamp",
		"--id-attr:Id", wssec.NSSOAP11+":Body",
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
		"--node-xpath", xpath, envPath)
	out, err := cmd.CombinedOutput()
	if ok := err == nil; ok != wantOK {
		t.Errorf("xmlsec1 on %s: ok=%v, want %v\n%s", xpath, ok, wantOK, out)
	}
}

func TestPayloadIDsDoNotMatter(t *testing.T) {
	s := testSigner(t)
	// CDA sections carry ID attributes; two documents in one Body may repeat them.
	body := `<addDocument xmlns="` + fseNS + `"><section ID="s1"/><section ID="s1"/><x Id="TS-1"/></addDocument>`
	for _, signBody := range []bool{false, true} {
		out, err := wssec.Secure(gowsdlEnvelope(body), params(s, wssec.RSASHA256, signBody))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wssec.Verify(out, pinned(s, t0)); err != nil {
			t.Errorf("signBody=%v: %v", signBody, err)
		}
	}
}

func TestCFMismatch(t *testing.T) {
	same := testSigner(t)
	other := wssectest.NewTestSigner(t, "OPRSEC75M41A662D")
	for _, tt := range []struct {
		name string
		s    wssec.Signer
		want bool
	}{{"same CF", same, false}, {"other CF", other, true}} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), params(tt.s, wssec.RSASHA256, false))
			if err != nil {
				t.Fatal(err)
			}
			m, err := wssec.Verify(out, pinned(tt.s, t0))
			if err != nil {
				t.Fatal(err)
			}
			if m.CFMismatch() != tt.want {
				t.Errorf("CFMismatch = %v, want %v (signer %q)", m.CFMismatch(), tt.want, m.SignerCF)
			}
		})
	}
}
