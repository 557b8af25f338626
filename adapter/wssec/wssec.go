// Package wssec secures the SOAP 1.1 envelopes sent to the FSE legacy services and verifies
// them on the simulator's side, in one of two profiles.
//
// ProfilePuglia, the default, is what public traffic of the real addDocument shows
// (ministero-salute/it-fse-support #2501 #2511): WS-Addressing To, Action, ReplyTo, FaultTo
// and MessageID in the default namespace (mustUnderstand on all but To), one SAML assertion
// directly in soap:Header (package saml, BuildPuglia: ID and wsu:Id "identity-assertion",
// Issuer the application's product code, NameID the structure's certificate CN, the observed
// attributes), then wsse:Security with wsu:Timestamp, the signer's certificate as
// BinarySecurityToken wsu:Id "X509-1" and one unprefixed XML-DSig Signature over the
// Timestamp and the assertion (and the Body when asked), exclusive c14n, RSA-SHA1 with SHA-1
// digests (the PDD's documented policy; #2501's digests are 20 bytes), KeyInfo referencing
// "#X509-1": one RSA signature per message.
//
// ProfileNational is the earlier layout for whoever the region tells otherwise: wsa:
// prefixed headers, wsse:Security holding Timestamp, token, the signed identity and
// attribute assertions of the national INI vocabulary and a ds:Signature over the Timestamp
// (and the Body when asked), RSA-SHA256 by default: three RSA signatures per message.
//
// Both work on the bytes gowsdl v0.5.0 serialised and, unless the Body must be signed, never
// parse the Body: the header is spliced in front of <soap:Body by scanning the envelope's
// prefix only, so a 20 MB document costs one copy (Secure) or none (SecureReader).
//
// Verify is the other side: it checks the Timestamp, the message signature (with rules
// against signature wrapping), the trust of the certificate and the assertion(s) of either
// profile, and returns what the message states, the profile and the signature value. Its
// errors are *Error values whose Kind tells the simulator which fault to answer.
//
// Other defaults: exclusive c14n everywhere; Timestamp lifetime 5 minutes; assertions valid
// as long as the Timestamp; Body not signed (signing it forces parsing a 20+ MB document);
// ReplyTo/FaultTo anonymous (synchronous HTTP); MessageID uuid:<v4> as in public traces.
//
// Nothing here logs; error texts never carry fiscal codes, names or document content.
package wssec

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Namespaces and URIs written and read by this package.
const (
	NSSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NSWSA    = "http://www.w3.org/2005/08/addressing"
	NSWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSWSU    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	NSDSig   = "http://www.w3.org/2000/09/xmldsig#"

	// AnonymousAddress is the WS-Addressing anonymous endpoint (reply on the same connection).
	AnonymousAddress = "http://www.w3.org/2005/08/addressing/anonymous"
	// ValueTypeX509v3 is the BinarySecurityToken value type of an X.509 certificate.
	ValueTypeX509v3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
	// EncodingBase64Binary is the BinarySecurityToken encoding type.
	EncodingBase64Binary = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

	AlgExcC14N    = "http://www.w3.org/2001/10/xml-exc-c14n#"
	AlgRSASHA256  = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	AlgRSASHA1    = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	AlgDigSHA256  = "http://www.w3.org/2001/04/xmlenc#sha256"
	AlgDigSHA1    = "http://www.w3.org/2000/09/xmldsig#sha1"
	timeLayout    = saml.TimeLayout
	defaultTSTTL  = 5 * time.Minute
	messageIDPref = "uuid:"
)

// Profile is the layout of message security. There are two, and no knob per detail.
type Profile int

const (
	// ProfilePuglia is what public traffic of addDocument shows (it-fse-support #2501
	// #2511), the default: WS-Addressing To, Action, ReplyTo, FaultTo, MessageID in the
	// default namespace (all but To with mustUnderstand); one SAML assertion directly in the
	// Header (ID and wsu:Id "identity-assertion", Issuer the application's product code,
	// NameID the structure's certificate CN, the observed attributes), not signed itself;
	// then wsse:Security with Timestamp, BinarySecurityToken wsu:Id "X509-1" and one
	// unprefixed ds:Signature over the Timestamp and the assertion (and the Body when asked),
	// RSA-SHA1 with SHA-1 digests by default (the PDD's documented policy), KeyInfo
	// referencing "#X509-1". One RSA signature per message.
	ProfilePuglia Profile = iota
	// ProfileNational is the earlier, national-INI-style layout: wsa: prefixed headers, two
	// enveloped-signed assertions (identity, attribute) inside wsse:Security with the
	// national vocabulary, a ds:Signature over the Timestamp (and the Body when asked),
	// RSA-SHA256 by default. Three RSA signatures per message.
	ProfileNational
)

// String returns the profile's configuration name.
func (p Profile) String() string {
	if p == ProfileNational {
		return "national"
	}
	return "puglia"
}

// ParseProfile reads a configuration name: "puglia" (or empty) and "national".
func ParseProfile(s string) (Profile, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "puglia":
		return ProfilePuglia, nil
	case "national":
		return ProfileNational, nil
	}
	return 0, fmt.Errorf("wssec: unknown security profile %q (puglia, national)", s)
}

// Algorithm selects the signature and digest algorithms of every signature of a message.
type Algorithm int

const (
	// AlgorithmDefault is the profile's: RSASHA1 for ProfilePuglia, RSASHA256 for
	// ProfileNational.
	AlgorithmDefault Algorithm = iota
	// RSASHA256 is RSA PKCS#1 v1.5 with SHA-256 and SHA-256 digests: the national
	// infrastructure's choice.
	RSASHA256
	// RSASHA1 is RSA PKCS#1 v1.5 with SHA-1 and SHA-1 digests, as the PDD's policy documents
	// (varco-sanita/varco docs/SAR_PUGLIA.md) and #2501's 20-byte digests show.
	RSASHA1
)

// Hash returns the hash function of a.
func (a Algorithm) Hash() crypto.Hash {
	if a == RSASHA1 {
		return crypto.SHA1
	}
	return crypto.SHA256
}

// SignatureMethod returns the XML-DSig SignatureMethod URI of a.
func (a Algorithm) SignatureMethod() string {
	if a == RSASHA1 {
		return AlgRSASHA1
	}
	return AlgRSASHA256
}

// DigestMethod returns the XML-DSig DigestMethod URI of a.
func (a Algorithm) DigestMethod() string {
	if a == RSASHA1 {
		return AlgDigSHA1
	}
	return AlgDigSHA256
}

// String returns the algorithm's short name.
func (a Algorithm) String() string {
	switch a {
	case AlgorithmDefault:
		return "default"
	case RSASHA256:
		return "RSA-SHA256"
	case RSASHA1:
		return "RSA-SHA1"
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

// Signer is a private key and its certificate. Key is a crypto.Signer so that a smart card
// (CNS) can plug in; it must be an RSA key matching Cert.
type Signer struct {
	Key  crypto.Signer
	Cert *x509.Certificate
}

// Params describe how to secure one message. Zero values take the documented defaults.
type Params struct {
	Signer    Signer
	Profile   Profile   // ProfilePuglia by default
	Algorithm Algorithm // the profile's default when zero

	To        string // wsa:To, the endpoint URL (required)
	Action    string // wsa:Action (required)
	MessageID string // wsa:MessageID; a fresh uuid:<v4> when empty (see NewMessageID)
	ReplyTo   string // AnonymousAddress when empty
	FaultTo   string // AnonymousAddress when empty

	TimestampTTL time.Duration    // Expires = Created + TimestampTTL; 5 minutes when zero
	SignBody     bool             // also sign soap:Body (gives it a wsu:Id; the Body is parsed)
	Clock        func() time.Time // time.Now when nil

	// Attributes, when not nil, add the SAML assertion(s) of the profile.
	Attributes   *saml.Attributes
	Issuer       string        // saml:Issuer: ProfilePuglia requires it (the application's product code); the certificate's CN when empty in ProfileNational
	NameID       string        // ProfilePuglia's saml:NameID, "<partita IVA>.<domain>" (the structure's certificate CN); required there
	AssertionTTL time.Duration // assertions' validity; TimestampTTL when zero
	// Assertions, when not nil, lets ProfilePuglia reuse the assertion (and its digest) of
	// earlier messages with the same attributes while more than half of its validity is left.
	Assertions *AssertionCache
	// Presign, when not nil, lets ProfilePuglia take the message's signed part (Timestamp,
	// assertion, signature) from headers prepared in the background, and prepare the next
	// one (Presigner's rules). Ignored in ProfileNational and with SignBody, which sign inline.
	Presign *Presigner
}

// NewMessageID returns a fresh WS-Addressing MessageID "uuid:<random v4 UUID>".
func NewMessageID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return messageIDPref + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Secure returns envelope with the WS-Addressing and WS-Security headers added and signed.
// envelope is not modified. The result is one new buffer: the Body is copied once and,
// unless p.SignBody, never parsed.
func Secure(envelope []byte, p Params) ([]byte, error) {
	parts, err := secureParts(envelope, p)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, x := range parts {
		n += len(x)
	}
	out := make([]byte, 0, n)
	for _, x := range parts {
		out = append(out, x...)
	}
	return out, nil
}

// SecureReader is Secure without the copy: it returns a reader over the secured envelope
// (slices of envelope interleaved with the new header bytes) and its length, ready for an
// http.Request body. envelope must not change until the reader is drained.
func SecureReader(envelope []byte, p Params) (io.Reader, int64, error) {
	parts, err := secureParts(envelope, p)
	if err != nil {
		return nil, 0, err
	}
	var n int64
	rs := make([]io.Reader, len(parts))
	for i, x := range parts {
		rs[i] = &byteReader{b: x}
		n += int64(len(x))
	}
	return io.MultiReader(rs...), n, nil
}

// byteReader is a minimal allocation-free bytes reader.
type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// ErrInvalidParams is wrapped by every error Secure returns for unusable Params.
var ErrInvalidParams = errors.New("wssec: invalid params")

func (p *Params) normalise() error {
	if p.Signer.Key == nil || p.Signer.Cert == nil {
		return fmt.Errorf("%w: Signer.Key and Signer.Cert are required", ErrInvalidParams)
	}
	pub, ok := p.Signer.Key.Public().(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: only RSA keys are supported", ErrInvalidParams)
	}
	if !pub.Equal(p.Signer.Cert.PublicKey) {
		return fmt.Errorf("%w: Signer.Key does not match Signer.Cert", ErrInvalidParams)
	}
	if p.Profile != ProfilePuglia && p.Profile != ProfileNational {
		return fmt.Errorf("%w: unknown profile %d", ErrInvalidParams, int(p.Profile))
	}
	if p.Algorithm == AlgorithmDefault {
		p.Algorithm = RSASHA1
		if p.Profile == ProfileNational {
			p.Algorithm = RSASHA256
		}
	}
	if p.Algorithm != RSASHA256 && p.Algorithm != RSASHA1 {
		return fmt.Errorf("%w: unknown algorithm %v", ErrInvalidParams, p.Algorithm)
	}
	if strings.TrimSpace(p.To) == "" || strings.TrimSpace(p.Action) == "" {
		return fmt.Errorf("%w: To and Action are required", ErrInvalidParams)
	}
	if p.MessageID == "" {
		p.MessageID = NewMessageID()
	}
	if p.ReplyTo == "" {
		p.ReplyTo = AnonymousAddress
	}
	if p.FaultTo == "" {
		p.FaultTo = AnonymousAddress
	}
	if p.TimestampTTL <= 0 {
		p.TimestampTTL = defaultTSTTL
	}
	if p.AssertionTTL <= 0 {
		p.AssertionTTL = p.TimestampTTL
	}
	if p.Clock == nil {
		p.Clock = time.Now
	}
	return nil
}

// secureParts returns the pieces of the secured envelope, in order.
func secureParts(envelope []byte, p Params) ([][]byte, error) {
	if err := p.normalise(); err != nil {
		return nil, err
	}
	lay, err := scanEnvelope(envelope)
	if err != nil {
		return nil, err
	}
	if p.Profile == ProfilePuglia {
		return pugliaParts(envelope, lay, p)
	}
	now := p.Clock().UTC()
	sum := sha256.Sum256([]byte(p.MessageID))
	suffix := hex.EncodeToString(sum[:8])
	ids := struct{ ts, bst, body string }{"TS-" + suffix, "X509-" + suffix, "Body-" + suffix}

	// soap prefix for mustUnderstand: the envelope's, or a local one when it uses a default namespace.
	sp, spDecl := lay.prefix, ""
	if sp == "" {
		sp, spDecl = "soapenv", ` xmlns:soapenv="`+NSSOAP11+`"`
	}

	var hb strings.Builder
	wsa := func(name, extra, inner string) {
		fmt.Fprintf(&hb, `<wsa:%s xmlns:wsa="%s"%s>%s</wsa:%s>`, name, NSWSA, extra, inner, name)
	}
	wsa("To", "", esc(p.To))
	wsa("Action", spDecl+` `+sp+`:mustUnderstand="1"`, esc(p.Action))
	wsa("MessageID", "", esc(p.MessageID))
	wsa("ReplyTo", "", "<wsa:Address>"+esc(p.ReplyTo)+"</wsa:Address>")
	wsa("FaultTo", "", "<wsa:Address>"+esc(p.FaultTo)+"</wsa:Address>")

	secStart := fmt.Sprintf(`<wsse:Security xmlns:wsse="%s" xmlns:wsu="%s"%s %s:mustUnderstand="1">`, NSWSSE, NSWSU, spDecl, sp)
	ts := fmt.Sprintf(`<wsu:Timestamp wsu:Id="%s"><wsu:Created>%s</wsu:Created><wsu:Expires>%s</wsu:Expires></wsu:Timestamp>`,
		ids.ts, now.Format(timeLayout), now.Add(p.TimestampTTL).Format(timeLayout))
	bst := fmt.Sprintf(`<wsse:BinarySecurityToken EncodingType="%s" ValueType="%s" wsu:Id="%s">%s</wsse:BinarySecurityToken>`,
		EncodingBase64Binary, ValueTypeX509v3, ids.bst, base64.StdEncoding.EncodeToString(p.Signer.Cert.Raw))
	hb.WriteString(secStart)
	hb.WriteString(ts)
	hb.WriteString(bst)
	if p.Attributes != nil {
		idA, atA, err := saml.Build(*p.Attributes, saml.SignOptions{
			Signer: p.Signer.Key, Cert: p.Signer.Cert, Hash: p.Algorithm.Hash(),
			Issuer: p.Issuer, Now: now, TTL: p.AssertionTTL,
		})
		if err != nil {
			return nil, fmt.Errorf("wssec: %w", err)
		}
		hb.Write(idA)
		hb.Write(atA)
	}

	// Digest of the Timestamp, canonicalised in the context it will have (exclusive c14n
	// only carries the namespaces it uses, so the Security start tag is enough context).
	tsDigest, err := digestFragment(secStart+ts+`</wsse:Security>`, p.Algorithm.Hash())
	if err != nil {
		return nil, fmt.Errorf("wssec: timestamp digest: %w", err)
	}
	refs := []reference{{uri: "#" + ids.ts, digest: tsDigest}}

	var bodyAttr string
	if p.SignBody {
		bodyDigest, err := digestBody(envelope, ids.body, p.Algorithm.Hash())
		if err != nil {
			return nil, err
		}
		refs = append(refs, reference{uri: "#" + ids.body, digest: bodyDigest})
		bodyAttr = fmt.Sprintf(` xmlns:wsu="%s" wsu:Id="%s"`, NSWSU, ids.body)
	}

	sig, err := signature(refs, ids.bst, p.Signer.Key, p.Algorithm, "ds")
	if err != nil {
		return nil, err
	}
	hb.Write(sig)
	hb.WriteString(`</wsse:Security>`)
	header := hb.String()

	return assemble(envelope, lay, header, bodyAttr), nil
}

// assemble splices header (the new Header children) and bodyAttr (attributes for the Body
// start tag, or "") into envelope, returning the pieces in order.
func assemble(envelope []byte, lay layout, header, bodyAttr string) [][]byte {
	hp := lay.prefix
	if hp != "" {
		hp += ":"
	}
	var parts [][]byte
	switch {
	case !lay.hasHeader:
		parts = append(parts, envelope[:lay.bodyStart], []byte("<"+hp+"Header>"+header+"</"+hp+"Header>"))
	case lay.headerSelfClosing:
		parts = append(parts, envelope[:lay.headerStart], []byte("<"+hp+"Header>"+header+"</"+hp+"Header>"),
			envelope[lay.headerTagEnd:lay.bodyStart])
	default:
		parts = append(parts, envelope[:lay.headerTagEnd], []byte(header), envelope[lay.headerTagEnd:lay.bodyStart])
	}
	if bodyAttr == "" {
		parts = append(parts, envelope[lay.bodyStart:])
	} else {
		parts = append(parts, envelope[lay.bodyStart:lay.bodyAttrAt], []byte(bodyAttr), envelope[lay.bodyAttrAt:])
	}
	return parts
}

// reference is one ds:Reference to write.
type reference struct {
	uri    string
	digest []byte
}

// signature builds, signs and serialises the XML-DSig Signature over refs, its elements
// prefixed with prefix ("ds") or in the default namespace (prefix "", as #2501 shows).
func signature(refs []reference, bstID string, key crypto.Signer, alg Algorithm, prefix string) ([]byte, error) {
	q := func(local string) string {
		if prefix == "" {
			return local
		}
		return prefix + ":" + local
	}
	sig := etree.NewElement(q("Signature"))
	if prefix == "" {
		sig.CreateAttr("xmlns", NSDSig)
	} else {
		sig.CreateAttr("xmlns:"+prefix, NSDSig)
	}
	si := sig.CreateElement(q("SignedInfo"))
	si.CreateElement(q("CanonicalizationMethod")).CreateAttr("Algorithm", AlgExcC14N)
	si.CreateElement(q("SignatureMethod")).CreateAttr("Algorithm", alg.SignatureMethod())
	for _, r := range refs {
		ref := si.CreateElement(q("Reference"))
		ref.CreateAttr("URI", r.uri)
		ref.CreateElement(q("Transforms")).CreateElement(q("Transform")).CreateAttr("Algorithm", AlgExcC14N)
		ref.CreateElement(q("DigestMethod")).CreateAttr("Algorithm", alg.DigestMethod())
		ref.CreateElement(q("DigestValue")).SetText(base64.StdEncoding.EncodeToString(r.digest))
	}
	canon, err := canonicalInContext(si, "")
	if err != nil {
		return nil, fmt.Errorf("wssec: canonical SignedInfo: %w", err)
	}
	h := alg.Hash().New()
	h.Write(canon)
	raw, err := key.Sign(rand.Reader, h.Sum(nil), alg.Hash())
	if err != nil {
		return nil, fmt.Errorf("wssec: signing: %w", err)
	}
	sig.CreateElement(q("SignatureValue")).SetText(base64.StdEncoding.EncodeToString(raw))
	str := sig.CreateElement(q("KeyInfo")).CreateElement("wsse:SecurityTokenReference")
	r := str.CreateElement("wsse:Reference")
	r.CreateAttr("URI", "#"+bstID)
	r.CreateAttr("ValueType", ValueTypeX509v3)
	doc := etree.NewDocument()
	doc.SetRoot(sig)
	return doc.WriteToBytes()
}

// canonicalInContext returns the exclusive canonical form of el with its in-scope
// namespaces (the element is copied, el is untouched).
func canonicalInContext(el *etree.Element, prefixList string) ([]byte, error) {
	var b bytes.Buffer
	if err := canonicalTo(&b, el, prefixList); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// canonicalTo writes the exclusive canonical form of el to w (a hash, for large elements:
// the canonical bytes are never held in memory).
func canonicalTo(w io.Writer, el *etree.Element, prefixList string) error {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return err
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return err
	}
	if err := etreeutils.TransformExcC14n(det, prefixList, false); err != nil {
		return err
	}
	doc := etree.NewDocument()
	doc.SetRoot(det)
	doc.WriteSettings = etree.WriteSettings{CanonicalAttrVal: true, CanonicalEndTags: true, CanonicalText: true}
	_, err = doc.WriteTo(w)
	return err
}

// digestOf hashes the exclusive canonical form of el.
func digestOf(el *etree.Element, prefixList string, h crypto.Hash) ([]byte, error) {
	d := h.New()
	if err := canonicalTo(d, el, prefixList); err != nil {
		return nil, err
	}
	return d.Sum(nil), nil
}

// digestFragment parses a small <wsse:Security> fragment and digests its first child.
func digestFragment(fragment string, h crypto.Hash) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(fragment); err != nil {
		return nil, err
	}
	children := doc.Root().ChildElements()
	if len(children) == 0 {
		return nil, errors.New("empty fragment")
	}
	return digestOf(children[0], "", h)
}

// digestBody parses the envelope, gives soap:Body the wsu:Id it will carry and digests it.
func digestBody(envelope []byte, id string, h crypto.Hash) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(envelope); err != nil {
		return nil, fmt.Errorf("wssec: envelope: %w", err)
	}
	body := childNS(doc.Root(), NSSOAP11, "Body")
	if body == nil {
		return nil, errors.New("wssec: envelope has no soap:Body")
	}
	for _, a := range body.Attr {
		if (a.Space == "xmlns" && a.Key == "wsu") || a.Key == "Id" || a.Key == "ID" {
			return nil, errors.New("wssec: soap:Body already carries an Id or a wsu prefix")
		}
	}
	body.CreateAttr("xmlns:wsu", NSWSU)
	body.CreateAttr("wsu:Id", id)
	d, err := digestOf(body, "", h)
	if err != nil {
		return nil, fmt.Errorf("wssec: canonical Body: %w", err)
	}
	return d, nil
}

// childNS returns the only direct child of el with the given namespace and local name, or nil.
func childNS(el *etree.Element, ns, local string) *etree.Element {
	var found *etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			if found != nil {
				return nil
			}
			found = c
		}
	}
	return found
}

// esc escapes text content and attribute values.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
