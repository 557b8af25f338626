package adapter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sumHex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestStreamBody: the body is the envelope with the placeholder replaced by the file's
// base64, of the announced length, for sizes around the 3-byte and chunk boundaries.
func TestStreamBody(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 1000, 48<<10 - 1, 48 << 10, 48<<10 + 1, 48<<10 + 2, 96 << 10, 300_001} {
		content := testPDF(t, n)
		s, raw := newStreamDoc(writeTemp(t, content), int64(n), sumHex(content))
		env := []byte("<Envelope><Body><document>" + base64.StdEncoding.EncodeToString(raw) + "</document></Body></Envelope>")
		rc, size, err := s.body(env)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		want := "<Envelope><Body><document>" + base64.StdEncoding.EncodeToString(content) + "</document></Body></Envelope>"
		if string(got) != want || size != int64(len(want)) {
			t.Errorf("%d bytes: body differs (len %d, announced %d, want %d)", n, len(got), size, len(want))
		}
	}
}

// TestStreamBodyReusesItsBuffers: the encoding buffers of a document of a chunk or more come
// from a pool (a batch sends thousands; issue 13), and a small one's are of its size.
func TestStreamBodyReusesItsBuffers(t *testing.T) {
	if testenv.RaceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers on purpose")
	}
	for _, c := range []struct{ n, max int }{
		{3 << 10, 4 * 3 << 10}, // buffers of its size: 2.3 times the document
		{200 << 10, 16 << 10},  // the 112 KiB of chunk buffers reused
	} {
		n := c.n
		content := testPDF(t, n)
		path := writeTemp(t, content)
		send := func() {
			s, raw := newStreamDoc(path, int64(n), sumHex(content))
			rc, _, err := s.body([]byte("<a>" + base64.StdEncoding.EncodeToString(raw) + "</a>"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				t.Fatal(err)
			}
			rc.Close()
		}
		send()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		before := m.TotalAlloc
		const sends = 20
		for range sends {
			send()
		}
		runtime.ReadMemStats(&m)
		// What is left per send is the file, the hash state, the readers and, for a small
		// document, buffers of its size.
		per := (m.TotalAlloc - before) / sends
		t.Logf("%d-byte document: %d bytes allocated per send", n, per)
		if per > uint64(c.max) {
			t.Errorf("%d-byte document: %d bytes allocated per send, want at most %d", n, per, c.max)
		}
	}
}

// TestStreamBodyRefusesAChangedFile: a file whose bytes differ from the hash fails the
// read before its end; one whose size differs fails before anything is sent.
func TestStreamBodyRefusesAChangedFile(t *testing.T) {
	var ie *InputError
	for _, n := range []int{3000, 100_000} { // one chunk, several
		content := testPDF(t, n)
		s, raw := newStreamDoc(writeTemp(t, content), int64(len(content)), sumHex([]byte("something else")))
		rc, _, err := s.body([]byte("<a>" + base64.StdEncoding.EncodeToString(raw) + "</a>"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(rc)
		rc.Close()
		if !errors.As(err, &ie) || ie.Field != "body" {
			t.Errorf("%d bytes, changed content: err = %v", n, err)
		}
	}
	content := testPDF(t, 100_000)
	path := writeTemp(t, content)
	s, raw := newStreamDoc(path, int64(len(content))+1, sumHex(content))
	if _, _, err := s.body([]byte("<a>" + base64.StdEncoding.EncodeToString(raw) + "</a>")); !errors.As(err, &ie) {
		t.Errorf("changed size: err = %v", err)
	}
	if _, _, err := s.body([]byte("<a>no placeholder</a>")); err == nil {
		t.Error("an envelope without the placeholder was accepted")
	}
}

// TestPublishFromPath publishes a file by path through the whole stack (gowsdl, WS-Security
// verified by the fake region, mutual TLS): the region holds exactly the file's bytes, and
// the hash and size come from the file.
func TestPublishFromPath(t *testing.T) {
	r := newRegion(t)
	c := r.client(t)
	req := publishRequest(make([]byte, 200_001), "STREAM1")
	content := req.Body
	req.Body, req.Path = nil, writeTemp(t, content)
	if _, err := c.Documents.Publish(context.Background(), req); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	r.mu.Lock()
	d, ok := r.docs["2.16.840.1.113883.2.9.2.160.4.4^STREAM1"]
	r.mu.Unlock()
	if !ok || !bytes.Equal(d.doc.Document, content) {
		t.Fatalf("the region did not receive the file's bytes (found %v)", ok)
	}
	req.Path = filepath.Join(t.TempDir(), "missing.pdf")
	var ie *InputError
	if _, err := c.Documents.Publish(context.Background(), req); !errors.As(err, &ie) || ie.Field != "path" {
		t.Errorf("missing file: err = %v", err)
	}
}
