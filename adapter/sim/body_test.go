package sim

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// unknownLength hides a reader's length (as a chunked request body does).
type unknownLength struct{ r io.Reader }

func (u unknownLength) Read(p []byte) (int, error) { return u.r.Read(p) }

// TestReadBodyChunked: a body without a Content-Length is read whole, in any piece sizes,
// for a peak of about twice the body (a doubling bytes.Buffer allocates up to 3-4x).
func TestReadBodyChunked(t *testing.T) {
	for _, n := range []int{0, 1, 32 << 10, 32<<10 + 1, 3<<20 + 7} {
		want := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		got, err := readBody(iotest.HalfReader(unknownLength{bytes.NewReader(want)}), -1)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: got %d bytes, %v", n, len(got), err)
		}
	}
	const size = 16 << 20
	body := make([]byte, size)
	allocated := func(read func() []byte) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b := read()
		runtime.ReadMemStats(&after)
		if len(b) != size {
			t.Fatalf("read %d bytes", len(b))
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	ours := allocated(func() []byte {
		b, err := readBody(unknownLength{bytes.NewReader(body)}, -1)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
	doubling := allocated(func() []byte {
		var buf bytes.Buffer
		buf.ReadFrom(unknownLength{bytes.NewReader(body)})
		return buf.Bytes()
	})
	if ours > 2*size+size/8 || ours >= doubling {
		t.Errorf("a %d MiB chunked body allocated %d MiB (a bytes.Buffer: %d MiB)", size>>20, ours>>20, doubling>>20)
	}
	t.Logf("%d MiB chunked body: %d MiB allocated, bytes.Buffer %d MiB", size>>20, ours>>20, doubling>>20)
}

// TestReadBodyCapped: the cap (http.MaxBytesReader) stops a chunked body, and the error is
// the one the handler maps to FSE-00400 "request larger than".
func TestReadBodyCapped(t *testing.T) {
	r := http.MaxBytesReader(nil, io.NopCloser(unknownLength{strings.NewReader(strings.Repeat("x", 5<<20))}), 1<<20)
	_, err := readBody(r, -1)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) || mbe.Limit != 1<<20 {
		t.Fatalf("over the cap: %v", err)
	}
}

// TestReadBodyShort: a body shorter than its Content-Length is an error, not a short envelope.
func TestReadBodyShort(t *testing.T) {
	if _, err := readBody(strings.NewReader("abc"), 10); err == nil {
		t.Fatal("a body 7 bytes short of its Content-Length was read")
	}
}
