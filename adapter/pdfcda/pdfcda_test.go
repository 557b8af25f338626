package pdfcda_test

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

var lab = pdfcdatest.CDA{}.Bytes()

func TestReadGenerated(t *testing.T) {
	cases := []struct {
		name        string
		pdf         pdfcdatest.PDF
		wantCDA     []byte
		attachments []string
		sigs        int
		covers      bool
	}{
		{"flate", pdfcdatest.PDF{Attachment: lab}, lab, []string{"cda.xml"}, 0, false},
		{"uncompressed", pdfcdatest.PDF{Attachment: lab, Uncompressed: true}, lab, []string{"cda.xml"}, 0, false},
		{"signed", pdfcdatest.PDF{Attachment: lab, Sign: true}, lab, []string{"cda.xml"}, 1, true},
		{"kids", pdfcdatest.PDF{Attachment: lab, Kids: true}, lab, []string{"cda.xml"}, 0, false},
		{"object stream and kids", pdfcdatest.PDF{Attachment: lab, Kids: true, ObjectStream: true, Sign: true}, lab, []string{"cda.xml"}, 1, true},
		{"appended after signature", pdfcdatest.PDF{Attachment: lab, Sign: true, AppendAfterSign: true}, lab, []string{"cda.xml"}, 1, false},
		{"no attachment", pdfcdatest.PDF{}, nil, nil, 0, false},
		{"other attachment", pdfcdatest.PDF{Attachment: []byte("x"), AttachmentName: "referto.txt"}, nil, []string{"referto.txt"}, 0, false},
		{"upper-case name is not cda.xml", pdfcdatest.PDF{Attachment: lab, AttachmentName: "CDA.XML"}, nil, []string{"CDA.XML"}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.pdf.Bytes()
			doc, err := pdfcda.Read(data, pdfcda.Limits{})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if doc.Format != pdfcda.FormatPDF || doc.PDFVersion != "1.7" {
				t.Errorf("format %q version %q", doc.Format, doc.PDFVersion)
			}
			if !bytes.Equal(doc.CDA, tc.wantCDA) {
				t.Errorf("CDA = %d bytes, want %d", len(doc.CDA), len(tc.wantCDA))
			}
			if fmt.Sprint(doc.Attachments) != fmt.Sprint(tc.attachments) {
				t.Errorf("attachments %v, want %v", doc.Attachments, tc.attachments)
			}
			if len(doc.Signatures) != tc.sigs {
				t.Fatalf("%d signatures, want %d", len(doc.Signatures), tc.sigs)
			}
			if tc.sigs > 0 {
				s := doc.Signatures[0]
				if s.CoversWholeFile != tc.covers || s.SubFilter != "ETSI.CAdES.detached" || s.Type != "Sig" || s.ContentsSize != 4096 {
					t.Errorf("signature %+v, want covers=%v", s, tc.covers)
				}
				// The gap must be exactly the /Contents hex string.
				br := s.ByteRange
				if data[br[1]] != '<' || data[br[2]-1] != '>' {
					t.Errorf("ByteRange gap [%d,%d) is not the /Contents string", br[1], br[2])
				}
			}
		})
	}
}

func TestReadXMLAndUnknown(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		format pdfcda.Format
		err    error
	}{
		{"xml", lab, pdfcda.FormatXML, nil},
		{"xml with BOM and blanks", append([]byte("\xef\xbb\xbf\n  "), lab...), pdfcda.FormatXML, nil},
		{"zip", []byte("PK\x03\x04rest"), "", pdfcda.ErrUnknownFormat},
		{"empty", nil, "", pdfcda.ErrUnknownFormat},
		{"DER but not SignedData", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, "", pdfcda.ErrNotP7M},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := pdfcda.Read(tc.data, pdfcda.Limits{})
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && (doc.Format != tc.format || !bytes.Equal(doc.CDA, tc.data)) {
				t.Fatalf("format %q, CDA %d bytes", doc.Format, len(doc.CDA))
			}
		})
	}
}

// TestSamples reads the ministry's signed PDFs: the embedded cda.xml must be byte for byte
// the published cda/<TYPE>.xml, with one PAdES signature covering the whole file.
func TestSamples(t *testing.T) {
	dir := testenv.SamplesDir(t)
	for _, s := range pdfcdatest.Samples {
		t.Run(s.Type, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "signed-pdf", s.Type+".pdf"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, "cda", s.Type+".xml"))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := pdfcda.Read(data, pdfcda.Limits{})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !bytes.Equal(doc.CDA, want) {
				t.Errorf("cda.xml differs from cda/%s.xml (%d vs %d bytes)", s.Type, len(doc.CDA), len(want))
			}
			if !bytes.Contains(doc.CDA, []byte(`"`+s.LOINC+`"`)) || !bytes.Contains(doc.CDA, []byte(s.PatientCF)) {
				t.Errorf("cda.xml lacks the README's LOINC or patient")
			}
			if len(doc.Signatures) != 1 || !doc.Signatures[0].CoversWholeFile || doc.Signatures[0].SubFilter != "ETSI.CAdES.detached" {
				t.Errorf("signatures %+v", doc.Signatures)
			}
			// poppler's pdfsig verifies these real signatures independently.
			{
				pdfsig := testenv.Tool(t, "pdfsig", "apt-get install poppler-utils")
				out, _ := exec.Command(pdfsig, filepath.Join(dir, "signed-pdf", s.Type+".pdf")).CombinedOutput()
				total := strings.Contains(string(out), "Total document signed")
				n := strings.Count(string(out), "Signature #")
				if n != len(doc.Signatures) || total != doc.Signatures[0].CoversWholeFile {
					t.Errorf("pdfsig: %d signatures, total=%v; ours %d, covers=%v", n, total, len(doc.Signatures), doc.Signatures[0].CoversWholeFile)
				}
				// Bytes appended after the signature: both must say it no longer covers the file.
				appended := append(append([]byte(nil), data...), "\n% appended after signing\n"...)
				path := filepath.Join(t.TempDir(), "appended.pdf")
				if err := os.WriteFile(path, appended, 0o600); err != nil {
					t.Fatal(err)
				}
				out, _ = exec.Command(pdfsig, path).CombinedOutput()
				doc2, err := pdfcda.Read(appended, pdfcda.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(out), "Total document signed") || doc2.Signatures[0].CoversWholeFile {
					t.Errorf("appended: pdfsig total=%v, ours covers=%v; want both false", strings.Contains(string(out), "Total document signed"), doc2.Signatures[0].CoversWholeFile)
				}
			}
		})
	}
}

// TestQPDFAgrees checks the reader against qpdf, an independent implementation: the same
// attachment bytes and the same /ByteRange.
func TestQPDFAgrees(t *testing.T) {
	qpdf := testenv.Tool(t, "qpdf", "apt-get install qpdf")
	dir := t.TempDir()
	for _, f := range pdfcdatest.Fixtures() {
		if !strings.HasSuffix(f.Name, ".pdf") {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			path := filepath.Join(dir, f.Name)
			if err := os.WriteFile(path, f.Data, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(qpdf, "--check", path).CombinedOutput(); err != nil {
				t.Fatalf("qpdf --check: %v\n%s", err, out)
			}
			doc, err := pdfcda.Read(f.Data, pdfcda.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := exec.Command(qpdf, "--show-attachment=cda.xml", path).Output()
			if err != nil {
				if doc.CDA != nil {
					t.Fatalf("qpdf finds no cda.xml, we found %d bytes", len(doc.CDA))
				}
			} else if !bytes.Equal(theirs, doc.CDA) {
				t.Fatalf("qpdf's cda.xml (%d bytes) differs from ours (%d bytes)", len(theirs), len(doc.CDA))
			}
			js, err := exec.Command(qpdf, "--json=2", "--json-key=qpdf", path).Output()
			if err != nil {
				t.Fatalf("qpdf --json: %v", err)
			}
			var parsed struct {
				Qpdf []json.RawMessage `json:"qpdf"`
			}
			var objects map[string]struct {
				Value map[string]any `json:"value"`
			}
			if err := json.Unmarshal(js, &parsed); err != nil || len(parsed.Qpdf) != 2 {
				t.Fatalf("qpdf json: %v", err)
			}
			if err := json.Unmarshal(parsed.Qpdf[1], &objects); err != nil {
				t.Fatal(err)
			}
			var ranges []string
			for _, o := range objects {
				if br, ok := o.Value["/ByteRange"]; ok {
					ranges = append(ranges, fmt.Sprint(br))
				}
			}
			sort.Strings(ranges)
			var ours []string
			for _, s := range doc.Signatures {
				var v []any
				for _, n := range s.ByteRange {
					v = append(v, float64(n))
				}
				ours = append(ours, fmt.Sprint(v))
			}
			sort.Strings(ours)
			if fmt.Sprint(ranges) != fmt.Sprint(ours) {
				t.Fatalf("qpdf ByteRanges %v, ours %v", ranges, ours)
			}
		})
	}
}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	zw := zlib.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// pdfWith wraps raw object text in a minimal PDF whose catalog points at an embedded cda.xml
// stream with the given dictionary extras and data.
func pdfWith(streamDict string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Names << /EmbeddedFiles 2 0 R >> >>\nendobj\n")
	b.WriteString("2 0 obj\n<< /Names [(cda.xml) 3 0 R] >>\nendobj\n")
	b.WriteString("3 0 obj\n<< /Type /Filespec /F (cda.xml) /EF << /F 4 0 R >> >>\nendobj\n")
	fmt.Fprintf(&b, "4 0 obj\n<< %s /Length %d >>\nstream\n", streamDict, len(data))
	b.Write(data)
	b.WriteString("\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return b.Bytes()
}

func TestHostile(t *testing.T) {
	bomb := deflate(make([]byte, 8<<20)) // 8 MiB of zeros in a few KiB
	deep := "%PDF-1.4\n1 0 obj\n" + strings.Repeat("[", 10000) + "\nendobj\n"
	cases := []struct {
		name string
		data []byte
		lim  pdfcda.Limits
		want any // *pdfcda.LimitError, *pdfcda.SyntaxError, *pdfcda.UnsupportedError, or nil
	}{
		{"inflate bomb", pdfWith("/Filter /FlateDecode", bomb), pdfcda.Limits{MaxInflate: 1 << 20}, &pdfcda.LimitError{}},
		{"bomb within limit", pdfWith("/Filter /FlateDecode", bomb), pdfcda.Limits{MaxInflate: 16 << 20}, nil},
		{"corrupt flate", pdfWith("/Filter /FlateDecode", []byte("x\x9cnot deflate")), pdfcda.Limits{}, &pdfcda.SyntaxError{}},
		{"unsupported filter", pdfWith("/Filter /LZWDecode", []byte("abc")), pdfcda.Limits{}, &pdfcda.UnsupportedError{}},
		{"deep nesting", []byte(deep + "trailer << /Root 1 0 R >>"), pdfcda.Limits{}, &pdfcda.LimitError{}},
		{"too many objects", []byte("%PDF-1.4\n" + strings.Repeat("1 0 obj null endobj 2 0 obj null endobj 3 0 obj null endobj ", 1)), pdfcda.Limits{MaxObjects: 2}, &pdfcda.LimitError{}},
		{"no catalog", []byte("%PDF-1.4\n1 0 obj << >> endobj\n"), pdfcda.Limits{}, &pdfcda.SyntaxError{}},
		{"lying Length", bytes.Replace(pdfWith("", lab), []byte(fmt.Sprintf("/Length %d", len(lab))), []byte("/Length 99999999"), 1), pdfcda.Limits{}, nil},
		{"encrypted", bytes.Replace(pdfWith("", lab), []byte("<< /Root 1 0 R >>"), []byte("<< /Root 1 0 R /Encrypt << /Filter /Standard /V 2 >> >>"), 1), pdfcda.Limits{}, &pdfcda.UnsupportedError{}},
		{"reference loop", []byte("%PDF-1.4\n1 0 obj 2 0 R endobj\n2 0 obj 1 0 R endobj\ntrailer << /Root 1 0 R >>"), pdfcda.Limits{}, &pdfcda.LimitError{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pdfcda.Read(tc.data, tc.lim)
			switch w := tc.want.(type) {
			case nil:
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			case *pdfcda.LimitError:
				if !errors.As(err, &w) {
					t.Fatalf("err = %v, want *LimitError", err)
				}
			case *pdfcda.SyntaxError:
				if !errors.As(err, &w) {
					t.Fatalf("err = %v, want *SyntaxError", err)
				}
			case *pdfcda.UnsupportedError:
				if !errors.As(err, &w) {
					t.Fatalf("err = %v, want *UnsupportedError", err)
				}
			}
		})
	}
}

// TestTruncated reads every prefix length class of a signed fixture: never a panic, and the
// CDA is either complete or absent.
func TestTruncated(t *testing.T) {
	data := pdfcdatest.PDF{Attachment: lab, Sign: true, ObjectStream: true, Kids: true}.Bytes()
	for n := 0; n < len(data); n += 97 {
		doc, err := pdfcda.Read(data[:n], pdfcda.Limits{})
		if err == nil && doc.CDA != nil && !bytes.Equal(doc.CDA, lab) {
			t.Fatalf("prefix %d: partial CDA of %d bytes returned", n, len(doc.CDA))
		}
	}
}

func FuzzPDF(f *testing.F) {
	for _, fx := range pdfcdatest.Fixtures() {
		f.Add(fx.Data)
	}
	f.Add(pdfWith("/Filter /FlateDecode", deflate(lab)))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := pdfcda.Read(data, pdfcda.Limits{MaxInflate: 4 << 20, MaxObjects: 10000})
		if err == nil && doc.CDA != nil && len(doc.CDA) > 4<<20 && doc.Format == pdfcda.FormatPDF {
			t.Fatalf("CDA of %d bytes beyond the inflate cap", len(doc.CDA))
		}
	})
}

// BenchmarkRead50MB reads a 50 MB signed PDF (a 50 MB incompressible stream plus cda.xml)
// and reports the peak heap above the input: the reader must not copy the file.
func BenchmarkRead50MB(b *testing.B) {
	gen := pdfcdatest.PDF{Attachment: lab, Sign: true, PadTo: 50 << 20}.Bytes()
	data := make([]byte, len(gen)) // exactly one copy of the file, as a caller would hold it
	copy(data, gen)
	gen = nil
	b.SetBytes(int64(len(data)))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	b.ResetTimer()
	for b.Loop() {
		doc, err := pdfcda.Read(data, pdfcda.Limits{})
		if err != nil || !bytes.Equal(doc.CDA, lab) || len(doc.Signatures) != 1 || !doc.Signatures[0].CoversWholeFile {
			b.Fatalf("Read: %v", err)
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapAlloc > peak {
			peak = m.HeapAlloc
		}
	}
	b.ReportMetric(float64(len(data))/(1<<20), "file-MiB")
	b.ReportMetric(float64(peak)/float64(len(data)), "peak-heap/file")
	b.ReportMetric(float64(peak-min(peak, before.HeapAlloc))/(1<<20), "peak-extra-MiB")
}
