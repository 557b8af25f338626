package pgqueue_test

import (
	"context"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/queue"
	"github.com/fsepuglia/fsepuglia/adapter/queue/pgqueue"
	"github.com/fsepuglia/fsepuglia/adapter/queue/pgqueue/pgtest"
	"github.com/fsepuglia/fsepuglia/adapter/queue/queuetest"
)

func TestStore(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) func() queue.Store {
		dsn := pgtest.DSN(t)
		return func() queue.Store {
			st, err := pgqueue.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}, true)
}

// TestMigrationsOnce: instances starting together apply the schema once, and a second
// start applies nothing.
func TestMigrationsOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			st, err := pgqueue.Open(ctx, dsn)
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st, err := pgqueue.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := len(pgqueue.Migrations()); got == 0 {
		t.Fatal("no embedded migration")
	}
}

func BenchmarkWork(b *testing.B) {
	st, err := pgqueue.Open(context.Background(), pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	queuetest.Bench(b, st, 8)
}
