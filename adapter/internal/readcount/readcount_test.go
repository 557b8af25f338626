package readcount_test

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/readcount"
)

// TestReader: the bytes and calls counted are the ones read, a short read at the end is
// io.EOF, a read past FailBeyond fails with ErrDisk and reads nothing, and parallel reads
// are all counted.
func TestReader(t *testing.T) {
	data := []byte("0123456789")
	r := readcount.Bytes(data)
	p := make([]byte, 4)
	for _, c := range []struct {
		off   int64
		n     int
		err   error
		bytes int64
	}{
		{0, 4, nil, 4},
		{4, 4, nil, 8},
		{8, 2, io.EOF, 10},
		{10, 0, io.EOF, 10},
		{20, 0, io.EOF, 10},
	} {
		n, err := r.ReadAt(p, c.off)
		if n != c.n || err != c.err || r.BytesRead() != c.bytes {
			t.Fatalf("ReadAt(%d): %d, %v, %d bytes counted; want %d, %v, %d", c.off, n, err, r.BytesRead(), c.n, c.err, c.bytes)
		}
	}
	if string(p[:2]) != "89" {
		t.Fatalf("read %q at 8, want \"89\"", p[:2])
	}
	if r.Calls() != 5 {
		t.Fatalf("%d calls counted, want 5", r.Calls())
	}

	f := readcount.Bytes(data).FailBeyond(6)
	if n, err := f.ReadAt(p, 2); n != 4 || err != nil {
		t.Fatalf("read up to the limit: %d, %v", n, err)
	}
	if n, err := f.ReadAt(p, 3); n != 0 || !errors.Is(err, readcount.ErrDisk) {
		t.Fatalf("read beyond the limit: %d, %v, want 0, ErrDisk", n, err)
	}
	if f.BytesRead() != 4 || f.Calls() != 2 {
		t.Fatalf("%d bytes in %d calls counted, want 4 in 2", f.BytesRead(), f.Calls())
	}

	big := readcount.New(readcount.Bytes(make([]byte, 1<<10)))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			b := make([]byte, 16)
			for i := range 64 {
				if _, err := big.ReadAt(b, int64(g*64+i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if big.BytesRead() != 8*64*16 || big.Calls() != 8*64 {
		t.Fatalf("parallel reads: %d bytes in %d calls counted, want %d in %d", big.BytesRead(), big.Calls(), 8*64*16, 8*64)
	}
}

// A test holds what a code path read to a bound.
func Example() {
	r := readcount.Bytes([]byte("%PDF-1.7 ... %%EOF"))
	head := make([]byte, 8)
	if _, err := r.ReadAt(head, 0); err != nil {
		panic(err)
	}
	fmt.Printf("%s: %d bytes in %d call(s)\n", head, r.BytesRead(), r.Calls())
	// Output: %PDF-1.7: 8 bytes in 1 call(s)
}
