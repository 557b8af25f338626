package boltq_test

import (
	"path/filepath"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/queue"
	"github.com/fsepuglia/fsepuglia/adapter/queue/boltq"
	"github.com/fsepuglia/fsepuglia/adapter/queue/queuetest"
)

func TestStore(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) func() queue.Store {
		path := filepath.Join(t.TempDir(), "queue.db")
		return func() queue.Store {
			st, err := boltq.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}, false)
}

func BenchmarkWork(b *testing.B) {
	st, err := boltq.Open(filepath.Join(b.TempDir(), "queue.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	queuetest.Bench(b, st, 8)
}
