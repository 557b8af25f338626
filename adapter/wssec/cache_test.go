package wssec_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
)

// TestPugliaAssertionReuse: with an AssertionCache, the second message for the same
// attributes carries the same assertion bytes but its own Timestamp and signature, and both
// verify; another patient gets another assertion.
func TestPugliaAssertionReuse(t *testing.T) {
	s := testSigner(t)
	var cache wssec.AssertionCache
	secure := func(now time.Time, patient string) ([]byte, *wssec.Message) {
		p := pugliaParams(s, wssec.AlgorithmDefault, false)
		p.Clock, p.Assertions, p.MessageID = at(now), &cache, wssec.NewMessageID()
		a := *p.Attributes
		a.PatientCF = patient
		p.Attributes = &a
		out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := wssec.Verify(out, pinned(s, now.Add(time.Second)))
		if err != nil {
			t.Fatalf("Verify: %v\n%s", err, out)
		}
		return out, m
	}
	assertion := func(env []byte) []byte {
		i, j := bytes.Index(env, []byte("<saml:Assertion")), bytes.Index(env, []byte("</saml:Assertion>"))
		if i < 0 || j < i {
			t.Fatalf("no assertion in\n%s", env)
		}
		return env[i:j]
	}
	e1, m1 := secure(t0, patientCF)
	e2, m2 := secure(t0.Add(30*time.Second), patientCF)
	if !bytes.Equal(assertion(e1), assertion(e2)) {
		t.Error("the assertion was not reused within its validity")
	}
	if m1.SignatureValue == m2.SignatureValue || m1.Created.Equal(m2.Created) {
		t.Error("two messages share a Timestamp or a signature")
	}
	const otherPatientCF = "FSELBR01C41A145S" // published test identity
	e3, m3 := secure(t0.Add(31*time.Second), otherPatientCF)
	if bytes.Equal(assertion(e1), assertion(e3)) || m3.Attributes.PatientCF != otherPatientCF {
		t.Error("another patient's message reused the assertion")
	}
	e4, _ := secure(t0.Add(3*time.Minute), patientCF)
	if bytes.Equal(assertion(e1), assertion(e4)) {
		t.Error("an assertion with less than half its validity left was reused")
	}
}
