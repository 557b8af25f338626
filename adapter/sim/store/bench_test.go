package store

import (
	"bytes"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// zeros is an io.Reader of n zero bytes that never materialises them in memory.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// BenchmarkPublish20MB streams a 20 MB body: B/op shows the body is not buffered in memory.
func BenchmarkPublish20MB(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const size = 20 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// Each body differs in its first byte run, so every blob is a new file.
		r := io.MultiReader(bytes.NewReader(fmt.Appendf(nil, "%d", i)), &zeros{n: size})
		if _, err := s.Publish(meta(fmt.Sprint("big-", i), cfA, t0), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearch measures one patient's first page among 2,000 documents of 2 patients.
func BenchmarkSearch(b *testing.B) {
	s, err := Open(b.TempDir(), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 2000; i++ {
		cf := cfA
		if i%2 == 1 {
			cf = cfB
		}
		if _, err := s.Publish(meta(fmt.Sprint("d", i), cf, t0.Add(-time.Duration(i)*time.Second)), bytes.NewReader([]byte{byte(i)})); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Search(Filter{PatientCF: cfA, Limit: 20}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishParallel publishes small documents from parallel goroutines (fsync on):
// the cost of one bbolt commit per publication.
func BenchmarkPublishParallel(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := s.Publish(meta(fmt.Sprint("p-", i), cfA, t0), bytes.NewReader(fmt.Appendf(nil, "body %d", i))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSeenMessageIDParallel: two replay-cache entries per verified message, from many
// goroutines at once (in memory; the log is written once a second by the flusher).
func BenchmarkSeenMessageIDParallel(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	exp := time.Now().Add(time.Hour)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if seen, err := s.SeenMessageID(fmt.Sprintf("sig:%d", i), exp); seen || err != nil {
				b.Fatal(seen, err)
			}
		}
	})
}

// BenchmarkStageSmallReads stages a 105 KiB body that arrives 768 bytes at a time, as it does
// from the simulator's base64 decoder: the file is written 64 KiB at a time whatever the
// reads (one system call per read before: 146 writes per document).
func BenchmarkStageSmallReads(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := bytes.Repeat([]byte("0123456789abcdef"), 105<<10/16)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for range b.N {
		st, err := s.Stage(iotestChunks(body, 768))
		if err != nil {
			b.Fatal(err)
		}
		st.Discard()
	}
}

// iotestChunks reads data at most n bytes per Read.
func iotestChunks(data []byte, n int) io.Reader { return &chunks{data: data, n: n} }

type chunks struct {
	data []byte
	n    int
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[k:]
	return k, nil
}
