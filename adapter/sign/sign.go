// Package sign is what the document signers share: a Signer (a private key that signs, with
// its certificate and chain, from a PKCS#12 or PEM file, or from a smart card through PKCS#11
// when built with the pkcs11 tag), the algorithms fsepuglia signs with, and Result, what a
// verification of a XAdES, PAdES or CAdES signature found.
//
// The packages that sign and verify formats are adapter/xades (the CDA), adapter/pades (the
// PDF) and adapter/cades (.p7m envelopes); they all take a Signer and return a Result.
package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/fsepuglia/fsepuglia/adapter/transport"
)

// Signer is a private key that signs, with its certificate. The key may live in a file or on
// a token: callers use only crypto.Signer's Public and Sign.
type Signer interface {
	crypto.Signer
	// Certificate is the signer's certificate (the one whose key signs).
	Certificate() *x509.Certificate
	// Chain is the intermediate certificates, signer's issuer first; it may be empty.
	Chain() []*x509.Certificate
}

type keySigner struct {
	crypto.Signer
	cert  *x509.Certificate
	chain []*x509.Certificate
}

func (k keySigner) Certificate() *x509.Certificate { return k.cert }
func (k keySigner) Chain() []*x509.Certificate     { return k.chain }

// ErrKeyMismatch is returned when a key does not belong to its certificate.
var ErrKeyMismatch = errors.New("sign: the private key does not match the certificate")

// ErrUnsupportedKey is returned for keys other than RSA and ECDSA.
var ErrUnsupportedKey = errors.New("sign: only RSA and ECDSA keys can sign documents")

// New returns a Signer for key and cert (and the intermediates in chain). It checks that the
// key matches the certificate and is RSA or ECDSA.
func New(key crypto.Signer, cert *x509.Certificate, chain ...*x509.Certificate) (Signer, error) {
	if key == nil || cert == nil {
		return nil, errors.New("sign: a key and a certificate are both required")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, ErrKeyMismatch
	}
	switch key.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, ErrUnsupportedKey
	}
	return keySigner{Signer: key, cert: cert, chain: chain}, nil
}

// Files names a signer kept in files: a PKCS#12 file, or a PEM certificate (chain) and its
// PEM key. Password decrypts the PKCS#12 file: obtain it from a prompt or the environment,
// never from a command-line flag.
type Files struct {
	PKCS12File        string
	CertFile, KeyFile string
	Password          string
}

// Load returns the Signer kept in files (the same loader as the TLS client certificate,
// adapter/transport.LoadCertificate). Errors name the file and say how to fix it.
func Load(f Files) (Signer, error) {
	if f.PKCS12File == "" && f.CertFile == "" {
		return nil, errors.New("sign: no signer: give a PKCS#12 file (--pkcs12) or a certificate and key (--cert, --key)")
	}
	tc, err := transport.LoadCertificate(transport.Config{PKCS12File: f.PKCS12File, CertFile: f.CertFile, KeyFile: f.KeyFile, KeyPassword: f.Password})
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	key, ok := tc.PrivateKey.(crypto.Signer)
	if !ok || tc.Leaf == nil {
		return nil, ErrUnsupportedKey
	}
	var chain []*x509.Certificate
	for _, der := range tc.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("sign: chain certificate: %w", err)
		}
		chain = append(chain, c)
	}
	return New(key, tc.Leaf, chain...)
}

// Hash returns the digest fsepuglia signs with for s: SHA-256, or SHA-384/SHA-512 for
// ECDSA keys on P-384/P-521.
func Hash(pub crypto.PublicKey) crypto.Hash {
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		switch k.Curve.Params().BitSize {
		case 384:
			return crypto.SHA384
		case 521:
			return crypto.SHA512
		}
	}
	return crypto.SHA256
}

// Algorithm names a signature algorithm the way reports show it, e.g. "RSA-SHA256".
func Algorithm(pub crypto.PublicKey, h crypto.Hash) string {
	k := "unknown"
	switch pub.(type) {
	case *rsa.PublicKey:
		k = "RSA"
	case *ecdsa.PublicKey:
		k = "ECDSA"
	}
	return k + "-" + HashName(h)
}

// HashName is "SHA256" for crypto.SHA256 and so on.
func HashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "SHA1"
	case crypto.SHA256:
		return "SHA256"
	case crypto.SHA384:
		return "SHA384"
	case crypto.SHA512:
		return "SHA512"
	}
	return h.String()
}
