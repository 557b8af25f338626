package pdfcda_test

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
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
				if len(s.Contents) != 4096 || s.Object != 11 || s.M != "D:20260315103000+01'00'" || s.Filter != "Adobe.PPKLite" {
					t.Errorf("signature dictionary: object %d, M %q, filter %q, %d bytes of contents", s.Object, s.M, s.Filter, len(s.Contents))
				}
				want := 0
				if tc.pdf.AppendAfterSign {
					want = 1
				}
				if s.UpdatesAfter != want {
					t.Errorf("UpdatesAfter %d, want %d", s.UpdatesAfter, want)
				}
				r, err := s.SignedData(data)
				if err != nil {
					t.Fatal(err)
				}
				signed, _ := io.ReadAll(r)
				if !bytes.Equal(signed, append(append([]byte{}, data[:br[1]]...), data[br[2]:br[2]+br[3]]...)) {
					t.Error("SignedData is not the two ranges")
				}
			}
			revisions := 1
			if tc.pdf.AppendAfterSign {
				revisions = 2
			}
			if doc.Revisions != revisions || doc.XRefStream != tc.pdf.ObjectStream || doc.Repaired != "" {
				t.Errorf("revisions %d xref stream %v repaired %q", doc.Revisions, doc.XRefStream, doc.Repaired)
			}
			if tc.wantCDA != nil {
				e := doc.CDAFile
				wantFilter := "FlateDecode"
				if tc.pdf.Uncompressed {
					wantFilter = ""
				}
				if e == nil || e.Name != "cda.xml" || e.UF != "cda.xml" || e.F != "cda.xml" || e.Subtype != "text/xml" || e.Filter != wantFilter ||
					e.Size != int64(len(lab)) || e.AFRelationship != "Data" || e.InAF || e.Spec != 6 || e.Stream != 7 {
					t.Errorf("cda.xml file %+v", e)
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
			if len(doc.Signatures) != 1 || !doc.Signatures[0].CoversWholeFile || doc.Signatures[0].SubFilter != "ETSI.CAdES.detached" ||
				doc.Signatures[0].UpdatesAfter != 0 || len(doc.Signatures[0].Contents) == 0 || doc.Signatures[0].Contents[0] != 0x30 || doc.Revisions != 2 {
				t.Errorf("signatures %+v, %d revisions", doc.Signatures, doc.Revisions)
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

// qpdfCheck runs qpdf --check on data: true when qpdf finds nothing wrong (exit 0; 2 is
// errors, 3 warnings such as "file is damaged, reconstructing the cross-reference").
func qpdfCheck(t *testing.T, qpdf, dir, name string, data []byte) (bool, string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(qpdf, "--check", path).CombinedOutput()
	return err == nil, string(out)
}

// TestQPDFAgrees checks the reader against qpdf, an independent implementation, on every
// fixture: the same structural verdict (qpdf --check clean exactly when Read finds no
// *StructureError), the same attachment bytes and the same /ByteRange.
func TestQPDFAgrees(t *testing.T) {
	qpdf := testenv.Tool(t, "qpdf", "apt-get install qpdf")
	dir := t.TempDir()
	for _, f := range pdfcdatest.Fixtures() {
		if !strings.HasSuffix(f.Name, ".pdf") {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			path := filepath.Join(dir, f.Name)
			clean, out := qpdfCheck(t, qpdf, dir, f.Name, f.Data)
			doc, err := pdfcda.Read(f.Data, pdfcda.Limits{})
			var se *pdfcda.StructureError
			if structural := errors.As(err, &se); clean == structural {
				t.Fatalf("qpdf --check clean=%v, our structure error: %v\n%s", clean, err, out)
			}
			if !clean {
				return
			}
			var ae *pdfcda.AttachmentError
			if errors.As(err, &ae) {
				// qpdf lists attachments by name: of two called cda.xml it shows one.
				if ae.Count != 2 || doc == nil || len(doc.Attachments) != 2 {
					t.Fatalf("attachment error %v, doc %+v", err, doc)
				}
				return
			}
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

// TestQPDFVerdicts: on every hostile case and on prefixes of the fixtures, we never accept
// what qpdf --check refuses, and we refuse what it accepts only for the reasons listed.
func TestQPDFVerdicts(t *testing.T) {
	qpdf := testenv.Tool(t, "qpdf", "apt-get install qpdf")
	dir := t.TempDir()
	stricter := map[string]string{
		"no %%EOF":      "ISO 32000-1 7.5.5 ends a file with %%EOF; qpdf does not require it, the issue does (a truncation)",
		"corrupt flate": "qpdf --check does not decode embedded file streams; we must decode cda.xml",
	}
	type tc struct {
		name string
		data []byte
	}
	var cases []tc
	for _, h := range hostileCases() {
		if h.lim == (pdfcda.Limits{}) {
			cases = append(cases, tc{h.name, h.data})
		}
	}
	for _, f := range pdfcdatest.Fixtures() {
		if f.Name == "lab-signed.pdf" || f.Name == "lab-objstm-kids.pdf" {
			for _, pct := range []int{10, 30, 50, 70, 90, 99} {
				cases = append(cases, tc{fmt.Sprintf("%s prefix %d%%", f.Name, pct), f.Data[:len(f.Data)*pct/100]})
			}
		}
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clean, out := qpdfCheck(t, qpdf, dir, fmt.Sprintf("case%d.pdf", i), c.data)
			_, err := pdfcda.Read(c.data, pdfcda.Limits{})
			switch {
			case !clean && err == nil:
				t.Fatalf("we accept what qpdf --check refuses:\n%s", out)
			case clean && err != nil && stricter[c.name] == "":
				t.Fatalf("we refuse (%v) what qpdf --check accepts, for no listed reason", err)
			case clean && err == nil && stricter[c.name] != "":
				t.Fatalf("listed as stricter than qpdf (%s), but both accept", stricter[c.name])
			}
		})
	}
}

// TestQPDFRewritten reads the fixtures as qpdf rewrites them (object streams with a
// PNG-predicted cross-reference stream; linearized): the same cda.xml and structure verdict.
func TestQPDFRewritten(t *testing.T) {
	qpdf := testenv.Tool(t, "qpdf", "apt-get install qpdf")
	dir := t.TempDir()
	for _, name := range []string{"lab-unsigned.pdf", "lab-objstm-kids.pdf", "lab-uncompressed.pdf"} {
		var data []byte
		for _, f := range pdfcdatest.Fixtures() {
			if f.Name == name {
				data = f.Data
			}
		}
		in := filepath.Join(dir, name)
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"--object-streams=generate"}, {"--linearize"}, {"--object-streams=generate", "--linearize"}} {
			t.Run(name+" "+strings.Join(args, " "), func(t *testing.T) {
				out := filepath.Join(dir, "out.pdf")
				if msg, err := exec.Command(qpdf, append(append(args, in), out)...).CombinedOutput(); err != nil {
					t.Fatalf("qpdf %v: %v\n%s", args, err, msg)
				}
				rewritten, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				doc, err := pdfcda.Read(rewritten, pdfcda.Limits{})
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if !bytes.Equal(doc.CDA, lab) {
					t.Fatalf("cda.xml of %d bytes, want %d", len(doc.CDA), len(lab))
				}
				if args[0] == "--object-streams=generate" && !doc.XRefStream {
					t.Fatal("qpdf wrote object streams but we saw no cross-reference stream")
				}
			})
		}
	}
}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	zw := zlib.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// obj is one indirect object for mkPDF: its value, or a stream dictionary's entries (without
// << >> and /Length) when stream is non-nil.
type obj struct {
	num    int
	body   string
	stream []byte
	length string // written as /Length instead of the data's size, when set
}

// mkPDF writes a PDF with a correct cross-reference table and trailer (/Root 1 0 R plus
// extra), independently of the reader: hostile content inside a sound structure.
func mkPDF(extra string, objs ...obj) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := map[int]int{}
	size := 1
	for _, o := range objs {
		offs[o.num] = b.Len()
		size = max(size, o.num+1)
		if o.stream != nil {
			l := strconv.Itoa(len(o.stream))
			if o.length != "" {
				l = o.length
			}
			fmt.Fprintf(&b, "%d 0 obj\n<< %s /Length %s >>\nstream\n", o.num, o.body, l)
			b.Write(o.stream)
			b.WriteString("\nendstream\nendobj\n")
		} else {
			fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", o.num, o.body)
		}
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", size)
	for n := 1; n < size; n++ {
		if off, ok := offs[n]; ok {
			fmt.Fprintf(&b, "%010d 00000 n \n", off)
		} else {
			b.WriteString("0000000000 65535 f \n")
		}
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n", size, extra, x)
	return b.Bytes()
}

// A page tree of one empty page, as every PDF needs.
var (
	pages = obj{num: 5, body: "<< /Type /Pages /Kids [6 0 R] /Count 1 >>"}
	page  = obj{num: 6, body: "<< /Type /Page /Parent 5 0 R /MediaBox [0 0 595 842] >>"}
)

// pdfWith is a sound PDF whose catalog points at an embedded cda.xml stream with the given
// dictionary entries and data.
func pdfWith(streamDict string, data []byte) []byte { return pdfLen(streamDict, data, "") }

// pdfLen is pdfWith with the stream's /Length written as length.
func pdfLen(streamDict string, data []byte, length string) []byte {
	return mkPDF("",
		obj{num: 1, body: "<< /Type /Catalog /Pages 5 0 R /Names << /EmbeddedFiles 2 0 R >> >>"},
		obj{num: 2, body: "<< /Names [(cda.xml) 3 0 R] >>"},
		obj{num: 3, body: "<< /Type /Filespec /F (cda.xml) /EF << /F 4 0 R >> >>"},
		obj{num: 4, body: streamDict, stream: data, length: length},
		pages, page)
}

// errKind names the error types the reader returns, for table tests.
func errKind(err error) string {
	var le *pdfcda.LimitError
	var se *pdfcda.SyntaxError
	var st *pdfcda.StructureError
	var ue *pdfcda.UnsupportedError
	var ae *pdfcda.AttachmentError
	switch {
	case err == nil:
		return "nil"
	case errors.As(err, &le):
		return "limit"
	case errors.As(err, &st):
		return "structure"
	case errors.As(err, &se):
		return "syntax"
	case errors.As(err, &ue):
		return "unsupported"
	case errors.As(err, &ae):
		return "attachment"
	}
	return fmt.Sprintf("other %T", err)
}

type hostileCase struct {
	name   string
	data   []byte
	lim    pdfcda.Limits
	strict string // error kind of Read
	part   string // StructureError.Part of Read, for "structure"
	repair string // error kind of ReadRepair
}

// hostileCases are sound and broken files with what Read and ReadRepair must say of them.
func hostileCases() []hostileCase {
	bomb := deflate(make([]byte, 8<<20)) // 8 MiB of zeros in a few KiB
	sound := pdfWith("", lab)
	xrefAt := bytes.Index(sound, []byte("\nxref\n")) + 1
	obj2 := bytes.Index(sound, []byte("\n2 0 obj")) + 1
	cat := obj{num: 1, body: "<< /Type /Catalog /Pages 5 0 R >>"}
	replace := func(b []byte, old, new string) []byte {
		if !bytes.Contains(b, []byte(old)) {
			panic("test fixture lacks " + old)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	// Each corruption keeps every other byte where it was (same-length edits), so that the
	// structure error found is the one meant (part).
	return []hostileCase{
		{"sound", sound, pdfcda.Limits{}, "nil", "", "nil"},
		{"inflate bomb", pdfWith("/Filter /FlateDecode", bomb), pdfcda.Limits{MaxInflate: 1 << 20}, "limit", "", "limit"},
		{"bomb within limit", pdfWith("/Filter /FlateDecode", bomb), pdfcda.Limits{MaxInflate: 16 << 20}, "nil", "", "nil"},
		{"corrupt flate", pdfWith("/Filter /FlateDecode", []byte("x\x9cnot deflate")), pdfcda.Limits{}, "syntax", "", "syntax"},
		{"unsupported filter", pdfWith("/Filter /LZWDecode", []byte("abc")), pdfcda.Limits{}, "unsupported", "", "unsupported"},
		{"deep nesting", mkPDF("", cat, obj{num: 2, body: strings.Repeat("[", 10000) + strings.Repeat("]", 10000)}, pages, page), pdfcda.Limits{}, "limit", "", "limit"},
		{"too many objects", mkPDF("", cat, obj{num: 2, body: "null"}, obj{num: 3, body: "null"}, pages, page), pdfcda.Limits{MaxObjects: 2}, "limit", "", "limit"},
		{"work budget", sound, pdfcda.Limits{MaxWork: 100}, "limit", "", "limit"},
		{"catalog is not a dictionary", mkPDF("", obj{num: 1, body: "42"}), pdfcda.Limits{}, "structure", "trailer", "syntax"},
		{"no page tree", mkPDF("", obj{num: 1, body: "<< /Type /Catalog >>"}), pdfcda.Limits{}, "structure", "catalog", "nil"},
		{"lying Length", pdfLen("", lab, "99999999"), pdfcda.Limits{}, "structure", "object 4 0", "nil"},
		{"Length ten short", pdfLen("", lab, strconv.Itoa(len(lab)-10)), pdfcda.Limits{}, "structure", "object 4 0", "nil"},
		{"Length refers to itself", pdfLen("", lab, "4 0 R"), pdfcda.Limits{}, "structure", "object 4 0", "nil"},
		{"encrypted", replace(sound, "/Root 1 0 R", "/Root 1 0 R /Encrypt << /Filter /Standard /V 2 >>"), pdfcda.Limits{}, "unsupported", "", "unsupported"},
		{"reference loop", mkPDF("", obj{num: 1, body: "2 0 R"}, obj{num: 2, body: "1 0 R"}), pdfcda.Limits{}, "limit", "", "limit"},
		{"no startxref", replace(sound, "startxref", "startxrex"), pdfcda.Limits{}, "structure", "startxref", "nil"},
		{"no %%EOF", sound[:len(sound)-6], pdfcda.Limits{}, "structure", "%%EOF", "nil"},
		{"startxref beyond the file", replace(sound, fmt.Sprintf("startxref\n%d", xrefAt), fmt.Sprintf("startxref\n%d", 9*len(sound))), pdfcda.Limits{}, "structure", "startxref", "nil"},
		{"startxref off by one", replace(sound, fmt.Sprintf("startxref\n%d", xrefAt), fmt.Sprintf("startxref\n%d", xrefAt+1)), pdfcda.Limits{}, "structure", "xref", "nil"},
		{"no trailer", replace(sound, "trailer", "trailex"), pdfcda.Limits{}, "structure", "xref", "nil"},
		{"trailer without Root", replace(sound, "/Root 1 0 R", "/Roox 1 0 R"), pdfcda.Limits{}, "structure", "trailer", "nil"},
		{"Prev loops", replace(sound, "/Size", "/Prev "+strconv.Itoa(xrefAt)+" /Size"), pdfcda.Limits{}, "structure", "xref", "nil"},
		{"Prev beyond the file", replace(sound, "/Size", "/Prev 99999999 /Size"), pdfcda.Limits{}, "structure", "trailer", "nil"},
		{"xref entry off by one", replace(sound, fmt.Sprintf("%010d 00000 n", obj2), fmt.Sprintf("%010d 00000 n", obj2+1)), pdfcda.Limits{}, "structure", "object 2 0", "nil"},
		{"xref entry names another object", replace(sound, "\n2 0 obj", "\n7 0 obj"), pdfcda.Limits{}, "structure", "object 2 0", "nil"},
		{"endobj missing", replace(sound, "endobj\n2 0 obj", "endobx\n2 0 obj"), pdfcda.Limits{}, "structure", "object 1 0", "nil"},
		{"unparseable object", replace(sound, "<< /Names [(cda.xml) 3 0 R] >>", "<< /Names [(cda.xml) 3 0 R] >)"), pdfcda.Limits{}, "structure", "object 2 0", "nil"},
		{"bad xref entry", replace(sound, " 00000 n \n", " 00000 x \n"), pdfcda.Limits{}, "structure", "xref", "nil"},
		{"truncated in the xref", sound[:xrefAt+30], pdfcda.Limits{}, "structure", "startxref", "nil"},
	}
}

func TestHostile(t *testing.T) {
	cases := hostileCases()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := pdfcda.Read(tc.data, tc.lim)
			if got := errKind(err); got != tc.strict {
				t.Fatalf("Read: err = %v (%s), want %s", err, got, tc.strict)
			}
			var se *pdfcda.StructureError
			if errors.As(err, &se) && se.Part != tc.part {
				t.Fatalf("Read: %v: part %q, want %q", err, se.Part, tc.part)
			}
			if err == nil && !bytes.Equal(doc.CDA, lab) && tc.name != "bomb within limit" {
				t.Fatalf("Read: CDA of %d bytes", len(doc.CDA))
			}
			rdoc, err := pdfcda.ReadRepair(tc.data, tc.lim)
			if got := errKind(err); got != tc.repair {
				t.Fatalf("ReadRepair: err = %v (%s), want %s", err, got, tc.repair)
			}
			if err == nil && (tc.strict == "structure") != (rdoc.Repaired != "") {
				t.Fatalf("ReadRepair: Repaired = %q after strict error kind %s", rdoc.Repaired, tc.strict)
			}
		})
	}
}

// TestTruncated reads every prefix length class of a signed fixture: never a panic, and the
// CDA is either complete or absent.
func TestTruncated(t *testing.T) {
	for _, p := range []pdfcdatest.PDF{{Attachment: lab, Sign: true, ObjectStream: true, Kids: true}, {Attachment: lab, Sign: true}} {
		data := p.Bytes()
		eof := bytes.LastIndex(data, []byte("%%EOF")) + len("%%EOF")
		for n := 0; n < len(data); n += 97 {
			// Strictly, every prefix that cuts %%EOF is refused.
			if _, err := pdfcda.Read(data[:n], pdfcda.Limits{}); err == nil && n < eof {
				t.Fatalf("prefix %d of %d accepted", n, len(data))
			}
			doc, err := pdfcda.ReadRepair(data[:n], pdfcda.Limits{})
			if err == nil && doc.CDA != nil && !bytes.Equal(doc.CDA, lab) {
				t.Fatalf("prefix %d: partial CDA of %d bytes returned", n, len(doc.CDA))
			}
		}
	}
}

// checkAccepted asserts, from the bytes alone and independently of the reader's code,
// that a file Read accepted is well-formed as far as the reader's verdict goes, and that
// what it reports is consistent.
func checkAccepted(t *testing.T, data []byte, doc *pdfcda.Document, lim pdfcda.Limits) {
	t.Helper()
	// The last startxref gives an offset inside the file, followed by %%EOF; at that offset
	// starts a cross-reference table or an object (a cross-reference stream).
	i := bytes.LastIndex(data, []byte("startxref"))
	if i < 0 {
		t.Fatal("accepted without startxref")
	}
	rest := bytes.TrimLeft(data[i+len("startxref"):], " \t\r\n\f\x00")
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	off, err := strconv.Atoi(string(rest[:n]))
	if err != nil || off >= len(data) {
		t.Fatalf("accepted with startxref %q", rest[:n])
	}
	if !bytes.HasPrefix(bytes.TrimLeft(rest[n:], " \t\r\n\f\x00"), []byte("%%EOF")) {
		t.Fatal("accepted without an end-of-file marker after startxref")
	}
	if !bytes.HasPrefix(data[off:], []byte("xref")) && (data[off] < '0' || data[off] > '9') {
		t.Fatalf("accepted with startxref %d pointing at %q", off, data[off:min(len(data), off+8)])
	}
	if doc.Revisions < 1 || doc.Repaired != "" || doc.Damaged != 0 {
		t.Fatalf("accepted with revisions %d, repaired %q, damaged %d", doc.Revisions, doc.Repaired, doc.Damaged)
	}
	// At most one cda.xml, and the CDA only with it.
	named := 0
	for _, e := range doc.EmbeddedFiles {
		if e.Name == pdfcda.AttachmentName || e.Key == pdfcda.AttachmentName {
			named++
		}
	}
	if named > 1 || (doc.CDA != nil) != (doc.CDAFile != nil) || (doc.CDA != nil && named != 1) {
		t.Fatalf("%d files named cda.xml, CDA %v, CDAFile %v", named, doc.CDA != nil, doc.CDAFile != nil)
	}
	if int64(len(doc.CDA)) > lim.MaxInflate && doc.CDAFile != nil && doc.CDAFile.Filter != "" {
		t.Fatalf("CDA of %d bytes beyond the inflate cap", len(doc.CDA))
	}
	for _, s := range doc.Signatures {
		if !s.CoversWholeFile {
			continue
		}
		r := s.ByteRange
		if r[0] != 0 || r[2]+r[3] != int64(len(data)) || data[r[1]] != '<' || data[r[2]-1] != '>' {
			t.Fatalf("CoversWholeFile with ByteRange %v on %d bytes", r, len(data))
		}
		sd, err := s.SignedData(data)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(sd)
		if int64(len(got)) != r[1]+r[3] {
			t.Fatalf("SignedData gives %d bytes, ByteRange %v", len(got), r)
		}
	}
}

// fuzzRead reads data both ways and checks what is accepted; a sound file reads the same
// in repair mode.
func fuzzRead(t *testing.T, data []byte) {
	lim := pdfcda.Limits{MaxInflate: 4 << 20, MaxObjects: 10000}
	// The same through an io.ReaderAt (the file path), default and tiny windows.
	sameAtWindows(t, "fuzz", data, lim, [2]int{0, 0}, [2]int{3, 17})
	doc, err := pdfcda.Read(data, lim)
	rdoc, rerr := pdfcda.ReadRepair(data, lim)
	if err == nil && doc.Format == pdfcda.FormatPDF {
		checkAccepted(t, data, doc, lim)
		if rerr != nil || rdoc.Repaired != "" || !bytes.Equal(rdoc.CDA, doc.CDA) {
			t.Fatalf("sound for Read, not the same for ReadRepair: %v, repaired %q", rerr, rdoc.Repaired)
		}
	}
	if rerr == nil && rdoc.Repaired == "" && err != nil {
		var ae *pdfcda.AttachmentError
		if !errors.As(err, &ae) {
			t.Fatalf("ReadRepair found nothing to repair, Read failed: %v", err)
		}
	}
}

// FuzzPDF: never a panic, linear work; what Read accepts has a sound structure (checked
// from the bytes), reads the same in repair mode, and holds at most one cda.xml; ReadAt
// (from a file, in windows) says exactly what Read says.
func FuzzPDF(f *testing.F) {
	// Seeds stay small (the fuzzer mutates and re-reads them thousands of times a second).
	for _, fx := range pdfcdatest.Fixtures() {
		if len(fx.Data) < 4<<10 {
			f.Add(fx.Data)
		}
	}
	f.Add(smallSigned())
	for _, h := range hostileCases() {
		if len(h.data) < 4<<10 && h.lim == (pdfcda.Limits{}) {
			f.Add(h.data)
		}
	}
	f.Add(pdfcdatest.RepeatedObjPDF(4 << 10))
	f.Add(pdfWith("/Filter /FlateDecode", deflate(lab)))
	f.Add(pdfcdatest.PDF{Attachment: lab, ObjectStream: true, Kids: true, Sign: true, AppendAfterSign: true}.Bytes())
	f.Add(objStmPDF(f, "1 0 ", "<< /Type /Catalog /Pages 3 0 R >>"))
	f.Fuzz(fuzzRead)
}

// smallSigned is a small sound PDF with a signature dictionary whose /ByteRange covers
// the file but its /Contents (a seed small enough for the fuzzer to minimise).
func smallSigned() []byte {
	const placeholder = "[0 0000000000 0000000000 0000000000]"
	data := mkPDF("", obj{num: 1, body: "<< /Type /Catalog /Pages 5 0 R /AcroForm << /Fields [2 0 R] >> >>"},
		obj{num: 2, body: "<< /FT /Sig /T (s) /V 3 0 R >>"},
		obj{num: 3, body: "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange " + placeholder + " /Contents <" + strings.Repeat("00", 32) + "> >>"},
		pages, page)
	at := bytes.Index(data, []byte(placeholder))
	c := bytes.Index(data, []byte("/Contents <")) + len("/Contents ")
	end := bytes.IndexByte(data[c:], '>') + c + 1
	copy(data[at:], fmt.Sprintf("[0 %010d %010d %010d]", c, end, len(data)-end))
	return data
}

// FuzzObjStm fuzzes the header and the body of an object stream inside a sound file (a
// cross-reference stream with a type 2 entry for the catalog): no panic, whatever the
// offsets; accepted only when the header's first pair is "1 off" with off inside the body.
func FuzzObjStm(f *testing.F) {
	f.Add("1 0 ", "<< /Type /Catalog /Pages 3 0 R >>")
	f.Add("1 9223372036854775800 ", "<< /Type /Catalog /Pages 3 0 R >>")
	f.Add("1 18446744073709551615 ", "<< /Type /Catalog >>")
	f.Add("1 -5 ", "<< /Type /Catalog /Pages 3 0 R >>")
	f.Add("1 0 2 10 ", "<< /Type /Catalog /Pages 3 0 R >> [1 2 3]")
	f.Add("1 34 ", "<< /Type /Catalog /Pages 3 0 R >>")
	f.Add("1 0 ", "<< /Type /Catalog /Pages 3 0 R /Names << /EmbeddedFiles << /Names [(cda.xml) 9 0 R] >> >> >>")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, header, body string) {
		if len(header)+len(body) > 1<<16 {
			return
		}
		data := objStmPDF(t, header, body)
		fuzzRead(t, data)
		if _, err := pdfcda.Read(data, pdfcda.Limits{}); err == nil {
			f := pdfTokens(header)
			if len(f) < 2 {
				t.Fatalf("accepted with header %q", header)
			}
			if num, err := strconv.ParseInt(f[0], 10, 64); err != nil || num != 1 { // "01" is 1
				t.Fatalf("accepted with header %q", header)
			}
			off, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || off < 0 || off > int64(len(body)) {
				t.Fatalf("accepted with offset %q for a body of %d bytes", f[1], len(body))
			}
		}
	})
}

// pdfTokens splits an object stream header as a PDF lexer does (ISO 32000-1 §7.2): white
// space includes NUL, which strings.Fields does not; a comment runs from % to the end of the
// line; the other delimiters end a token as white space does.
func pdfTokens(s string) []string {
	var b strings.Builder
	comment := false
	for _, r := range s {
		switch {
		case comment:
			if r == '\r' || r == '\n' {
				comment = false
			}
			b.WriteByte(' ')
		case r == '%':
			comment = true
			b.WriteByte(' ')
		case strings.ContainsRune("\x00\t\n\f\r ()<>[]{}/", r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.Fields(b.String())
}

// BenchmarkRead50MB reads a 50 MB signed PDF (a 50 MB incompressible stream plus cda.xml)
// strictly: the cross-reference takes it to the few objects, the stream is skipped by its
// /Length, nothing is copied (B/op is what Read allocates; the peak memory of a whole
// inspection is BenchmarkInspect100MBPeakRSS in adapter/docmeta).
func BenchmarkRead50MB(b *testing.B) {
	data := pdfcdatest.PDF{Attachment: lab, Sign: true, PadTo: 50 << 20}.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		doc, err := pdfcda.Read(data, pdfcda.Limits{})
		if err != nil || !bytes.Equal(doc.CDA, lab) || len(doc.Signatures) != 1 || !doc.Signatures[0].CoversWholeFile {
			b.Fatalf("Read: %v", err)
		}
	}
	b.ReportMetric(float64(len(data))/(1<<20), "file-MiB")
}
