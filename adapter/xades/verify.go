package xades

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

var digestByURI = func() map[string]crypto.Hash {
	m := map[string]crypto.Hash{}
	for h, u := range digestURIs {
		m[u] = h
	}
	return m
}()

type reference struct {
	uri, typ   string
	transforms []transform
	digestAlg  string
	digest     string
}

type transform struct{ alg, prefixList string }

// verifyOne verifies one enveloped signature of doc.
func verifyOne(doc *etree.Document, sig *etree.Element, opt sign.VerifyOptions) *sign.Result {
	r := &sign.Result{Format: sign.FormatXMLDSig}
	si := children(sig, NSDSig, "SignedInfo")
	sv := children(sig, NSDSig, "SignatureValue")
	if len(si) != 1 || len(sv) != 1 || len(children(sig, NSDSig, "KeyInfo")) > 1 {
		r.Problem("ds:Signature must have exactly one SignedInfo and one SignatureValue")
		return r
	}
	cm := child(si[0], NSDSig, "CanonicalizationMethod")
	if cm == nil {
		r.Problem("SignedInfo has no CanonicalizationMethod")
		return r
	}
	sic, err := canonical(si[0], cm.SelectAttrValue("Algorithm", ""), prefixList(cm))
	if err != nil {
		r.Problem("SignedInfo: " + err.Error())
		return r
	}
	// Everything below reads the canonical (signed) SignedInfo, not the parsed one.
	cdoc := etree.NewDocument()
	if err := cdoc.ReadFromBytes(sic); err != nil || cdoc.Root() == nil {
		r.Problem("canonical SignedInfo does not parse")
		return r
	}
	csi := cdoc.Root()
	smURI := ""
	if sm := child(csi, NSDSig, "SignatureMethod"); sm != nil {
		smURI = sm.SelectAttrValue("Algorithm", "")
	}
	method, ok := sigMethods[smURI]
	if !ok {
		r.Problem("signature method " + smURI + " not supported")
		return r
	}
	value, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sv[0].Text()), ""))
	if err != nil {
		r.Problem("SignatureValue is not base64")
		return r
	}
	if method.ecdsa {
		if value, err = ecdsaDER(value); err != nil {
			r.Problem(err.Error())
			return r
		}
	}

	var certs []*x509.Certificate
	if ki := child(sig, NSDSig, "KeyInfo"); ki != nil {
		for _, xd := range children(ki, NSDSig, "X509Data") {
			for _, xc := range children(xd, NSDSig, "X509Certificate") {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(xc.Text()), ""))
				if err != nil {
					continue
				}
				if c, err := x509.ParseCertificate(der); err == nil {
					certs = append(certs, c)
				}
			}
		}
	}
	if len(certs) == 0 {
		r.Problem("KeyInfo carries no X509Certificate: the signer cannot be identified")
		return r
	}
	var signer *x509.Certificate
	for _, c := range certs {
		if c.CheckSignature(method.alg, sic, value) == nil {
			signer = c
			break
		}
	}
	r.Describe(certs[0])
	r.Algorithm = sign.Algorithm(certs[0].PublicKey, method.hash)
	if signer == nil {
		r.Problem("the signature value does not verify with the certificate in KeyInfo (SignedInfo altered or wrong key)")
		return r
	}
	r.Describe(signer)
	r.Algorithm = sign.Algorithm(signer.PublicKey, method.hash)

	refs := parseReferences(csi)
	if len(refs) == 0 {
		r.Problem("SignedInfo has no Reference")
		return r
	}
	root := doc.Root()
	rootID := idOf(root)
	coversDoc, signedProps := false, (*etree.Element)(nil)
	ok = true
	for _, ref := range refs {
		target, isDoc, msg := resolve(doc, ref.uri)
		if msg != "" {
			r.Problem("Reference URI=\"" + ref.uri + "\": " + msg)
			ok = false
			continue
		}
		h, known := digestByURI[ref.digestAlg]
		if !known {
			r.Problem("Reference URI=\"" + ref.uri + "\": digest " + ref.digestAlg + " not supported")
			ok = false
			continue
		}
		got, msg := digestReference(doc, target, isDoc, sig, ref, h)
		if msg != "" {
			r.Problem("Reference URI=\"" + ref.uri + "\": " + msg)
			ok = false
			continue
		}
		want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ref.digest))
		if err != nil || subtle.ConstantTimeCompare(got, want) != 1 {
			what := "the signed content"
			if isDoc || target == root {
				what = "the document"
			}
			r.Problem("Reference URI=\"" + ref.uri + "\": digest mismatch: " + what + " was changed after signing")
			ok = false
			continue
		}
		if isDoc || (target == root && rootID != "" && hasEnveloped(ref)) {
			coversDoc = true
		}
		if target != nil && target.Tag == "SignedProperties" && target.NamespaceURI() == NSXAdES {
			signedProps = target
		}
	}
	if !coversDoc && ok {
		r.Problem("no reference covers the whole document (URI=\"\" with the enveloped-signature transform): the signature does not sign the CDA")
		ok = false
	}
	if ok {
		r.Valid = true
	}
	checkXAdES(r, sig, signedProps)
	if r.Valid {
		r.CheckTrust(certs, opt)
	}
	return r
}

// checkXAdES reads the qualifying properties: signed properties must be referenced and
// name the signer's certificate; SigningTime becomes the Result's SigningTime.
func checkXAdES(r *sign.Result, sig, signedProps *etree.Element) {
	var qp *etree.Element
	for _, o := range children(sig, NSDSig, "Object") {
		if q := child(o, NSXAdES, "QualifyingProperties"); q != nil {
			qp = q
		}
	}
	if qp == nil {
		return // plain XML-DSig
	}
	sp := child(qp, NSXAdES, "SignedProperties")
	if sp == nil {
		r.Problem("xades:QualifyingProperties without SignedProperties")
		r.Valid = false
		return
	}
	if signedProps != sp {
		r.Problem("xades:SignedProperties is not covered by a verified Reference (Type " + TypeSignedProperties + ")")
		r.Valid = false
		return
	}
	ssp := child(sp, NSXAdES, "SignedSignatureProperties")
	if st := text(child(ssp, NSXAdES, "SigningTime")); st != "" {
		t, err := time.Parse(time.RFC3339, st)
		if err != nil {
			r.Problem("xades:SigningTime " + st + " is not an xs:dateTime")
			r.Valid = false
			return
		}
		r.SigningTime = t
	}
	if !signingCertMatches(ssp, r.Signer) {
		r.Problem("xades:SigningCertificate does not name the certificate that signed")
		r.Valid = false
		return
	}
	r.Format = sign.FormatXAdES
}

// signingCertMatches checks SigningCertificate (v1.3.2) or SigningCertificateV2 (EN 319 132):
// one Cert whose CertDigest is the digest of cert.
func signingCertMatches(ssp *etree.Element, cert *x509.Certificate) bool {
	sc := child(ssp, NSXAdES, "SigningCertificate")
	if sc == nil {
		sc = child(ssp, NSXAdES, "SigningCertificateV2")
	}
	if sc == nil || cert == nil {
		return false
	}
	for _, c := range children(sc, NSXAdES, "Cert") {
		cd := child(c, NSXAdES, "CertDigest")
		dm := child(cd, NSDSig, "DigestMethod")
		if dm == nil {
			continue
		}
		h, ok := digestByURI[dm.SelectAttrValue("Algorithm", "")]
		if !ok {
			continue
		}
		want, err := base64.StdEncoding.DecodeString(text(child(cd, NSDSig, "DigestValue")))
		if err == nil && bytes.Equal(want, hashOf(h, cert.Raw)) {
			return true
		}
	}
	return false
}

func parseReferences(si *etree.Element) []reference {
	var refs []reference
	for _, re := range children(si, NSDSig, "Reference") {
		ref := reference{uri: re.SelectAttrValue("URI", ""), typ: re.SelectAttrValue("Type", "")}
		if re.SelectAttr("URI") == nil {
			ref.uri = "\x00missing"
		}
		if ts := child(re, NSDSig, "Transforms"); ts != nil {
			for _, t := range children(ts, NSDSig, "Transform") {
				ref.transforms = append(ref.transforms, transform{t.SelectAttrValue("Algorithm", ""), prefixList(t)})
			}
		}
		if dm := child(re, NSDSig, "DigestMethod"); dm != nil {
			ref.digestAlg = dm.SelectAttrValue("Algorithm", "")
		}
		ref.digest = text(child(re, NSDSig, "DigestValue"))
		refs = append(refs, ref)
	}
	return refs
}

func prefixList(el *etree.Element) string {
	for _, c := range el.ChildElements() {
		if c.Tag == "InclusiveNamespaces" {
			return c.SelectAttrValue("PrefixList", "")
		}
	}
	return ""
}

func hasEnveloped(ref reference) bool {
	for _, t := range ref.transforms {
		if t.alg == algEnveloped {
			return true
		}
	}
	return false
}

func idOf(el *etree.Element) string {
	for _, k := range []string{"Id", "ID", "id"} {
		if v := el.SelectAttrValue(k, ""); v != "" {
			return v
		}
	}
	return ""
}

// resolve finds a same-document reference: "" is the document, "#id" the one element whose
// Id (or ID, id) is id. Two elements with the same id are refused (signature wrapping).
func resolve(doc *etree.Document, uri string) (el *etree.Element, isDoc bool, problem string) {
	if uri == "" {
		return doc.Root(), true, ""
	}
	id, ok := strings.CutPrefix(uri, "#")
	if !ok || id == "" || strings.HasPrefix(id, "xpointer(") {
		return nil, false, "only same-document references (\"\" or #id) are supported"
	}
	var found []*etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if idOf(e) == id {
			found = append(found, e)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(doc.Root())
	switch len(found) {
	case 0:
		return nil, false, "no element has this Id"
	case 1:
		return found[0], false, ""
	}
	return nil, false, "several elements have this Id"
}

// digestReference applies ref's transforms to target and digests the result.
func digestReference(doc *etree.Document, target *etree.Element, isDoc bool, sig *etree.Element, ref reference, h crypto.Hash) ([]byte, string) {
	var without *etree.Element
	alg, pl := string(dsigC14N10), ""
	for _, t := range ref.transforms {
		switch t.alg {
		case algEnveloped:
			without = sig
		default:
			if _, err := canonicalizer(t.alg, t.prefixList); err != nil {
				return nil, "transform " + t.alg + " not supported"
			}
			alg, pl = t.alg, t.prefixList
		}
	}
	if without != nil && !isAncestor(target, sig) {
		without = nil
	}
	if isDoc {
		d, err := digestDocument(doc, without, alg, pl, h)
		if err != nil {
			return nil, err.Error()
		}
		return d, ""
	}
	if without == nil && isAncestor(target, sig) {
		return nil, "the referenced element contains the signature but the enveloped-signature transform is missing"
	}
	c, err := canonicalWithout(target, without, alg, pl)
	if err != nil {
		return nil, err.Error()
	}
	return hashOf(h, c), ""
}

const dsigC14N10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"

func isAncestor(a, b *etree.Element) bool {
	for e := b; e != nil; e = e.Parent() {
		if e == a {
			return true
		}
	}
	return false
}
