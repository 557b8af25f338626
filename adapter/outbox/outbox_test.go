package outbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fakeRegion is an in-memory region: it records every Send and answers Lookup from that record.
type fakeRegion struct {
	mu    sync.Mutex
	held  map[string]string // uniqueId -> hash
	sends map[string]int    // uniqueId -> accepted sends
	tx    map[string]int    // uniqueId -> transmissions: every Send that reached the region, refused or not
	// failOnce makes the first Send of a uniqueId fail with this error.
	failOnce map[string]error
	// lookupErr makes Lookup fail.
	lookupErr error
	// gate, when set, is called inside Send while the item is in flight.
	gate func()
}

func newFakeRegion() *fakeRegion {
	return &fakeRegion{held: map[string]string{}, sends: map[string]int{}, tx: map[string]int{}, failOnce: map[string]error{}}
}

func (f *fakeRegion) Send(ctx context.Context, it Item) error {
	if f.gate != nil {
		f.gate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tx[it.UniqueID]++
	if err, ok := f.failOnce[it.UniqueID]; ok {
		delete(f.failOnce, it.UniqueID)
		return err
	}
	if _, ok := f.held[it.UniqueID]; ok {
		return fmt.Errorf("FSE-00409: %w", ErrDuplicate)
	}
	f.held[it.UniqueID] = it.SHA256
	f.sends[it.UniqueID]++
	return nil
}

func (f *fakeRegion) Lookup(ctx context.Context, it Item) (bool, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lookupErr != nil {
		return false, false, f.lookupErr
	}
	h, ok := f.held[it.UniqueID]
	return ok, ok && h == it.SHA256, nil
}

func entries(n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		id := fmt.Sprintf("2.16.840.1.113883.2.9.2.160.4.4^doc%03d", i)
		out[i] = Entry{Path: fmt.Sprintf("doc%03d.pdf", i), SHA256: fmt.Sprintf("%064x", i+1), Size: int64(100 + i), UniqueID: id,
			Metadata: []byte(`{"unique_id":"` + id + `"}`)}
	}
	return out
}

func openTemp(t *testing.T) (*Outbox, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.db")
	o, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o, path
}

func states(t *testing.T, o *Outbox) map[State]int {
	t.Helper()
	items, err := o.Items()
	if err != nil {
		t.Fatal(err)
	}
	m := map[State]int{}
	for _, it := range items {
		m[it.State]++
	}
	return m
}

func TestEnqueueIdempotent(t *testing.T) {
	o, _ := openTemp(t)
	es := entries(3)
	r1, err := o.Enqueue(es)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := o.Enqueue(append(es, entries(4)[3]))
	if err != nil {
		t.Fatal(err)
	}
	if r1.Added != 3 || r2.Added != 1 || r2.Existing != 3 {
		t.Fatalf("first %+v, second %+v: want 3 added then 1 added + 3 existing", r1, r2)
	}
	items, _ := o.Items()
	if len(items) != 4 {
		t.Fatalf("%d items, want 4", len(items))
	}
	// Same uniqueId with a different file is a different item (the region will refuse one).
	other := es[0]
	other.SHA256 = fmt.Sprintf("%064x", 999)
	r3, _ := o.Enqueue([]Entry{other})
	if r3.Added != 1 {
		t.Fatalf("same id, other hash: %+v, want added", r3)
	}
}

func TestEnqueueIsAtomic(t *testing.T) {
	o, _ := openTemp(t)
	es := entries(3)
	es[2].SHA256 = ""
	if _, err := o.Enqueue(es); err == nil {
		t.Fatal("entry without hash accepted")
	}
	if items, _ := o.Items(); len(items) != 0 {
		t.Fatalf("%d items recorded from a refused batch, want 0", len(items))
	}
}

func TestRunSendsEachOnce(t *testing.T) {
	o, _ := openTemp(t)
	f := newFakeRegion()
	if _, err := o.Enqueue(entries(10)); err != nil {
		t.Fatal(err)
	}
	sum, err := o.Run(context.Background(), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent != 10 || sum.Failed != 0 {
		t.Fatalf("summary %+v, want 10 sent", sum)
	}
	// A second run and a second enqueue of the same files send nothing.
	if r, _ := o.Enqueue(entries(10)); r.AlreadyDone != 10 {
		t.Fatalf("re-enqueue %+v, want 10 already done", r)
	}
	sum, err = o.Run(context.Background(), f, Options{})
	if err != nil || sum != (Summary{}) {
		t.Fatalf("second run %+v %v, want nothing to do", sum, err)
	}
	for id, n := range f.sends {
		if n != 1 {
			t.Errorf("%s sent %d times", id, n)
		}
	}
}

// TestCrashAfterSendBeforeCommit simulates a process that dies after the region accepted a
// document but before "done" was committed: the database is closed without committing, then
// reopened and resumed.
func TestCrashAfterSendBeforeCommit(t *testing.T) {
	for _, crashAt := range []int{1, 4, 10} {
		t.Run(fmt.Sprintf("crash after send %d", crashAt), func(t *testing.T) {
			o, path := openTemp(t)
			f := newFakeRegion()
			if _, err := o.Enqueue(entries(10)); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			n := 0
			ctx, cancel := context.WithCancel(context.Background())
			o.afterSend = func(Item) error {
				mu.Lock()
				defer mu.Unlock()
				n++
				if n >= crashAt {
					cancel() // the process "dies": nothing else is sent or committed
					return errors.New("crash")
				}
				return nil
			}
			_, _ = o.Run(ctx, f, Options{Concurrency: 1})
			o.Close()
			if len(f.sends) != crashAt {
				t.Fatalf("region holds %d before resume, want %d", len(f.sends), crashAt)
			}

			o2, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer o2.Close()
			if st := states(t, o2); st[Sending] != 1 {
				t.Fatalf("states after crash %v, want exactly one in doubt", st)
			}
			sum, err := o2.Run(context.Background(), f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.AlreadyPresent != 1 || sum.Sent != 10-crashAt || sum.Failed != 0 {
				t.Fatalf("resume summary %+v, want 1 already present and %d sent", sum, 10-crashAt)
			}
			if len(f.held) != 10 {
				t.Fatalf("region holds %d documents, want 10", len(f.held))
			}
			for id, c := range f.sends {
				if c != 1 {
					t.Errorf("%s sent %d times", id, c)
				}
			}
			if st := states(t, o2); st[Done] != 10 {
				t.Fatalf("states %v, want 10 done", st)
			}
		})
	}
}

// TestCrashBeforeSend: the item was marked sending but the request never left; on resume
// Lookup finds nothing and the item is sent.
func TestCrashBeforeSend(t *testing.T) {
	o, path := openTemp(t)
	f := newFakeRegion()
	o.Enqueue(entries(2))
	ctx, cancel := context.WithCancel(context.Background())
	blocking := &blockingSender{inner: f, cancel: cancel}
	o.Run(ctx, blocking, Options{Concurrency: 1})
	o.Close()
	o2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer o2.Close()
	if st := states(t, o2); st[InDoubt] != 1 || st[Pending] != 1 {
		t.Fatalf("states %v, want 1 in doubt and 1 pending", st)
	}
	sum, err := o2.Run(context.Background(), f, Options{})
	if err != nil || sum.Sent != 2 || sum.AlreadyPresent != 0 {
		t.Fatalf("resume %+v %v, want 2 sent", sum, err)
	}
}

// blockingSender dies (cancels) at its first Send before reaching the region.
type blockingSender struct {
	inner  Sender
	cancel func()
}

func (b *blockingSender) Send(ctx context.Context, it Item) error {
	b.cancel()
	return ctx.Err()
}

func (b *blockingSender) Lookup(ctx context.Context, it Item) (bool, bool, error) {
	return b.inner.Lookup(ctx, it)
}

func TestDuplicateFault(t *testing.T) {
	tests := []struct {
		name        string
		regionHash  string // what the region already holds for doc000
		wantPresent int
		wantFailed  int
	}{
		{"same hash is success", fmt.Sprintf("%064x", 1), 1, 0},
		{"different hash fails", fmt.Sprintf("%064x", 77), 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := openTemp(t)
			f := newFakeRegion()
			es := entries(1)
			f.held[es[0].UniqueID] = tt.regionHash
			o.Enqueue(es)
			sum, err := o.Run(context.Background(), f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.AlreadyPresent != tt.wantPresent || sum.Failed != tt.wantFailed {
				t.Fatalf("summary %+v", sum)
			}
			it, _, _ := o.Get(Key(es[0].SHA256, es[0].UniqueID))
			if tt.wantFailed == 1 && (it.State != Failed || it.Retryable) {
				t.Fatalf("item %+v, want permanently failed", it)
			}
		})
	}
}

func TestFailedRetryableIsRetriedWithReconcile(t *testing.T) {
	o, _ := openTemp(t)
	f := newFakeRegion()
	es := entries(3)
	errTransient := errors.New("connection reset")
	errInvalid := errors.New("FSE-00400 invalid")
	f.failOnce[es[0].UniqueID] = errTransient
	f.failOnce[es[1].UniqueID] = errInvalid
	o.Enqueue(es)
	opts := Options{Retryable: func(err error) bool { return errors.Is(err, errTransient) }}
	sum, _ := o.Run(context.Background(), f, opts)
	if sum.Sent != 1 || sum.Failed != 2 {
		t.Fatalf("first run %+v, want 1 sent 2 failed", sum)
	}
	if n, _ := o.Unfinished(); n != 1 {
		t.Fatalf("unfinished %d, want 1 (only the retryable one)", n)
	}
	// The retryable one may have reached the region: a failing Lookup must stop a resend.
	f.lookupErr = errors.New("lookup down")
	sum, _ = o.Run(context.Background(), f, opts)
	if sum.InDoubt != 1 || f.sends[es[0].UniqueID] != 0 {
		t.Fatalf("run with lookup down %+v sends %v: want in doubt and not sent", sum, f.sends)
	}
	f.lookupErr = nil
	sum, _ = o.Run(context.Background(), f, opts)
	if sum.Sent != 1 {
		t.Fatalf("third run %+v, want the retryable one sent", sum)
	}
	// Enqueueing the permanently failed file again makes it pending again.
	r, _ := o.Enqueue(es[1:2])
	if r.Requeued != 1 {
		t.Fatalf("re-enqueue of failed: %+v", r)
	}
	sum, _ = o.Run(context.Background(), f, opts)
	if sum.Sent != 1 {
		t.Fatalf("after requeue %+v, want sent", sum)
	}
}

func TestConcurrencyBound(t *testing.T) {
	for _, n := range []int{1, 3, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			o, _ := openTemp(t)
			f := newFakeRegion()
			var mu sync.Mutex
			inflight, maxSeen := 0, 0
			reached := make(chan struct{})
			var once sync.Once
			f.gate = func() {
				mu.Lock()
				inflight++
				if inflight > maxSeen {
					maxSeen = inflight
				}
				if inflight == n {
					once.Do(func() { close(reached) })
				}
				mu.Unlock()
				// Hold the slot until the bound is reached once, so that a pool that
				// ignored the bound would show more than n in flight.
				select {
				case <-reached:
				case <-time.After(2 * time.Second):
				}
				time.Sleep(time.Millisecond)
				mu.Lock()
				inflight--
				mu.Unlock()
			}
			o.Enqueue(entries(12))
			sum, err := o.Run(context.Background(), f, Options{Concurrency: n})
			if err != nil || sum.Sent != 12 {
				t.Fatalf("%+v %v", sum, err)
			}
			if maxSeen != n {
				t.Fatalf("max in flight %d, want %d", maxSeen, n)
			}
		})
	}
}

func TestOpenLocked(t *testing.T) {
	_, path := openTemp(t)
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestOnChangeSeesEveryState(t *testing.T) {
	o, _ := openTemp(t)
	o.Enqueue(entries(2))
	var mu sync.Mutex
	seen := map[State]int{}
	o.Run(context.Background(), newFakeRegion(), Options{OnChange: func(it Item) {
		mu.Lock()
		seen[it.State]++
		mu.Unlock()
	}})
	if seen[Sending] != 2 || seen[Done] != 2 {
		t.Fatalf("changes %v", seen)
	}
}

func BenchmarkRun(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		o, err := Open(filepath.Join(b.TempDir(), "o.db"))
		if err != nil {
			b.Fatal(err)
		}
		o.Enqueue(entries(50))
		b.StartTimer()
		if _, err := o.Run(context.Background(), newFakeRegion(), Options{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		o.Close()
		b.StartTimer()
	}
}

func TestItemsKeepEnqueueOrder(t *testing.T) {
	o, _ := openTemp(t)
	es := entries(5)
	// Hashes in decreasing order, so that key order and enqueue order differ.
	for i := range es {
		es[i].SHA256 = fmt.Sprintf("%064x", 100-i)
	}
	o.Enqueue(es[:3])
	o.Enqueue(es[3:])
	items, _ := o.Items()
	for i, it := range items {
		if it.UniqueID != es[i].UniqueID {
			t.Fatalf("item %d is %s, want %s", i, it.UniqueID, es[i].UniqueID)
		}
	}
}

func TestForgetOnlyOldDoneItems(t *testing.T) {
	o, _ := openTemp(t)
	f := newFakeRegion()
	es := entries(3)
	f.failOnce[es[2].UniqueID] = errors.New("refused")
	o.Enqueue(es)
	o.Run(context.Background(), f, Options{})
	if n, err := o.Forget(time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("forget before enqueue time: %d %v, want 0", n, err)
	}
	n, err := o.Forget(time.Now().Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("forgot %d (%v), want the 2 done items", n, err)
	}
	if st := states(t, o); st[Failed] != 1 || len(st) != 1 {
		t.Fatalf("left %v, want only the failed item", st)
	}
}

// TestLookupRefused: the region will not show documents (no consent). An in-doubt item is
// not sent again on a guess, whether it reached the region or not: it stays in doubt, with a
// reason, and no second transmission happens. Retry (the user's decision) sends it: the one
// that never arrived is published, the one that did is refused as a duplicate and stays in
// doubt, still published once.
func TestLookupRefused(t *testing.T) {
	for _, reached := range []bool{false, true} {
		t.Run(fmt.Sprint("reached=", reached), func(t *testing.T) {
			o, path := openTemp(t)
			f := newFakeRegion()
			es := entries(1)
			key := Key(es[0].SHA256, es[0].UniqueID)
			o.Enqueue(es)
			ctx, cancel := context.WithCancel(context.Background())
			if reached {
				o.afterSend = func(Item) error { cancel(); return errors.New("crash") }
				o.Run(ctx, f, Options{})
			} else {
				o.Run(ctx, &blockingSender{inner: f, cancel: cancel}, Options{})
			}
			o.Close()
			o2, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer o2.Close()
			f.lookupErr = fmt.Errorf("FSE-00451: %w", ErrLookupRefused)
			before := f.tx[es[0].UniqueID]
			for run := 0; run < 2; run++ {
				sum, err := o2.Run(context.Background(), f, Options{})
				if err != nil {
					t.Fatal(err)
				}
				it, _, _ := o2.Get(key)
				if sum.InDoubt != 1 || it.State != InDoubt || !strings.Contains(it.Reason, "refuses to show") {
					t.Fatalf("run %d: summary %+v item state %s reason %q: want in doubt, explained", run, sum, it.State, it.Reason)
				}
			}
			if n := f.tx[es[0].UniqueID]; n != before {
				t.Fatalf("%d transmissions while in doubt, want none", n-before)
			}
			if _, err := o2.Retry(key); err != nil {
				t.Fatal(err)
			}
			sum, err := o2.Run(context.Background(), f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			it, _, _ := o2.Get(key)
			if f.sends[es[0].UniqueID] != 1 {
				t.Fatalf("region accepted %d sends, want exactly 1", f.sends[es[0].UniqueID])
			}
			if reached {
				if sum.InDoubt != 1 || !strings.Contains(it.Reason, "already holds") {
					t.Fatalf("after retry: summary %+v item %s %q", sum, it.State, it.Reason)
				}
			} else if sum.Sent != 1 || it.State != Done {
				t.Fatalf("after retry: summary %+v item %+v: want sent", sum, it)
			}
		})
	}
}

// TestConcurrentRunsSendOnce: two Runs of one process over the same outbox (the review saw
// 40 sends for 20 items): each item is claimed by one of them.
func TestConcurrentRunsSendOnce(t *testing.T) {
	o, _ := openTemp(t)
	f := newFakeRegion()
	f.gate = func() { time.Sleep(2 * time.Millisecond) }
	o.Enqueue(entries(20))
	var wg sync.WaitGroup
	sums := make([]Summary, 3)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if sums[i], err = o.Run(context.Background(), f, Options{Concurrency: 4}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	total := 0
	for id, n := range f.tx {
		total += n
		if n != 1 {
			t.Errorf("%s transmitted %d times", id, n)
		}
	}
	sent := sums[0].Sent + sums[1].Sent + sums[2].Sent
	if total != 20 || sent != 20 || len(f.held) != 20 {
		t.Fatalf("%d transmissions, %d reported sent (%+v), %d held; want 20 each", total, sent, sums, len(f.held))
	}
}

// TestInDoubtWaitsForTheLastAttempt: an item in doubt is looked up only once its last attempt
// can no longer arrive (InDoubtAfter). The slow region below accepts the first attempt's
// request 150 ms after the crash; looked up at once, the item would be sent a second time.
func TestInDoubtWaitsForTheLastAttempt(t *testing.T) {
	for _, wait := range []time.Duration{0, 400 * time.Millisecond} {
		t.Run(fmt.Sprint("InDoubtAfter=", wait), func(t *testing.T) {
			o, path := openTemp(t)
			f := newFakeRegion()
			es := entries(1)
			o.Enqueue(es)
			ctx, cancel := context.WithCancel(context.Background())
			late := make(chan struct{})
			// The request leaves, the process dies; the region processes it a little later.
			o.Run(ctx, &lateSender{inner: f, cancel: cancel, delay: 150 * time.Millisecond, done: late}, Options{})
			o.Close()
			o2, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer o2.Close()
			start := time.Now()
			sum, err := o2.Run(context.Background(), f, Options{InDoubtAfter: wait})
			if err != nil {
				t.Fatal(err)
			}
			<-late
			n := f.tx[es[0].UniqueID]
			if wait == 0 {
				if n != 2 {
					t.Fatalf("without the wait: %d transmissions (%+v); the test cannot see a second send", n, sum)
				}
				return
			}
			if n != 1 || sum.AlreadyPresent != 1 {
				t.Fatalf("%d transmissions, summary %+v: want 1 and already present", n, sum)
			}
			if el := time.Since(start); el < wait/2 {
				t.Fatalf("resumed after %v: did not wait", el)
			}
		})
	}
}

// lateSender hands the request to the region in the background (it arrives after delay) and
// "dies" at once: the Run is cancelled, as a killed process would be.
type lateSender struct {
	inner  Sender
	cancel func()
	delay  time.Duration
	done   chan struct{}
}

func (l *lateSender) Send(ctx context.Context, it Item) error {
	go func() {
		time.Sleep(l.delay)
		l.inner.Send(context.Background(), it)
		close(l.done)
	}()
	l.cancel()
	return ctx.Err()
}

func (l *lateSender) Lookup(ctx context.Context, it Item) (bool, bool, error) {
	return l.inner.Lookup(ctx, it)
}

// TestDrainLetsInFlightSendsFinish: with Drain, sends in flight when ctx ends complete and
// are committed (nothing in doubt); items not started are counted interrupted.
func TestDrainLetsInFlightSendsFinish(t *testing.T) {
	for _, drain := range []time.Duration{0, 5 * time.Second} {
		t.Run(fmt.Sprint("Drain=", drain), func(t *testing.T) {
			o, _ := openTemp(t)
			f := newFakeRegion()
			o.Enqueue(entries(10))
			ctx, cancel := context.WithCancel(context.Background())
			// Both workers reach Send, then the user presses Ctrl-C.
			var n atomic.Int32
			both := make(chan struct{})
			ds := &drainSender{inner: f, onSend: func() {
				if n.Add(1) == 2 {
					cancel()
					close(both)
				}
				select {
				case <-both:
				case <-time.After(5 * time.Second):
				}
				time.Sleep(20 * time.Millisecond)
			}}
			sum, _ := o.Run(ctx, ds, Options{Concurrency: 2, Drain: drain})
			st := states(t, o)
			if drain > 0 {
				if sum.InDoubt != 0 || st[InDoubt] != 0 || st[Sending] != 0 || sum.Sent != 2 || sum.Interrupted != 8 {
					t.Fatalf("drain: summary %+v states %v: want the 2 in flight sent, 8 interrupted, none in doubt", sum, st)
				}
			} else if sum.InDoubt != 2 || st[InDoubt] != 2 || sum.Interrupted != 8 {
				t.Fatalf("no drain: summary %+v states %v: want 2 in doubt, 8 interrupted", sum, st)
			}
		})
	}
}

// drainSender fails a Send whose context has ended by the time the region would answer.
type drainSender struct {
	inner  *fakeRegion
	onSend func()
}

func (d *drainSender) Send(ctx context.Context, it Item) error {
	d.onSend()
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.inner.Send(ctx, it)
}

func (d *drainSender) Lookup(ctx context.Context, it Item) (bool, bool, error) {
	return d.inner.Lookup(ctx, it)
}

func TestUpdateRetryRemove(t *testing.T) {
	o, _ := openTemp(t)
	es := entries(3)
	o.Enqueue(es)
	k0, k1, k2 := Key(es[0].SHA256, es[0].UniqueID), Key(es[1].SHA256, es[1].UniqueID), Key(es[2].SHA256, es[2].UniqueID)
	it, err := o.Update(k0, func(it *Item) error {
		it.Attrs = map[string]string{"workflow_instance_id": "wf-1"}
		it.Key, it.Seq = "changed", 99
		return nil
	})
	if err != nil || it.Key != k0 || it.Seq != 1 || it.Attrs["workflow_instance_id"] != "wf-1" {
		t.Fatalf("Update = %+v, %v", it, err)
	}
	if _, err := o.Update("nope", func(*Item) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update of a missing key: %v", err)
	}
	f := newFakeRegion()
	f.failOnce[es[1].UniqueID] = errors.New("FSE-00400 invalid")
	o.Run(context.Background(), f, Options{})
	if _, err := o.Retry(k0); err == nil {
		t.Fatal("Retry of a done item succeeded")
	}
	it, err = o.Retry(k1)
	if err != nil || it.State != Pending || !it.ResendConfirmed {
		t.Fatalf("Retry of a failed item: %+v %v", it, err)
	}
	if sum, _ := o.Run(context.Background(), f, Options{}); sum.Sent != 1 {
		t.Fatalf("after retry: %+v", sum)
	}
	if got, _, _ := o.Get(k0); got.Attrs["workflow_instance_id"] != "wf-1" {
		t.Fatalf("attrs lost by the run: %+v", got)
	}
	if _, err := o.Remove(k2, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove with a missing key: %v", err)
	}
	if items, _ := o.Items(); len(items) != 3 {
		t.Fatalf("a failed Remove removed something: %d left", len(items))
	}
	if rm, err := o.Remove(k2); err != nil || len(rm) != 1 {
		t.Fatalf("Remove = %v %v", rm, err)
	}
	if items, _ := o.Items(); len(items) != 2 {
		t.Fatalf("%d left, want 2", len(items))
	}
}

// contradictoryRegion answers every Send with a duplicate and every Lookup with not found.
type contradictoryRegion struct{}

func (contradictoryRegion) Send(context.Context, Item) error { return ErrDuplicate }
func (contradictoryRegion) Lookup(context.Context, Item) (bool, bool, error) {
	return false, false, nil
}

func TestDuplicateButNotFoundIsRetryable(t *testing.T) {
	o, _ := openTemp(t)
	es := entries(1)
	o.Enqueue(es)
	sum, err := o.Run(context.Background(), contradictoryRegion{}, Options{})
	if err != nil || sum.Failed != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	it, _, _ := o.Get(Key(es[0].SHA256, es[0].UniqueID))
	if !it.Retryable || strings.Contains(it.Reason, "different document") {
		t.Fatalf("item %+v", it)
	}
}

// TestCommitsPerDocument counts the outbox's commits (each is two fdatasync in bbolt: pages,
// then meta) in a run of n documents. At concurrency 1 a document's "done" shares the next
// document's "sending" transaction: n+1 commits instead of 2n. The region takes 20 ms per
// send, long enough for the feeder to hand over the next item while a send is in flight
// (5 ms was once too short on a loaded machine: 51 commits). When it cannot, the done is
// committed alone: a few extra commits are allowed. At concurrency 4 the workers' commits
// also share transactions.
func TestCommitsPerDocument(t *testing.T) {
	const n = 40
	for _, tt := range []struct {
		conc, max int
	}{{1, n + 1 + n/5}, {4, n + 1 + n/5}} {
		t.Run(fmt.Sprint("concurrency ", tt.conc), func(t *testing.T) {
			o, _ := openTemp(t)
			f := newFakeRegion()
			f.gate = func() { time.Sleep(20 * time.Millisecond) }
			o.Enqueue(entries(n))
			var mu sync.Mutex
			seen := map[string][]State{}
			before := o.group.Commits()
			sum, err := o.Run(context.Background(), f, Options{Concurrency: tt.conc, OnChange: func(it Item) {
				mu.Lock()
				seen[it.Key] = append(seen[it.Key], it.State)
				mu.Unlock()
			}})
			if err != nil || sum.Sent != n {
				t.Fatalf("%+v %v", sum, err)
			}
			c := int(o.group.Commits() - before)
			t.Logf("%d commits for %d documents at concurrency %d (%.2f per document; before grouping: 2)", c, n, tt.conc, float64(c)/n)
			if c > tt.max {
				t.Fatalf("%d commits for %d documents, want at most %d", c, n, tt.max)
			}
			// Every document still went through sending then done, each reported once.
			for k, st := range seen {
				if len(st) != 2 || st[0] != Sending || st[1] != Done {
					t.Errorf("%s: changes %v, want [sending done]", k, st)
				}
			}
			if st := states(t, o); st[Done] != n {
				t.Fatalf("states %v", st)
			}
		})
	}
}

// TestGroupCommit: callers that arrive while a commit is in progress share the next one.
func TestGroupCommit(t *testing.T) {
	o, _ := openTemp(t)
	o.Enqueue(entries(4))
	items, _ := o.Items()
	release, holding := make(chan struct{}), make(chan struct{})
	first := true
	o.group.BeforeCommit = func() {
		if first {
			first = false
			close(holding)
			<-release // hold the first commit until the three others have queued
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(items))
	start := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it := items[i]
			it.State = Done
			errs[i] = o.save(Options{}, it)
		}()
	}
	start(0)
	<-holding
	for i := 1; i < len(items); i++ {
		start(i)
	}
	for i := 0; o.group.Waiting() != 3; i++ {
		if i == 2000 {
			t.Fatal("the three callers never queued")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if c := o.group.Commits(); c != 2 {
		t.Fatalf("%d commits for 4 callers (one held), want 2", c)
	}
	if st := states(t, o); st[Done] != 4 {
		t.Fatalf("states %v: every caller's item must be committed", st)
	}
}

// TestWalkInChunks: Items, Walk, Unfinished, Forget and Run read the outbox a chunk at a time
// through the enqueue-order index; across chunk boundaries, with items removed and
// forgotten, every item is seen once, in enqueue order.
func TestWalkInChunks(t *testing.T) {
	o, path := openTemp(t)
	n := 3*chunk + 7
	es := entries(n)
	for i := range es { // key order differs from enqueue order
		es[i].SHA256 = fmt.Sprintf("%064x", 10*n-i)
	}
	if _, err := o.Enqueue(es[:chunk+3]); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Enqueue(es[chunk+3:]); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Remove(Key(es[5].SHA256, es[5].UniqueID), Key(es[chunk].SHA256, es[chunk].UniqueID)); err != nil {
		t.Fatal(err)
	}
	check := func(o *Outbox, want []Entry) {
		t.Helper()
		items, err := o.Items()
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != len(want) {
			t.Fatalf("%d items, want %d", len(items), len(want))
		}
		for i, it := range items {
			if it.UniqueID != want[i].UniqueID {
				t.Fatalf("item %d is %s, want %s", i, it.UniqueID, want[i].UniqueID)
			}
		}
	}
	var left []Entry
	for i, e := range es {
		if i != 5 && i != chunk {
			left = append(left, e)
		}
	}
	check(o, left)
	if u, _ := o.Unfinished(); u != n-2 {
		t.Fatalf("unfinished %d, want %d", u, n-2)
	}
	// An outbox written before the index: Open builds it.
	o.Close()
	o2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := o2.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketSeq) }); err != nil {
		t.Fatal(err)
	}
	o2.Close()
	o3, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	check(o3, left)
	// An item enqueued by a version without the index (the sequence advances, no index
	// entry): Open indexes it.
	extra := entries(n + 1)[n]
	extra.SHA256 = fmt.Sprintf("%064x", 1)
	if err := o3.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return put(b, Item{Entry: extra, Key: Key(extra.SHA256, extra.UniqueID), Seq: seq, State: Pending})
	}); err != nil {
		t.Fatal(err)
	}
	o3.Close()
	if o3, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer o3.Close()
	left = append(left, extra)
	check(o3, left)
	n++
	f := newFakeRegion()
	sum, err := o3.Run(context.Background(), f, Options{Concurrency: 3})
	if err != nil || sum.Sent != n-2 {
		t.Fatalf("run %+v %v, want %d sent", sum, err, n-2)
	}
	for id, c := range f.tx {
		if c != 1 {
			t.Errorf("%s transmitted %d times", id, c)
		}
	}
	if got, err := o3.Forget(time.Now().Add(time.Hour)); err != nil || got != n-2 {
		t.Fatalf("forgot %d (%v), want %d", got, err, n-2)
	}
	check(o3, nil)
	if err := o3.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketSeq).Cursor().First(); len(k) == 8 {
			return fmt.Errorf("index entry %x left after Forget", k)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
