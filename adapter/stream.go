package adapter

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync"
)

// A document published from a file (PublishRequest.Path) is never held in memory: gowsdl
// marshals the envelope with a random placeholder where the base64 goes, and the hook sends
// the secured envelope as prefix + the file's base64, encoded while the request is written,
// + suffix, with the Content-Length known in advance. The file's SHA-256 is checked on the
// way: a file that changed after its metadata was computed makes the request fail before
// its last byte, so the region never receives a complete, different document.

// A document given in memory (PublishRequest.Body) takes the same path, with its bytes as
// the source: gowsdl's encoding/xml would otherwise base64-encode it and then escape the
// base64 rune by rune (≈0.6 ms for 105 KiB, more than the rest of the call's client work
// once the signature is prepared ahead); here it is encoded straight into the request's
// write buffer. Not when the Body is signed (its digest needs the envelope as sent) nor when
// traces are written (they keep showing what gowsdl marshalled).

// streamDoc is a document sent from its file (path) or from memory (data).
type streamDoc struct {
	data   []byte // the document, when it is in memory
	path   string
	size   int64
	sha256 string // hex of the bytes the metadata describes
	marker []byte // the placeholder as it appears (base64) in gowsdl's envelope
}

type streamKey struct{}

func withStream(ctx context.Context, s *streamDoc) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, streamKey{}, s)
}

func streamFrom(ctx context.Context) *streamDoc {
	s, _ := ctx.Value(streamKey{}).(*streamDoc)
	return s
}

// newStreamDoc returns the stream of path (size bytes, SHA-256 sum) and the placeholder
// bytes to marshal in its place.
func newStreamDoc(path string, size int64, sum string) (*streamDoc, []byte) {
	raw := make([]byte, 30) // 40 base64 characters, no padding
	if _, err := rand.Read(raw); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return &streamDoc{path: path, size: size, sha256: strings.ToLower(sum), marker: []byte(base64.StdEncoding.EncodeToString(raw))}, raw
}

// newMemStreamDoc returns the stream of an in-memory document and its placeholder.
func newMemStreamDoc(data []byte) (*streamDoc, []byte) {
	s, raw := newStreamDoc("", int64(len(data)), "")
	s.data = data
	return s, raw
}

// encodedLen is the length of the file's base64.
func (s *streamDoc) encodedLen() int64 { return (s.size + 2) / 3 * 4 }

// body returns the request body for envelope (which carries the placeholder once) and its
// length. Closing it closes the file.
func (s *streamDoc) body(envelope []byte) (io.ReadCloser, int64, error) {
	i := bytes.Index(envelope, s.marker)
	if i < 0 || bytes.Contains(envelope[i+len(s.marker):], s.marker) {
		return nil, 0, errors.New("adapter: internal error: the document placeholder is not in the envelope exactly once")
	}
	if s.data != nil {
		r := io.MultiReader(bytes.NewReader(envelope[:i]), &base64Mem{src: s.data}, bytes.NewReader(envelope[i+len(s.marker):]))
		return &streamBody{r: r}, int64(len(envelope)-len(s.marker)) + s.encodedLen(), nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, 0, fmt.Errorf("adapter: document: %w", err)
	}
	if st, err := f.Stat(); err != nil || st.Size() != s.size {
		f.Close()
		return nil, 0, &InputError{Field: "body", Msg: "changed since its metadata was computed (size differs)", Fix: "publish the file again"}
	}
	enc := newBase64File(io.LimitReader(f, s.size), s.size, s.sha256)
	r := io.MultiReader(bytes.NewReader(envelope[:i]), enc, bytes.NewReader(envelope[i+len(s.marker):]))
	return &streamBody{r: r, f: f}, int64(len(envelope)-len(s.marker)) + s.encodedLen(), nil
}

// streamBody is a request body streamed from r; closing it closes f, the document's file
// (nil for a document in memory).
type streamBody struct {
	r io.Reader
	f *os.File
}

func (b *streamBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *streamBody) Close() error {
	if b.f == nil {
		return nil
	}
	return b.f.Close()
}

// b64Chunk is base64File's read size, a multiple of 3: only the last chunk pads.
const b64Chunk = 48 << 10

// b64Bufs are the buffers of a base64File of at least one chunk, reused across sends (a
// batch sends thousands of documents; they were most of its garbage, issue 13).
type b64Bufs struct {
	in  [b64Chunk]byte
	out [b64Chunk / 3 * 4]byte
}

var b64Pool = sync.Pool{New: func() any { return new(b64Bufs) }}

// base64File reads src as base64, hashing what it reads; at the end a hash other than want
// is an error instead of EOF.
type base64File struct {
	src     io.Reader
	h       hash.Hash
	want    string
	in, out []byte
	pooled  *b64Bufs // in and out, when they came from b64Pool
	pend    []byte
	done    bool
}

// newBase64File returns the base64 reader of src's size bytes. A document smaller than a
// chunk gets buffers of its size.
func newBase64File(src io.Reader, size int64, want string) *base64File {
	r := &base64File{src: src, h: sha256.New(), want: want}
	if size >= b64Chunk {
		r.pooled = b64Pool.Get().(*b64Bufs)
		r.in, r.out = r.pooled.in[:], r.pooled.out[:]
	} else {
		n := int(size+2) / 3 * 3
		r.in, r.out = make([]byte, n+3), make([]byte, (n+3)/3*4) // +3: room to see EOF in one read
	}
	return r
}

func (r *base64File) Read(p []byte) (int, error) {
	for len(r.pend) == 0 {
		if r.done {
			if r.pooled != nil { // the last chunk has been read: nothing refers to the buffers
				b64Pool.Put(r.pooled)
				r.pooled, r.in, r.out = nil, nil, nil
			}
			return 0, io.EOF
		}
		n, err := io.ReadFull(r.src, r.in)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			r.done = true
		case err != nil:
			return 0, fmt.Errorf("adapter: reading the document: %w", err)
		}
		r.h.Write(r.in[:n])
		base64.StdEncoding.Encode(r.out, r.in[:n])
		r.pend = r.out[:base64.StdEncoding.EncodedLen(n)]
		if r.done && hex.EncodeToString(r.h.Sum(nil)) != r.want {
			return 0, &InputError{Field: "body", Msg: "changed while it was being sent (SHA-256 differs from its metadata's): the request was cut short, nothing was published", Fix: "publish the file again"}
		}
	}
	n := copy(p, r.pend)
	r.pend = r.pend[n:]
	return n, nil
}

// base64Mem reads src as standard base64, encoding straight into the caller's buffer.
type base64Mem struct {
	src  []byte
	tail [4]byte // the encoding of a last group when the caller's buffer is too small
	pend []byte
}

func (r *base64Mem) Read(p []byte) (int, error) {
	if len(r.pend) > 0 {
		n := copy(p, r.pend)
		r.pend = r.pend[n:]
		return n, nil
	}
	if len(r.src) == 0 {
		return 0, io.EOF
	}
	k := min(len(r.src), len(p)/4*3)
	if k < len(r.src) {
		k -= k % 3 // only the last group may pad
	}
	if k == 0 { // fewer than 4 bytes of room: encode one group aside
		k = min(3, len(r.src))
		base64.StdEncoding.Encode(r.tail[:], r.src[:k])
		r.src = r.src[k:]
		r.pend = r.tail[:4]
		return r.Read(p)
	}
	base64.StdEncoding.Encode(p, r.src[:k])
	r.src = r.src[k:]
	return base64.StdEncoding.EncodedLen(k), nil
}
