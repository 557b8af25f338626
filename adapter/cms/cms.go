// Package cms makes and checks the CMS SignedData (RFC 5652) inside PAdES signatures and
// CAdES .p7m envelopes, working on digests so that the signed content is never copied:
// a 100 MB PDF is hashed where it lies.
//
// SignDetached makes a CAdES-B-B detached signature as PAdES B-B wants it (signed attributes
// content-type, message-digest and ESS signing-certificate-v2; no signing-time: PAdES puts
// the time in the signature dictionary's /M). Verify checks a SignedData, detached or with
// its content, against the content's digest. The ASN.1 is encoding/asn1; the cryptography is
// the standard library's. Why not digitorus/pkcs7: see adapter/sign/DESIGN.md.
package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

// Object identifiers.
var (
	OIDData                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSigningCertificate   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidTimeStampToken       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}

	oidRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidRSASHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidRSASHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidRSASHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublic  = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECSHA1    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECSHA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECSHA384  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECSHA512  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

var hashOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA1:   {1, 3, 14, 3, 2, 26},
	crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
	crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
}

func hashByOID(oid asn1.ObjectIdentifier) crypto.Hash {
	for h, o := range hashOIDs {
		if o.Equal(oid) {
			return h
		}
	}
	return 0
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue   `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue   `asn1:"optional,tag:1"`
	SignerInfos      []asn1.RawValue `asn1:"set"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue // SET OF
}

// essCertIDv2 omits hashAlgorithm: SHA-256 is its DEFAULT, which DER leaves out.
type essCertIDv2 struct {
	CertHash []byte
}

// SignOptions configure SignDetached.
type SignOptions struct {
	// SigningTime adds a CMS signing-time attribute when not zero (CAdES; PAdES must not).
	SigningTime time.Time
}

// SignDetached returns a DER ContentInfo with a detached SignedData by s over content whose
// digest under h is digest. Signed attributes: content-type id-data, message-digest,
// signing-certificate-v2 (SHA-256 of the signer's certificate), and signing-time when
// opt.SigningTime is set. The signer's certificate and chain are included.
func SignDetached(digest []byte, h crypto.Hash, s sign.Signer, opt SignOptions) ([]byte, error) {
	hOID, ok := hashOIDs[h]
	if !ok || len(digest) != h.Size() {
		return nil, fmt.Errorf("cms: digest of %d bytes does not fit hash %v", len(digest), h)
	}
	cert := s.Certificate()
	certHash := crypto.SHA256.New()
	certHash.Write(cert.Raw)
	scv2, err := asn1.Marshal(struct{ Certs []essCertIDv2 }{[]essCertIDv2{{CertHash: certHash.Sum(nil)}}})
	if err != nil {
		return nil, err
	}
	attrs := []struct {
		oid asn1.ObjectIdentifier
		val any
	}{
		{oidContentType, OIDData},
		{oidMessageDigest, digest},
		{oidSigningCertificateV2, asn1.RawValue{FullBytes: scv2}},
	}
	if !opt.SigningTime.IsZero() {
		attrs = append(attrs, struct {
			oid asn1.ObjectIdentifier
			val any
		}{oidSigningTime, opt.SigningTime.UTC()})
	}
	var encoded [][]byte
	for _, a := range attrs {
		v, err := asn1.Marshal(a.val)
		if err != nil {
			return nil, err
		}
		set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: v})
		if err != nil {
			return nil, err
		}
		e, err := asn1.Marshal(attribute{Type: a.oid, Values: asn1.RawValue{FullBytes: set}})
		if err != nil {
			return nil, err
		}
		encoded = append(encoded, e)
	}
	// DER: the elements of a SET OF are sorted by their encodings.
	sort.Slice(encoded, func(i, j int) bool { return bytes.Compare(encoded[i], encoded[j]) < 0 })
	attrBytes := bytes.Join(encoded, nil)
	setDER, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: attrBytes})
	if err != nil {
		return nil, err
	}
	ah := h.New()
	ah.Write(setDER)
	sig, err := s.Sign(rand.Reader, ah.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("cms: the signer refused: %w", err)
	}
	var sigAlg pkix.AlgorithmIdentifier
	switch s.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidRSA, Parameters: asn1.NullRawValue}
	case *ecdsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: map[crypto.Hash]asn1.ObjectIdentifier{
			crypto.SHA256: oidECSHA256, crypto.SHA384: oidECSHA384, crypto.SHA512: oidECSHA512}[h]}
		if sigAlg.Algorithm == nil {
			return nil, fmt.Errorf("cms: ECDSA with %v not supported", h)
		}
	default:
		return nil, sign.ErrUnsupportedKey
	}
	sid, err := asn1.Marshal(issuerAndSerial{Issuer: asn1.RawValue{FullBytes: cert.RawIssuer}, Serial: cert.SerialNumber})
	if err != nil {
		return nil, err
	}
	si, err := asn1.Marshal(signerInfo{
		Version: 1, SID: asn1.RawValue{FullBytes: sid},
		DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: hOID, Parameters: asn1.NullRawValue},
		SignedAttrs:        asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: attrBytes},
		SignatureAlgorithm: sigAlg, Signature: sig,
	})
	if err != nil {
		return nil, err
	}
	var certs []byte
	for _, c := range append([]*x509.Certificate{cert}, s.Chain()...) {
		certs = append(certs, c.Raw...)
	}
	sd, err := asn1.Marshal(signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{{Algorithm: hOID, Parameters: asn1.NullRawValue}},
		EncapContentInfo: encapContentInfo{EContentType: OIDData},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos:      []asn1.RawValue{{FullBytes: si}},
	})
	if err != nil {
		return nil, err
	}
	// A RawValue is written as is (its struct tag is ignored): the [0] EXPLICIT is spelled out.
	return asn1.Marshal(contentInfo{ContentType: OIDSignedData, Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}})
}

// Parsed is a decoded SignedData.
type Parsed struct {
	// Certificates are the certificates the envelope carries.
	Certificates []*x509.Certificate
	// Content is the encapsulated content; nil for a detached signature.
	Content []byte
	signers []signerInfo
	raw     []byte
}

// ErrNotSignedData is returned by Parse for data that is not a CMS SignedData.
var ErrNotSignedData = errors.New("cms: not a CMS SignedData")

// Parse decodes a ContentInfo holding a SignedData, DER or BER (as some signing tools write
// .p7m envelopes). Trailing zero padding (a PDF /Contents) is ignored.
func Parse(data []byte) (*Parsed, error) {
	if allZero(data) {
		return nil, fmt.Errorf("%w: the signature value is empty (all zeros): prepared for signing, never signed", ErrNotSignedData)
	}
	var ci contentInfo
	rest, err := asn1.Unmarshal(data, &ci)
	if err != nil || !allZero(rest) {
		der, cerr := berToDER(data)
		if cerr != nil {
			return nil, fmt.Errorf("%w: undecodable DER/BER", ErrNotSignedData)
		}
		if _, err = asn1.Unmarshal(der, &ci); err != nil {
			return nil, fmt.Errorf("%w: undecodable DER/BER", ErrNotSignedData)
		}
	}
	if !ci.ContentType.Equal(OIDSignedData) {
		return nil, ErrNotSignedData
	}
	var sd signedData
	// RawValue fields ignore "explicit": Content is the [0] wrapper, its Bytes the SignedData.
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSignedData, err)
	}
	p := &Parsed{raw: data}
	if len(sd.Certificates.Bytes) > 0 {
		for rest := sd.Certificates.Bytes; len(rest) > 0; {
			var raw asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &raw); err != nil {
				return nil, fmt.Errorf("cms: certificates: %w", err)
			}
			if raw.Class != asn1.ClassUniversal { // attribute or other certificate formats
				continue
			}
			c, err := x509.ParseCertificate(raw.FullBytes)
			if err != nil {
				return nil, fmt.Errorf("cms: certificate: %w", err)
			}
			p.Certificates = append(p.Certificates, c)
		}
	}
	if ec := sd.EncapContentInfo.EContent; len(ec.Bytes) > 0 {
		var oct asn1.RawValue
		if _, err := asn1.Unmarshal(ec.Bytes, &oct); err != nil || oct.Class != asn1.ClassUniversal || oct.Tag != asn1.TagOctetString || oct.IsCompound {
			return nil, errors.New("cms: eContent is not an OCTET STRING")
		}
		p.Content = oct.Bytes
	}
	for _, raw := range sd.SignerInfos {
		var si signerInfo
		if _, err := asn1.Unmarshal(raw.FullBytes, &si); err != nil {
			return nil, fmt.Errorf("cms: signerInfo: %w", err)
		}
		p.signers = append(p.signers, si)
	}
	if len(p.signers) == 0 {
		return nil, errors.New("cms: the SignedData has no signer")
	}
	return p, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// DigestAlgorithm returns the hash the first signer used over the content, 0 when unknown.
func (p *Parsed) DigestAlgorithm() crypto.Hash {
	return hashByOID(p.signers[0].DigestAlgorithm.Algorithm)
}

// Verify checks the first signer of p against digest, the content's digest under
// p.DigestAlgorithm(): message-digest, the signature over the signed attributes (or over the
// digest when there are none), ESS signing-certificate(-v2) when present, and, with
// opt.Roots, the chain at the claimed signing time (CMS signing-time, else claimed). The
// Result's Format is format.
func (p *Parsed) Verify(digest []byte, format string, claimed time.Time, opt sign.VerifyOptions) *sign.Result {
	r := &sign.Result{Format: format, SigningTime: claimed}
	if len(p.signers) > 1 {
		r.Problem(fmt.Sprintf("%d signers: only the first is checked", len(p.signers)))
	}
	si := p.signers[0]
	h := hashByOID(si.DigestAlgorithm.Algorithm)
	if h == 0 {
		r.Problem("digest algorithm " + si.DigestAlgorithm.Algorithm.String() + " not supported")
		return r
	}
	cert := p.signerCert(si)
	if cert == nil {
		r.Problem("the signer's certificate is not in the signature")
		return r
	}
	r.Describe(cert)
	r.Algorithm = sign.Algorithm(cert.PublicKey, h)
	signed := digest
	if len(si.SignedAttrs.Bytes) > 0 {
		attrs, err := parseAttrs(si.SignedAttrs.Bytes)
		if err != nil {
			r.Problem("signed attributes: " + err.Error())
			return r
		}
		var md []byte
		if v, ok := attrs[oidMessageDigest.String()]; !ok {
			r.Problem("no message-digest signed attribute")
			return r
		} else if _, err := asn1.Unmarshal(v, &md); err != nil {
			r.Problem("message-digest: " + err.Error())
			return r
		}
		if _, ok := attrs[oidContentType.String()]; !ok {
			r.Problem("no content-type signed attribute")
			return r
		}
		if v, ok := attrs[oidSigningTime.String()]; ok {
			var t time.Time
			if _, err := asn1.Unmarshal(v, &t); err == nil {
				r.SigningTime = t
			}
		}
		if !bytes.Equal(md, digest) {
			r.Problem("message digest mismatch: the signed bytes were changed after signing")
			return r
		}
		if msg := checkSigningCert(attrs, cert); msg != "" {
			r.Problem(msg)
			return r
		}
		// The signature covers the DER SET OF the attributes (tag 0x31, not [0]).
		set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: si.SignedAttrs.Bytes})
		if err != nil {
			r.Problem(err.Error())
			return r
		}
		ah := h.New()
		ah.Write(set)
		signed = ah.Sum(nil)
	}
	if msg := verifyDigest(cert.PublicKey, si.SignatureAlgorithm.Algorithm, h, signed, si.Signature); msg != "" {
		r.Problem(msg)
		return r
	}
	r.Valid = true
	if _, ok := p.unsigned(si)[oidTimeStampToken.String()]; ok {
		r.Format += " (with signature time-stamp, not checked)"
	}
	r.CheckTrust(p.Certificates, opt)
	return r
}

func (p *Parsed) unsigned(si signerInfo) map[string][]byte {
	if len(si.UnsignedAttrs.Bytes) == 0 {
		return nil
	}
	m, _ := parseAttrs(si.UnsignedAttrs.Bytes)
	return m
}

func (p *Parsed) signerCert(si signerInfo) *x509.Certificate {
	if si.SID.Class == asn1.ClassContextSpecific && si.SID.Tag == 0 { // subjectKeyIdentifier
		for _, c := range p.Certificates {
			if bytes.Equal(c.SubjectKeyId, si.SID.Bytes) {
				return c
			}
		}
		return nil
	}
	var ias issuerAndSerial
	if _, err := asn1.Unmarshal(si.SID.FullBytes, &ias); err != nil {
		return nil
	}
	for _, c := range p.Certificates {
		if bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.Serial) == 0 {
			return c
		}
	}
	return nil
}

// parseAttrs returns the first value of each attribute, keyed by OID.
func parseAttrs(b []byte) (map[string][]byte, error) {
	m := map[string][]byte{}
	for len(b) > 0 {
		var a attribute
		var err error
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return nil, err
		}
		var first asn1.RawValue
		if _, err := asn1.Unmarshal(a.Values.Bytes, &first); err != nil {
			return nil, fmt.Errorf("attribute %s: %w", a.Type, err)
		}
		if _, dup := m[a.Type.String()]; dup {
			return nil, fmt.Errorf("attribute %s twice", a.Type)
		}
		m[a.Type.String()] = first.FullBytes
	}
	return m, nil
}

// checkSigningCert checks ESS signing-certificate-v2 (or v1, SHA-1) against cert.
func checkSigningCert(attrs map[string][]byte, cert *x509.Certificate) string {
	type essCertIDv2Full struct {
		HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"`
		CertHash      []byte
		IssuerSerial  asn1.RawValue `asn1:"optional"`
	}
	if v, ok := attrs[oidSigningCertificateV2.String()]; ok {
		var sc struct {
			Certs    []essCertIDv2Full
			Policies asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(v, &sc); err != nil || len(sc.Certs) == 0 {
			return "signing-certificate-v2 attribute cannot be read"
		}
		h := crypto.SHA256
		if sc.Certs[0].HashAlgorithm.Algorithm != nil {
			h = hashByOID(sc.Certs[0].HashAlgorithm.Algorithm)
		}
		if h == 0 {
			return "signing-certificate-v2 uses an unknown hash"
		}
		w := h.New()
		w.Write(cert.Raw)
		if !bytes.Equal(w.Sum(nil), sc.Certs[0].CertHash) {
			return "signing-certificate-v2 names another certificate than the signer's"
		}
		return ""
	}
	if v, ok := attrs[oidSigningCertificate.String()]; ok {
		var sc struct {
			Certs []struct {
				CertHash     []byte
				IssuerSerial asn1.RawValue `asn1:"optional"`
			}
			Policies asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(v, &sc); err != nil || len(sc.Certs) == 0 {
			return "signing-certificate attribute cannot be read"
		}
		w := crypto.SHA1.New()
		w.Write(cert.Raw)
		if !bytes.Equal(w.Sum(nil), sc.Certs[0].CertHash) {
			return "signing-certificate names another certificate than the signer's"
		}
	}
	return ""
}

// verifyDigest checks sig over digest (computed with h) with pub.
func verifyDigest(pub crypto.PublicKey, alg asn1.ObjectIdentifier, h crypto.Hash, digest, sig []byte) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if !(alg.Equal(oidRSA) || alg.Equal(oidRSASHA1) || alg.Equal(oidRSASHA256) || alg.Equal(oidRSASHA384) || alg.Equal(oidRSASHA512)) {
			return "signature algorithm " + alg.String() + " not supported for an RSA key (RSASSA-PSS is not)"
		}
		if err := rsa.VerifyPKCS1v15(k, h, digest, sig); err != nil {
			return "the signature value does not verify with the signer's key"
		}
	case *ecdsa.PublicKey:
		if !(alg.Equal(oidECPublic) || alg.Equal(oidECSHA1) || alg.Equal(oidECSHA256) || alg.Equal(oidECSHA384) || alg.Equal(oidECSHA512)) {
			return "signature algorithm " + alg.String() + " not supported for an ECDSA key"
		}
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return "the signature value does not verify with the signer's key"
		}
	default:
		return "the signer's key is neither RSA nor ECDSA"
	}
	return ""
}
