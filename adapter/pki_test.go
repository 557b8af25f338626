package adapter

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a throw-away CA with a server certificate for 127.0.0.1, a client TLS
// certificate whose CN has the PartitaIva.Dominio.it shape, and an operator signing
// certificate carrying a CF, all written as PEM files.
type testPKI struct {
	dir                  string
	caCert               *x509.Certificate
	caKey                *rsa.PrivateKey
	pool                 *x509.CertPool
	server               tls.Certificate
	caFile               string
	clientCert, clientKy string
	signCert, signKey    string
	signer               *x509.Certificate
}

// operatorCF is a synthetic operator identity (valid check letter), not a real person.
const operatorCF = "PROVAX00X00X000Y"

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	var err error
	p.caKey, err = rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fsepuglia test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.caCert, _ = x509.ParseCertificate(der)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.caCert)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)

	srvDER, srvKey := p.issue(t, 2, pkix.Name{CommonName: "127.0.0.1"}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.ParseIP("127.0.0.1")})
	p.server = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}

	cliDER, cliKey := p.issue(t, 3, pkix.Name{CommonName: "01234567897.example.it"}, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil)
	p.clientCert = p.write(t, "client.pem", "CERTIFICATE", cliDER)
	p.clientKy = p.write(t, "client.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(cliKey))

	sigDER, sigKey := p.issue(t, 4, pkix.Name{CommonName: "Operatore di prova", SerialNumber: "TINIT-" + operatorCF}, nil, nil)
	p.signCert = p.write(t, "signer.pem", "CERTIFICATE", sigDER)
	p.signKey = p.write(t, "signer.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(sigKey))
	p.signer, _ = x509.ParseCertificate(sigDER)
	return p
}

func (p *testPKI) issue(t testing.TB, serial int64, subj pkix.Name, eku []x509.ExtKeyUsage, ips []net.IP) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: subj, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: eku, IPAddresses: ips}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func (p *testPKI) write(t testing.TB, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
