package queue

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute}
	for _, tc := range []struct {
		n      int
		lo, hi time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{7, 30 * time.Second, time.Minute},
		{40, 30 * time.Second, time.Minute}, // capped: hours of outage keep retrying every ≤1 min
	} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := b.Delay(tc.n)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", tc.n, d, tc.lo, tc.hi)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Delay(%d): no jitter", tc.n)
		}
	}
}
