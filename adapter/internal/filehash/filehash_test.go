package filehash

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

func TestFile(t *testing.T) {
	for _, size := range []int{0, 1, bufSize - 1, bufSize, 3*bufSize + 7} {
		data := bytes.Repeat([]byte{byte(size)}, size)
		p := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		n, sum, err := File(p)
		want := sha256.Sum256(data)
		if err != nil || n != int64(size) || sum != hex.EncodeToString(want[:]) {
			t.Fatalf("size %d: got %d %s %v", size, n, sum, err)
		}
	}
	if _, _, err := File(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	if _, _, err := Reader(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the read error", err)
	}
}

func TestFileReusesItsBuffer(t *testing.T) {
	if testenv.RaceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers on purpose")
	}
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 100<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, _ = File(p)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	before := m.TotalAlloc
	const n = 50
	for range n {
		_, _, _ = File(p)
	}
	runtime.ReadMemStats(&m)
	// An open file, a hash state and its sum are a few hundred bytes per hash.
	if grew := m.TotalAlloc - before; grew > n*bufSize/4 {
		t.Fatalf("%d bytes allocated by %d hashes: a %d-byte read buffer is allocated each time", grew, n, bufSize)
	}
}
