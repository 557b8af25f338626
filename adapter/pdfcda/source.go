package pdfcda

import (
	"bytes"
	"io"
)

// How the file is read when it is not in memory (ReadAt): each object is parsed from a
// window that starts small and doubles as the parser needs more (parser.in), served from one
// read-ahead chunk when it fits; stream data is never read unless the stream is decoded
// (cross-reference and object streams, cda.xml), and then it is inflated straight from the
// file. Parsed values do not alias windows, so the memory held is the parsed objects, not
// the file.
const (
	minWindow   = 4 << 10  // first window of an object
	chunkSize   = 64 << 10 // read-ahead for objects that follow each other
	searchChunk = 1 << 20  // the largest window of a keyword search
)

// window returns the file's bytes [off, off+n): fewer at the end of the file, or after a
// read error (recorded in f.ioErr). In memory they are the input itself; otherwise the
// read-ahead chunk or a read of their own. Callers may keep them and must not write them.
func (f *file) window(off, n int) []byte {
	if off < 0 || off >= f.size || n <= 0 {
		return nil
	}
	end := off + min(n, f.size-off)
	if f.b != nil {
		return f.b[off:end:end]
	}
	if off >= f.chunkOff && end <= f.chunkOff+len(f.chunk) {
		return f.chunk[off-f.chunkOff : end-f.chunkOff : end-f.chunkOff]
	}
	if end-off <= f.chunkSize {
		buf := make([]byte, min(f.chunkSize, f.size-off))
		buf = buf[:f.readAt(buf, off)]
		f.chunk, f.chunkOff = buf, off
		n := min(end-off, len(buf))
		return buf[:n:n]
	}
	buf := make([]byte, end-off)
	return buf[:f.readAt(buf, off)]
}

// grow returns the file's bytes [off, off+n) where b holds the first len(b) of them.
func (f *file) grow(b []byte, off, n int) []byte {
	if f.b != nil || n <= f.chunkSize {
		return f.window(off, n)
	}
	n = min(n, f.size-off)
	nb := make([]byte, n)
	copy(nb, b)
	return nb[:len(b)+f.readAt(nb[len(b):], off+len(b))]
}

// readAt fills buf from off and returns how many bytes it got; a short read is recorded as
// the file's I/O error (the size given to ReadAt was larger than the file).
func (f *file) readAt(buf []byte, off int) int {
	n, err := f.ra.ReadAt(buf, int64(off))
	if n < len(buf) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		f.fail(err)
	}
	return n
}

func (f *file) fail(err error) {
	if f.ioErr == nil {
		f.ioErr = err
	}
}

// parserAt returns a parser at file offset off whose window may grow up to offset limit.
func (f *file) parserAt(off, limit int) *parser {
	limit = min(limit, f.size)
	return &parser{b: f.window(off, min(f.minWindow, limit-off)), f: f, base: off, limit: limit, maxDepth: f.lim.MaxDepth}
}

// lastIndex is the offset of the last occurrence of pat in the file, -1 when absent.
func (f *file) lastIndex(pat string) int {
	if f.b != nil {
		return bytes.LastIndex(f.b, []byte(pat))
	}
	end, n := f.size, max(f.minWindow, 2*len(pat))
	for end > 0 {
		start := max(0, end-n)
		if i := bytes.LastIndex(f.window(start, end-start), []byte(pat)); i >= 0 {
			return start + i
		}
		if start == 0 || f.ioErr != nil {
			return -1
		}
		end, n = start+len(pat)-1, max(min(2*n, searchChunk), 2*len(pat))
	}
	return -1
}

// indexFrom is the offset of the first occurrence of pat at or after from, -1 when absent.
func (f *file) indexFrom(from int, pat string) int {
	if f.b != nil {
		if i := bytes.Index(f.b[from:], []byte(pat)); i >= 0 {
			return from + i
		}
		return -1
	}
	for from < f.size && f.ioErr == nil {
		w := f.window(from, max(searchChunk, len(pat)))
		if i := bytes.Index(w, []byte(pat)); i >= 0 {
			return from + i
		}
		if from+len(w) >= f.size {
			break
		}
		from += len(w) - len(pat) + 1
	}
	return -1
}

// byteAt is the file's byte at i (0 outside the file).
func (f *file) byteAt(i int) byte {
	if w := f.window(i, 1); len(w) == 1 {
		return w[0]
	}
	return 0
}

// trap records a read error of a reader over the file as the file's I/O error, so that a
// failing disk is not reported as a corrupt stream.
type trap struct {
	r io.Reader
	f *file
}

func (t trap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.f.fail(err)
	}
	return n, err
}
