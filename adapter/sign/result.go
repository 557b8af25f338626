package sign

import (
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
)

// The formats a Result reports.
const (
	FormatXAdES   = "XAdES-BES" // XML signature with XAdES signed properties
	FormatXMLDSig = "XMLDSig"   // XML signature without XAdES properties
	FormatPAdES   = "PAdES"     // PDF signature, SubFilter ETSI.CAdES.detached
	FormatPKCS7   = "PKCS#7"    // PDF signature, SubFilter adbe.pkcs7.detached (legacy)
	FormatCAdES   = "CAdES"     // .p7m envelope
)

// Result is what verifying one signature found. Valid says the signature checks over the
// bytes it claims to cover; Trusted says, in addition, that the signer's certificate chains
// to VerifyOptions.Roots and was valid at the signing time. Problems say, in words fit for a
// report, what is wrong.
type Result struct {
	// Format is one of the Format constants.
	Format string `json:"format"`
	// Valid is true when the signature value and every digest check.
	Valid bool `json:"valid"`
	// Trusted is true when Valid and the signer's chain verified against the roots.
	Trusted bool `json:"trusted"`
	// Signer is the signer's certificate, when one was found.
	Signer *x509.Certificate `json:"-"`
	// SignerName is the certificate subject's common name.
	SignerName string `json:"signer,omitempty"`
	// SignerCF is the codice fiscale in the subject serialNumber (TINIT-<CF>), when present.
	SignerCF string `json:"signer_cf,omitempty"`
	// Issuer is the certificate issuer's common name.
	Issuer string `json:"issuer,omitempty"`
	// NotAfter is the end of the certificate's validity.
	NotAfter time.Time `json:"cert_not_after,omitzero"`
	// SigningTime is the time the signer claims (XAdES SigningTime, PDF /M, CMS signingTime).
	SigningTime time.Time `json:"signing_time,omitzero"`
	// Algorithm is the signature algorithm, e.g. RSA-SHA256.
	Algorithm string `json:"algorithm,omitempty"`
	// Problems lists what is wrong, empty when Trusted.
	Problems []string `json:"problems,omitempty"`
}

// Problem records a problem.
func (r *Result) Problem(msg string) { r.Problems = append(r.Problems, msg) }

// Err returns nil when the signature is valid (and, with requireTrust, trusted), else an
// *InvalidError carrying the problems.
func (r *Result) Err(requireTrust bool) error {
	if r.Valid && (r.Trusted || !requireTrust) {
		return nil
	}
	return &InvalidError{Format: r.Format, Problems: r.Problems}
}

// InvalidError is a signature that is present but does not verify.
type InvalidError struct {
	Format   string
	Problems []string
}

// Error implements error.
func (e *InvalidError) Error() string {
	if len(e.Problems) == 0 {
		return "sign: " + e.Format + " signature not valid"
	}
	return "sign: " + e.Format + " signature not valid: " + strings.Join(e.Problems, "; ")
}

// ErrUnsigned is returned by the verifiers for a document that carries no signature.
var ErrUnsigned = errors.New("sign: the document carries no signature")

// VerifyOptions configure the verifiers.
type VerifyOptions struct {
	// Roots are the trusted CAs for signer certificates. Nil means the chain is not checked:
	// Trusted stays false and a problem says so.
	Roots *x509.CertPool
	// Intermediates are extra intermediate CAs (those embedded in the signature are used too).
	Intermediates *x509.CertPool
	// Now is the clock, used when a signature claims no signing time; nil means time.Now.
	Now func() time.Time
}

// Describe fills the signer fields of r from cert.
func (r *Result) Describe(cert *x509.Certificate) {
	r.Signer = cert
	r.SignerName = cert.Subject.CommonName
	r.Issuer = cert.Issuer.CommonName
	r.NotAfter = cert.NotAfter
	r.SignerCF = SubjectCF(cert)
}

// CheckTrust verifies the chain of r.Signer (extra: certificates carried by the signature)
// at the signing time, or now when none is claimed, and sets r.Trusted when r.Valid and it
// verifies.
func (r *Result) CheckTrust(extra []*x509.Certificate, opt VerifyOptions) {
	if r.Signer == nil {
		return
	}
	at := r.SigningTime
	if at.IsZero() {
		if opt.Now != nil {
			at = opt.Now()
		} else {
			at = time.Now()
		}
	}
	if at.Before(r.Signer.NotBefore) || at.After(r.Signer.NotAfter) {
		r.Problem("the signer's certificate was not valid at " + at.UTC().Format(time.RFC3339) +
			" (valid " + r.Signer.NotBefore.UTC().Format(time.RFC3339) + " to " + r.Signer.NotAfter.UTC().Format(time.RFC3339) + ")")
		return
	}
	if opt.Roots == nil {
		r.Problem("certificate chain not checked: no trusted roots configured")
		return
	}
	inter := x509.NewCertPool()
	if opt.Intermediates != nil {
		inter = opt.Intermediates.Clone()
	}
	for _, c := range extra {
		if !c.Equal(r.Signer) {
			inter.AddCert(c)
		}
	}
	_, err := r.Signer.Verify(x509.VerifyOptions{Roots: opt.Roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		r.Problem("the signer's certificate does not chain to a trusted root: " + err.Error())
		return
	}
	if r.Signer.KeyUsage != 0 && r.Signer.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		r.Problem("the signer's certificate may not sign (key usage has neither digitalSignature nor nonRepudiation)")
		return
	}
	r.Trusted = r.Valid
}

// SubjectCF returns the codice fiscale in a certificate's subject serialNumber, as Italian
// signature certificates carry it ("TINIT-<CF>", or "IT:<CF>"), or "" when there is none
// with a valid check letter.
func SubjectCF(cert *x509.Certificate) string {
	sn := cert.Subject.SerialNumber
	for _, p := range []string{"TINIT-", "IT:"} {
		if cf, ok := strings.CutPrefix(sn, p); ok && codicefiscale.Validate(cf) == nil {
			return cf
		}
	}
	return ""
}
