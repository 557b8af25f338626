package wssec_test

import (
	"crypto"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/wssectest"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// settle waits (bounded) until the Presigner has no preparation in flight: every scheduled
// one has been counted as Prepared.
func settle(t *testing.T, ps *wssec.Presigner, prepared uint64) {
	t.Helper()
	for range 500 {
		if ps.Stats().Prepared >= prepared {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("preparation did not finish: %+v, want %d prepared", ps.Stats(), prepared)
}

// presignEnv secures one addDocument for the Puglia profile through ps.
func presignEnv(t *testing.T, s wssec.Signer, ps *wssec.Presigner, clk func() time.Time, mod func(*wssec.Params)) ([]byte, *wssec.Message) {
	t.Helper()
	p := pugliaParams(s, wssec.AlgorithmDefault, false)
	p.Clock, p.MessageID, p.Presign = clk, wssec.NewMessageID(), ps
	if mod != nil {
		mod(&p)
	}
	out, err := wssec.Secure(gowsdlEnvelope(addDocumentBody), p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := wssec.Verify(out, pinned(s, clk()))
	if err != nil {
		t.Fatalf("Verify: %v\n%s", err, out)
	}
	return out, m
}

// TestPresignOneRSAPerMessage: a stream of messages for one key takes prepared headers; the
// key computed exactly one RSA operation per message plus the one header left ready at
// Close; no signature value and no Created is sent twice; each message's Timestamp has its
// full lifetime minus at most the freshness bound; xmlsec1 accepts the envelopes that carried
// a prepared header.
func TestPresignOneRSAPerMessage(t *testing.T) {
	base := testSigner(t)
	key := &wssectest.CountingSigner{Signer: base.Key}
	s := wssec.Signer{Key: key, Cert: base.Cert}
	var ps wssec.Presigner
	clk := &clock{t: time.Now()}
	const n = 12
	sigs, created := map[string]bool{}, map[time.Time]bool{}
	var prepared uint64
	for i := range n {
		before := ps.Stats().Used
		env, m := presignEnv(t, s, &ps, clk.now, nil)
		if sigs[m.SignatureValue] || created[m.Created] {
			t.Fatalf("message %d repeats a signature value or a Created", i)
		}
		sigs[m.SignatureValue], created[m.Created] = true, true
		if left, want := m.Expires.Sub(clk.now()), 5*time.Minute-2*time.Second; left < want {
			t.Errorf("message %d: %v of lifetime left, want at least %v", i, left, want)
		}
		if ps.Stats().Used > before && (i == n/2 || i == n-1) {
			checkXMLSec1(t, env, s.Cert, xpPugliaSig, true) // a prepared header, as sent
		}
		if i >= 1 { // from the second message on, one preparation follows each message
			prepared++
			settle(t, &ps, prepared)
		}
		clk.add(3 * time.Millisecond)
	}
	ps.Close()
	st := ps.Stats()
	if st.Inline+st.Used != n {
		t.Errorf("stats %+v: inline+used != %d messages", st, n)
	}
	if st.Used != n-2 || st.Inline != 2 {
		t.Errorf("stats %+v: want the first two inline (the key is not yet known to be busy), the rest prepared", st)
	}
	if got := key.N.Load(); got != int64(st.Inline+st.Prepared) || got != n+1 || st.Discarded != 1 || st.Failed != 0 {
		t.Errorf("%d RSA operations for %d messages, stats %+v: want one per message and the one left at Close", got, n, st)
	}
}

// TestPresignFreshness: a prepared header older than the bound is discarded and the message
// signed inline with the current time; one within the bound is sent.
func TestPresignFreshness(t *testing.T) {
	s := testSigner(t)
	var ps wssec.Presigner
	defer ps.Close()
	clk := &clock{t: time.Now()}
	presignEnv(t, s, &ps, clk.now, nil)
	presignEnv(t, s, &ps, clk.now, nil) // the key is busy: one header is prepared
	settle(t, &ps, 1)
	clk.add(1500 * time.Millisecond)
	_, m := presignEnv(t, s, &ps, clk.now, nil)
	if st := ps.Stats(); st.Used != 1 {
		t.Fatalf("a header 1.5 s old was not used: %+v", st)
	}
	if left := m.Expires.Sub(clk.now()); left < 5*time.Minute-2*time.Second {
		t.Errorf("%v of lifetime left", left)
	}
	settle(t, &ps, 2)
	clk.add(2100 * time.Millisecond)
	_, m = presignEnv(t, s, &ps, clk.now, nil)
	if st := ps.Stats(); st.Used != 1 || st.Discarded != 1 {
		t.Fatalf("a header 2.1 s old was not discarded: %+v", st)
	}
	if !m.Created.Equal(clk.now().Truncate(time.Millisecond)) {
		t.Errorf("inline Created %v, want the clock's %v", m.Created, clk.now())
	}
	// A clock stepped back discards too.
	presignEnv(t, s, &ps, clk.now, nil) // busy again: one is prepared
	settle(t, &ps, 3)
	clk.add(-10 * time.Second)
	_, m = presignEnv(t, s, &ps, clk.now, nil)
	if st := ps.Stats(); st.Used != 1 || st.Discarded != 2 {
		t.Fatalf("a header from the future was not discarded: %+v", st)
	}
	if !m.Created.Equal(clk.now().Truncate(time.Millisecond)) {
		t.Errorf("after the clock went back, Created %v, want the clock's %v (not one from the future)", m.Created, clk.now())
	}
}

// TestPresignDemandDriven: one-off messages (another key each time, or the same key far
// apart) prepare nothing; SignBody and the national profile never touch the Presigner.
func TestPresignDemandDriven(t *testing.T) {
	s := testSigner(t)
	var ps wssec.Presigner
	defer ps.Close()
	clk := &clock{t: time.Now()}
	for _, cf := range []string{patientCF, otherCF, "PROVAX00X00X000Y"} {
		presignEnv(t, s, &ps, clk.now, func(p *wssec.Params) {
			a := *p.Attributes
			a.PatientCF = cf
			p.Attributes = &a
		})
		clk.add(10 * time.Millisecond)
	}
	for range 2 {
		clk.add(3 * time.Second)
		presignEnv(t, s, &ps, clk.now, nil)
	}
	if st := ps.Stats(); st.Prepared != 0 || st.Used != 0 {
		t.Errorf("one-off messages prepared headers: %+v", st)
	}
	for _, mod := range []func(*wssec.Params){
		func(p *wssec.Params) { p.SignBody = true },
		func(p *wssec.Params) { p.Profile = wssec.ProfileNational; p.Attributes = testAttrs() },
	} {
		for range 3 {
			presignEnv(t, s, &ps, clk.now, mod)
		}
	}
	if st := ps.Stats(); st.Prepared != 0 || st.Used != 0 {
		t.Errorf("SignBody or national messages prepared headers: %+v", st)
	}
}

// TestPresignUniqueInOneMillisecond: with a frozen clock (or many messages in one
// millisecond) every message still gets its own Created, hence its own signature value.
func TestPresignUniqueInOneMillisecond(t *testing.T) {
	s := testSigner(t)
	var ps wssec.Presigner
	defer ps.Close()
	frozen := at(time.Now())
	var mu sync.Mutex
	sigs := map[string]bool{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				_, m := presignEnv(t, s, &ps, frozen, nil)
				mu.Lock()
				if sigs[m.SignatureValue] {
					t.Errorf("signature value sent twice")
				}
				sigs[m.SignatureValue] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(sigs) != 20 {
		t.Errorf("%d distinct signatures for 20 messages", len(sigs))
	}
}

// TestPresignCloseLeavesNoGoroutine: after Close no preparation goroutine is left, and
// messages are still secured (inline, nothing prepared).
func TestPresignCloseLeavesNoGoroutine(t *testing.T) {
	s := testSigner(t)
	var ps wssec.Presigner
	clk := &clock{t: time.Now()}
	for range 3 {
		presignEnv(t, s, &ps, clk.now, nil) // the last one's preparation may still run
	}
	ps.Close()
	if n := preparing(); n != 0 {
		t.Fatalf("%d preparation goroutines left after Close", n)
	}
	before := ps.Stats()
	for range 3 {
		presignEnv(t, s, &ps, clk.now, nil)
	}
	if st := ps.Stats(); st.Prepared != before.Prepared || preparing() != 0 {
		t.Errorf("preparing after Close: %+v", st)
	}
}

// preparing counts the goroutines running a Presigner preparation.
func preparing() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "wssec.(*Presigner).prepare(")
}

// slowKey is a signing key that takes 20 ms per signature and records how many signatures
// ran at once.
type slowKey struct {
	crypto.Signer
	n, now, max atomic.Int64
}

func (k *slowKey) Sign(r io.Reader, digest []byte, o crypto.SignerOpts) ([]byte, error) {
	k.n.Add(1)
	if c := k.now.Add(1); c > k.max.Load() {
		k.max.Store(c)
	}
	defer k.now.Add(-1)
	time.Sleep(20 * time.Millisecond)
	return k.Signer.Sign(r, digest, o)
}

// TestPresignWaitsForTheOneInFlight: calls one after the other, each faster than one
// signature (nothing waits for the background here), still carry prepared headers: a call
// waits for its key's preparation in flight instead of signing a second one beside it, so
// the key never signs two at once and no message after the second is signed inline.
func TestPresignWaitsForTheOneInFlight(t *testing.T) {
	base := testSigner(t)
	key := &slowKey{Signer: base.Key}
	s := wssec.Signer{Key: key, Cert: base.Cert}
	var ps wssec.Presigner
	const n = 6
	for range n {
		presignEnv(t, s, &ps, time.Now, nil)
	}
	ps.Close()
	st := ps.Stats()
	if st.Inline != 2 || st.Used != n-2 || st.Discarded != 1 {
		t.Errorf("stats %+v: want 2 inline, %d prepared and used, the last one dropped at Close", st, n-2)
	}
	if got := key.max.Load(); got != 1 {
		t.Errorf("%d signatures computed at once for a caller making one call at a time", got)
	}
	if got := key.n.Load(); got != n+1 {
		t.Errorf("%d RSA operations for %d messages", got, n)
	}
}
