package wssec

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
)

// Kind classifies a verification failure so that the simulator can answer the right fault.
type Kind int

const (
	// KindMalformed: not a usable SOAP 1.1 envelope, or WS-Addressing headers missing or
	// repeated (→ FSE-00400).
	KindMalformed Kind = iota + 1
	// KindSecurity: WS-Security missing or invalid: Timestamp absent or stale, signature
	// missing, wrapped or wrong, certificate untrusted (→ FSE-00401).
	KindSecurity
	// KindAssertion: SAML assertions missing or invalid (→ FSE-00407).
	KindAssertion
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindMalformed:
		return "malformed"
	case KindSecurity:
		return "security"
	case KindAssertion:
		return "assertion"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is the error Verify returns. Reason is safe to put in a fault string: it never
// carries personal data. Err, when set, is the underlying cause.
type Error struct {
	Kind   Kind
	Reason string
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return "wssec: " + e.Kind.String() + ": " + e.Reason + ": " + e.Err.Error()
	}
	return "wssec: " + e.Kind.String() + ": " + e.Reason
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func fail(k Kind, reason string, err error) *Error { return &Error{Kind: k, Reason: reason, Err: err} }

// DefaultSkew is the clock skew Verify allows when VerifyOptions.Skew is zero.
const DefaultSkew = 2 * time.Minute

// VerifyOptions configure Verify. At least one of Roots or Pinned must be set.
type VerifyOptions struct {
	Clock func() time.Time // time.Now when nil
	Skew  time.Duration    // allowed clock skew; DefaultSkew when zero, none when negative

	Roots         *x509.CertPool      // trusted CAs: the signer's certificate must chain to one
	Intermediates *x509.CertPool      // optional intermediates for chain building
	Pinned        []*x509.Certificate // certificates trusted as they are (self-signed test certs)

	// AssertionsOptional accepts a message without SAML assertions (Message.Attributes is
	// then nil). Assertions that are present are always verified.
	AssertionsOptional bool

	// Elisions are the texts the caller kept out of the parsed envelope (see Elision).
	Elisions []Elision
	// TrustCache, when set, remembers certificates that chained to Roots, so that a server
	// verifying many messages of one signer builds the chain once (see TrustCache).
	TrustCache *TrustCache
}

// Message is what a verified envelope states.
type Message struct {
	MessageID string
	Action    string
	To        string
	Created   time.Time // wsu:Timestamp/Created
	Expires   time.Time // wsu:Timestamp/Expires

	SignerCert *x509.Certificate // the BinarySecurityToken's certificate
	SignerCF   string            // CF in SignerCert ("TINIT-<CF>" serialNumber or a CF in the CN); "" if none

	Attributes *saml.Attributes // from the assertion(s); nil when absent and optional
	Identity   *saml.Assertion  // the verified identity assertion (ProfilePuglia: the only one)
	Attribute  *saml.Assertion  // the verified attribute assertion (ProfileNational only)
	BodySigned bool             // the Timestamp signature also covers soap:Body

	// Profile is the layout the message used: ProfilePuglia when its assertion sits directly
	// in soap:Header, ProfileNational when two signed assertions sit in wsse:Security.
	Profile Profile
	// SignatureValue is the verified message signature's value, base64 as sent: unique per
	// signed Timestamp, a key for replay detection.
	SignatureValue string
	// Algorithm is the message signature's (RSASHA256 or RSASHA1).
	Algorithm Algorithm
}

// Envelope is a SOAP 1.1 envelope parsed once (ParseEnvelope), for Verify and for the
// caller's own reading of the Body: the simulator verifies and then decodes the operation
// element from the same tree.
type Envelope struct {
	Doc    *etree.Document
	Root   *etree.Element
	Header *etree.Element // nil when the envelope has none
	Body   *etree.Element
}

// ParseEnvelope parses a SOAP 1.1 envelope: well-formed XML whose root is soap:Envelope with
// one soap:Body and at most one soap:Header. Failures are *Error values of KindMalformed.
func ParseEnvelope(envelope []byte) (*Envelope, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(envelope); err != nil {
		return nil, fail(KindMalformed, "envelope is not well-formed XML", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "Envelope" || root.NamespaceURI() != NSSOAP11 {
		return nil, fail(KindMalformed, "not a SOAP 1.1 envelope", nil)
	}
	headers, bodies := childrenNS(root, NSSOAP11, "Header"), childrenNS(root, NSSOAP11, "Body")
	if len(bodies) != 1 || len(headers) > 1 {
		return nil, fail(KindMalformed, "envelope needs one Body and at most one Header", nil)
	}
	e := &Envelope{Doc: doc, Root: root, Body: bodies[0]}
	if len(headers) == 1 {
		e.Header = headers[0]
	}
	return e, nil
}

// Operation returns the first child element of soap:Body (the operation element of a
// document/literal call), or nil when the Body has none.
func (e *Envelope) Operation() *etree.Element {
	for _, t := range e.Body.Child {
		if el, ok := t.(*etree.Element); ok {
			return el
		}
	}
	return nil
}

// Elision stands for character data the caller kept out of the bytes it parsed (the
// simulator streams a large base64 document to a file and parses the envelope without it):
// Marker is the text that replaced it, WriteCanonical writes the exclusive canonical form of
// the text it stands for. A signed element holding a marker is digested with that text in
// its place, so a signature over the Body still verifies against what was sent.
type Elision struct {
	Marker         string
	WriteCanonical func(w io.Writer) error
}

// Verify parses envelope and checks, in this order: SOAP 1.1 shape and WS-Addressing; the
// wsse:Security header with exactly one fresh wsu:Timestamp; its ds:Signature (exclusive
// c14n, every reference resolving to exactly one element in the whole document, and to the
// Timestamp or soap:Body only, the Timestamp among them); the BinarySecurityToken
// certificate's trust; then both SAML assertions (signature with goxmldsig on the detached
// element, trust, Conditions). Failures are *Error values.
func Verify(envelope []byte, o VerifyOptions) (*Message, error) {
	e, err := ParseEnvelope(envelope)
	if err != nil {
		return nil, err
	}
	return e.Verify(o)
}

// Verify checks the parsed envelope as the package-level Verify does.
func (e *Envelope) Verify(o VerifyOptions) (*Message, error) {
	now := time.Now()
	if o.Clock != nil {
		now = o.Clock()
	}
	skew := o.Skew
	if skew == 0 {
		skew = DefaultSkew
	} else if skew < 0 {
		skew = 0
	}
	if o.Roots == nil && len(o.Pinned) == 0 {
		return nil, fail(KindSecurity, "no trust anchors configured", nil)
	}
	trust := func(c *x509.Certificate) error { return trusted(c, o, now) }

	root := e.Root
	if e.Header == nil {
		return nil, fail(KindSecurity, "wsse:Security header missing", nil)
	}
	header, body := e.Header, e.Body

	m := &Message{}
	for _, h := range []struct {
		name string
		dst  *string
	}{{"MessageID", &m.MessageID}, {"Action", &m.Action}, {"To", &m.To}} {
		els := childrenNS(header, NSWSA, h.name)
		if len(els) > 1 {
			return nil, fail(KindMalformed, "wsa:"+h.name+" repeated", nil)
		}
		if len(els) == 1 {
			*h.dst = strings.TrimSpace(els[0].Text())
		}
	}
	if m.MessageID == "" || m.Action == "" {
		return nil, fail(KindMalformed, "wsa:MessageID and wsa:Action are required", nil)
	}

	secs := childrenNS(header, NSWSSE, "Security")
	if len(secs) != 1 {
		return nil, fail(KindSecurity, "exactly one wsse:Security header is required", nil)
	}
	sec := secs[0]

	// Every Id-like attribute of the document, for reference resolution and wrapping checks.
	// Duplicates only matter for the identifiers security depends on (checked where used):
	// a payload may legitimately repeat its own IDs.
	ids := indexIDs(root)

	// Timestamp.
	tss := childrenNS(sec, NSWSU, "Timestamp")
	if len(tss) != 1 {
		return nil, fail(KindSecurity, "exactly one wsu:Timestamp is required", nil)
	}
	ts := tss[0]
	var err error
	if m.Created, m.Expires, err = timestamp(ts); err != nil {
		return nil, fail(KindSecurity, "wsu:Timestamp unreadable", err)
	}
	if m.Created.After(now.Add(skew)) {
		return nil, fail(KindSecurity, "wsu:Timestamp created in the future", nil)
	}
	if !m.Expires.After(now.Add(-skew)) {
		return nil, fail(KindSecurity, "wsu:Timestamp expired", nil)
	}

	// Signature over the Timestamp.
	sigs := childrenNS(sec, NSDSig, "Signature")
	if len(sigs) != 1 {
		return nil, fail(KindSecurity, "exactly one ds:Signature is required in wsse:Security", nil)
	}
	cert, err := tokenCert(sigs[0], sec, ids)
	if err != nil {
		return nil, err
	}
	if err := trust(cert); err != nil {
		return nil, fail(KindSecurity, "signer certificate not trusted", err)
	}
	covered, alg, err := verifySignature(sigs[0], cert, ids, o.Elisions)
	if err != nil {
		return nil, err
	}
	m.Algorithm = alg
	if !covered[ts] {
		return nil, fail(KindSecurity, "the signature does not cover the Timestamp", nil)
	}
	// The Puglia profile's assertion sits directly in the Header (#2501).
	headerAsserts := childrenNS(header, saml.NS, "Assertion")
	for el := range covered {
		switch {
		case el == ts:
		case el == body:
			m.BodySigned = true
		case len(headerAsserts) == 1 && el == headerAsserts[0]:
		default:
			return nil, fail(KindSecurity, "the signature references an unexpected element", nil)
		}
	}
	m.SignerCert = cert
	m.SignerCF = CFFromCertificate(cert)
	m.SignatureValue = strings.Join(strings.Fields(childrenNS(sigs[0], NSDSig, "SignatureValue")[0].Text()), "")

	if len(headerAsserts) > 0 {
		return verifyPugliaAssertion(m, headerAsserts, sec, ids, covered, now, skew)
	}
	m.Profile = ProfileNational

	// SAML assertions.
	var identityEl, attributeEl *etree.Element
	asserts := childrenNS(sec, saml.NS, "Assertion")
	for _, a := range asserts {
		id := a.SelectAttrValue("ID", "")
		if id == "" || len(ids[id]) != 1 {
			return nil, fail(KindAssertion, fmt.Sprintf("assertion identifier %q missing or not unique in the document", id), nil)
		}
		if id == saml.IdentityAssertionID {
			identityEl = a
		} else if attributeEl == nil {
			attributeEl = a
		} else {
			return nil, fail(KindAssertion, "more than two SAML assertions", nil)
		}
	}
	if len(asserts) == 0 && o.AssertionsOptional {
		return m, nil
	}
	if identityEl == nil || attributeEl == nil {
		return nil, fail(KindAssertion, "identity and attribute assertions are required", nil)
	}
	vo := saml.VerifyOptions{Now: now, Skew: skew, Trust: trust}
	if m.Identity, _, err = saml.Verify(identityEl, vo); err != nil {
		return nil, fail(KindAssertion, "identity assertion invalid", err)
	}
	if m.Attribute, _, err = saml.Verify(attributeEl, vo); err != nil {
		return nil, fail(KindAssertion, "attribute assertion invalid", err)
	}
	if !m.Identity.Authn {
		return nil, fail(KindAssertion, "identity assertion has no AuthnStatement", nil)
	}
	if m.Identity.NameID != m.Attribute.NameID {
		return nil, fail(KindAssertion, "the assertions name different subjects", nil)
	}
	attrs := saml.AttributesFrom(m.Identity, m.Attribute)
	if err := attrs.Check(); err != nil {
		return nil, fail(KindAssertion, "required attribute missing", err)
	}
	if attrs.OperatorCF != m.Identity.NameID {
		return nil, fail(KindAssertion, "subject-id differs from the assertion subject", nil)
	}
	m.Attributes = &attrs
	return m, nil
}

// CFMismatch reports whether the signer's certificate carries a fiscal code that differs
// from the operator's in the assertions (fault E000231 on the real service, #2501). It is false
// when either is unknown, e.g. a structure certificate without a CF.
func (m *Message) CFMismatch() bool {
	return m.SignerCF != "" && m.Attributes != nil && m.SignerCF != m.Attributes.OperatorCF
}

// digestElided is digestOf with the texts of elided in place of their markers.
func digestElided(el *etree.Element, prefixList string, h crypto.Hash, elided []Elision) ([]byte, error) {
	if len(elided) == 0 {
		return digestOf(el, prefixList, h)
	}
	canon, err := canonicalInContext(el, prefixList)
	if err != nil {
		return nil, err
	}
	d := h.New()
	for len(canon) > 0 {
		at, which := -1, -1
		for i, x := range elided {
			if j := bytes.Index(canon, []byte(x.Marker)); j >= 0 && (at < 0 || j < at) {
				at, which = j, i
			}
		}
		if at < 0 {
			d.Write(canon)
			break
		}
		d.Write(canon[:at])
		if err := elided[which].WriteCanonical(d); err != nil {
			return nil, err
		}
		canon = canon[at+len(elided[which].Marker):]
	}
	return d.Sum(nil), nil
}

// TrustCache remembers, for one set of VerifyOptions roots and intermediates, the
// certificates whose chain verified, with the time window in which every certificate of that
// chain is valid; a certificate is looked up by its DER bytes. Safe for concurrent use. The
// roots and intermediates must not change while the cache is in use.
type TrustCache struct {
	mu sync.Mutex
	m  map[string]trustWindow
}

type trustWindow struct{ notBefore, notAfter time.Time }

// trustCacheMax bounds the cache (it is emptied when full).
const trustCacheMax = 1024

func (tc *TrustCache) lookup(c *x509.Certificate, now time.Time) bool {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	w, ok := tc.m[string(c.Raw)]
	return ok && !now.Before(w.notBefore) && !now.After(w.notAfter)
}

func (tc *TrustCache) store(c *x509.Certificate, chains [][]*x509.Certificate) {
	if len(chains) == 0 {
		return
	}
	w := trustWindow{notBefore: c.NotBefore, notAfter: c.NotAfter}
	for _, x := range chains[0] {
		if x.NotBefore.After(w.notBefore) {
			w.notBefore = x.NotBefore
		}
		if x.NotAfter.Before(w.notAfter) {
			w.notAfter = x.NotAfter
		}
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.m == nil || len(tc.m) >= trustCacheMax {
		tc.m = map[string]trustWindow{}
	}
	tc.m[string(c.Raw)] = w
}

// trusted reports whether c is pinned or chains to o.Roots at now.
func trusted(c *x509.Certificate, o VerifyOptions, now time.Time) error {
	for _, p := range o.Pinned {
		if p.Equal(c) {
			if now.Before(c.NotBefore) || now.After(c.NotAfter) {
				return errors.New("pinned certificate outside its validity period")
			}
			return nil
		}
	}
	if o.Roots == nil {
		return errors.New("certificate is not pinned")
	}
	if o.TrustCache != nil && o.TrustCache.lookup(c, now) {
		return nil
	}
	chains, err := c.Verify(x509.VerifyOptions{
		Roots: o.Roots, Intermediates: o.Intermediates, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err == nil && o.TrustCache != nil {
		o.TrustCache.store(c, chains)
	}
	return err
}

// timestamp reads Created and Expires.
func timestamp(ts *etree.Element) (created, expires time.Time, err error) {
	c, e := childrenNS(ts, NSWSU, "Created"), childrenNS(ts, NSWSU, "Expires")
	if len(c) != 1 || len(e) != 1 {
		return created, expires, errors.New("created and expires are required once each")
	}
	if created, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(c[0].Text())); err != nil {
		return created, expires, err
	}
	if expires, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(e[0].Text())); err != nil {
		return created, expires, err
	}
	if !expires.After(created) {
		return created, expires, errors.New("expires is not after created")
	}
	return created, expires, nil
}

// indexIDs maps every wsu:Id, ID and Id attribute value of the document to its elements.
func indexIDs(root *etree.Element) map[string][]*etree.Element {
	ids := map[string][]*etree.Element{}
	var walk func(*etree.Element)
	walk = func(el *etree.Element) {
		for _, a := range el.Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				continue
			}
			isID := a.Key == "ID" || a.Key == "Id"
			// An element may carry ID and wsu:Id with one value (the Puglia assertion).
			if l := ids[a.Value]; isID && (len(l) == 0 || l[len(l)-1] != el) {
				ids[a.Value] = append(l, el)
			}
		}
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	return ids
}

// tokenCert follows KeyInfo/SecurityTokenReference/Reference to the BinarySecurityToken.
func tokenCert(sig, sec *etree.Element, ids map[string][]*etree.Element) (*x509.Certificate, error) {
	ki := childrenNS(sig, NSDSig, "KeyInfo")
	if len(ki) != 1 {
		return nil, fail(KindSecurity, "ds:KeyInfo required once", nil)
	}
	strs := childrenNS(ki[0], NSWSSE, "SecurityTokenReference")
	if len(strs) != 1 {
		return nil, fail(KindSecurity, "KeyInfo must hold one wsse:SecurityTokenReference", nil)
	}
	refs := childrenNS(strs[0], NSWSSE, "Reference")
	if len(refs) != 1 {
		return nil, fail(KindSecurity, "SecurityTokenReference must hold one wsse:Reference", nil)
	}
	uri := refs[0].SelectAttrValue("URI", "")
	if !strings.HasPrefix(uri, "#") {
		return nil, fail(KindSecurity, "token reference must be a local #id", nil)
	}
	targets := ids[uri[1:]]
	if len(targets) != 1 {
		return nil, fail(KindSecurity, "token reference must match exactly one element", nil)
	}
	bst := targets[0]
	if bst.Tag != "BinarySecurityToken" || bst.NamespaceURI() != NSWSSE || bst.Parent() != sec {
		return nil, fail(KindSecurity, "token reference does not point to a BinarySecurityToken of this header", nil)
	}
	if vt := bst.SelectAttrValue("ValueType", ""); vt != ValueTypeX509v3 {
		return nil, fail(KindSecurity, "BinarySecurityToken is not X509v3", nil)
	}
	if et := bst.SelectAttrValue("EncodingType", EncodingBase64Binary); et != EncodingBase64Binary {
		return nil, fail(KindSecurity, "BinarySecurityToken is not Base64Binary", nil)
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(bst.Text()), ""))
	if err != nil {
		return nil, fail(KindSecurity, "BinarySecurityToken is not base64", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fail(KindSecurity, "BinarySecurityToken is not a certificate", err)
	}
	return cert, nil
}

var signatureMethods = map[string]crypto.Hash{AlgRSASHA256: crypto.SHA256, AlgRSASHA1: crypto.SHA1}
var digestMethods = map[string]crypto.Hash{AlgDigSHA256: crypto.SHA256, AlgDigSHA1: crypto.SHA1}

// verifySignature checks the SignedInfo signature with cert, then every reference, and
// returns the set of elements covered. References are read from the verified canonical
// bytes, never from the tree.
func verifySignature(sig *etree.Element, cert *x509.Certificate, ids map[string][]*etree.Element, elided []Elision) (map[*etree.Element]bool, Algorithm, error) {
	covered, hash, err := verifySignatureHash(sig, cert, ids, elided)
	alg := RSASHA256
	if hash == crypto.SHA1 {
		alg = RSASHA1
	}
	return covered, alg, err
}

func verifySignatureHash(sig *etree.Element, cert *x509.Certificate, ids map[string][]*etree.Element, elided []Elision) (map[*etree.Element]bool, crypto.Hash, error) {
	sis, svs := childrenNS(sig, NSDSig, "SignedInfo"), childrenNS(sig, NSDSig, "SignatureValue")
	if len(sis) != 1 || len(svs) != 1 {
		return nil, 0, fail(KindSecurity, "Signature needs one SignedInfo and one SignatureValue", nil)
	}
	cms := childrenNS(sis[0], NSDSig, "CanonicalizationMethod")
	if len(cms) != 1 || cms[0].SelectAttrValue("Algorithm", "") != AlgExcC14N {
		return nil, 0, fail(KindSecurity, "SignedInfo must use exclusive c14n", nil)
	}
	canon, err := canonicalInContext(sis[0], prefixList(cms[0]))
	if err != nil {
		return nil, 0, fail(KindSecurity, "SignedInfo cannot be canonicalised", err)
	}
	signed := etree.NewDocument()
	if err := signed.ReadFromBytes(canon); err != nil {
		return nil, 0, fail(KindSecurity, "SignedInfo cannot be re-read", err)
	}
	si := signed.Root()
	sms := childrenNS(si, NSDSig, "SignatureMethod")
	if len(sms) != 1 {
		return nil, 0, fail(KindSecurity, "SignatureMethod required once", nil)
	}
	hash, ok := signatureMethods[sms[0].SelectAttrValue("Algorithm", "")]
	if !ok {
		return nil, 0, fail(KindSecurity, "unsupported SignatureMethod", nil)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, 0, fail(KindSecurity, "signer key is not RSA", nil)
	}
	sv, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(svs[0].Text()), ""))
	if err != nil {
		return nil, 0, fail(KindSecurity, "SignatureValue is not base64", err)
	}
	h := hash.New()
	h.Write(canon)
	if err := rsa.VerifyPKCS1v15(pub, hash, h.Sum(nil), sv); err != nil {
		return nil, 0, fail(KindSecurity, "signature value does not verify", err)
	}

	covered := map[*etree.Element]bool{}
	refs := childrenNS(si, NSDSig, "Reference")
	if len(refs) == 0 {
		return nil, 0, fail(KindSecurity, "SignedInfo has no Reference", nil)
	}
	for _, ref := range refs {
		uri := ref.SelectAttrValue("URI", "")
		if !strings.HasPrefix(uri, "#") || len(uri) < 2 {
			return nil, 0, fail(KindSecurity, "references must be local #id", nil)
		}
		targets := ids[uri[1:]]
		if len(targets) != 1 {
			return nil, 0, fail(KindSecurity, "a reference must match exactly one element", nil)
		}
		el := targets[0]
		if covered[el] {
			return nil, 0, fail(KindSecurity, "element referenced twice", nil)
		}
		var pl string
		if trs := childrenNS(ref, NSDSig, "Transforms"); len(trs) == 1 {
			tr := childrenNS(trs[0], NSDSig, "Transform")
			if len(tr) != 1 || tr[0].SelectAttrValue("Algorithm", "") != AlgExcC14N {
				return nil, 0, fail(KindSecurity, "only the exclusive c14n transform is accepted", nil)
			}
			pl = prefixList(tr[0])
		} else {
			return nil, 0, fail(KindSecurity, "reference must declare the exclusive c14n transform", nil)
		}
		dms, dvs := childrenNS(ref, NSDSig, "DigestMethod"), childrenNS(ref, NSDSig, "DigestValue")
		if len(dms) != 1 || len(dvs) != 1 {
			return nil, 0, fail(KindSecurity, "reference needs one DigestMethod and one DigestValue", nil)
		}
		dh, ok := digestMethods[dms[0].SelectAttrValue("Algorithm", "")]
		if !ok {
			return nil, 0, fail(KindSecurity, "unsupported DigestMethod", nil)
		}
		want, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(dvs[0].Text()), ""))
		if err != nil {
			return nil, 0, fail(KindSecurity, "DigestValue is not base64", err)
		}
		got, err := digestElided(el, pl, dh, elided)
		if err != nil {
			return nil, 0, fail(KindSecurity, "referenced element cannot be canonicalised", err)
		}
		if !bytes.Equal(got, want) {
			return nil, 0, fail(KindSecurity, "digest mismatch: signed content changed", nil)
		}
		covered[el] = true
	}
	return covered, hash, nil
}

// prefixList returns the PrefixList of an ec:InclusiveNamespaces child, if any.
func prefixList(el *etree.Element) string {
	for _, c := range el.ChildElements() {
		if c.Tag == "InclusiveNamespaces" {
			return c.SelectAttrValue("PrefixList", "")
		}
	}
	return ""
}

// childrenNS returns the direct children of el with the given namespace and local name.
func childrenNS(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

var cfPattern = regexp.MustCompile(codicefiscale.Shape)

// CFFromCertificate returns the codice fiscale a certificate carries: the subject
// serialNumber "TINIT-<CF>" (CNS and qualified certificates) or a CF inside the CN
// (older CNS use "CF/serial.hash"). It returns "" when there is none.
func CFFromCertificate(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	if sn := strings.ToUpper(c.Subject.SerialNumber); strings.HasPrefix(sn, "TINIT-") {
		if cf := sn[len("TINIT-"):]; len(cf) == 16 && cfPattern.MatchString(cf) {
			return cf
		}
	}
	cn := strings.ToUpper(c.Subject.CommonName)
	for _, loc := range cfPattern.FindAllStringIndex(cn, -1) {
		before := loc[0] == 0 || !isAlnum(cn[loc[0]-1])
		after := loc[1] == len(cn) || !isAlnum(cn[loc[1]])
		if before && after {
			return cn[loc[0]:loc[1]]
		}
	}
	return ""
}

func isAlnum(b byte) bool { return b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' }

// verifyPugliaAssertion checks the Puglia profile's assertion: exactly one, directly in the
// Header, covered by the message signature (which replaces a signature of its own), its ID
// unique, Conditions valid when present, the attributes the profile requires.
func verifyPugliaAssertion(m *Message, asserts []*etree.Element, sec *etree.Element, ids map[string][]*etree.Element,
	covered map[*etree.Element]bool, now time.Time, skew time.Duration) (*Message, error) {
	m.Profile = ProfilePuglia
	if len(asserts) != 1 {
		return nil, fail(KindAssertion, "exactly one SAML assertion is allowed in the Header", nil)
	}
	if len(childrenNS(sec, saml.NS, "Assertion")) > 0 {
		return nil, fail(KindAssertion, "assertions both in the Header and in wsse:Security", nil)
	}
	as := asserts[0]
	id := as.SelectAttrValue("ID", "")
	if id == "" || len(ids[id]) != 1 {
		return nil, fail(KindAssertion, fmt.Sprintf("assertion identifier %q missing or not unique in the document", id), nil)
	}
	if !covered[as] {
		return nil, fail(KindSecurity, "the signature does not cover the SAML assertion", nil)
	}
	a, err := saml.ParseUnsigned(as, now, skew)
	if err != nil {
		return nil, fail(KindAssertion, "assertion invalid", err)
	}
	attrs := saml.AttributesFrom(a)
	if err := attrs.CheckPuglia(); err != nil {
		return nil, fail(KindAssertion, "required attribute missing", err)
	}
	m.Identity = a
	m.Attributes = &attrs
	return m, nil
}
