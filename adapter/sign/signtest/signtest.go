// Package signtest makes throwaway certificates for tests of the signers and verifiers: a CA
// and leaves issued by it, RSA or ECDSA, with the published test operator's CF in the subject
// serialNumber. Nothing here is fit for real use. It does not import testing: the demo may
// link it.
package signtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"software.sslmate.com/src/go-pkcs12"
)

// OperatorCF is the published placeholder test identity the leaves carry.
const OperatorCF = "PROVAX00X00X000Y"

// KeyType selects the leaf's key.
type KeyType int

// The key types.
const (
	RSA2048 KeyType = iota
	ECDSAP256
)

// CA is a test certification authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Pool returns a pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// NewCA creates a CA valid from an hour ago for ten years.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: name, Organization: []string{"fsepuglia tests"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LeafOptions configure Issue. The zero value is an RSA-2048 signature certificate for
// OperatorCF valid from an hour ago for a year.
type LeafOptions struct {
	Key       KeyType
	CN        string // default "OPERATORE DI TEST/<OperatorCF>"
	NotBefore time.Time
	NotAfter  time.Time
}

// Leaf is an issued signer whose private key is at hand (to export it).
type Leaf struct {
	sign.Signer
	// PrivateKey is the leaf's key.
	PrivateKey crypto.Signer
}

// Issue creates a signature certificate issued by ca.
func (ca *CA) Issue(o LeafOptions) (*Leaf, error) {
	var key crypto.Signer
	var err error
	if o.Key == ECDSAP256 {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.AddDate(1, 0, 0)
	}
	if o.CN == "" {
		o.CN = "OPERATORE DI TEST/" + OperatorCF
	}
	tmpl := &x509.Certificate{SerialNumber: serial(),
		Subject:   pkix.Name{CommonName: o.CN, SerialNumber: "TINIT-" + OperatorCF, Country: []string{"IT"}, Organization: []string{"fsepuglia tests"}},
		NotBefore: o.NotBefore, NotAfter: o.NotAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	s, err := sign.New(key, cert, ca.Cert)
	if err != nil {
		return nil, err
	}
	return &Leaf{Signer: s, PrivateKey: key}, nil
}

// PKCS12 encodes the leaf (key, certificate and chain) as a PKCS#12 file protected by
// password.
func (l *Leaf) PKCS12(password string) ([]byte, error) {
	return pkcs12.Modern.Encode(l.PrivateKey, l.Certificate(), l.Chain(), password)
}

// PEM returns the leaf's certificate and its PKCS#8 key, PEM-encoded.
func (l *Leaf) PEM() (cert, key []byte, err error) {
	kder, err := x509.MarshalPKCS8PrivateKey(l.PrivateKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.Certificate().Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
	if err != nil {
		panic(err)
	}
	return n
}
