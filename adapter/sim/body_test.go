package sim

import (
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

// TestReadRequestMemory: a 16 MiB base64 document, with or without a Content-Length, in any
// piece sizes, is read into the skeleton and a file: what is allocated is a small fraction
// of the body (it was twice the body when the request was read whole).
func TestReadRequestMemory(t *testing.T) {
	const size = 16 << 20
	env := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><addDocument xmlns="` + NS + `"><document><document>` +
		strings.Repeat("QUJD", size/4) + `</document></document></addDocument></soap:Body></soap:Envelope>`
	for _, tc := range []struct {
		name string
		r    func() io.Reader
		hint int64
	}{
		{"Content-Length", func() io.Reader { return strings.NewReader(env) }, int64(len(env))},
		{"chunked, half reads", func() io.Reader { return iotest.HalfReader(unknownLength{strings.NewReader(env)}) }, -1},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		q, err := readRequest(tc.r(), tc.hint, tempIn(t))
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if len(q.elided) != 1 || q.elided[0].size != size || len(q.skeleton) > 1<<10 {
			t.Fatalf("%s: %d elided, skeleton %d bytes", tc.name, len(q.elided), len(q.skeleton))
		}
		q.close()
		if got := after.TotalAlloc - before.TotalAlloc; got > 2<<20 {
			t.Errorf("%s: a %d MiB request allocated %d KiB", tc.name, size>>20, got>>10)
		}
	}
}

// TestReadRequestCapped: the cap (http.MaxBytesReader) stops a chunked body, and the error is
// the one the handler maps to FSE-00400 "request larger than".
func TestReadRequestCapped(t *testing.T) {
	r := http.MaxBytesReader(nil, io.NopCloser(unknownLength{strings.NewReader("<a>" + strings.Repeat("QUJD", 5<<18) + "</a>")}), 1<<20)
	_, err := readRequest(r, -1, tempIn(t))
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) || mbe.Limit != 1<<20 {
		t.Fatalf("over the cap: %v", err)
	}
}

// TestReadRequestShort: a body shorter than its Content-Length is an error, not a short
// envelope.
func TestReadRequestShort(t *testing.T) {
	if _, err := readRequest(strings.NewReader("<a/>"), 10, tempIn(t)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a body 6 bytes short of its Content-Length: %v", err)
	}
}
