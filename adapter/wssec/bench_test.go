package wssec_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
)

// bigEnvelope is a gowsdl-shaped addDocument envelope whose Body carries n bytes of base64.
func bigEnvelope(n int) []byte {
	return gowsdlEnvelope(`<addDocument xmlns="` + fseNS + `"><document><file>` +
		strings.Repeat("JVBERi0xLjcKJcfs", n/16) + `</file></document></addDocument>`)
}

const twentyMB = 20 << 20

// BenchmarkSecure20MB measures Secure on a 20 MB envelope when only the Timestamp is signed:
// the Body is not parsed, and allocated bytes should be about one copy of the envelope.
func BenchmarkSecure20MB(b *testing.B) {
	s := testSigner(b)
	env := bigEnvelope(twentyMB)
	p := params(s, wssec.RSASHA256, false)
	b.SetBytes(int64(len(env)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wssec.Secure(env, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSecureReader20MB is the zero-copy variant: the request body reads slices of env.
func BenchmarkSecureReader20MB(b *testing.B) {
	s := testSigner(b)
	env := bigEnvelope(twentyMB)
	p := params(s, wssec.RSASHA256, false)
	b.SetBytes(int64(len(env)))
	b.ReportAllocs()
	for b.Loop() {
		r, _, err := wssec.SecureReader(env, p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSecureSignBody20MB shows the cost of signing the Body (it must be parsed).
func BenchmarkSecureSignBody20MB(b *testing.B) {
	s := testSigner(b)
	env := bigEnvelope(twentyMB)
	p := params(s, wssec.RSASHA256, true)
	b.SetBytes(int64(len(env)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wssec.Secure(env, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify20MB measures the simulator's side on the same envelope.
func BenchmarkVerify20MB(b *testing.B) {
	s := testSigner(b)
	out, err := wssec.Secure(bigEnvelope(twentyMB), params(s, wssec.RSASHA256, false))
	if err != nil {
		b.Fatal(err)
	}
	o := pinned(s, t0)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wssec.Verify(out, o); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSecureDoesNotParseBody proves the Body is not parsed when it is not signed: a Body
// that is not even well-formed XML is carried through untouched.
func TestSecureDoesNotParseBody(t *testing.T) {
	s := testSigner(t)
	env := []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a><<&&& not xml`)
	out, err := wssec.Secure(env, params(s, wssec.RSASHA256, false))
	if err != nil {
		t.Fatalf("Secure parsed the Body: %v", err)
	}
	if !bytes.HasSuffix(out, []byte(`<soap:Body><a><<&&& not xml`)) {
		t.Error("Body bytes changed")
	}
	if _, err := wssec.Secure(env, params(s, wssec.RSASHA256, true)); err == nil {
		t.Error("SignBody accepted a Body that is not XML")
	}
}

// BenchmarkSecureSmallByProfile secures a small request in each profile: the Puglia profile
// makes one RSA signature per message, the national one three (two assertions + Timestamp).
func BenchmarkSecureSmallByProfile(b *testing.B) {
	s := testSigner(b)
	env := gowsdlEnvelope(addDocumentBody)
	for _, tc := range []struct {
		name string
		p    wssec.Params
	}{
		{"puglia", pugliaParams(s, wssec.AlgorithmDefault, false)},
		{"national", params(s, wssec.AlgorithmDefault, false)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := wssec.Secure(env, tc.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifySmallByProfile verifies a small request of each profile.
func BenchmarkVerifySmallByProfile(b *testing.B) {
	s := testSigner(b)
	env := gowsdlEnvelope(addDocumentBody)
	for _, tc := range []struct {
		name string
		p    wssec.Params
	}{
		{"puglia", pugliaParams(s, wssec.AlgorithmDefault, false)},
		{"national", params(s, wssec.AlgorithmDefault, false)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			out, err := wssec.Secure(env, tc.p)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := wssec.Verify(out, pinned(s, t0)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
