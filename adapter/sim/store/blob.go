package store

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// stagedBlob is a body written to blobs/tmp, hashed, synced, not yet in place.
type stagedBlob struct {
	tmp  string
	hash string
	size int64
}

// stageBufs are stage's write buffers.
var stageBufs = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// stage streams r into a temporary file while hashing it: the body is never held in memory.
func (s *Store) stage(r io.Reader) (*stagedBlob, error) {
	f, err := os.CreateTemp(filepath.Join(s.blobs, "tmp"), "blob-*")
	if err != nil {
		return nil, fmt.Errorf("store: create temporary blob: %w", err)
	}
	h := sha256.New()
	// Through a buffer: a body often arrives in small reads (the simulator's base64 decoder
	// yields 768 bytes at a time), and each went to the file as a system call of its own
	// (146 writes for a 105 KiB document; issue 13).
	bw := stageBufs.Get().(*bufio.Writer)
	bw.Reset(f)
	n, err := io.Copy(io.MultiWriter(bw, h), r)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	stageBufs.Put(bw)
	if err == nil && s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("store: write blob: %w", err)
	}
	return &stagedBlob{tmp: f.Name(), hash: hex.EncodeToString(h.Sum(nil)), size: n}, nil
}

func (b *stagedBlob) discard() { _ = os.Remove(b.tmp) }

// Staged is a document body streamed into the store's temporary directory (Stage), hashed
// and synced, not yet published: read it (Open) to check it, then PublishStaged or
// ReplaceStaged it, or Discard it. A crash leaves it to the next Open, which removes it.
type Staged struct{ b *stagedBlob }

// Stage streams r into a temporary file while hashing it; the body is never held in memory.
func (s *Store) Stage(r io.Reader) (*Staged, error) {
	b, err := s.stage(r)
	if err != nil {
		return nil, err
	}
	return &Staged{b: b}, nil
}

// Hash is the staged body's SHA-256, lower-case hex.
func (st *Staged) Hash() string { return st.b.hash }

// Size is the staged body's length.
func (st *Staged) Size() int64 { return st.b.size }

// Open opens the staged body for reading.
func (st *Staged) Open() (*os.File, error) {
	if st.b == nil {
		return nil, fmt.Errorf("store: staged body already used: %w", ErrInvalid)
	}
	return os.Open(st.b.tmp)
}

// Discard removes the staged body (a no-op once published or discarded).
func (st *Staged) Discard() {
	if b := st.take(); b != nil {
		b.discard()
	}
}

func (st *Staged) take() *stagedBlob {
	b := st.b
	st.b = nil
	return b
}

// TempFile creates a file in the store's temporary directory (blobs/tmp, emptied on Open):
// the simulator spools large request texts there. The caller removes it.
func (s *Store) TempFile(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Join(s.blobs, "tmp"), pattern)
	if err != nil {
		return nil, fmt.Errorf("store: temporary file: %w", err)
	}
	return f, nil
}

// blobPath is blobs/<first two hex>/<full hash>.
func (s *Store) blobPath(hash string) string {
	return filepath.Join(s.blobs, hash[:2], hash)
}

// commit moves the staged file to its content address. An existing file with the same hash
// already holds the same bytes, so the staged copy is dropped.
func (s *Store) commit(b *stagedBlob) error {
	dst := s.blobPath(b.hash)
	if _, err := os.Stat(dst); err == nil {
		b.discard()
		return nil
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: blob directory: %w", err)
	}
	if err := os.Rename(b.tmp, dst); err != nil {
		return fmt.Errorf("store: place blob: %w", err)
	}
	if s.sync {
		if d, err := os.Open(dir); err == nil {
			err = d.Sync()
			_ = d.Close()
			if err != nil {
				return fmt.Errorf("store: sync blob directory: %w", err)
			}
		}
	}
	return nil
}

// openBlob opens the body with the given hash.
func (s *Store) openBlob(hash string) (*os.File, error) {
	if len(hash) != sha256.Size*2 {
		return nil, fmt.Errorf("store: bad blob hash %q: %w", hash, ErrInvalid)
	}
	f, err := os.Open(s.blobPath(hash))
	if err != nil {
		return nil, fmt.Errorf("store: open blob: %w", err)
	}
	return f, nil
}
