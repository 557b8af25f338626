package queuetest

import (
	"context"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/queue"
)

// Bench enqueues b.N small documents (in batches of 100) and works them with a fake region
// that answers at once, reporting docs/s end to end (enqueue, claim, send, settle).
func Bench(b *testing.B, st queue.Store, concurrency int) {
	ctx := context.Background()
	r := NewRegion()
	all := Entries(b.N)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(all); i += 100 {
		if _, err := st.Enqueue(ctx, all[i:min(i+100, len(all))]); err != nil {
			b.Fatal(err)
		}
	}
	o := Opts("bench")
	o.Concurrency = concurrency
	stop := work(b, st, r, o)
	WaitSettled(b, st, 10*time.Minute)
	stop()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "docs/s")
	if r.Published() != b.N {
		b.Fatalf("published %d of %d", r.Published(), b.N)
	}
}
