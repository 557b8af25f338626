// Package readcount counts what a code path reads through an io.ReaderAt: the bytes and the
// ReadAt calls. Tests use it to hold a reader that must not read a whole file to a bound
// (pdfcda.ReadAt, docmeta.Inspect, pades.VerifyAt), and to make reads fail past an offset.
// It does not import testing; only tests import it.
package readcount

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
)

// ErrDisk is the error of the reads a Reader is told to fail (FailBeyond).
var ErrDisk = errors.New("readcount: disk on fire")

// Reader is an io.ReaderAt that counts the bytes read and the ReadAt calls made through it.
// It is not a *bytes.Reader (what a reader sees of an *os.File), whatever it wraps. Like
// every io.ReaderAt it is safe for parallel ReadAt calls when the one it wraps is; the
// counts are then the sums. Make it with New or Bytes.
type Reader struct {
	r     io.ReaderAt
	fail  int64
	bytes atomic.Int64
	calls atomic.Int64
}

// New returns a Reader over r.
func New(r io.ReaderAt) *Reader { return &Reader{r: r} }

// Bytes returns a Reader over data: ReadAt reads as bytes.Reader's does (io.EOF at and past
// the end, and with a short read).
func Bytes(data []byte) *Reader { return New(bytes.NewReader(data)) }

// FailBeyond makes every later ReadAt whose range reaches beyond off fail with ErrDisk,
// reading nothing (the call is counted); off <= 0 turns that off. It returns r.
func (r *Reader) FailBeyond(off int64) *Reader {
	r.fail = off
	return r
}

// ReadAt counts the call, then reads from the wrapped io.ReaderAt and counts the bytes read.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	r.calls.Add(1)
	if r.fail > 0 && off+int64(len(p)) > r.fail {
		return 0, ErrDisk
	}
	n, err := r.r.ReadAt(p, off)
	r.bytes.Add(int64(n))
	return n, err
}

// BytesRead returns the number of bytes read so far.
func (r *Reader) BytesRead() int64 { return r.bytes.Load() }

// Calls returns the number of ReadAt calls so far, failed ones included.
func (r *Reader) Calls() int64 { return r.calls.Load() }
