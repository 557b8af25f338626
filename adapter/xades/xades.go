// Package xades signs a CDA with an enveloped XAdES-BES signature (ETSI TS 101 903 v1.3.2,
// as Puglia's FSE 1.0 wants it: "documento CDA firmato XAdES", FSE-10001 otherwise) and
// verifies enveloped XML signatures on a CDA, with or without XAdES properties.
//
// Sign leaves the producer's bytes untouched: the ds:Signature element is inserted just
// before the root's end tag, so the document minus the signature is byte for byte the input.
// Canonicalisation (exclusive C14N everywhere when signing; exclusive, inclusive 1.0 and 1.1
// when verifying) is goxmldsig's; references, transforms and the XAdES properties are
// handled here because goxmldsig verifies only the one reference to the root and trusts only
// certificates it is given.
//
// The functions are safe for concurrent use.
package xades

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

// XML names.
const (
	NSDSig  = "http://www.w3.org/2000/09/xmldsig#"
	NSXAdES = "http://uri.etsi.org/01903/v1.3.2#"
	// NSXAdES141 is the namespace of XAdES 1.4.1 additions (SigningCertificateV2 lives in
	// 1.3.2's namespace in EN 319 132; 1.4.1 is accepted for QualifyingPropertiesReference).
	NSXAdES141 = "http://uri.etsi.org/01903/v1.4.1#"
	// TypeSignedProperties is the Reference/@Type of the reference to xades:SignedProperties.
	TypeSignedProperties = "http://uri.etsi.org/01903#SignedProperties"

	algEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	algExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
)

var digestURIs = map[crypto.Hash]string{
	crypto.SHA1:   "http://www.w3.org/2000/09/xmldsig#sha1",
	crypto.SHA256: "http://www.w3.org/2001/04/xmlenc#sha256",
	crypto.SHA384: "http://www.w3.org/2001/04/xmldsig-more#sha384",
	crypto.SHA512: "http://www.w3.org/2001/04/xmlenc#sha512",
}

type sigMethod struct {
	ecdsa bool
	hash  crypto.Hash
	alg   x509.SignatureAlgorithm
}

var sigMethods = map[string]sigMethod{
	dsig.RSASHA1SignatureMethod:     {false, crypto.SHA1, x509.SHA1WithRSA},
	dsig.RSASHA256SignatureMethod:   {false, crypto.SHA256, x509.SHA256WithRSA},
	dsig.RSASHA384SignatureMethod:   {false, crypto.SHA384, x509.SHA384WithRSA},
	dsig.RSASHA512SignatureMethod:   {false, crypto.SHA512, x509.SHA512WithRSA},
	dsig.ECDSASHA1SignatureMethod:   {true, crypto.SHA1, x509.ECDSAWithSHA1},
	dsig.ECDSASHA256SignatureMethod: {true, crypto.SHA256, x509.ECDSAWithSHA256},
	dsig.ECDSASHA384SignatureMethod: {true, crypto.SHA384, x509.ECDSAWithSHA384},
	dsig.ECDSASHA512SignatureMethod: {true, crypto.SHA512, x509.ECDSAWithSHA512},
}

// ErrAlreadySigned is returned by Sign for a CDA that already carries an enveloped signature.
var ErrAlreadySigned = errors.New("xades: the CDA already carries an XML signature (sign the unsigned CDA)")

// SyntaxError is a CDA that is not well-formed XML.
type SyntaxError struct{ Err error }

// Error implements error.
func (e *SyntaxError) Error() string {
	return "xades: the CDA is not well-formed XML: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

// SignOptions configure Sign. The zero value signs with the signer's default hash
// (sign.Hash) at time.Now.
type SignOptions struct {
	// Now is the clock for xades:SigningTime; nil means time.Now.
	Now func() time.Time
	// Hash overrides the digest (SHA-256 by default); SHA-1 is refused.
	Hash crypto.Hash
}

// Sign returns cda with an enveloped XAdES-BES signature by s: references to the whole
// document (enveloped-signature + exclusive C14N) and to the xades:SignedProperties
// (SigningTime, SigningCertificate), the signer's certificate in KeyInfo. The
// result is verified before it is returned.
func Sign(cda []byte, s sign.Signer, opt SignOptions) ([]byte, error) {
	doc, err := parse(cda)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	if len(signatures(root)) > 0 {
		return nil, ErrAlreadySigned
	}
	end, err := rootEndOffset(cda)
	if err != nil {
		return nil, &SyntaxError{Err: err}
	}
	h := opt.Hash
	if h == 0 {
		h = sign.Hash(s.Public())
	}
	if h == crypto.SHA1 || digestURIs[h] == "" {
		return nil, fmt.Errorf("xades: digest %v not allowed (use SHA-256 or stronger)", h)
	}
	cert := s.Certificate()
	method := ""
	_, isEC := s.Public().(*ecdsa.PublicKey)
	for uri, m := range sigMethods {
		if m.hash == h && m.ecdsa == isEC {
			method = uri
		}
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	var rnd [6]byte
	if _, err := io.ReadFull(rand.Reader, rnd[:]); err != nil {
		return nil, err
	}
	id := "xades-" + hex.EncodeToString(rnd[:])

	docDigest, err := digestDocument(doc, nil, algExcC14N, "", h)
	if err != nil {
		return nil, err
	}

	sig := etree.NewElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", NSDSig)
	sig.CreateAttr("Id", id)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", algExcC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", method)
	addRef := func(refID, uri, typ string, transforms []string, digest []byte) {
		r := si.CreateElement("ds:Reference")
		if refID != "" {
			r.CreateAttr("Id", refID)
		}
		if typ != "" {
			r.CreateAttr("Type", typ)
		}
		r.CreateAttr("URI", uri)
		ts := r.CreateElement("ds:Transforms")
		for _, t := range transforms {
			ts.CreateElement("ds:Transform").CreateAttr("Algorithm", t)
		}
		r.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digestURIs[h])
		r.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(digest))
	}
	addRef(id+"-ref0", "", "", []string{algEnveloped, algExcC14N}, docDigest)

	sv := sig.CreateElement("ds:SignatureValue")
	sv.CreateAttr("Id", id+"-value")
	// Only the signer's certificate: verifiers (xadesjs among them) import every KeyInfo
	// certificate's key with the signature's algorithm, and the roots are theirs anyway.
	sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	qp := sig.CreateElement("ds:Object").CreateElement("xades:QualifyingProperties")
	qp.CreateAttr("xmlns:xades", NSXAdES)
	qp.CreateAttr("Target", "#"+id)
	sp := qp.CreateElement("xades:SignedProperties")
	sp.CreateAttr("Id", id+"-signedprops")
	ssp := sp.CreateElement("xades:SignedSignatureProperties")
	ssp.CreateElement("xades:SigningTime").SetText(now().Format("2006-01-02T15:04:05Z07:00"))
	sc := ssp.CreateElement("xades:SigningCertificate").CreateElement("xades:Cert")
	cd := sc.CreateElement("xades:CertDigest")
	cd.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digestURIs[h])
	cd.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(hashOf(h, cert.Raw)))
	is := sc.CreateElement("xades:IssuerSerial")
	is.CreateElement("ds:X509IssuerName").SetText(cert.Issuer.String())
	is.CreateElement("ds:X509SerialNumber").SetText(cert.SerialNumber.String())
	dof := sp.CreateElement("xades:SignedDataObjectProperties").CreateElement("xades:DataObjectFormat")
	dof.CreateAttr("ObjectReference", "#"+id+"-ref0")
	dof.CreateElement("xades:MimeType").SetText("text/xml")

	// The signed properties and SignedInfo use only prefixed names, so their exclusive
	// canonical form is the same here as in the signed document.
	spc, err := canonical(sp, algExcC14N, "")
	if err != nil {
		return nil, err
	}
	addRef("", "#"+id+"-signedprops", TypeSignedProperties, []string{algExcC14N}, hashOf(h, spc))
	sic, err := canonical(si, algExcC14N, "")
	if err != nil {
		return nil, err
	}
	raw, err := s.Sign(rand.Reader, hashOf(h, sic), h)
	if err != nil {
		return nil, fmt.Errorf("xades: the signer refused: %w", err)
	}
	if isEC {
		if raw, err = ecdsaRaw(raw, s.Public().(*ecdsa.PublicKey)); err != nil {
			return nil, err
		}
	}
	sv.SetText(base64.StdEncoding.EncodeToString(raw))

	out := etree.NewDocument()
	out.SetRoot(sig)
	sigBytes, err := out.WriteToBytes()
	if err != nil {
		return nil, err
	}
	signed := make([]byte, 0, len(cda)+len(sigBytes))
	signed = append(append(append(signed, cda[:end]...), sigBytes...), cda[end:]...)
	if r, err := Verify(signed, sign.VerifyOptions{Now: now}); err != nil || !r.Valid {
		return nil, fmt.Errorf("xades: the signature just made does not verify (a bug): %v", err)
	}
	return signed, nil
}

// Verify checks the enveloped XML signature(s) of cda, children of the root element. It
// returns sign.ErrUnsigned when there is none. Otherwise the Result describes the signature
// (the first that fails, or the first when all verify) and the error is nil when it is Valid,
// else an *sign.InvalidError. Every reference must verify, one must cover the whole
// document, and XAdES signed properties, when present, must be referenced and name the
// signer's certificate. With opt.Roots the signer's chain is checked (Result.Trusted).
func Verify(cda []byte, opt sign.VerifyOptions) (*sign.Result, error) {
	doc, err := parse(cda)
	if err != nil {
		return nil, err
	}
	sigs := signatures(doc.Root())
	if len(sigs) == 0 {
		return nil, sign.ErrUnsigned
	}
	var first *sign.Result
	for _, sig := range sigs {
		r := verifyOne(doc, sig, opt)
		if first == nil {
			first = r
		}
		if !r.Valid {
			return r, r.Err(false)
		}
	}
	return first, nil
}

func parse(cda []byte) (*etree.Document, error) {
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{ValidateInput: false}
	if err := doc.ReadFromBytes(cda); err != nil {
		return nil, &SyntaxError{Err: err}
	}
	if doc.Root() == nil {
		return nil, &SyntaxError{Err: errors.New("no root element")}
	}
	return doc, nil
}

// signatures returns the ds:Signature children of root.
func signatures(root *etree.Element) []*etree.Element {
	var out []*etree.Element
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == NSDSig {
			out = append(out, c)
		}
	}
	return out
}

// rootEndOffset returns the offset of the root element's end tag ("</...>").
func rootEndOffset(data []byte) (int, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	depth := 0
	for {
		tok, err := d.RawToken()
		if err != nil {
			return 0, err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				off := int(d.InputOffset())
				i := bytes.LastIndex(data[:off], []byte("</"))
				if i < 0 {
					return 0, errors.New("root end tag not found")
				}
				return i, nil
			}
		}
	}
}

func hashOf(h crypto.Hash, b []byte) []byte {
	w := h.New()
	w.Write(b)
	return w.Sum(nil)
}

// canonical returns the canonical form of el in its document context under algorithm alg
// (one of the C14N URIs), prefixList being exclusive C14N's InclusiveNamespaces.
func canonical(el *etree.Element, alg, prefixList string) ([]byte, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, err
	}
	c, err := canonicalizer(alg, prefixList)
	if err != nil {
		return nil, err
	}
	return c.Canonicalize(det)
}

func canonicalizer(alg, prefixList string) (dsig.Canonicalizer, error) {
	switch dsig.AlgorithmID(alg) {
	case dsig.CanonicalXML10ExclusiveAlgorithmId:
		return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList), nil
	case dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId:
		return dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(prefixList), nil
	case dsig.CanonicalXML10RecAlgorithmId:
		return dsig.MakeC14N10RecCanonicalizer(), nil
	case dsig.CanonicalXML10WithCommentsAlgorithmId:
		return dsig.MakeC14N10WithCommentsCanonicalizer(), nil
	case dsig.CanonicalXML11AlgorithmId:
		return dsig.MakeC14N11Canonicalizer(), nil
	case dsig.CanonicalXML11WithCommentsAlgorithmId:
		return dsig.MakeC14N11WithCommentsCanonicalizer(), nil
	}
	return nil, fmt.Errorf("canonicalization %q not supported", alg)
}

// digestDocument digests the whole document (Reference URI="") without the signature
// element without (nil when not yet signed), canonicalised with alg. Processing
// instructions outside the root element are part of the document node-set (C14N §2.1);
// comments are not (a same-document URI="" excludes them).
func digestDocument(doc *etree.Document, without *etree.Element, alg, prefixList string, h crypto.Hash) ([]byte, error) {
	root := doc.Root()
	body, err := canonicalWithout(root, without, alg, prefixList)
	if err != nil {
		return nil, err
	}
	w := h.New()
	seenRoot := false
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			w.Write(body)
			seenRoot = true
		case *etree.ProcInst:
			if t.Target == "xml" {
				continue
			}
			pi := "<?" + t.Target
			if t.Inst != "" {
				pi += " " + t.Inst
			}
			pi += "?>"
			if seenRoot {
				io.WriteString(w, "\n"+pi)
			} else {
				io.WriteString(w, pi+"\n")
			}
		}
	}
	return w.Sum(nil), nil
}

// canonicalWithout canonicalises el with the descendant without removed (the
// enveloped-signature transform).
func canonicalWithout(el, without *etree.Element, alg, prefixList string) ([]byte, error) {
	if without == nil {
		return canonical(el, alg, prefixList)
	}
	var path []int
	for e := without; e != el; e = e.Parent() {
		if e == nil {
			return nil, errors.New("the enveloped signature is not inside the referenced element")
		}
		path = append([]int{e.Index()}, path...)
	}
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, err
	}
	cur := det
	for i, idx := range path {
		if i == len(path)-1 {
			cur.RemoveChildAt(idx)
			break
		}
		next, ok := cur.Child[idx].(*etree.Element)
		if !ok {
			return nil, errors.New("enveloped signature path broken")
		}
		cur = next
	}
	c, err := canonicalizer(alg, prefixList)
	if err != nil {
		return nil, err
	}
	return c.Canonicalize(det)
}

// ecdsaRaw converts an ASN.1 ECDSA signature to XML-DSig's r||s.
func ecdsaRaw(der []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return nil, fmt.Errorf("xades: ECDSA signature: %w", err)
	}
	n := (pub.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*n)
	rs.R.FillBytes(out[:n])
	rs.S.FillBytes(out[n:])
	return out, nil
}

// ecdsaDER converts XML-DSig's r||s to ASN.1.
func ecdsaDER(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, errors.New("ECDSA signature value has an odd length")
	}
	n := len(raw) / 2
	return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:])})
}

// child returns the first child element of el named local in namespace ns.
func child(el *etree.Element, ns, local string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

func text(el *etree.Element) string {
	if el == nil {
		return ""
	}
	return strings.TrimSpace(el.Text())
}
