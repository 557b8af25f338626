package saml

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Namespaces and fixed values of the assertions.
const (
	NS                   = "urn:oasis:names:tc:SAML:2.0:assertion"
	DSigNS               = "http://www.w3.org/2000/09/xmldsig#"
	IdentityAssertionID  = "identity-assertion"
	AttributeAssertionID = "attribute-assertion"
	AttrNameFormatURI    = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
	AuthnContextX509     = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509"
	NameIDFormat         = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	// TimeLayout is how instants are written: UTC with milliseconds.
	TimeLayout = "2006-01-02T15:04:05.000Z"
)

// SignOptions say who signs the assertions, how, and for how long they hold.
type SignOptions struct {
	Signer crypto.Signer     // private key (an RSA key; a smart card can implement crypto.Signer)
	Cert   *x509.Certificate // certificate of Signer, sent in ds:KeyInfo/ds:X509Data
	Hash   crypto.Hash       // crypto.SHA256 (default, RSA-SHA256) or crypto.SHA1 (RSA-SHA1)
	Issuer string            // saml:Issuer; the certificate's CN when empty
	Now    time.Time         // IssueInstant, NotBefore and AuthnInstant
	TTL    time.Duration     // NotOnOrAfter = Now+TTL; 5 minutes when zero
}

// Build returns the signed identity and attribute assertions, each serialised once: embed
// the bytes as they are. Attributes are checked first (see Attributes.Check).
func Build(a Attributes, o SignOptions) (identity, attribute []byte, err error) {
	a = a.WithDefaults()
	if err := a.Check(); err != nil {
		return nil, nil, err
	}
	if o.Signer == nil || o.Cert == nil {
		return nil, nil, errors.New("saml: signer and certificate are required")
	}
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	if o.Hash != crypto.SHA256 && o.Hash != crypto.SHA1 {
		return nil, nil, fmt.Errorf("saml: unsupported hash %v", o.Hash)
	}
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.Issuer == "" {
		o.Issuer = o.Cert.Subject.CommonName
	}
	if o.Now.IsZero() {
		return nil, nil, errors.New("saml: SignOptions.Now is required")
	}
	identity, err = sign(build(IdentityAssertionID, a.OperatorCF, a.identityPairs(), true, o), o)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: identity assertion: %w", err)
	}
	attribute, err = sign(build(AttributeAssertionID, a.OperatorCF, a.requestPairs(), false, o), o)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: attribute assertion: %w", err)
	}
	return identity, attribute, nil
}

// build creates an unsigned assertion element with xmlns:saml declared on itself.
func build(id, nameID string, attrs []pair, authn bool, o SignOptions) *etree.Element {
	now := o.Now.UTC()
	as := etree.NewElement("saml:Assertion")
	as.CreateAttr("xmlns:saml", NS)
	as.CreateAttr("ID", id)
	as.CreateAttr("IssueInstant", now.Format(TimeLayout))
	as.CreateAttr("Version", "2.0")
	as.CreateElement("saml:Issuer").SetText(o.Issuer)
	nid := as.CreateElement("saml:Subject").CreateElement("saml:NameID")
	nid.CreateAttr("Format", NameIDFormat)
	nid.SetText(nameID)
	cond := as.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", now.Format(TimeLayout))
	cond.CreateAttr("NotOnOrAfter", now.Add(o.TTL).Format(TimeLayout))
	if authn {
		st := as.CreateElement("saml:AuthnStatement")
		st.CreateAttr("AuthnInstant", now.Format(TimeLayout))
		st.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(AuthnContextX509)
	}
	stmt := as.CreateElement("saml:AttributeStatement")
	for _, p := range attrs {
		at := stmt.CreateElement("saml:Attribute")
		at.CreateAttr("Name", p.name)
		at.CreateAttr("NameFormat", AttrNameFormatURI)
		at.CreateElement("saml:AttributeValue").SetText(p.value)
	}
	return as
}

// sign signs the assertion enveloped with exclusive c14n, inserts ds:Signature right after
// saml:Issuer and serialises the result.
func sign(as *etree.Element, o SignOptions) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(as)
	ctx, err := dsig.NewSigningContext(o.Signer, [][]byte{o.Cert.Raw})
	if err != nil {
		return nil, err
	}
	ctx.Hash = o.Hash
	ctx.IdAttribute = "ID"
	ctx.Prefix = "ds"
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(as, true)
	if err != nil {
		return nil, err
	}
	issuer := as.SelectElement("saml:Issuer")
	as.InsertChildAt(issuer.Index()+1, sig)
	return doc.WriteToBytes()
}

// Assertion is what a verified assertion states.
type Assertion struct {
	ID           string
	Issuer       string
	NameID       string
	IssueInstant time.Time
	NotBefore    time.Time
	NotOnOrAfter time.Time
	Authn        bool                // an AuthnStatement is present
	Attributes   map[string][]string // attribute name → values
}

// VerifyOptions tell Verify the time and which certificates to trust.
type VerifyOptions struct {
	Now  time.Time     // the verifier's time
	Skew time.Duration // clock skew allowed on Conditions
	// Trust returns nil when the certificate found in the assertion's ds:KeyInfo is
	// trusted to sign assertions. Required.
	Trust func(*x509.Certificate) error
}

// ErrUntrusted is wrapped when Trust refuses the signing certificate.
var ErrUntrusted = errors.New("saml: signing certificate not trusted")

// Verify checks the enveloped signature of el (a saml:Assertion inside any document: it is
// detached with its namespace context first), that its signer is trusted and its Conditions
// hold at o.Now. It reads only the signed content goxmldsig returns, never el itself.
func Verify(el *etree.Element, o VerifyOptions) (*Assertion, *x509.Certificate, error) {
	if el == nil || el.Tag != "Assertion" || el.NamespaceURI() != NS {
		return nil, nil, errors.New("saml: not a saml:Assertion")
	}
	if o.Trust == nil {
		return nil, nil, errors.New("saml: VerifyOptions.Trust is required")
	}
	id := el.SelectAttrValue("ID", "")
	pctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: namespace context: %w", err)
	}
	det, err := etreeutils.NSDetatch(pctx, el)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: detach: %w", err)
	}
	cert, err := keyInfoCert(det)
	if err != nil {
		return nil, nil, err
	}
	if err := o.Trust(cert); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	vc.IdAttribute = "ID"
	vc.Clock = dsig.NewFakeClockAt(o.Now)
	signed, err := vc.Validate(det)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: signature of assertion %q: %w", id, err)
	}
	a, err := parse(signed)
	if err != nil {
		return nil, nil, err
	}
	if a.ID != id {
		return nil, nil, fmt.Errorf("saml: signed assertion ID %q differs from %q", a.ID, id)
	}
	if a.NotBefore.IsZero() || a.NotOnOrAfter.IsZero() {
		return nil, nil, fmt.Errorf("saml: assertion %q: Conditions NotBefore/NotOnOrAfter missing", id)
	}
	if o.Now.Add(o.Skew).Before(a.NotBefore) {
		return nil, nil, fmt.Errorf("saml: assertion %q not yet valid", id)
	}
	if !o.Now.Add(-o.Skew).Before(a.NotOnOrAfter) {
		return nil, nil, fmt.Errorf("saml: assertion %q expired", id)
	}
	return a, cert, nil
}

// keyInfoCert returns the certificate of the assertion's own (direct child) ds:Signature.
func keyInfoCert(as *etree.Element) (*x509.Certificate, error) {
	var sig *etree.Element
	for _, c := range as.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == DSigNS {
			if sig != nil {
				return nil, errors.New("saml: more than one ds:Signature in assertion")
			}
			sig = c
		}
	}
	if sig == nil {
		return nil, errors.New("saml: assertion is not signed")
	}
	var certs []*etree.Element
	for _, ki := range childrenNS(sig, DSigNS, "KeyInfo") {
		for _, xd := range childrenNS(ki, DSigNS, "X509Data") {
			certs = append(certs, childrenNS(xd, DSigNS, "X509Certificate")...)
		}
	}
	if len(certs) == 0 {
		return nil, errors.New("saml: no X509Certificate in the assertion's KeyInfo")
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(certs[0].Text()), ""))
	if err != nil {
		return nil, fmt.Errorf("saml: KeyInfo certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("saml: KeyInfo certificate: %w", err)
	}
	return cert, nil
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

// parse reads a (verified, canonical) assertion element.
func parse(el *etree.Element) (*Assertion, error) {
	if el.Tag != "Assertion" || el.NamespaceURI() != NS {
		return nil, errors.New("saml: signed element is not a saml:Assertion")
	}
	a := &Assertion{ID: el.SelectAttrValue("ID", ""), Attributes: map[string][]string{}}
	var err error
	if a.IssueInstant, err = parseTime(el.SelectAttrValue("IssueInstant", "")); err != nil {
		return nil, fmt.Errorf("saml: IssueInstant: %w", err)
	}
	if is := childrenNS(el, NS, "Issuer"); len(is) == 1 {
		a.Issuer = strings.TrimSpace(is[0].Text())
	} else {
		return nil, errors.New("saml: assertion needs exactly one Issuer")
	}
	subj := childrenNS(el, NS, "Subject")
	if len(subj) != 1 {
		return nil, errors.New("saml: assertion needs exactly one Subject")
	}
	if nid := childrenNS(subj[0], NS, "NameID"); len(nid) == 1 {
		a.NameID = strings.TrimSpace(nid[0].Text())
	}
	if a.NameID == "" {
		return nil, errors.New("saml: Subject/NameID missing")
	}
	if c := childrenNS(el, NS, "Conditions"); len(c) == 1 {
		if v := c[0].SelectAttrValue("NotBefore", ""); v != "" {
			if a.NotBefore, err = parseTime(v); err != nil {
				return nil, fmt.Errorf("saml: NotBefore: %w", err)
			}
		}
		if v := c[0].SelectAttrValue("NotOnOrAfter", ""); v != "" {
			if a.NotOnOrAfter, err = parseTime(v); err != nil {
				return nil, fmt.Errorf("saml: NotOnOrAfter: %w", err)
			}
		}
	} else if len(c) > 1 {
		return nil, errors.New("saml: more than one Conditions")
	}
	a.Authn = len(childrenNS(el, NS, "AuthnStatement")) > 0
	for _, st := range childrenNS(el, NS, "AttributeStatement") {
		for _, at := range childrenNS(st, NS, "Attribute") {
			name := at.SelectAttrValue("Name", "")
			for _, v := range childrenNS(at, NS, "AttributeValue") {
				a.Attributes[name] = append(a.Attributes[name], v.Text())
			}
		}
	}
	return a, nil
}

func parseTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
}
