// Package filehash computes the size and SHA-256 of a file or stream, as lower-case hex,
// reading it through a pooled buffer.
//
// A batch hashes every file more than once (when it is recorded, before it is sent, on the
// way); io.Copy into a hash allocates a new 32 KiB buffer each time (os.File.WriteTo falls
// back to it), which was the largest garbage of a batch of small documents (issue 13). This
// is the one place that reads a file to hash it.
package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"sync"
)

// bufSize is the read size: large enough that a read is not per page, small enough that
// a pooled buffer per concurrent hash costs little.
const bufSize = 32 << 10

var bufs = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// File returns the size and hex SHA-256 of the file at path.
func File(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	return Reader(f)
}

// Reader returns the number of bytes read from r until EOF and their hex SHA-256.
func Reader(r io.Reader) (int64, string, error) {
	buf := bufs.Get().(*[]byte)
	defer bufs.Put(buf)
	h := sha256.New()
	// The struct hides os.File.WriteTo, which would allocate a buffer of its own.
	n, err := io.CopyBuffer(h, struct{ io.Reader }{r}, *buf)
	if err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
