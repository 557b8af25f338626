package wssec_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
)

func TestCFFromCertificate(t *testing.T) {
	tests := []struct {
		name    string
		subject pkix.Name
		want    string
	}{
		{"serialNumber TINIT", pkix.Name{SerialNumber: "TINIT-OPRTST80A01A662A", CommonName: "Operatore Test"}, "OPRTST80A01A662A"},
		{"lower-case TINIT", pkix.Name{SerialNumber: "tinit-oprtst80a01a662a"}, "OPRTST80A01A662A"},
		{"old CNS CN", pkix.Name{CommonName: "OPRSEC75M41A662D/7420000012345678.abcdEFGH="}, "OPRSEC75M41A662D"},
		{"omocodia in CN", pkix.Name{CommonName: "OPRSEC75M41A66ND"}, "OPRSEC75M41A66ND"},
		{"no CF", pkix.Name{CommonName: "12345678901.struttura.it", SerialNumber: "160114"}, ""},
		{"CF embedded in a longer token", pkix.Name{CommonName: "XOPRSEC75M41A662D"}, ""},
		{"TINIT with a bad CF falls back to CN", pkix.Name{SerialNumber: "TINIT-NOTACF", CommonName: "OPRTST80A01A662A"}, "OPRTST80A01A662A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wssec.CFFromCertificate(&x509.Certificate{Subject: tt.subject}); got != tt.want {
				t.Errorf("CFFromCertificate = %q, want %q", got, tt.want)
			}
		})
	}
	if got := wssec.CFFromCertificate(nil); got != "" {
		t.Errorf("nil certificate gives %q", got)
	}
}

func TestErrorAs(t *testing.T) {
	cause := errors.New("cause")
	var err error = &wssec.Error{Kind: wssec.KindAssertion, Reason: "r", Err: cause}
	var e *wssec.Error
	if !errors.As(err, &e) || e.Kind != wssec.KindAssertion || !errors.Is(err, cause) {
		t.Errorf("errors.As/Is do not see through %v", err)
	}
}
