package wssec

import (
	"crypto/x509"
	"sync"
	"time"
)

// Presigner takes the one RSA operation of a ProfilePuglia message off the call's critical
// path: the signed parts of that profile (the Timestamp and the assertion) do not depend on
// the message, so the signature over them can be computed ahead, in the background, while
// the previous call waits for the network. Each prepared header is handed out once and only
// once; what is per message and not signed (WS-Addressing, MessageID) is written at send
// time. Rules (DESIGN.md beside this file):
//
//   - demand-driven: a header is prepared for a key (signer, assertion attributes, issuer,
//     NameID, algorithm, lifetimes) only when a message for that key is sent and the previous
//     one for the same key was sent less than the freshness bound ago (or used a prepared
//     header): one-off calls cost no extra signature and an idle client burns no CPU;
//   - bounded: at most one header ready or being prepared per key, at most presignMaxKeys
//     keys at once; a message whose key's header is still being prepared waits for it (it
//     started earlier than an inline signature would) instead of signing a second one at
//     the same time;
//   - fresh: a header older than min(2 s, TimestampTTL/20) when it is needed (or whose
//     assertion is past the cache's half-life) is discarded and the message signed inline,
//     so a sent Timestamp always has at least its normal lifetime minus that bound left;
//   - unique: Created is strictly increasing per Presigner (at the wire's millisecond
//     resolution), so two messages never carry the same signed bytes, hence the same
//     signature value, even when sent in the same millisecond;
//   - ProfileNational and SignBody are signed inline: the Presigner is not consulted.
//
// A preparation runs in its own short goroutine (one signature, then it ends); Close waits
// for those in flight and drops what is ready. The zero value is ready; it is safe for
// concurrent use.
type Presigner struct {
	mu       sync.Mutex
	ready    map[presignKey]pugliaSigned
	inflight map[presignKey]chan struct{} // closed when the preparation ends
	seen     map[presignKey]time.Time     // when a message for the key was last secured
	last     time.Time                    // the latest Created handed out (uniqueness)
	closed   bool
	wg       sync.WaitGroup
	stats    PresignStats
}

// PresignStats count what a Presigner did. Every RSA operation it caused is in exactly one
// of Inline, Used, Discarded, Failed or is still ready (Prepared-Used-Discarded-Failed).
type PresignStats struct {
	Inline    uint64 // messages signed on the call's path (no fresh header was ready)
	Prepared  uint64 // headers signed in the background (successful or not)
	Used      uint64 // prepared headers a message carried (each exactly once)
	Discarded uint64 // prepared headers dropped unused: stale, or left at Close
	Failed    uint64 // background signatures that failed (the next message signs inline)
	Waited    uint64 // messages that waited for their key's header still being signed
}

// presignMaxKeys bounds the keys with a header ready or being prepared.
const presignMaxKeys = 8

// presignSeenMax bounds the table of recently used keys: when full it starts again empty.
const presignSeenMax = 256

// presignMaxAge is the longest a prepared header may wait before it is sent.
const presignMaxAge = 2 * time.Second

// presignMaxFuture tolerates a prepared Created slightly after the clock (uniqueness bumps;
// a clock stepped back further than this discards the header).
const presignMaxFuture = time.Second

// presignKey is everything a Puglia header's signed bytes depend on besides the instant.
type presignKey struct {
	assertion assertionKey // attrs, issuer, NameID, hash, assertion lifetime
	hasAttrs  bool
	cert      *x509.Certificate
	alg       Algorithm
	tsTTL     time.Duration
}

func presignKeyOf(p *Params) presignKey {
	k := presignKey{cert: p.Signer.Cert, alg: p.Algorithm, tsTTL: p.TimestampTTL}
	if p.Attributes != nil {
		k.hasAttrs = true
		k.assertion = assertionKey{attrs: *p.Attributes, issuer: p.Issuer, nameID: p.NameID, hash: p.Algorithm.Hash(), ttl: p.AssertionTTL}
	}
	return k
}

// maxAge is how old a prepared header may be when sent: min(presignMaxAge, TTL/20).
func maxAge(tsTTL time.Duration) time.Duration { return min(presignMaxAge, tsTTL/20) }

// fresh reports whether a prepared header may still be sent at now.
func (s *pugliaSigned) fresh(k presignKey, now time.Time) bool {
	age := now.Sub(s.created)
	if age < -presignMaxFuture || age > maxAge(k.tsTTL) {
		return false
	}
	if k.hasAttrs && (now.Before(s.assertion.issued) || now.Sub(s.assertion.issued) >= k.assertion.ttl/2) {
		return false
	}
	return true
}

// stamp returns the Created of a new header: now at millisecond resolution, or a
// millisecond after the previous one when that is not later (unless the clock went back by
// more than presignMaxFuture: then now, as the clock says).
func (ps *Presigner) stamp(now time.Time) time.Time {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.stampLocked(now)
}

func (ps *Presigner) stampLocked(now time.Time) time.Time {
	t := now.Round(0).Truncate(time.Millisecond)
	if t.Before(ps.last.Add(-presignMaxFuture)) {
		// The clock was stepped back: follow it rather than send Timestamps from the future.
		ps.last = time.Time{}
	}
	if !t.After(ps.last) {
		t = ps.last.Add(time.Millisecond)
	}
	ps.last = t
	return t
}

// header returns the signed part of p's security header: a prepared one when a fresh one is
// ready for p's key, else one signed now. It schedules the next preparation as the rules
// above say. p is normalised, ProfilePuglia, without SignBody.
func (ps *Presigner) header(p *Params) (pugliaSigned, error) {
	k := presignKeyOf(p)
	ps.mu.Lock()
	if done, busy := ps.inflight[k]; busy {
		if _, ready := ps.ready[k]; !ready {
			// The key's next header is being signed: it started earlier, so waiting for it is
			// shorter than signing another, and a sequential caller's signatures stay
			// sequential (a smart card need not sign two at once). Once only.
			ps.stats.Waited++
			ps.mu.Unlock()
			<-done
			ps.mu.Lock()
		}
	}
	now := p.Clock()
	s, ok := ps.ready[k]
	if ok {
		delete(ps.ready, k)
		if !s.fresh(k, now) {
			ok = false
			ps.stats.Discarded++
		}
	}
	prev, seen := ps.seen[k]
	hot := ok || (seen && now.Sub(prev) >= -presignMaxFuture && now.Sub(prev) <= maxAge(k.tsTTL))
	if ps.seen == nil || len(ps.seen) >= presignSeenMax {
		ps.seen = make(map[presignKey]time.Time)
	}
	ps.seen[k] = now
	_, busy := ps.inflight[k]
	schedule := hot && !ps.closed && !busy && len(ps.ready)+len(ps.inflight) < presignMaxKeys
	var done chan struct{}
	if schedule {
		if ps.inflight == nil {
			ps.inflight = make(map[presignKey]chan struct{})
		}
		done = make(chan struct{})
		ps.inflight[k] = done
		ps.wg.Add(1)
	}
	var created time.Time
	if ok {
		ps.stats.Used++
	} else {
		ps.stats.Inline++
		created = ps.stampLocked(now)
	}
	ps.mu.Unlock()

	var err error
	if !ok {
		s, err = signPuglia(p, now, created, nil)
	}
	if schedule {
		q := *p
		if p.Attributes != nil {
			a := *p.Attributes
			q.Attributes = &a
		}
		go ps.prepare(k, q, done)
	}
	return s, err
}

// prepare signs one header for k in the background and keeps it ready.
func (ps *Presigner) prepare(k presignKey, p Params, done chan struct{}) {
	defer ps.wg.Done()
	now := p.Clock()
	s, err := signPuglia(&p, now, ps.stamp(now), nil)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	defer close(done)
	delete(ps.inflight, k)
	ps.stats.Prepared++
	switch {
	case err != nil:
		ps.stats.Failed++
	case ps.closed:
		ps.stats.Discarded++
	default:
		if ps.ready == nil {
			ps.ready = make(map[presignKey]pugliaSigned)
		}
		ps.ready[k] = s
	}
}

// Close stops preparing: it waits for the preparations in flight (each is one signature)
// and drops the headers that are ready. Messages secured afterwards are signed inline.
func (ps *Presigner) Close() {
	ps.mu.Lock()
	ps.closed = true
	ps.mu.Unlock()
	ps.wg.Wait()
	ps.mu.Lock()
	ps.stats.Discarded += uint64(len(ps.ready))
	ps.ready = nil
	ps.mu.Unlock()
}

// Stats returns the counts so far.
func (ps *Presigner) Stats() PresignStats {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.stats
}
