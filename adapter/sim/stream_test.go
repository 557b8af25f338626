package sim

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/generated/document"
)

// chunked reads at most n bytes per Read, so that every state of the scanner meets a chunk
// boundary.
type chunked struct {
	r io.Reader
	n func() int
}

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n())]) }

func tempIn(t *testing.T) func() (*os.File, error) {
	dir := t.TempDir()
	return func() (*os.File, error) { return os.CreateTemp(dir, "elided-*") }
}

// restore puts the elided texts back in place of their markers.
func restore(t *testing.T, q *request) []byte {
	t.Helper()
	out := q.skeleton
	for _, e := range q.elided {
		b, err := io.ReadAll(io.NewSectionReader(e.file, 0, e.size))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(out, []byte(e.marker)) != 1 {
			t.Fatalf("marker found %d times", bytes.Count(out, []byte(e.marker)))
		}
		out = bytes.Replace(out, []byte(e.marker), b, 1)
	}
	return out
}

// TestReadRequestSplits: large base64 texts leave the skeleton, everything else stays byte
// for byte, whatever the chunking and whatever markup surrounds them ('<' and '>' in
// comments, CDATA, attribute values, processing instructions).
func TestReadRequestSplits(t *testing.T) {
	old := elideThreshold
	elideThreshold = 1 << 10
	defer func() { elideThreshold = old }()
	big := strings.Repeat("QUJDRA==", 300) // 2,400 bytes of base64
	wrapped := strings.Repeat(strings.Repeat("QUJD", 19)+"\n", 40)
	cases := []struct {
		name   string
		env    string
		elided int
	}{
		{"plain", `<a><b>` + big + `</b></a>`, 1},
		{"small text stays", `<a><b>QUJD</b></a>`, 0},
		{"wrapped lines", `<a><b>` + wrapped + `</b></a>`, 1},
		{"markup around", `<?xml version="1.0"?><!DOCTYPE a><a x='>' y="<>"><!-- <b>` + big + `</b> --><![CDATA[ ]]]> <c> ]]><b z="1">` + big + `</b><?pi <x> ?><b>` + big + `</b></a>`, 2},
		{"not base64 stays", `<a><b>` + strings.Repeat("a&amp;b ", 400) + `</b></a>`, 0},
		{"entity first stays", `<a><b>&lt;` + big + `</b></a>`, 0},
	}
	for _, tc := range cases {
		for _, step := range []int{1, 3, 7, 1000, 1 << 20} {
			q, err := readRequest(chunked{strings.NewReader(tc.env), func() int { return step }}, int64(len(tc.env)), tempIn(t))
			if err != nil {
				t.Fatalf("%s/%d: %v", tc.name, step, err)
			}
			if len(q.elided) != tc.elided {
				t.Errorf("%s/%d: %d elided, want %d", tc.name, step, len(q.elided), tc.elided)
			}
			if got := restore(t, q); string(got) != tc.env {
				t.Errorf("%s/%d: restored request differs", tc.name, step)
			}
			q.close()
		}
	}
	// Character references of white space are resolved in the file; carriage returns make
	// the canonical form write &#xD;.
	env := `<a><b>` + strings.Repeat("QUJD&#13;&#xA;", 200) + `</b></a>`
	q, err := readRequest(chunked{strings.NewReader(env), func() int { return 5 }}, -1, tempIn(t))
	if err != nil || len(q.elided) != 1 {
		t.Fatalf("%v %d", err, len(q.elided))
	}
	defer q.close()
	e := q.elided[0]
	var canon bytes.Buffer
	if err := e.canonical(&canon); err != nil || canon.String() != strings.Repeat("QUJD&#xD;\n", 200) || !e.hasCR {
		t.Fatalf("canonical %q… %v", canon.String()[:min(40, canon.Len())], err)
	}
	dec, err := io.ReadAll(e.decoded())
	if err != nil || string(dec) != strings.Repeat("ABC", 200) {
		t.Fatalf("decoded %q… %v", dec[:min(12, len(dec))], err)
	}
}

// TestReadRequestRefuses: a long text that turns out not to be base64, and markup over the
// cap, are refused; the temporary files are removed.
func TestReadRequestRefuses(t *testing.T) {
	old := elideThreshold
	elideThreshold = 1 << 10
	defer func() { elideThreshold = old }()
	dir := t.TempDir()
	newTemp := func() (*os.File, error) { return os.CreateTemp(dir, "elided-*") }
	for name, env := range map[string]string{
		"non-base64 after the threshold": `<a><b>` + strings.Repeat("QUJD", 400) + `-` + `</b></a>`,
		"unknown reference":              `<a><b>` + strings.Repeat("QUJD", 400) + `&amp;</b></a>`,
		"too many large texts":           `<a>` + strings.Repeat(`<b>`+strings.Repeat("QUJD", 400)+`</b>`, maxElided+1) + `</a>`,
	} {
		// In chunks of 100 bytes: the file is open when the bad byte arrives.
		if _, err := readRequest(chunked{strings.NewReader(env), func() int { return 100 }}, -1, newTemp); !errors.Is(err, errLargeText) {
			t.Errorf("%s: %v, want errLargeText", name, err)
		}
	}
	many := `<a>` + strings.Repeat(`<b x="1"/>`, maxSkeleton/10+1) + `</a>`
	if _, err := readRequest(strings.NewReader(many), -1, newTemp); !errors.Is(err, errSkeleton) {
		t.Errorf("markup over the cap: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d temporary files left", len(ents))
	}
	// Random chunking never changes the result.
	big := `<a><b>` + strings.Repeat("QUJD", 2000) + `</b><!-- x --></a>`
	for i := 0; i < 20; i++ {
		q, err := readRequest(chunked{strings.NewReader(big), func() int { return 1 + rand.IntN(50) }}, -1, newTemp)
		if err != nil || string(restore(t, q)) != big {
			t.Fatalf("random chunks: %v", err)
		}
		q.close()
	}
}

// BenchmarkReadRequest: splitting a small signed envelope (what every request pays) and a
// 20 MB document's envelope (the scanner, the SHA-256 and the file write of its text).
func BenchmarkReadRequest(b *testing.B) {
	h := startSim(b, nil)
	small := h.secure(ServiceConsenso, "statoConsensi", patA, consentReq(patA, true), nil)
	big := marshalEnvelope(b, &document.AddDocument{Document: docFor(bytes.Repeat([]byte("%PDF-1.7 "), 20<<20/9))})
	dir := b.TempDir()
	newTemp := func() (*os.File, error) { return os.CreateTemp(dir, "elided-*") }
	for _, tc := range []struct {
		name string
		env  []byte
	}{{"small", small}, {"20MB", big}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.env)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				q, err := readRequest(bytes.NewReader(tc.env), int64(len(tc.env)), newTemp)
				if err != nil {
					b.Fatal(err)
				}
				q.close()
			}
		})
	}
}
