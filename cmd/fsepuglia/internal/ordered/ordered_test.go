package ordered

import (
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

func TestEachInOrder(t *testing.T) {
	for _, c := range []struct{ n, workers int }{{0, 4}, {1, 4}, {7, 1}, {100, 2}, {1000, 8}, {5, 0}} {
		var running, peak atomic.Int64
		var got []int
		err := Each(c.n, c.workers, func(i int) int {
			if r := running.Add(1); r > peak.Load() {
				peak.Store(r)
			}
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond) // finish out of order
			running.Add(-1)
			return i * i
		}, func(i, v int) error {
			if v != i*i {
				t.Fatalf("use(%d, %d): result of another index", i, v)
			}
			got = append(got, i)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.n {
			t.Fatalf("n=%d: %d results", c.n, len(got))
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("n=%d workers=%d: result %d out of order at %d", c.n, c.workers, v, i)
			}
		}
		if w := int64(max(1, c.workers)); peak.Load() > w {
			t.Fatalf("n=%d: %d calls at once, want at most %d", c.n, peak.Load(), w)
		}
	}
}

func TestEachBoundsTheWorkAhead(t *testing.T) {
	const n, workers = 200, 3
	var called atomic.Int64
	err := Each(n, workers, func(i int) int { called.Add(1); return i }, func(i, _ int) error {
		// Calls made ahead of the one being used: at most the window of 2 × workers.
		if ahead := called.Load() - int64(i) - 1; ahead > 2*workers {
			t.Fatalf("at %d, %d calls made ahead", i, ahead)
		}
		time.Sleep(50 * time.Microsecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEachStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	var called atomic.Int64
	err := Each(10_000, 4, func(i int) int { called.Add(1); return i }, func(i, _ int) error {
		if i == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	// Nothing more is started once the error is known: 11 used, the window ahead at most.
	if c := called.Load(); c > 11+2*4 {
		t.Fatalf("%d calls after an error at the 11th", c)
	}
}
