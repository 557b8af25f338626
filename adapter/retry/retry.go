// Package retry repeats READ calls that failed for a transient reason, with bounded
// exponential backoff and jitter, and never repeats writes: a publication that timed out may
// have been stored, and sending it again would be answered FSE-00409 at best.
//
// The policy is data: exported fields of named function types (as in
// hashicorp/go-retryablehttp), so callers and tests replace the decision, the backoff or the
// sleeper without subclassing anything. A Policy is safe for concurrent use if its functions
// are.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Kind says whether an operation may be repeated.
type Kind int

const (
	// Read operations (search, retrieve, consent status, Taccuino reads) may be retried.
	Read Kind = iota
	// Write operations (publish, replace, delete, consent changes) are never retried.
	Write
)

// String returns "read" or "write".
func (k Kind) String() string {
	if k == Read {
		return "read"
	}
	return "write"
}

// CheckRetry decides, after attempt (1-based) failed with err, whether to try again. A
// non-nil error ends the loop and is returned instead of err.
type CheckRetry func(ctx context.Context, kind Kind, attempt int, err error) (bool, error)

// Backoff returns how long to wait after attempt (1-based) failed, between min and max.
type Backoff func(min, max time.Duration, attempt int) time.Duration

// Sleeper waits for d or until ctx is done, returning ctx's error in the second case.
type Sleeper func(ctx context.Context, d time.Duration) error

// Defaults of a zero Policy.
const (
	DefaultMaxAttempts = 3
	DefaultMinWait     = 500 * time.Millisecond
	DefaultMaxWait     = 8 * time.Second
)

// Policy is a retry policy. The zero value is usable: 3 attempts, 0.5s to 8s backoff with
// jitter, DefaultCheckRetry, a timer-based sleeper.
type Policy struct {
	// MaxAttempts is the total number of attempts, the first included; 0 means
	// DefaultMaxAttempts, 1 (or any negative value) disables retries.
	MaxAttempts int
	// MinWait and MaxWait bound the backoff; 0 means the defaults.
	MinWait, MaxWait time.Duration
	// CheckRetry decides whether to retry; nil means DefaultCheckRetry.
	CheckRetry CheckRetry
	// Backoff computes the wait; nil means DefaultBackoff.
	Backoff Backoff
	// Sleep waits; nil means SleepContext.
	Sleep Sleeper
	// OnRetry, when set, is told about each retry before the wait (for logs and metrics:
	// err may quote the server, redact before logging).
	OnRetry func(attempt int, err error, wait time.Duration)
}

// FromRetries builds the policy for adapter.Config.Retries: the number of extra attempts,
// 0 meaning the default (2 extra, 3 in all) and -1 (or less) disabling retries.
func FromRetries(extra int) Policy {
	switch {
	case extra == 0:
		return Policy{MaxAttempts: DefaultMaxAttempts}
	case extra < 0:
		return Policy{MaxAttempts: 1}
	default:
		return Policy{MaxAttempts: extra + 1}
	}
}

// Error is returned when more than one attempt was made and the last one failed, or when
// the context ended while waiting. errors.Is and errors.As reach both the last call error
// and the context error.
type Error struct {
	// Attempts is the number of calls made.
	Attempts int
	// Err is the last call's error.
	Err error
	// Ctx is the context's error when the context ended the loop, else nil.
	Ctx error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Ctx != nil {
		return fmt.Sprintf("%v after %d attempts; last error: %v", e.Ctx, e.Attempts, e.Err)
	}
	return fmt.Sprintf("%d attempts failed; last error: %v", e.Attempts, e.Err)
}

// Unwrap returns the last call error and the context error.
func (e *Error) Unwrap() []error {
	if e.Ctx != nil {
		return []error{e.Err, e.Ctx}
	}
	return []error{e.Err}
}

// transienter is implemented by *fault.Fault and *fault.CallError.
type transienter interface{ Transient() bool }

// DefaultCheckRetry retries only Read operations whose error (anywhere in its chain) has a
// Transient() bool method returning true (*fault.Fault of class Transient, transient
// *fault.CallError), and stops as soon as ctx is done.
func DefaultCheckRetry(ctx context.Context, kind Kind, attempt int, err error) (bool, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, nil
	}
	if kind != Read || err == nil {
		return false, nil
	}
	var t transienter
	return errors.As(err, &t) && t.Transient(), nil
}

// ExponentialJitter returns a Backoff that doubles from min at each attempt, caps at max,
// and picks uniformly in [d/2, d] ("equal jitter") using rnd, which returns values in [0,1).
func ExponentialJitter(rnd func() float64) Backoff {
	return func(min, max time.Duration, attempt int) time.Duration {
		if min <= 0 {
			min = time.Millisecond
		}
		if max < min {
			max = min
		}
		d := min
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		if d > max {
			d = max
		}
		half := d / 2
		return half + time.Duration(rnd()*float64(d-half))
	}
}

// DefaultBackoff is ExponentialJitter with math/rand/v2 (safe for concurrent use).
var DefaultBackoff Backoff = ExponentialJitter(rand.Float64)

// SleepContext waits for d with a timer, returning early with ctx.Err() if ctx ends.
func SleepContext(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Do calls fn until it succeeds, CheckRetry says stop, MaxAttempts is reached or ctx ends.
// fn receives ctx unchanged. A failure after a single attempt is returned as is; after more
// attempts, or when ctx ended a wait, it is an *Error wrapping the last error.
func (p Policy) Do(ctx context.Context, kind Kind, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	maxAttempts := p.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = DefaultMaxAttempts
	}
	if maxAttempts < 1 {
		maxAttempts = 1
	}
	minWait, maxWait := p.MinWait, p.MaxWait
	if minWait <= 0 {
		minWait = DefaultMinWait
	}
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	check, backoff, sleep := p.CheckRetry, p.Backoff, p.Sleep
	if check == nil {
		check = DefaultCheckRetry
	}
	if backoff == nil {
		backoff = DefaultBackoff
	}
	if sleep == nil {
		sleep = SleepContext
	}
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		wrap := func(e error, ctxErr error) error {
			if attempt == 1 && ctxErr == nil {
				return e
			}
			return &Error{Attempts: attempt, Err: e, Ctx: ctxErr}
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return wrap(err, ctxErr)
		}
		if attempt >= maxAttempts {
			return wrap(err, nil)
		}
		again, cerr := check(ctx, kind, attempt, err)
		if cerr != nil {
			return cerr
		}
		if !again {
			return wrap(err, nil)
		}
		wait := backoff(minWait, maxWait, attempt)
		if p.OnRetry != nil {
			p.OnRetry(attempt, err, wait)
		}
		if serr := sleep(ctx, wait); serr != nil {
			ctxErr := ctx.Err()
			if ctxErr == nil {
				ctxErr = serr
			}
			return &Error{Attempts: attempt, Err: err, Ctx: ctxErr}
		}
	}
}
