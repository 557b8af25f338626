package wssec

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
)

// BenchmarkSecureCallPath measures what securing a small search envelope costs on the
// call's path (WS-Addressing, the header's assembly, the reader over the pieces, drained):
// prepared, the Presigner's steady state, where the signed part is ready (its RSA operation
// was done in the background, outside the timer); inline, signed on the spot (the one RSA
// operation per message in the timer). The difference is what the Presigner takes off the
// critical path.
func BenchmarkSecureCallPath(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	env := []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><searchDocuments xmlns="x"><patient>FSEPGL01E41A145J</patient></searchDocuments></soap:Body></soap:Envelope>`)
	attrs := &saml.Attributes{OperatorCF: "OPRTST80A01A662A", Role: "AAS", StructureCode: "160101", Organization: "ASLBA",
		PurposeOfUse: "C", Action: "R", PatientCF: "FSEPGL01E41A145J"}
	for _, mode := range []string{"inline", "prepared"} {
		b.Run(mode, func(b *testing.B) {
			var ps Presigner
			var cache AssertionCache
			p := Params{Signer: Signer{Key: key, Cert: cert}, To: "https://h/aslba/IDocumentService", Action: "urn:x:searchDocuments",
				Attributes: attrs, Issuer: "FSEPUGLIA", NameID: "01234567890.example.it", Assertions: &cache, Presign: &ps}
			q := p
			if err := q.normalise(); err != nil {
				b.Fatal(err)
			}
			k := presignKeyOf(&q)
			s, err := signPuglia(&q, time.Now(), time.Now(), nil)
			if err != nil {
				b.Fatal(err)
			}
			ps.closed = true // nothing scheduled: the benchmark hands the header itself
			b.ReportAllocs()
			for b.Loop() {
				if mode == "prepared" {
					ps.mu.Lock()
					s.created = time.Now()
					ps.ready = map[presignKey]pugliaSigned{k: s}
					ps.mu.Unlock()
				}
				p.MessageID = ""
				r, _, err := SecureReader(env, p)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
			if st := ps.Stats(); (mode == "prepared") != (st.Inline == 0) {
				b.Fatalf("%s: %+v", mode, st)
			}
		})
	}
}
