package sim

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/generated/consenso"
)

var wsaMessageID = regexp.MustCompile(`uuid:[0-9a-f-]{36}`)

func consentReq(patient string, c2 bool) *consenso.ComunicazioneConsensi {
	return &consenso.ComunicazioneConsensi{Paziente: &consenso.PazienteType{CodiceFiscale: consenso.CodiceFiscaleType(patient)},
		IdInformativa: "160^1.0", Consenso: []*consenso.ConsensoType{{Codice: "C2", Valore: c2}}}
}

// TestReplayKeyedOnTheSignature (issue 12 item 1): a captured comunicazioneConsensi re-sent
// as it is, or with only its wsa:MessageID changed (which no signature covers), is a replay;
// two different messages signed in the same millisecond are not.
func TestReplayKeyedOnTheSignature(t *testing.T) {
	h := startSim(t, nil)
	const op = "comunicazioneConsensi"
	revoke := h.secure(ServiceConsenso, op, patA, consentReq(patA, false), nil)
	if _, body := h.post(ServiceConsenso, op, revoke); faultCode(body) != "" {
		t.Fatalf("first send: %s", faultStringOf(body))
	}
	grant := h.secure(ServiceConsenso, op, patA, consentReq(patA, true), nil)
	if _, body := h.post(ServiceConsenso, op, grant); faultCode(body) != "" {
		t.Fatalf("grant: %s", faultStringOf(body))
	}
	// The attacker re-sends the captured revocation under a fresh MessageID.
	ids := wsaMessageID.FindAll(revoke, -1)
	if len(ids) == 0 {
		t.Fatal("no MessageID in the envelope")
	}
	forged := bytes.ReplaceAll(revoke, ids[0], []byte("uuid:00000000-0000-4000-8000-000000000001"))
	if bytes.Equal(forged, revoke) {
		t.Fatal("MessageID not replaced")
	}
	for name, env := range map[string][]byte{"as captured": revoke, "new MessageID": forged} {
		if _, body := h.post(ServiceConsenso, op, env); faultCode(body) != CodeReplay {
			t.Errorf("%s: fault %q, want %s", name, faultCode(body), CodeReplay)
		}
	}
	st, err := h.srv.Data().Store.Consents(patA)
	if err != nil {
		t.Fatal(err)
	}
	if c2, ok := st.Values["C2"]; !ok || !c2 {
		t.Fatalf("C2 after the replays: %+v, want still granted", st.Values)
	}
	// Same clock (same millisecond), same patient, different bodies: both accepted.
	at := time.Now()
	frozen := func(p *wssec.Params) { p.Clock = func() time.Time { return at } }
	for _, c2 := range []bool{false, true} {
		if _, body := h.post(ServiceConsenso, op, h.secure(ServiceConsenso, op, patA, consentReq(patA, c2), frozen)); faultCode(body) != "" {
			t.Fatalf("a distinct message signed in the same millisecond: %s", faultStringOf(body))
		}
	}
}

// TestTimestampLifetimeCapped (issue 12 item 1): a Timestamp valid for 1000 h is refused;
// the client's default lifetime is accepted.
func TestTimestampLifetimeCapped(t *testing.T) {
	h := startSim(t, nil)
	for _, tc := range []struct {
		ttl  time.Duration
		want string
	}{{1000 * time.Hour, CodeSecurity}, {MaxTimestampLifetime + time.Second, CodeSecurity}, {0, ""}, {5 * time.Minute, ""}} {
		env := h.secure(ServiceDocument, "searchDocuments", patA, searchReq(patA), func(p *wssec.Params) { p.TimestampTTL = tc.ttl })
		if _, body := h.post(ServiceDocument, "searchDocuments", env); faultCode(body) != tc.want && !(tc.want == "" && faultCode(body) == CodeConsent) {
			t.Errorf("TTL %v: fault %q (%s), want %q", tc.ttl, faultCode(body), faultStringOf(body), tc.want)
		}
	}
}
