package pdfcda_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/readcount"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

// sameAt asserts that reading data through an io.ReaderAt, with the default windows and
// with tiny ones (every parse crosses window boundaries), says exactly what Read (and
// ReadRepair) say of the bytes in memory.
func sameAt(t *testing.T, name string, data []byte, lim pdfcda.Limits) {
	t.Helper()
	sameAtWindows(t, name, data, lim, [2]int{0, 0}, [2]int{1, 1}, [2]int{3, 17}, [2]int{64, 256})
}

func sameAtWindows(t *testing.T, name string, data []byte, lim pdfcda.Limits, windows ...[2]int) {
	t.Helper()
	for _, repair := range []bool{false, true} {
		read := pdfcda.Read
		if repair {
			read = pdfcda.ReadRepair
		}
		want, werr := read(data, lim)
		for _, w := range windows {
			var got *pdfcda.Document
			var gerr error
			if w[0] == 0 {
				at := pdfcda.ReadAt
				if repair {
					at = pdfcda.ReadRepairAt
				}
				got, gerr = at(readcount.Bytes(data), int64(len(data)), lim)
			} else {
				got, gerr = pdfcda.ReadAtWindows(readcount.Bytes(data), int64(len(data)), lim, repair, w[0], w[1])
			}
			if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
				t.Fatalf("%s (repair %v, windows %v): ReadAt error %v, Read error %v", name, repair, w, gerr, werr)
			}
			if !reflect.DeepEqual(normal(got), normal(want)) {
				t.Fatalf("%s (repair %v, windows %v): ReadAt found\n%+v\nRead found\n%+v", name, repair, w, got, want)
			}
		}
	}
}

// normal makes empty and nil byte slices compare equal (a copy of an empty string is not nil).
func normal(d *pdfcda.Document) *pdfcda.Document {
	if d == nil {
		return nil
	}
	c := *d
	c.Signatures = append([]pdfcda.Signature(nil), d.Signatures...)
	for i := range c.Signatures {
		if len(c.Signatures[i].Contents) == 0 {
			c.Signatures[i].Contents = nil
		}
	}
	if c.CDAFile != nil {
		i := 0
		for i < len(c.EmbeddedFiles) && &d.EmbeddedFiles[i] != d.CDAFile {
			i++
		}
		c.CDAFile = nil
		c.EmbeddedFiles = append([]pdfcda.EmbeddedFile(nil), d.EmbeddedFiles...)
		if i < len(c.EmbeddedFiles) {
			c.CDAFile = &c.EmbeddedFiles[i]
		}
	}
	return &c
}

// TestReadAtSame: every fixture, hostile case and truncated prefix reads the same from a
// file as from memory, errors included.
func TestReadAtSame(t *testing.T) {
	for _, fx := range pdfcdatest.Fixtures() {
		sameAt(t, fx.Name, fx.Data, pdfcda.Limits{})
	}
	for _, h := range hostileCases() {
		if len(h.data) < 1<<20 {
			sameAt(t, h.name, h.data, h.lim)
		}
	}
	sameAt(t, "small signed", smallSigned(), pdfcda.Limits{})
	sameAt(t, "repeated obj", pdfcdatest.RepeatedObjPDF(4<<10), pdfcda.Limits{})
	sameAt(t, "flate cda", pdfWith("/Filter /FlateDecode", deflate(lab)), pdfcda.Limits{})
	sameAt(t, "xml", lab, pdfcda.Limits{})
	sameAt(t, "empty", nil, pdfcda.Limits{})
	for _, p := range []pdfcdatest.PDF{{Attachment: lab, Sign: true, ObjectStream: true, Kids: true}, {Attachment: lab, Sign: true, AppendAfterSign: true}} {
		data := p.Bytes()
		for n := 0; n < len(data); n += 211 {
			sameAt(t, "prefix", data[:n], pdfcda.Limits{})
		}
	}
}

// TestReadAtReadsLittle: a 20 MB signed PDF whose bulk is one stream is read through its
// cross-reference without reading that stream: a few read-ahead chunks, not the file.
func TestReadAtReadsLittle(t *testing.T) {
	data := pdfcdatest.PDF{Attachment: lab, Sign: true, PadTo: 20 << 20}.Bytes()
	r := readcount.Bytes(data)
	doc, err := pdfcda.ReadAt(r, int64(len(data)), pdfcda.Limits{})
	if err != nil || !bytes.Equal(doc.CDA, lab) || len(doc.Signatures) != 1 || !doc.Signatures[0].CoversWholeFile {
		t.Fatalf("ReadAt: %v", err)
	}
	if r.BytesRead() > 1<<20 {
		t.Fatalf("read %d bytes of a %d-byte file (%d calls): the stream was read", r.BytesRead(), len(data), r.Calls())
	}
	t.Logf("read %d bytes of %d in %d calls", r.BytesRead(), len(data), r.Calls())
}

// TestReadAtErrors: a read error is reported as one (not as a broken PDF), and so is a
// file shorter than the size given.
func TestReadAtErrors(t *testing.T) {
	data := pdfcdatest.PDF{Attachment: lab, Sign: true}.Bytes()
	for _, fail := range []int64{1, 100, int64(len(data)) / 2, int64(len(data)) - 10} {
		for _, repair := range []bool{false, true} {
			at := pdfcda.ReadAt
			if repair {
				at = pdfcda.ReadRepairAt
			}
			_, err := at(readcount.Bytes(data).FailBeyond(fail), int64(len(data)), pdfcda.Limits{})
			var re *pdfcda.ReadError
			if !errors.Is(err, readcount.ErrDisk) || !errors.As(err, &re) {
				t.Fatalf("failing at %d (repair %v): %v, want the read error", fail, repair, err)
			}
		}
	}
	_, err := pdfcda.ReadAt(readcount.Bytes(data[:len(data)-100]), int64(len(data)), pdfcda.Limits{})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short file: %v, want io.ErrUnexpectedEOF", err)
	}
}

// BenchmarkReadAt100MB reads a 100 MB signed PDF from its file (*os.File) strictly: the
// cross-reference, the objects in windows, cda.xml; the 100 MB stream is skipped by its
// /Length and never read (B/op is what the reader allocates; read-MiB what it read).
func BenchmarkReadAt100MB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.pdf")
	if err := os.WriteFile(path, pdfcdatest.PDF{Attachment: lab, Sign: true, PadTo: 100 << 20}.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	r := readcount.New(f)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		doc, err := pdfcda.ReadAt(r, st.Size(), pdfcda.Limits{})
		if err != nil || !bytes.Equal(doc.CDA, lab) || len(doc.Signatures) != 1 || !doc.Signatures[0].CoversWholeFile {
			b.Fatalf("ReadAt: %v", err)
		}
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
	b.ReportMetric(float64(r.BytesRead())/float64(b.N)/(1<<20), "read-MiB")
}
