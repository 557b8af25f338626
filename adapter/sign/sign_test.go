package sign_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
)

func TestLoad(t *testing.T) {
	ca, err := signtest.NewCA("load test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(signtest.LeafOptions{Key: signtest.ECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p12, err := leaf.PKCS12("segreto")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := leaf.PEM()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p12File, certFile, keyFile := write("s.p12", p12), write("c.pem", certPEM), write("k.pem", keyPEM)
	for _, tc := range []struct {
		name  string
		files sign.Files
		err   string
		chain int
	}{
		{"pkcs12", sign.Files{PKCS12File: p12File, Password: "segreto"}, "", 1},
		{"pem", sign.Files{CertFile: certFile, KeyFile: keyFile}, "", 0},
		{"wrong password", sign.Files{PKCS12File: p12File, Password: "no"}, "wrong password", 0},
		{"missing file", sign.Files{PKCS12File: filepath.Join(dir, "none.p12")}, "tls.pkcs12_file", 0},
		{"nothing", sign.Files{}, "give a PKCS#12 file", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sign.Load(tc.files)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !s.Certificate().Equal(leaf.Certificate()) || len(s.Chain()) != tc.chain || sign.SubjectCF(s.Certificate()) != signtest.OperatorCF {
				t.Fatalf("loaded %v chain %d", s.Certificate().Subject, len(s.Chain()))
			}
		})
	}
}

func TestNewRefusesMismatch(t *testing.T) {
	ca, err := signtest.NewCA("mismatch CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(signtest.LeafOptions{Key: signtest.ECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := sign.New(other, leaf.Certificate()); !errors.Is(err, sign.ErrKeyMismatch) {
		t.Fatalf("err %v", err)
	}
}
