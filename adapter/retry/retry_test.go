package retry

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/fault"
)

// fakeSleeper records the waits instead of sleeping; onSleep may cancel a context.
type fakeSleeper struct {
	waits   []time.Duration
	onSleep func(n int)
}

func (f *fakeSleeper) sleep(ctx context.Context, d time.Duration) error {
	f.waits = append(f.waits, d)
	if f.onSleep != nil {
		f.onSleep(len(f.waits))
	}
	return ctx.Err()
}

var (
	transientCall = &fault.CallError{Op: "searchDocuments", Err: io.ErrUnexpectedEOF}
	permanentCall = &fault.CallError{Op: "searchDocuments", Err: errors.New("malformed")}
	unavailable   = &fault.Fault{Code: "FSE-00503", Class: fault.Transient}
	notFound      = &fault.Fault{Code: "FSE-00404", Class: fault.NotFound}
)

// script returns fn that fails with errs in order, then succeeds, counting calls.
func script(calls *int, errs ...error) func(context.Context) error {
	return func(context.Context) error {
		*calls++
		if *calls <= len(errs) {
			return errs[*calls-1]
		}
		return nil
	}
}

func TestDo(t *testing.T) {
	tests := []struct {
		name     string
		kind     Kind
		max      int
		errs     []error
		calls    int
		wantErr  error // nil: success; checked with errors.Is
		attempts int   // >0: want *Error with this many attempts
	}{
		{"read succeeds first", Read, 3, nil, 1, nil, 0},
		{"read transient then ok", Read, 3, []error{transientCall, unavailable}, 3, nil, 0},
		{"read exhausted", Read, 3, []error{transientCall, transientCall, unavailable, transientCall}, 3, unavailable, 3},
		{"read permanent not retried", Read, 3, []error{permanentCall}, 1, permanentCall, 0},
		{"read not found not retried", Read, 3, []error{notFound}, 1, notFound, 0},
		{"read transient then permanent", Read, 5, []error{transientCall, notFound}, 2, notFound, 2},
		{"write transient not retried", Write, 3, []error{transientCall}, 1, transientCall, 0},
		{"write 503 fault not retried", Write, 3, []error{unavailable}, 1, unavailable, 0},
		{"max 1 disables", Read, 1, []error{transientCall}, 1, transientCall, 0},
		{"plain error not retried", Read, 3, []error{io.EOF}, 1, io.EOF, 0},
		{"wrapped transient retried", Read, 2, []error{errWrap{transientCall}}, 2, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls int
			fs := &fakeSleeper{}
			p := Policy{MaxAttempts: tc.max, Sleep: fs.sleep, MinWait: 100 * time.Millisecond, MaxWait: time.Second}
			err := p.Do(context.Background(), tc.kind, script(&calls, tc.errs...))
			if calls != tc.calls {
				t.Errorf("%d calls, want %d", calls, tc.calls)
			}
			if len(fs.waits) != calls-1 {
				t.Errorf("%d waits for %d calls", len(fs.waits), calls)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("err %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			var re *Error
			if isRE := errors.As(err, &re); isRE != (tc.attempts > 0) {
				t.Fatalf("*Error = %v (%v), want attempts %d", isRE, err, tc.attempts)
			} else if isRE && re.Attempts != tc.attempts {
				t.Errorf("attempts %d, want %d", re.Attempts, tc.attempts)
			}
			// The typed errors stay reachable through the retry wrapper.
			var f *fault.Fault
			var ce *fault.CallError
			if !errors.As(err, &f) && !errors.As(err, &ce) && !errors.Is(err, io.EOF) {
				t.Errorf("cause not reachable: %v", err)
			}
		})
	}
}

type errWrap struct{ err error }

func (e errWrap) Error() string { return "wrapped: " + e.err.Error() }
func (e errWrap) Unwrap() error { return e.err }

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	var calls int
	fs := &fakeSleeper{}
	p := Policy{MaxAttempts: 8, MinWait: 100 * time.Millisecond, MaxWait: time.Second, Sleep: fs.sleep}
	errs := make([]error, 7)
	for i := range errs {
		errs[i] = transientCall
	}
	if err := p.Do(context.Background(), Read, script(&calls, errs...)); err != nil {
		t.Fatal(err)
	}
	// Attempt n waits in [d/2, d] with d = min(100ms·2^(n-1), 1s).
	for i, w := range fs.waits {
		d := 100 * time.Millisecond << i
		if d > time.Second {
			d = time.Second
		}
		if w < d/2 || w > d {
			t.Errorf("wait %d = %v, want in [%v, %v]", i+1, w, d/2, d)
		}
	}
}

func TestExponentialJitter(t *testing.T) {
	tests := []struct {
		rnd      float64
		attempt  int
		min, max time.Duration
		want     time.Duration
	}{
		{0, 1, 100 * time.Millisecond, time.Second, 50 * time.Millisecond},
		{0.5, 1, 100 * time.Millisecond, time.Second, 75 * time.Millisecond},
		{0, 2, 100 * time.Millisecond, time.Second, 100 * time.Millisecond},
		{0, 3, 100 * time.Millisecond, time.Second, 200 * time.Millisecond},
		{0.999999, 4, 100 * time.Millisecond, time.Second, 799_999_200 * time.Nanosecond},
		{0, 5, 100 * time.Millisecond, time.Second, 500 * time.Millisecond}, // capped at 1s
		{0, 1000, 100 * time.Millisecond, time.Second, 500 * time.Millisecond},
		{0, 1, 2 * time.Second, time.Second, time.Second}, // max < min: min wins
	}
	for _, tc := range tests {
		got := ExponentialJitter(func() float64 { return tc.rnd })(tc.min, tc.max, tc.attempt)
		if d := got - tc.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("attempt %d rnd %v: %v, want %v", tc.attempt, tc.rnd, got, tc.want)
		}
	}
}

func TestContextCancelledDuringWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls int
	fs := &fakeSleeper{onSleep: func(n int) {
		if n == 2 {
			cancel()
		}
	}}
	p := Policy{MaxAttempts: 10, Sleep: fs.sleep}
	err := p.Do(ctx, Read, script(&calls, transientCall, transientCall, transientCall, transientCall))
	if calls != 2 {
		t.Errorf("%d calls, want 2", calls)
	}
	var re *Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &re) || re.Attempts != 2 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v", err)
	}
}

func TestContextAlreadyDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var calls int
	err := Policy{}.Do(ctx, Read, script(&calls))
	if calls != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("calls %d err %v", calls, err)
	}
}

func TestContextEndsDuringCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls int
	fs := &fakeSleeper{}
	err := Policy{Sleep: fs.sleep}.Do(ctx, Read, func(context.Context) error {
		calls++
		cancel()
		return transientCall
	})
	if calls != 1 || len(fs.waits) != 0 || !errors.Is(err, context.Canceled) || !errors.Is(err, transientCall) {
		t.Fatalf("calls %d waits %d err %v", calls, len(fs.waits), err)
	}
}

func TestSleepContextHonoursCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := SleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if err := SleepContext(context.Background(), 0); err != nil {
		t.Fatalf("zero wait: %v", err)
	}
}

func TestCustomPolicyFunctions(t *testing.T) {
	stop := errors.New("stop here")
	var calls, hooks int
	p := Policy{
		MaxAttempts: 5,
		CheckRetry: func(_ context.Context, _ Kind, attempt int, err error) (bool, error) {
			if attempt == 2 {
				return false, stop
			}
			return true, nil // retries even permanent errors and writes
		},
		Backoff: func(min, max time.Duration, attempt int) time.Duration { return time.Duration(attempt) },
		Sleep:   (&fakeSleeper{}).sleep,
		OnRetry: func(attempt int, err error, wait time.Duration) {
			hooks++
			if wait != time.Duration(attempt) {
				t.Errorf("hook wait %v for attempt %d", wait, attempt)
			}
		},
	}
	err := p.Do(context.Background(), Write, script(&calls, permanentCall, permanentCall, permanentCall))
	if calls != 2 || hooks != 1 || !errors.Is(err, stop) {
		t.Fatalf("calls %d hooks %d err %v", calls, hooks, err)
	}
}

func TestFromRetries(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, 3}, {-1, 1}, {-5, 1}, {1, 2}, {4, 5}} {
		if got := FromRetries(tc.in).MaxAttempts; got != tc.want {
			t.Errorf("FromRetries(%d).MaxAttempts = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestRealFaultsThroughPolicy uses faults parsed from the recorded fixtures.
func TestRealFaultsThroughPolicy(t *testing.T) {
	tests := []struct {
		file  string
		calls int
	}{
		{"taccuino_00503_transient.xml", 2},
		{"consent_00451_client.xml", 1},
		{"idocument_00407_gateway.xml", 1},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile("../../fixtures/faults/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			f, ok := fault.Parse(body, 500)
			if !ok {
				t.Fatal("not parsed")
			}
			var calls int
			err = Policy{MaxAttempts: 2, Sleep: (&fakeSleeper{}).sleep}.Do(context.Background(), Read, script(&calls, f, f))
			var got *fault.Fault
			if calls != tc.calls || !errors.As(err, &got) || got.Code != f.Code {
				t.Fatalf("calls %d (want %d) err %v", calls, tc.calls, err)
			}
		})
	}
}
