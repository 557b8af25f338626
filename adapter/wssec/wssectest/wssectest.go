// Package wssectest makes test signers for tests that need wssec: RSA-2048 keys with
// certificates carrying a codice fiscale in the subject serialNumber ("TINIT-<CF>"), either
// self-signed or issued by a throw-away test CA. Never use them outside tests.
package wssectest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
)

// validity of generated certificates, wide enough for frozen-clock tests.
var (
	notBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
)

// NewTestSigner returns a fresh RSA-2048 key and a self-signed certificate valid from 2020
// to 2099 whose subject is CN=<cf>, serialNumber=TINIT-<cf>. Pin the certificate
// (wssec.VerifyOptions.Pinned) to trust it.
func NewTestSigner(t testing.TB, cf string) wssec.Signer {
	t.Helper()
	key := newKey(t)
	tmpl := leafTemplate(cf)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("wssectest: self-signed certificate: %v", err)
	}
	return wssec.Signer{Key: key, Cert: parse(t, der)}
}

// CA is a throw-away certificate authority for tests.
type CA struct {
	Cert *x509.Certificate
	key  *rsa.PrivateKey
}

// NewCA returns a new test CA valid from 2020 to 2099.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fsepuglia test CA", Organization: []string{"fsepuglia tests"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("wssectest: CA certificate: %v", err)
	}
	return &CA{Cert: parse(t, der), key: key}
}

// Pool returns a pool holding only the CA certificate (wssec.VerifyOptions.Roots).
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue returns a new RSA-2048 key with a certificate for cf issued by the CA.
func (ca *CA) Issue(t testing.TB, cf string) wssec.Signer {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, leafTemplate(cf), ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("wssectest: issuing certificate: %v", err)
	}
	return wssec.Signer{Key: key, Cert: parse(t, der)}
}

func leafTemplate(cf string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   cf,
			SerialNumber: "TINIT-" + cf,
			Organization: []string{"fsepuglia tests"},
			Country:      []string{"IT"},
		},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

func newKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("wssectest: key: %v", err)
	}
	return key
}

func parse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("wssectest: parse certificate: %v", err)
	}
	return c
}
