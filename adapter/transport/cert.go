package transport

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// LoadError is a certificate, key or CA file that could not be read or decoded.
type LoadError struct {
	// Field is the configuration field (tls.cert_file, tls.key_file, tls.pkcs12_file, tls.ca_file).
	Field string
	Path  string
	Err   error
}

// Error implements error.
func (e *LoadError) Error() string { return fmt.Sprintf("%s %s: %v", e.Field, e.Path, e.Err) }

// Unwrap returns the cause.
func (e *LoadError) Unwrap() error { return e.Err }

// LoadCertificate loads the client certificate named by cfg: a PEM pair (CertFile, KeyFile)
// or a PKCS#12 file (PKCS12File, decrypted with KeyPassword). It decodes but does not judge:
// CheckCertificate does. A key that does not match the certificate is loaded anyway so that
// the check can report it. Errors are *LoadError.
func LoadCertificate(cfg Config) (tls.Certificate, error) {
	if cfg.PKCS12File != "" {
		data, err := os.ReadFile(cfg.PKCS12File)
		if err != nil {
			return tls.Certificate{}, &LoadError{Field: "tls.pkcs12_file", Path: cfg.PKCS12File, Err: err}
		}
		key, leaf, cas, err := pkcs12.DecodeChain(data, cfg.KeyPassword)
		if err != nil {
			if errors.Is(err, pkcs12.ErrIncorrectPassword) {
				err = fmt.Errorf("wrong password (give it through the key password prompt or environment, not a flag): %w", err)
			}
			return tls.Certificate{}, &LoadError{Field: "tls.pkcs12_file", Path: cfg.PKCS12File, Err: err}
		}
		c := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
		for _, ca := range cas {
			c.Certificate = append(c.Certificate, ca.Raw)
		}
		return c, nil
	}
	certPEM, err := os.ReadFile(cfg.CertFile)
	if err != nil {
		return tls.Certificate{}, &LoadError{Field: "tls.cert_file", Path: cfg.CertFile, Err: err}
	}
	var c tls.Certificate
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			c.Certificate = append(c.Certificate, b.Bytes)
		}
	}
	if len(c.Certificate) == 0 {
		return tls.Certificate{}, &LoadError{Field: "tls.cert_file", Path: cfg.CertFile, Err: errors.New("no PEM CERTIFICATE block")}
	}
	if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
		return tls.Certificate{}, &LoadError{Field: "tls.cert_file", Path: cfg.CertFile, Err: err}
	}
	keyFile := cfg.KeyFile
	if keyFile == "" {
		keyFile = cfg.CertFile // key and certificate in one PEM file
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, &LoadError{Field: "tls.key_file", Path: keyFile, Err: err}
	}
	if c.PrivateKey, err = parsePEMKey(keyPEM); err != nil {
		return tls.Certificate{}, &LoadError{Field: "tls.key_file", Path: keyFile, Err: err}
	}
	return c, nil
}

func parsePEMKey(data []byte) (crypto.PrivateKey, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM private key block")
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "" {
			return nil, errors.New("encrypted PEM keys are not supported: convert to PKCS#12 (openssl pkcs12 -export) and use tls.pkcs12_file")
		}
		if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		return nil, fmt.Errorf("cannot parse PEM block %q as PKCS#8, PKCS#1 or EC private key", b.Type)
	}
}

// cnRE is PartitaIva.Dominio: eleven digits, a dot, a DNS name of at least two labels.
var cnRE = regexp.MustCompile(`^([0-9]{11})\.((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$`)

// expiresSoon is how close to NotAfter a certificate earns a warning.
const expiresSoon = 30 * 24 * time.Hour

// CheckCertificate judges a client certificate for env ("test", "prod", "local") at now:
// the CN must be PartitaIva.Dominio.it with a valid VAT check digit; the certificate must be
// within its validity; the key must match; in prod a self-signed certificate is an error (in
// test a warning). Findings name field (the file the certificate came from: tls.cert_file or
// tls.pkcs12_file).
func CheckCertificate(c tls.Certificate, env, field string, now time.Time) []Finding {
	var fs []Finding
	add := func(sev Severity, code, msg, fix string) {
		fs = append(fs, Finding{Severity: sev, Code: code, Field: field, Message: msg, Fix: fix})
	}
	leaf := c.Leaf
	if leaf == nil && len(c.Certificate) > 0 {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			add(Error, CodeCertLoad, "cannot parse the certificate: "+err.Error(), "give a valid X.509 certificate")
			return fs
		}
	}
	if leaf == nil {
		add(Error, CodeCertMissing, "no certificate", "configure tls.cert_file+tls.key_file or tls.pkcs12_file")
		return fs
	}
	strict := env == "prod" || env == "test"
	cnSev := Error
	if !strict {
		cnSev = Warning
	}

	// Key match.
	if !keyMatches(leaf.PublicKey, c.PrivateKey) {
		keyField := "tls.key_file"
		if field == "tls.pkcs12_file" {
			keyField = field
		}
		fs = append(fs, Finding{Severity: Error, Code: CodeKeyMismatch, Field: keyField,
			Message: "the private key does not match the certificate's public key",
			Fix:     "use the key generated together with this certificate"})
	}

	// Validity period.
	switch {
	case now.After(leaf.NotAfter):
		add(Error, CodeExpired, fmt.Sprintf("certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly)),
			"renew the certificate")
	case now.Before(leaf.NotBefore):
		add(Error, CodeNotYetValid, fmt.Sprintf("certificate not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339)),
			"check the system clock or wait until the certificate is valid")
	case leaf.NotAfter.Sub(now) < expiresSoon:
		add(Warning, CodeExpiresSoon, fmt.Sprintf("certificate expires on %s", leaf.NotAfter.UTC().Format(time.DateOnly)),
			"renew the certificate before it expires")
	}

	// CN = PartitaIva.Dominio.it
	cn := leaf.Subject.CommonName
	if m := cnRE.FindStringSubmatch(strings.ToLower(cn)); m == nil {
		add(cnSev, CodeCNFormat, fmt.Sprintf("certificate CN %q is not of the form PartitaIva.Dominio.it (11-digit VAT number, a dot, the structure's domain)", cn),
			"use the structure's certificate whose CN is e.g. 01234567897.example.it")
	} else {
		if !ValidPartitaIVA(m[1]) {
			add(cnSev, CodeVATCheckDigit, fmt.Sprintf("the VAT number %s in the certificate CN has a wrong check digit", m[1]),
				"check the VAT number: the certificate was issued for a wrong partita IVA")
		}
		if !strings.HasSuffix(m[2], ".it") {
			add(Warning, CodeCNDomain, fmt.Sprintf("the CN domain %q does not end in .it as the regional pattern PartitaIva.Dominio.it does", m[2]),
				"confirm with the region that this domain is accepted")
		}
	}

	if IsSelfSigned(leaf) {
		switch env {
		case "prod":
			add(Error, CodeSelfSigned, "self-signed client certificate: production requires one issued by an AgID-recognised CA",
				"use the structure's certificate issued by an AgID-recognised CA")
		case "test":
			add(Warning, CodeSelfSigned, "self-signed client certificate (accepted by the test environment only)",
				"production will need a certificate issued by an AgID-recognised CA")
		default:
			add(Info, CodeSelfSigned, "self-signed client certificate", "")
		}
	}

	// Extended key usage: a TLS server that verifies client certificates requires clientAuth.
	if len(leaf.ExtKeyUsage) > 0 || len(leaf.UnknownExtKeyUsage) > 0 {
		ok := false
		for _, u := range leaf.ExtKeyUsage {
			if u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny {
				ok = true
			}
		}
		if !ok {
			add(Warning, CodeExtKeyUsage, "the certificate's extended key usage does not include TLS client authentication",
				"ask the CA for a certificate with clientAuth, or confirm that the gateway accepts this one")
		}
	}

	if k, ok := leaf.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
		add(Warning, CodeWeakKey, fmt.Sprintf("RSA key of %d bits", k.N.BitLen()), "use at least 2048 bits")
	}

	if len(hasErrors(fs)) == 0 {
		add(Info, CodeCertificateValid, fmt.Sprintf("client certificate CN %q valid until %s", cn, leaf.NotAfter.UTC().Format(time.DateOnly)), "")
	}
	return fs
}

func keyMatches(pub crypto.PublicKey, priv crypto.PrivateKey) bool {
	type publicKeyer interface{ Public() crypto.PublicKey }
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch priv.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		if _, ok := priv.(crypto.Signer); !ok {
			return false
		}
	}
	p, ok := priv.(publicKeyer)
	if !ok {
		return false
	}
	e, ok := pub.(equaler)
	return ok && e.Equal(p.Public())
}

// IsSelfSigned reports whether c is self-signed: issuer == subject and it verifies with its
// own key (CheckSignatureFrom would refuse a non-CA certificate as its own parent).
func IsSelfSigned(c *x509.Certificate) bool {
	return c != nil && bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
