package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"testing"
)

func TestStructureFromCN(t *testing.T) {
	tests := []struct {
		cn, piva, domain string
		ok               bool
	}{
		{"01234567897.example.it", "01234567897", "example.it", true},
		{"12345678903.asl.bari.it", "12345678903", "asl.bari.it", true},
		{"01234567890.example.it", "", "", false}, // wrong check digit
		{"01234567897.it", "", "", false},
		{"01234567897..it", "", "", false},
		{"localhost", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.cn, func(t *testing.T) {
			p, d, err := StructureFromCN(tc.cn)
			if (err == nil) != tc.ok || p != tc.piva || d != tc.domain {
				t.Fatalf("got %q %q %v", p, d, err)
			}
			if err != nil && !errors.Is(err, ErrIdentity) {
				t.Fatalf("error does not wrap ErrIdentity: %v", err)
			}
		})
	}
}

func TestOperatorCF(t *testing.T) {
	p := ensure(t, t.TempDir(), Options{OperatorCF: "PROVAX00X00X000Y"})
	if cf, err := OperatorCF(p.Operator.Cert); err != nil || cf != "PROVAX00X00X000Y" {
		t.Fatalf("generated operator cert: %q %v", cf, err)
	}
	tests := []struct {
		name, serial string
	}{
		{"no prefix", "PROVAX00X00X000Y"},
		{"bad check letter", "TINIT-PROVAX00X00X000Z"},
		{"empty", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &x509.Certificate{Subject: pkix.Name{SerialNumber: tc.serial}}
			if _, err := OperatorCF(c); !errors.Is(err, ErrIdentity) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// The client TLS certificate's CN passes StructureFromCN.
	if _, _, err := StructureFromCN(p.Client.Cert.Subject.CommonName); err != nil {
		t.Fatal(err)
	}
}
