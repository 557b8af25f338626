package wssec_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/wssectest"
)

// TestElisionDigest: a Body-signing message whose large text the caller kept out of the
// parsed bytes (a marker in its place) verifies when the Elision writes that text, and fails
// with a digest mismatch when it writes anything else.
func TestElisionDigest(t *testing.T) {
	s := testSigner(t)
	const text = "JVBERi0xLjcKJcfs" // the <file> content of addDocumentBody
	out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), params(s, wssec.RSASHA256, true))
	if err != nil {
		t.Fatal(err)
	}
	const marker = "\ue000elided-0\ue001"
	parsed := bytes.Replace(out, []byte(">"+text+"<"), []byte(">"+marker+"<"), 1)
	if bytes.Equal(parsed, out) {
		t.Fatal("text not replaced")
	}
	writes := func(s string) wssec.Elision {
		return wssec.Elision{Marker: marker, WriteCanonical: func(w io.Writer) error { _, err := io.WriteString(w, s); return err }}
	}
	e, err := wssec.ParseEnvelope(parsed)
	if err != nil {
		t.Fatal(err)
	}
	o := pinned(s, t0)
	o.Elisions = []wssec.Elision{writes(text)}
	m, err := e.Verify(o)
	if err != nil || !m.BodySigned {
		t.Fatalf("with the elided text: %v (body signed %v)", err, m != nil && m.BodySigned)
	}
	o.Elisions = []wssec.Elision{writes(strings.Replace(text, "J", "K", 1))}
	if _, err := e.Verify(o); err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("with another text: %v, want a digest mismatch", err)
	}
	o.Elisions = nil
	if _, err := e.Verify(o); err == nil {
		t.Fatal("the marker itself verified as the Body")
	}
	o.Elisions = []wssec.Elision{{Marker: marker, WriteCanonical: func(io.Writer) error { return errors.New("disk") }}}
	if _, err := e.Verify(o); err == nil {
		t.Fatal("a failing elided text verified")
	}
}

// TestTrustCache: a certificate that chained to the roots is remembered only inside the
// validity window of its chain; an untrusted one is never remembered.
func TestTrustCache(t *testing.T) {
	ca := wssectest.NewCA(t)
	s := ca.Issue(t, operatorCF)
	out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), params(s, wssec.RSASHA256, false))
	if err != nil {
		t.Fatal(err)
	}
	var tc wssec.TrustCache
	if _, err := wssec.Verify(out, wssec.VerifyOptions{Clock: at(t0), Roots: ca.Pool(), TrustCache: &tc}); err != nil {
		t.Fatal(err)
	}
	if _, err := wssec.Verify(out, wssec.VerifyOptions{Clock: at(t0), Roots: ca.Pool(), TrustCache: &tc}); err != nil {
		t.Fatalf("second, from the cache: %v", err)
	}
	// After the certificate's NotAfter the cached entry does not apply (the Timestamp is
	// re-made at that time so that only the certificate is out of date).
	late := s.Cert.NotAfter.Add(time.Hour)
	p := params(s, wssec.RSASHA256, false)
	p.Clock = at(late)
	lateMsg, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wssec.Verify(lateMsg, wssec.VerifyOptions{Clock: at(late), Roots: ca.Pool(), TrustCache: &tc}); err == nil {
		t.Fatal("an expired certificate verified through the cache")
	}
	// Another CA's signer is refused, every time.
	other := wssectest.NewCA(t).Issue(t, operatorCF)
	bad, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), params(other, wssec.RSASHA256, false))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := wssec.Verify(bad, wssec.VerifyOptions{Clock: at(t0), Roots: ca.Pool(), TrustCache: &tc}); err == nil {
			t.Fatalf("attempt %d: an untrusted signer verified", i)
		}
	}
}
