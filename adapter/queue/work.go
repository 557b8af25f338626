package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Result is what a successful Send reports.
type Result struct {
	// Route is "legacy" or "middleware".
	Route string
	// WorkflowID is the middleware's workflowInstanceId, if any.
	WorkflowID string
}

// Sender sends items to the region and looks them up there. It must be safe for concurrent use.
type Sender interface {
	// Send publishes the item (it.Body). An answer that the uniqueId exists must match
	// ErrDuplicate with errors.Is.
	Send(ctx context.Context, it Item) (Result, error)
	// Lookup asks the region whether it holds it.UniqueID, and if so whether its hash equals
	// it.SHA256. A refusal to show it must match ErrLookupRefused.
	Lookup(ctx context.Context, it Item) (found, sameHash bool, err error)
}

// Class is how Work treats an error of Send or Lookup.
type Class struct {
	// Retryable: trying again later may succeed (transient fault, network, timeout).
	Retryable bool
	// Answered: the region answered the call (a fault), so the document did not go in; a
	// retryable error that is not Answered may have reached the region and leaves the item in
	// doubt.
	Answered bool
	// Name is the fault class recorded on the item ("transient", "validation", "transport" …).
	Name string
	// Code is the region's fault code, if any.
	Code string
	// RetryAfter is the wait the region asked for (HTTP Retry-After), 0 if none.
	RetryAfter time.Duration
}

// Backoff computes the wait before attempt n+1 after n failed attempts: Base·2^(n-1), capped
// at Max, with full jitter over its upper half ([d/2, d]).
type Backoff struct {
	Base, Max time.Duration
}

// Delay returns the wait after n failed attempts (n ≥ 1).
func (b Backoff) Delay(n int) time.Duration {
	base, maxD := b.Base, b.Max
	if base <= 0 {
		base = time.Second
	}
	if maxD <= 0 {
		maxD = 5 * time.Minute
	}
	d := base
	for i := 1; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + rand.N(d/2+1)
}

// Event is reported after each settled claim.
type Event struct {
	// Item is the settled item.
	Item Item
	// Sent says whether a transmission was made (Send called) during this claim.
	Sent bool
	// SendDuration and LookupDuration time the calls made (0 when not made).
	SendDuration, LookupDuration time.Duration
	// Err is the Send or Lookup error that decided the state, if any.
	Err error
}

// Options tune Work.
type Options struct {
	// Owner names this worker pool in claims (e.g. host:pid); required.
	Owner string
	// Concurrency bounds the items in flight; 0 means 4.
	Concurrency int
	// CallTimeout bounds each Send and Lookup; 0 means 2 minutes. An item left in doubt by a
	// failed call is not reconciled before this much time has passed (the region may still be
	// working on it).
	CallTimeout time.Duration
	// Lease is how long a claim lasts without renewal; it is renewed every Lease/3 while the
	// item is worked on. 0 means 2×CallTimeout+30s; it is never less than CallTimeout+10s.
	Lease time.Duration
	// Poll is the wait when nothing is runnable; 0 means 500 ms. Wake cuts it short.
	Poll time.Duration
	// Wake, when set, signals that something was enqueued.
	Wake <-chan struct{}
	// Classify classifies errors; nil means every error is permanent.
	Classify func(error) Class
	// Backoff spaces retries.
	Backoff Backoff
	// Drain is how long an in-flight Send may go on after ctx ends (graceful shutdown); 0
	// cancels it at once (the item is then in doubt).
	Drain time.Duration
	// OnEvent, when set, is called after each settled claim (from several goroutines).
	OnEvent func(Event)
	// OnError, when set, receives store errors (Work keeps going after them).
	OnError func(error)
}

func (o *Options) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 2 * time.Minute
	}
	if o.Lease <= 0 {
		o.Lease = 2*o.CallTimeout + 30*time.Second
	}
	o.Lease = max(o.Lease, o.CallTimeout+10*time.Second)
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Classify == nil {
		o.Classify = func(error) Class { return Class{Name: "unknown"} }
	}
}

// Work claims and processes items with at most opts.Concurrency in flight until ctx ends,
// then lets in-flight sends finish within opts.Drain and returns. Store errors are passed to
// opts.OnError and retried after opts.Poll.
func Work(ctx context.Context, st Store, s Sender, opts Options) error {
	if opts.Owner == "" {
		return errors.New("queue: Options.Owner is required")
	}
	opts.defaults()
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				it, ok, err := st.Claim(ctx, opts.Owner, opts.Lease)
				if err != nil && ctx.Err() == nil && opts.OnError != nil {
					opts.OnError(err)
				}
				if err != nil || !ok {
					t := time.NewTimer(opts.Poll)
					select {
					case <-ctx.Done():
					case <-t.C:
					case <-opts.Wake:
					}
					t.Stop()
					continue
				}
				ev := work(ctx, st, s, opts, it)
				if ev.Item.Token != 0 && opts.OnEvent != nil {
					opts.OnEvent(ev)
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

// work handles one claimed item and settles it. The returned event has a zero Token when
// nothing was settled.
func work(ctx context.Context, st Store, s Sender, opts Options, it Item) Event {
	// The claim is renewed while the item is worked on, on a context that outlives ctx by
	// Drain so that a draining send keeps its lease.
	live, cancelLive := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelLive()
	stopDrain := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(opts.Drain, cancelLive)
		context.AfterFunc(live, func() { t.Stop() })
	})
	defer stopDrain()
	lost := make(chan struct{})
	go func() {
		tk := time.NewTicker(opts.Lease / 3)
		defer tk.Stop()
		for {
			select {
			case <-live.Done():
				return
			case <-tk.C:
				if err := st.Extend(live, it, opts.Lease); errors.Is(err, ErrLeaseLost) {
					close(lost)
					cancelLive()
					return
				}
			}
		}
	}()

	ev := Event{Item: it}
	settle := func(next Item) Event {
		next.Updated = time.Now().UTC()
		if next.State != Queued {
			next.Answered = false
		}
		if err := st.Settle(context.WithoutCancel(ctx), next); err != nil {
			if opts.OnError != nil {
				opts.OnError(fmt.Errorf("settling %s: %w", next.UniqueID, err))
			}
			ev.Item.Token = 0
			return ev
		}
		ev.Item = next
		return ev
	}
	call := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(live, opts.CallTimeout)
	}
	backoff := func(c Class) time.Time {
		d := max(opts.Backoff.Delay(it.Attempts), c.RetryAfter)
		return time.Now().Add(d).UTC()
	}
	fail := func(next Item, err error, permanentReason string) Event {
		c := opts.Classify(err)
		next.FaultClass, next.FaultCode, next.Answered = c.Name, c.Code, false
		ev.Err = err
		switch {
		case ctx.Err() != nil && errors.Is(err, context.Canceled):
			next.State, next.Retryable, next.Reason = InDoubt, true, "interrupted while being sent (shutdown): it may have reached the region; it is checked before any resend"
			next.NextAt = time.Now().Add(opts.CallTimeout).UTC()
			next.FaultClass, next.FaultCode = "interrupted", ""
		case c.Retryable && c.Answered:
			next.State, next.Retryable, next.Reason, next.NextAt = Queued, true, err.Error(), backoff(c)
			next.Answered = true
		case c.Retryable:
			next.State, next.Retryable = InDoubt, true
			next.Reason = "may have reached the region: " + err.Error()
			next.NextAt = backoff(c)
			if floor := time.Now().Add(opts.CallTimeout).UTC(); next.NextAt.Before(floor) {
				next.NextAt = floor
			}
		default:
			next.State, next.Retryable, next.Reason = Failed, false, err.Error()
			if permanentReason != "" {
				next.Reason = permanentReason + ": " + err.Error()
			}
		}
		return settle(next)
	}
	done := func(next Item, out Outcome) Event {
		ev.Err = nil
		next.State, next.Outcome, next.Reason, next.Retryable, next.FaultClass, next.FaultCode = Done, out, "", false, "", ""
		return settle(next)
	}
	permanent := func(next Item, reason string) Event {
		next.State, next.Reason, next.Retryable = Failed, reason, false
		return settle(next)
	}

	lookup := func() (bool, bool, error) {
		cctx, cancel := call()
		defer cancel()
		t0 := time.Now()
		found, same, err := s.Lookup(cctx, it)
		ev.LookupDuration += time.Since(t0)
		return found, same, err
	}

	// An item claimed before may have reached the region: reconcile before anything is sent,
	// unless the region answered the last attempt with a refusal.
	if it.Attempts > 1 && !it.Answered {
		found, same, err := lookup()
		switch {
		case err != nil && errors.Is(err, ErrLookupRefused):
			// Cannot reconcile; sending is still safe (see ErrLookupRefused).
		case err != nil:
			next := it
			c := opts.Classify(err)
			next.State, next.Retryable, next.FaultClass, next.FaultCode = InDoubt, true, c.Name, c.Code
			next.Reason = "in doubt, and checking it at the region failed: " + err.Error()
			next.NextAt = backoff(c)
			ev.Err = err
			return settle(next)
		case found && same:
			return done(it, AlreadyPresent)
		case found:
			return permanent(it, "the region holds a different document under this unique id")
		}
	}
	select {
	case <-lost:
		return ev
	default:
	}
	if ctx.Err() != nil {
		// Shutting down before the send: give the item back untouched.
		prev := Queued
		if it.Attempts > 1 {
			prev = InDoubt
		}
		_ = st.Release(context.WithoutCancel(ctx), it, prev)
		return Event{}
	}

	cctx, cancel := call()
	t0 := time.Now()
	res, sendErr := s.Send(cctx, it)
	ev.SendDuration, ev.Sent = time.Since(t0), true
	cancel()
	next := it
	next.Route, next.WorkflowID = res.Route, res.WorkflowID
	if sendErr == nil {
		return done(next, Sent)
	}
	if errors.Is(sendErr, ErrDuplicate) {
		c := opts.Classify(sendErr)
		next.FaultClass, next.FaultCode = c.Name, c.Code
		found, same, err := lookup()
		switch {
		case err != nil && errors.Is(err, ErrLookupRefused):
			if it.Attempts > 1 {
				next.State, next.Retryable = InDoubt, false
				next.Reason = "the region already holds this unique id, most likely from an earlier attempt, and refuses to show it to compare hashes: check it with retrieve once consultation is allowed, then forget it"
				return settle(next)
			}
			return permanent(next, "unique id already published, and the region refuses to show it to compare hashes; check it with retrieve once consultation is allowed")
		case err != nil:
			return fail(next, err, "unique id already published, and checking its hash failed")
		case found && same:
			return done(next, AlreadyPresent)
		case found:
			return permanent(next, "unique id already published with a different document: give this document a new unique id, or use replace")
		default:
			next.State, next.Retryable, next.NextAt = Queued, true, backoff(Class{})
			next.Reason = "the region answered that the unique id is already published but does not find it"
			return settle(next)
		}
	}
	return fail(next, sendErr, "")
}
