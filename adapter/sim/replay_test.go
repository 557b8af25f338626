package sim

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
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

// TestStrictRequests (issue 12 item 4): what a real SOAP 1.1 service refuses, the simulator
// refuses: another Content-Type, a SOAPAction naming another operation than the Body, a role
// in the body contradicting the SAML role, an unknown role, a Content-Length over the cap
// (refused before the body is read).
func TestStrictRequests(t *testing.T) {
	h := startSim(t, func(o *Options) { o.MaxBody = 1 << 20 })
	url := h.srv.ServiceURL("aslba", ServiceDocument)
	send := func(ct, action string, body io.Reader, length int64) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, body)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if action != "" {
			req.Header.Set("SOAPAction", `"`+NS+action+`"`)
		}
		if length > 0 {
			req.ContentLength = length
		}
		resp, err := h.client.Do(req)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return faultCode(b) + " " + faultStringOf(b)
	}
	env := func() []byte { return h.secure(ServiceDocument, "searchDocuments", patA, searchReq(patA), nil) }
	for _, ct := range []string{"application/json", "", "application/soap+xml; charset=utf-8; action=\"" + NS + "searchDocuments\""} {
		if got := send(ct, "searchDocuments", bytes.NewReader(env()), 0); !strings.HasPrefix(got, CodeInvalid) || !strings.Contains(got, "Content-Type") {
			t.Errorf("Content-Type %q: %s", ct, got)
		}
	}
	if got := send("text/xml; charset=utf-8", "deleteDocument", bytes.NewReader(env()), 0); !strings.HasPrefix(got, CodeInvalid) || !strings.Contains(got, "SOAPAction") {
		t.Errorf("SOAPAction of another operation: %s", got)
	}
	// 200 MB announced, 64 KiB of it ever sent: refused on the header, the body never read.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(h.srv.URL(), "https://"), h.srv.Data().PKI.ClientTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /aslba/%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nSOAPAction: \"%ssearchDocuments\"\r\nContent-Length: %d\r\n\r\n", ServiceDocument, NS, 200<<20)
	conn.Write(env())
	conn.Write(make([]byte, 64<<10))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("a Content-Length over the cap was not answered before the body arrived: %v", err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if got := faultCode(b) + " " + faultStringOf(b); !strings.HasPrefix(got, CodeInvalid) || !strings.Contains(got, "Content-Length") {
		t.Errorf("Content-Length over the cap: %s", got)
	}
	// Role ZZZ in the assertion; a body role contradicting the assertion's.
	zzz := func(p *wssec.Params) { p.Attributes.Role = "ZZZ" }
	if code, body := h.call(ServiceDocument, "searchDocuments", patA, searchReq(patA), zzz); code != CodeAssertion {
		t.Errorf("role ZZZ: %s %s", code, faultStringOf(body))
	}
	req := consentReq(patA, true)
	req.Richiedente = &consenso.RichiedenteType{CodiceFiscale: consenso.CodiceFiscaleType(h.operatorCF()), Ruolo: "APR", Struttura: StructureCode}
	if code, body := h.call(ServiceConsenso, "comunicazioneConsensi", patA, req, nil); code != CodeAssertion {
		t.Errorf("body role APR vs SAML role %s: %s %s", OperatorRole, code, faultStringOf(body))
	}
	req.Richiedente.Ruolo = OperatorRole
	if code, body := h.call(ServiceConsenso, "comunicazioneConsensi", patA, req, nil); code != "" {
		t.Errorf("body role = SAML role: %s %s", code, faultStringOf(body))
	}
}

// TestReplayRefusedUntilVerifyStopsAccepting (issue 13): wssec.Verify accepts a message until
// its Expires plus the clock skew, so the replay cache must keep it that long: a replay two
// minutes after Expires minus one second is refused (the cache once forgot it at Expires).
func TestReplayRefusedUntilVerifyStopsAccepting(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := startSim(t, func(o *Options) { o.Clock = clock })
	signedAt := clock()
	env := h.secure(ServiceConsenso, "statoConsensi", patA, &consenso.StatoConsensi{Paziente: &consenso.PazienteType{CodiceFiscale: patA}},
		func(p *wssec.Params) {
			p.Clock = func() time.Time { return signedAt }
			p.TimestampTTL = 5 * time.Minute
		})
	if _, body := h.post(ServiceConsenso, "statoConsensi", env); faultCode(body) != "" {
		t.Fatalf("first send: %s", faultStringOf(body))
	}
	mu.Lock()
	now = signedAt.Add(5*time.Minute + wssec.DefaultSkew - time.Second)
	mu.Unlock()
	if _, body := h.post(ServiceConsenso, "statoConsensi", env); faultCode(body) != CodeReplay {
		t.Fatalf("replay after Expires, within the skew: fault %q (%s), want %s", faultCode(body), faultStringOf(body), CodeReplay)
	}
}

// TestReplayCacheFullRefused (issue 13): a full replay cache answers FSE-00503, never lets a
// message through unrecorded.
func TestReplayCacheFullRefused(t *testing.T) {
	h := startSim(t, func(o *Options) { o.Core.Store.ReplayCapacity = 2 }) // one message: two keys
	req := &consenso.StatoConsensi{Paziente: &consenso.PazienteType{CodiceFiscale: patA}}
	if _, body := h.post(ServiceConsenso, "statoConsensi", h.secure(ServiceConsenso, "statoConsensi", patA, req, nil)); faultCode(body) != "" {
		t.Fatalf("first message: %s", faultStringOf(body))
	}
	_, body := h.post(ServiceConsenso, "statoConsensi", h.secure(ServiceConsenso, "statoConsensi", patA, req, nil))
	if faultCode(body) != CodeUnavailable || !strings.Contains(faultStringOf(body), "replay cache full") {
		t.Fatalf("second message in a full cache: %s %s", faultCode(body), faultStringOf(body))
	}
}
