// Package pki creates and reloads the simulator's development PKI in its data directory:
// a CA, a TLS server certificate for 127.0.0.1, ::1 and localhost, a client TLS certificate
// whose CN is PartitaIva.Dominio.it, and an operator signing certificate carrying the
// operator's CF in subject serialNumber "TINIT-<CF>". All keys are RSA-2048 (the client signs
// with RSA-SHA256/RSA-SHA1), PEM, mode 0600.
//
// Nothing here is fit for production: it only lets the simulator, the demo and the tests run
// offline with real mutual TLS and real signatures.
package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Defaults for Options. DefaultOperatorCF is synthetic (TST OPR, born 1 Jan 1980 in Bari,
// valid check letter); DefaultPartitaIVA is synthetic with a valid check digit.
const (
	DefaultOperatorCF = "PROVAX00X00X000Y"
	DefaultPartitaIVA = "01234567897"
	DefaultDomain     = "example.it"
)

// File names inside <datadir>/pki.
const (
	FileCACert       = "ca.pem"
	FileCAKey        = "ca-key.pem"
	FileServerCert   = "server.pem"
	FileServerKey    = "server-key.pem"
	FileClientCert   = "client.pem"
	FileClientKey    = "client-key.pem"
	FileOperatorCert = "operator.pem"
	FileOperatorKey  = "operator-key.pem"
)

// Options configure Ensure. The zero value uses the defaults above.
type Options struct {
	OperatorCF string // defaults to DefaultOperatorCF; must have a valid check letter
	PartitaIVA string // defaults to DefaultPartitaIVA; must have a valid check digit
	Domain     string // defaults to DefaultDomain
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// KeyPair is a certificate, its key and where both are stored.
type KeyPair struct {
	Cert     *x509.Certificate
	Key      *rsa.PrivateKey
	CertFile string
	KeyFile  string
}

// TLSCertificate returns the pair as a tls.Certificate (leaf followed by nothing: the CA is
// known to both sides).
func (k KeyPair) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{k.Cert.Raw}, PrivateKey: k.Key, Leaf: k.Cert}
}

// PKI is the loaded development PKI. Its fields are read-only after Ensure.
type PKI struct {
	Dir      string
	CA       KeyPair
	Server   KeyPair
	Client   KeyPair
	Operator KeyPair
	// Generated lists the files created by this call (empty when everything was reused).
	Generated []string
}

// SignerRoots returns a pool with the development CA, the trusted root for signer
// (operator) certificates and for client TLS certificates.
func (p *PKI) SignerRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA.Cert)
	return pool
}

// ServerTLSConfig returns a TLS configuration for the simulator: its server certificate,
// TLS 1.2 minimum, and client certificates required and verified against the CA.
func (p *PKI) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{p.Server.TLSCertificate()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.SignerRoots(),
	}
}

// ClientTLSConfig returns the matching client side: the client certificate and the CA as
// the only trusted root. Meant for tests and the demo.
func (p *PKI) ClientTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{p.Client.TLSCertificate()},
		RootCAs:      p.SignerRoots(),
	}
}

// Ensure loads the PKI from dir/pki, creating whatever is missing. A leaf that is missing,
// unreadable, expired or not issued by the current CA is regenerated; if the CA itself is
// missing or unusable everything is regenerated. Existing valid files are reused untouched.
func Ensure(dir string, opt Options) (*PKI, error) {
	if opt.OperatorCF == "" {
		opt.OperatorCF = DefaultOperatorCF
	}
	if opt.PartitaIVA == "" {
		opt.PartitaIVA = DefaultPartitaIVA
	}
	if opt.Domain == "" {
		opt.Domain = DefaultDomain
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if !ValidCF(opt.OperatorCF) {
		return nil, fmt.Errorf("pki: operator CF has an invalid check letter or length")
	}
	if !ValidPartitaIVA(opt.PartitaIVA) {
		return nil, fmt.Errorf("pki: partita IVA %q has an invalid check digit or length", opt.PartitaIVA)
	}
	d := filepath.Join(dir, "pki")
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	p := &PKI{Dir: d}
	now := opt.Now()

	ca, err := load(filepath.Join(d, FileCACert), filepath.Join(d, FileCAKey))
	if err != nil || !ca.Cert.IsCA || now.After(ca.Cert.NotAfter) {
		ca, err = p.issue(d, FileCACert, FileCAKey, now, nil, func(t *x509.Certificate) {
			t.Subject = pkix.Name{CommonName: "fsepuglia simulator development CA", Organization: []string{"fsepuglia (development only)"}}
			t.IsCA, t.BasicConstraintsValid = true, true
			t.MaxPathLen, t.MaxPathLenZero = 0, true
			t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
			t.NotAfter = now.AddDate(10, 0, 0)
		})
		if err != nil {
			return nil, err
		}
	}
	p.CA = ca
	leaves := []struct {
		dst        *KeyPair
		cert, key  string
		usage      []x509.ExtKeyUsage
		configure  func(*x509.Certificate)
		wantSubjCN string
	}{
		{&p.Server, FileServerCert, FileServerKey, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, func(t *x509.Certificate) {
			t.Subject = pkix.Name{CommonName: "localhost"}
			t.DNSNames = []string{"localhost"}
			t.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
			t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		}, "localhost"},
		{&p.Client, FileClientCert, FileClientKey, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, func(t *x509.Certificate) {
			t.Subject = pkix.Name{CommonName: opt.PartitaIVA + "." + opt.Domain, Organization: []string{"Struttura di test"}}
			t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		}, opt.PartitaIVA + "." + opt.Domain},
		{&p.Operator, FileOperatorCert, FileOperatorKey, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection}, func(t *x509.Certificate) {
			t.Subject = pkix.Name{CommonName: "OPERATORE DI TEST/" + opt.OperatorCF, SerialNumber: "TINIT-" + opt.OperatorCF,
				Country: []string{"IT"}, Organization: []string{"fsepuglia (development only)"}}
			t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		}, "OPERATORE DI TEST/" + opt.OperatorCF},
	}
	for _, l := range leaves {
		kp, err := load(filepath.Join(d, l.cert), filepath.Join(d, l.key))
		if err == nil && (!issuedBy(kp.Cert, ca.Cert, l.usage, now) || kp.Cert.Subject.CommonName != l.wantSubjCN) {
			err = errors.New("stale")
		}
		if err != nil {
			usage, configure := l.usage, l.configure
			kp, err = p.issue(d, l.cert, l.key, now, &ca, func(t *x509.Certificate) {
				configure(t)
				t.ExtKeyUsage = usage
				t.NotAfter = now.AddDate(2, 0, 0)
			})
			if err != nil {
				return nil, err
			}
		}
		*l.dst = kp
	}
	return p, nil
}

func issuedBy(leaf, ca *x509.Certificate, usage []x509.ExtKeyUsage, now time.Time) bool {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: usage})
	return err == nil
}

// issue creates a key and a certificate (self-signed when parent is nil) and writes both.
func (p *PKI) issue(dir, certName, keyName string, now time.Time, parent *KeyPair, configure func(*x509.Certificate)) (KeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return KeyPair{}, fmt.Errorf("pki: generate key for %s: %w", certName, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return KeyPair{}, fmt.Errorf("pki: serial: %w", err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, NotBefore: now.Add(-time.Hour)}
	configure(tmpl)
	signerCert, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signerKey)
	if err != nil {
		return KeyPair{}, fmt.Errorf("pki: create %s: %w", certName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return KeyPair{}, fmt.Errorf("pki: parse %s: %w", certName, err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("pki: marshal key %s: %w", keyName, err)
	}
	kp := KeyPair{Cert: cert, Key: key, CertFile: filepath.Join(dir, certName), KeyFile: filepath.Join(dir, keyName)}
	// Key first: a certificate on disk always has its key next to it.
	if err := writeAtomic(kp.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})); err != nil {
		return KeyPair{}, err
	}
	if err := writeAtomic(kp.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return KeyPair{}, err
	}
	p.Generated = append(p.Generated, certName, keyName)
	return kp, nil
}

// writeAtomic writes data with mode 0600 via a temporary file, fsync and rename.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("pki: write %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("pki: sync %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

// load reads a certificate and its PKCS#8 RSA key and checks they belong together.
func load(certFile, keyFile string) (KeyPair, error) {
	kp := KeyPair{CertFile: certFile, KeyFile: keyFile}
	cb, err := os.ReadFile(kp.CertFile)
	if err != nil {
		return kp, err
	}
	kb, err := os.ReadFile(kp.KeyFile)
	if err != nil {
		return kp, err
	}
	cblk, _ := pem.Decode(cb)
	kblk, _ := pem.Decode(kb)
	if cblk == nil || kblk == nil {
		return kp, fs.ErrInvalid
	}
	if kp.Cert, err = x509.ParseCertificate(cblk.Bytes); err != nil {
		return kp, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kblk.Bytes)
	if err != nil {
		return kp, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || !rk.PublicKey.Equal(kp.Cert.PublicKey) {
		return kp, errors.New("pki: key does not match certificate")
	}
	kp.Key = rk
	return kp, nil
}

// LoadPEM reads a certificate and its PKCS#8 RSA key as written by Ensure (for instance the
// operator signing pair) and checks that they belong together.
func LoadPEM(certFile, keyFile string) (KeyPair, error) {
	kp, err := load(certFile, keyFile)
	if err != nil {
		return KeyPair{}, fmt.Errorf("pki: load %s: %w", certFile, err)
	}
	return kp, nil
}
