// Package queuetest checks a queue.Store against the rules of queue.Work: every store runs
// the same tests (boltq and pgqueue), with a fake region that counts transmissions.
package queuetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/queue"
)

// Region is a fake region: it stores what Send publishes and counts every Send per uniqueId.
type Region struct {
	mu    sync.Mutex
	docs  map[string]string // uniqueId -> sha256
	sends map[string]int
	looks map[string]int
	// Fail, when set, is consulted before each Send; a non-nil error is returned instead of
	// publishing (after publishing, if Publish is true: the call reached the region).
	Fail func(it queue.Item, n int) (err error, publish bool)
	// LookupErr, when set, is returned by Lookup.
	LookupErr func(it queue.Item) error
	// Latency is slept in Send.
	Latency time.Duration
	// OnSend, when set, runs inside Send after the document is stored.
	OnSend func(it queue.Item)
}

// NewRegion returns an empty fake region.
func NewRegion() *Region {
	return &Region{docs: map[string]string{}, sends: map[string]int{}, looks: map[string]int{}}
}

// Send implements queue.Sender.
func (r *Region) Send(ctx context.Context, it queue.Item) (queue.Result, error) {
	h := sha256.Sum256(it.Body)
	if hex.EncodeToString(h[:]) != it.SHA256 {
		return queue.Result{}, fmt.Errorf("body of %s does not match its hash (store lost the body?)", it.UniqueID)
	}
	r.mu.Lock()
	r.sends[it.UniqueID]++
	n := r.sends[it.UniqueID]
	fail := r.Fail
	r.mu.Unlock()
	if r.Latency > 0 {
		select {
		case <-time.After(r.Latency):
		case <-ctx.Done():
			return queue.Result{}, ctx.Err()
		}
	}
	if fail != nil {
		if err, publish := fail(it, n); err != nil {
			if publish {
				r.store(it)
			}
			return queue.Result{}, err
		}
	}
	r.mu.Lock()
	_, dup := r.docs[it.UniqueID]
	r.mu.Unlock()
	if dup {
		return queue.Result{}, fmt.Errorf("FSE-00409: %w", queue.ErrDuplicate)
	}
	r.store(it)
	if r.OnSend != nil {
		r.OnSend(it)
	}
	return queue.Result{Route: "legacy"}, nil
}

func (r *Region) store(it queue.Item) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.docs[it.UniqueID] = it.SHA256
}

// Lookup implements queue.Sender.
func (r *Region) Lookup(_ context.Context, it queue.Item) (bool, bool, error) {
	if r.LookupErr != nil {
		if err := r.LookupErr(it); err != nil {
			return false, false, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.looks[it.UniqueID]++
	sha, ok := r.docs[it.UniqueID]
	return ok, ok && sha == it.SHA256, nil
}

// Sends returns the number of Send calls for uniqueID (transmissions).
func (r *Region) Sends(uniqueID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sends[uniqueID]
}

// Lookups returns the number of Lookup calls for uniqueID.
func (r *Region) Lookups(uniqueID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.looks[uniqueID]
}

// Published returns the number of documents stored.
func (r *Region) Published() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.docs)
}

// Entry returns a small document entry numbered i.
func Entry(i int) queue.Entry {
	body := fmt.Appendf(nil, "%%PDF-1.7 document %d", i)
	h := sha256.Sum256(body)
	return queue.Entry{UniqueID: fmt.Sprintf("ID.%04d", i), SHA256: hex.EncodeToString(h[:]), Size: int64(len(body)),
		Path: fmt.Sprintf("doc%04d.pdf", i), Source: "test", Metadata: []byte(`{"unique_id":"x"}`), Body: body}
}

// Entries returns n entries.
func Entries(n int) []queue.Entry {
	out := make([]queue.Entry, n)
	for i := range out {
		out[i] = Entry(i)
	}
	return out
}

// Classify treats errors wrapping errTransient as retryable and answered, errTransport as
// retryable and unanswered, everything else as permanent.
func Classify(err error) queue.Class {
	switch {
	case errors.Is(err, ErrTransient):
		return queue.Class{Retryable: true, Answered: true, Name: "transient", Code: "FSE-00503", RetryAfter: 10 * time.Millisecond}
	case errors.Is(err, ErrTransport), errors.Is(err, context.DeadlineExceeded):
		return queue.Class{Retryable: true, Name: "transport"}
	}
	return queue.Class{Name: "validation", Code: "FSE-00400"}
}

// Errors for Region.Fail.
var (
	ErrTransient = errors.New("FSE-00503 service temporarily unavailable")
	ErrTransport = errors.New("connection reset by peer")
	ErrInvalid   = errors.New("FSE-00400 invalid metadata")
)

// Opts returns fast work options for tests.
func Opts(owner string) queue.Options {
	return queue.Options{Owner: owner, Concurrency: 4, CallTimeout: 2 * time.Second, Lease: 3 * time.Second,
		Poll: 10 * time.Millisecond, Classify: Classify, Backoff: queue.Backoff{Base: 5 * time.Millisecond, Max: 20 * time.Millisecond}}
}

// WaitSettled runs until every item is done or failed (or non-retryable in doubt), or fails the test after timeout.
func WaitSettled(t testing.TB, st queue.Store, timeout time.Duration) map[queue.State]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := st.Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c[queue.Queued] == 0 && c[queue.Sending] == 0 && c[queue.InDoubt] == 0 {
			return c
		}
		if time.Now().After(deadline) {
			items, _ := st.List(context.Background(), queue.Filter{States: []queue.State{queue.Queued, queue.Sending, queue.InDoubt}, Limit: 5})
			t.Fatalf("not settled after %v: %v (e.g. %+v)", timeout, c, items)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Run runs the store tests. open returns a new store on the same backing data each time it
// is called within one subtest (two opens = two instances, where the backend allows it).
func Run(t *testing.T, open func(t *testing.T) func() queue.Store, shared bool) {
	t.Run("EnqueueDedup", func(t *testing.T) { testEnqueue(t, open(t)()) })
	t.Run("ExactlyOnce", func(t *testing.T) { testExactlyOnce(t, open(t), shared) })
	t.Run("CrashedClaimReconciled", func(t *testing.T) { testCrash(t, open(t)) })
	t.Run("Retries", func(t *testing.T) { testRetries(t, open(t)()) })
	t.Run("LeaseLost", func(t *testing.T) { testLeaseLost(t, open(t)()) })
	t.Run("RetryForget", func(t *testing.T) { testRetryForget(t, open(t)()) })
}

func work(t testing.TB, st queue.Store, r *Region, o queue.Options) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.OnError = func(err error) {
			if !errors.Is(err, queue.ErrLeaseLost) {
				t.Errorf("store error: %v", err)
			}
		}
		_ = queue.Work(ctx, st, r, o)
	}()
	return func() { cancel(); <-done }
}

func testEnqueue(t *testing.T, st queue.Store) {
	ctx := context.Background()
	res, err := st.Enqueue(ctx, Entries(3))
	if err != nil || res.Added != 3 || len(res.Keys) != 3 {
		t.Fatalf("enqueue: %+v %v", res, err)
	}
	res, err = st.Enqueue(ctx, Entries(4))
	if err != nil || res.Added != 1 || res.Existing != 3 {
		t.Fatalf("enqueue again: %+v %v", res, err)
	}
	if _, err := st.Enqueue(ctx, []queue.Entry{{Path: "x"}}); err == nil {
		t.Fatal("entry without hash accepted")
	}
	items, err := st.List(ctx, queue.Filter{})
	if err != nil || len(items) != 4 {
		t.Fatalf("list: %d %v", len(items), err)
	}
	for i, it := range items {
		if it.UniqueID != Entry(i).UniqueID || it.State != queue.Queued || it.Body != nil {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	if _, err := st.Get(ctx, "nope"); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("get unknown: %v", err)
	}
	c, _ := st.Counts(ctx)
	if c[queue.Queued] != 4 {
		t.Errorf("counts: %v", c)
	}
}

func testExactlyOnce(t *testing.T, open func() queue.Store, shared bool) {
	const n = 200
	a := open()
	defer a.Close()
	r := NewRegion()
	r.Latency = 2 * time.Millisecond
	if _, err := a.Enqueue(context.Background(), Entries(n)); err != nil {
		t.Fatal(err)
	}
	stop := work(t, a, r, Opts("a"))
	defer stop()
	if shared {
		b := open()
		defer b.Close()
		o := Opts("b")
		o.Concurrency = 8
		stopB := work(t, b, r, o)
		defer stopB()
	}
	c := WaitSettled(t, a, 60*time.Second)
	if c[queue.Done] != n {
		t.Fatalf("counts: %v", c)
	}
	for i := range n {
		if got := r.Sends(Entry(i).UniqueID); got != 1 {
			t.Errorf("%s transmitted %d times", Entry(i).UniqueID, got)
		}
	}
	it, err := a.Get(context.Background(), queue.Key(Entry(7).SHA256, Entry(7).UniqueID))
	if err != nil || it.Outcome != queue.Sent || it.Route != "legacy" || it.Attempts != 1 {
		t.Errorf("item: %+v %v", it, err)
	}
}

// testCrash: an instance claims an item, sends it and dies before settling. Another instance
// claims it once the lease has run out, finds it at the region and does not send it again.
func testCrash(t *testing.T, open func() queue.Store) {
	ctx := context.Background()
	st := open()
	defer st.Close()
	r := NewRegion()
	if _, err := st.Enqueue(ctx, Entries(2)); err != nil {
		t.Fatal(err)
	}
	lease := 300 * time.Millisecond
	it, ok, err := st.Claim(ctx, "dead", lease)
	if err != nil || !ok || it.Attempts != 1 || it.State != queue.Sending || string(it.Body) != string(Entry(0).Body) {
		t.Fatalf("claim: %+v %v %v", it, ok, err)
	}
	if _, err := r.Send(ctx, it); err != nil { // reached the region; then the process died
		t.Fatal(err)
	}
	c, _ := st.Counts(ctx)
	if c[queue.Sending] != 1 {
		t.Fatalf("counts while claimed: %v", c)
	}
	o := Opts("alive")
	stop := work(t, st, r, o)
	defer stop()
	// The live claim is not taken over before its lease runs out.
	time.Sleep(lease / 3)
	if got, _ := st.Get(ctx, it.Key); got.State != queue.Sending || got.Owner != "dead" {
		t.Fatalf("claim taken over before its lease ran out: %+v", got)
	}
	WaitSettled(t, st, 10*time.Second)
	got, err := st.Get(ctx, it.Key)
	if err != nil || got.State != queue.Done || got.Outcome != queue.AlreadyPresent || got.Attempts != 2 {
		t.Fatalf("reclaimed item: %+v %v", got, err)
	}
	if n := r.Sends(it.UniqueID); n != 1 {
		t.Fatalf("in-doubt item transmitted %d times", n)
	}
	// The dead instance's late settle is refused.
	it.State = queue.Done
	if err := st.Settle(ctx, it); !errors.Is(err, queue.ErrLeaseLost) {
		t.Fatalf("stale settle: %v", err)
	}
}

func testRetries(t *testing.T, st queue.Store) {
	defer st.Close()
	ctx := context.Background()
	r := NewRegion()
	r.Fail = func(it queue.Item, n int) (error, bool) {
		switch it.UniqueID {
		case Entry(0).UniqueID: // transient twice, answered
			if n <= 2 {
				return ErrTransient, false
			}
		case Entry(1).UniqueID: // reached the region, answer lost
			if n == 1 {
				return ErrTransport, true
			}
		case Entry(2).UniqueID: // did not reach the region
			if n == 1 {
				return ErrTransport, false
			}
		case Entry(3).UniqueID:
			return ErrInvalid, false
		}
		return nil, false
	}
	if _, err := st.Enqueue(ctx, Entries(4)); err != nil {
		t.Fatal(err)
	}
	o := Opts("w")
	o.CallTimeout = 50 * time.Millisecond
	o.Lease = time.Second
	var mu sync.Mutex
	var events []queue.Event
	o.OnEvent = func(e queue.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }
	stop := work(t, st, r, o)
	c := WaitSettled(t, st, 10*time.Second)
	stop()
	if c[queue.Done] != 3 || c[queue.Failed] != 1 {
		t.Fatalf("counts: %v", c)
	}
	want := map[int]int{0: 3, 1: 1, 2: 2, 3: 1}
	for i, n := range want {
		if got := r.Sends(Entry(i).UniqueID); got != n {
			t.Errorf("%s: %d transmissions, want %d", Entry(i).UniqueID, got, n)
		}
	}
	get := func(i int) queue.Item {
		it, err := st.Get(ctx, queue.Key(Entry(i).SHA256, Entry(i).UniqueID))
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	// Refused twice with an answer: nothing to reconcile. Lost answer and unanswered call:
	// looked up before the resend.
	for i, n := range map[int]int{0: 0, 1: 1, 2: 1} {
		if got := r.Lookups(Entry(i).UniqueID); got != n {
			t.Errorf("%s: %d lookups, want %d", Entry(i).UniqueID, got, n)
		}
	}
	if it := get(1); it.Outcome != queue.AlreadyPresent || it.Attempts != 2 {
		t.Errorf("lost answer: %+v", it)
	}
	if it := get(3); it.State != queue.Failed || it.Retryable || it.FaultClass != "validation" || it.FaultCode != "FSE-00400" {
		t.Errorf("permanent: %+v", it)
	}
	mu.Lock()
	defer mu.Unlock()
	var inDoubt, queued int
	for _, e := range events {
		switch e.Item.State {
		case queue.InDoubt:
			inDoubt++
		case queue.Queued:
			queued++
		}
	}
	if inDoubt != 2 || queued != 2 {
		t.Errorf("events: %d in doubt (want 2), %d queued again (want 2)", inDoubt, queued)
	}
}

func testLeaseLost(t *testing.T, st queue.Store) {
	defer st.Close()
	ctx := context.Background()
	if _, err := st.Enqueue(ctx, Entries(1)); err != nil {
		t.Fatal(err)
	}
	a, ok, err := st.Claim(ctx, "a", 50*time.Millisecond)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, ok, _ := st.Claim(ctx, "b", time.Second); ok {
		t.Fatal("a live claim was claimed again")
	}
	time.Sleep(100 * time.Millisecond)
	b, ok, err := st.Claim(ctx, "b", time.Second)
	if err != nil || !ok || b.Token == a.Token || b.Attempts != 2 {
		t.Fatalf("reclaim: %+v %v %v", b, ok, err)
	}
	if err := st.Extend(ctx, a, time.Second); !errors.Is(err, queue.ErrLeaseLost) {
		t.Errorf("extend stale: %v", err)
	}
	if err := st.Extend(ctx, b, time.Second); err != nil {
		t.Errorf("extend: %v", err)
	}
	if err := st.Release(ctx, b, queue.InDoubt); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Get(ctx, b.Key)
	if got.State != queue.InDoubt || got.Attempts != 1 || !got.Retryable {
		t.Errorf("released: %+v", got)
	}
}

func testRetryForget(t *testing.T, st queue.Store) {
	defer st.Close()
	ctx := context.Background()
	r := NewRegion()
	bad := true
	var mu sync.Mutex
	r.Fail = func(queue.Item, int) (error, bool) {
		mu.Lock()
		defer mu.Unlock()
		if bad {
			return ErrInvalid, false
		}
		return nil, false
	}
	if _, err := st.Enqueue(ctx, Entries(2)); err != nil {
		t.Fatal(err)
	}
	stop := work(t, st, r, Opts("w"))
	defer stop()
	c := WaitSettled(t, st, 10*time.Second)
	if c[queue.Failed] != 2 {
		t.Fatalf("counts: %v", c)
	}
	time.Sleep(50 * time.Millisecond)
	if r.Sends(Entry(0).UniqueID) != 1 {
		t.Fatalf("a permanent failure was retried: %d", r.Sends(Entry(0).UniqueID))
	}
	mu.Lock()
	bad = false
	mu.Unlock()
	k0, k1 := queue.Key(Entry(0).SHA256, Entry(0).UniqueID), queue.Key(Entry(1).SHA256, Entry(1).UniqueID)
	if _, err := st.Retry(ctx, k0); err != nil {
		t.Fatal(err)
	}
	if err := st.Forget(ctx, k1); err != nil {
		t.Fatal(err)
	}
	c = WaitSettled(t, st, 10*time.Second)
	if c[queue.Done] != 1 || c[queue.Failed] != 0 {
		t.Fatalf("after retry/forget: %v", c)
	}
	if _, err := st.Get(ctx, k1); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("forgotten: %v", err)
	}
	// Re-enqueueing a done item does nothing; ForgetDone removes it.
	res, err := st.Enqueue(ctx, Entries(1))
	if err != nil || res.Existing != 1 {
		t.Fatalf("enqueue done: %+v %v", res, err)
	}
	if n, err := st.ForgetDone(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("forget done: %d %v", n, err)
	}
}
