package pdfcda_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

// The PDF defects of issue 10, each as found by a user: every one of these passed (or
// panicked) before the reader became strict.

// A PDF truncated at 95 % (no xref, no trailer, no %%EOF; qpdf --check fails) was read as
// if nothing were wrong.
func TestIssue10Truncated95(t *testing.T) {
	data := pdfcdatest.PDF{Attachment: lab, Sign: true}.Bytes()
	data = data[:len(data)*95/100]
	_, err := pdfcda.Read(data, pdfcda.Limits{})
	var se *pdfcda.StructureError
	if !errors.As(err, &se) || se.Part != "startxref" {
		t.Fatalf("err = %v, want a *StructureError on startxref", err)
	}
	doc, err := pdfcda.ReadRepair(data, pdfcda.Limits{})
	if doc != nil && doc.Repaired == "" {
		t.Fatalf("ReadRepair did not say it repaired: %+v, %v", doc, err)
	}
}

// A PDF with two attachments named cda.xml, for two different patients, was read as the
// first one.
func TestIssue10TwoCDA(t *testing.T) {
	second := pdfcdatest.CDA{PatientCF: pdfcdatest.PatientCF2}.Bytes()
	for _, p := range []pdfcdatest.PDF{
		{Attachment: lab, SecondAttachment: second, Sign: true},
		{Attachment: lab, SecondAttachment: second, ObjectStream: true, Kids: true},
		{Attachment: lab, SecondAttachment: lab, AttachmentName: "referto.xml", SecondName: "cda.xml"}, // only one cda.xml: fine
	} {
		doc, err := pdfcda.Read(p.Bytes(), pdfcda.Limits{})
		if p.AttachmentName == "referto.xml" {
			if err != nil || !bytes.Equal(doc.CDA, lab) || doc.CDAFile == nil || doc.CDAFile.Name != "cda.xml" || len(doc.Attachments) != 2 {
				t.Fatalf("one cda.xml among two files: %v %+v", err, doc)
			}
			continue
		}
		var ae *pdfcda.AttachmentError
		if !errors.As(err, &ae) || ae.Count != 2 {
			t.Fatalf("err = %v, want an *AttachmentError for 2 files", err)
		}
		if doc == nil || doc.CDA != nil || len(doc.Attachments) != 2 {
			t.Fatalf("doc %+v: want the two attachments listed and no CDA", doc)
		}
	}
}

// A small PDF whose object stream puts an object at an offset near MaxInt64 made the
// reader panic (index out of range: /First plus the offset overflowed).
func TestIssue10ObjStmOffset(t *testing.T) {
	data := pdfcdatest.ObjStmOffsetPDF()
	if len(data) > 200 {
		t.Fatalf("%d bytes", len(data))
	}
	if _, err := pdfcda.Read(data, pdfcda.Limits{}); err == nil {
		t.Fatal("Read accepted it")
	}
	if _, err := pdfcda.ReadRepair(data, pdfcda.Limits{}); err == nil {
		t.Fatal("ReadRepair accepted it")
	}
	// The same object stream inside a sound structure (cross-reference stream, entry of
	// type 2): refused as broken, no panic.
	strict := objStmPDF(t, "1 9223372036854775800 ", "<< /Type /Catalog >>")
	_, err := pdfcda.Read(strict, pdfcda.Limits{})
	var se *pdfcda.StructureError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *StructureError", err)
	}
}

// A file of repeated `1 0 obj (` took seconds at 144 KB and grew quadratically: the scan
// restarted three bytes after each failed object even when the parser had read to the end.
// The repair scan now costs at most a few bytes of parser work per input byte: a budget of
// four bytes per byte is enough (the old scan needed about n²/18).
func TestIssue10RepeatedObjLinear(t *testing.T) {
	for _, size := range []int{16 << 10, 144 << 10, 1 << 20} {
		data := pdfcdatest.RepeatedObjPDF(size)
		lim := pdfcda.Limits{MaxWork: 4 * int64(len(data))}
		_, err := pdfcda.ReadRepair(data, lim)
		var le *pdfcda.LimitError
		if errors.As(err, &le) || err == nil {
			t.Fatalf("%d bytes: err = %v, want a syntax error within a linear work budget", size, err)
		}
		var se *pdfcda.StructureError
		if _, err := pdfcda.Read(data, lim); !errors.As(err, &se) {
			t.Fatalf("%d bytes: Read err = %v, want a *StructureError", size, err)
		}
	}
}

// objStmPDF writes a PDF 1.5 whose object 1 (the catalog) is the first object of the
// object stream 2 with the given header ("num offset" pairs) and body, indexed by a
// cross-reference stream (W [1 4 2], no predictor), independently of the reader. Objects 3
// and 4 are a page tree.
func objStmPDF(t testing.TB, header, body string) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n")
	offs := map[int]int{}
	data := header + body
	offs[2] = b.Len()
	fmt.Fprintf(&b, "2 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d >>\nstream\n%s\nendstream\nendobj\n",
		max(1, len(strings.Fields(header))/2), len(header), len(data), data)
	offs[3] = b.Len()
	b.WriteString("3 0 obj\n<< /Type /Pages /Kids [4 0 R] /Count 1 >>\nendobj\n")
	offs[4] = b.Len()
	b.WriteString("4 0 obj\n<< /Type /Page /Parent 3 0 R /MediaBox [0 0 595 842] >>\nendobj\n")
	offs[5] = b.Len()
	row := func(typ byte, f2, f3 int) []byte {
		return []byte{typ, byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)}
	}
	var xr []byte
	xr = append(xr, row(0, 0, 0xffff)...)
	xr = append(xr, row(2, 2, 0)...)
	for n := 2; n <= 5; n++ {
		xr = append(xr, row(1, offs[n], 0)...)
	}
	fmt.Fprintf(&b, "5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n", len(xr))
	b.Write(xr)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", offs[5])
	return b.Bytes()
}

// TestObjStmSound: the helper's file is sound for both qpdf and us when the header is.
func TestObjStmSound(t *testing.T) {
	data := objStmPDF(t, "1 0 ", "<< /Type /Catalog /Pages 3 0 R >>")
	doc, err := pdfcda.Read(data, pdfcda.Limits{})
	if err != nil || !doc.XRefStream || doc.Objects != 5 {
		t.Fatalf("Read: %v %+v", err, doc)
	}
	qpdf := testenv.Tool(t, "qpdf", "apt-get install qpdf")
	if clean, out := qpdfCheck(t, qpdf, t.TempDir(), "objstm.pdf", data); !clean {
		t.Fatalf("qpdf --check:\n%s", out)
	}
}

func TestSmallSignedSeed(t *testing.T) {
	data := smallSigned()
	doc, err := pdfcda.Read(data, pdfcda.Limits{})
	if err != nil || len(doc.Signatures) != 1 || !doc.Signatures[0].CoversWholeFile || doc.Signatures[0].ContentsSize != 32 {
		t.Fatalf("%v %+v", err, doc)
	}
}

// BenchmarkRepeatedObj144KB: the file of repeated `1 0 obj (` of issue 10 (1.7 s per read
// on this machine before: the scan was quadratic). Read refuses it at once (no startxref);
// ReadRepair scans it linearly.
func BenchmarkRepeatedObj144KB(b *testing.B) {
	data := pdfcdatest.RepeatedObjPDF(144 << 10)
	b.SetBytes(int64(len(data)))
	b.Run("Read", func(b *testing.B) {
		for b.Loop() {
			if _, err := pdfcda.Read(data, pdfcda.Limits{}); err == nil {
				b.Fatal("accepted")
			}
		}
	})
	b.Run("ReadRepair", func(b *testing.B) {
		for b.Loop() {
			if _, err := pdfcda.ReadRepair(data, pdfcda.Limits{}); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}

// TestEmbeddedFileAF: a PDF/A-3 associated file (listed in the catalog's /AF) with its
// MIME subtype, parameters and description, as a verifier or an injector checks them.
func TestEmbeddedFileAF(t *testing.T) {
	data := mkPDF("",
		obj{num: 1, body: "<< /Type /Catalog /Pages 5 0 R /AF [3 0 R] /Names << /EmbeddedFiles 2 0 R >> >>"},
		obj{num: 2, body: "<< /Kids [7 0 R] >>"},
		obj{num: 7, body: "<< /Limits [(cda.xml) (cda.xml)] /Names [(cda.xml) 3 0 R] >>"},
		obj{num: 3, body: "<< /Type /Filespec /F (cda.xml) /UF (\xfe\xff\x00c\x00d\x00a\x00.\x00x\x00m\x00l) /Desc (CDA R2) /AFRelationship /Source /EF << /F 4 0 R /UF 4 0 R >> >>"},
		obj{num: 4, body: "/Type /EmbeddedFile /Subtype /application#2Fxml /Params << /Size 2349 /CheckSum <0102> /ModDate (D:20260315103000+01'00') >>", stream: lab},
		pages, page)
	doc, err := pdfcda.Read(data, pdfcda.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	e := doc.CDAFile
	if e == nil || !e.InAF || e.AFRelationship != "Source" || e.Subtype != "application/xml" || e.UF != "cda.xml" || e.Desc != "CDA R2" ||
		e.Size != 2349 || !bytes.Equal(e.CheckSum, []byte{1, 2}) || e.ModDate != "D:20260315103000+01'00'" || !bytes.Equal(doc.CDA, lab) {
		t.Fatalf("cda.xml %+v", e)
	}
}

// TestPredictor decodes PNG-predicted streams (Sub, Up, Average, Paeth rows) against an
// independent encoder, and refuses hostile parameters without allocating for them.
func TestPredictor(t *testing.T) {
	const cols = 5
	rows := [][]byte{{1, 2, 3, 4, 5}, {1, 0, 250, 4, 9}, {7, 7, 7, 7, 7}, {0, 255, 0, 255, 0}, {9, 8, 7, 6, 5}}
	var raw, want []byte
	prev := make([]byte, cols)
	for i, r := range rows {
		ft := byte(i % 5)
		enc := make([]byte, cols)
		for k := range r {
			var a, c byte
			if k > 0 {
				a, c = r[k-1], prev[k-1]
			}
			b := prev[k]
			var pred byte
			switch ft {
			case 1:
				pred = a
			case 2:
				pred = b
			case 3:
				pred = byte((int(a) + int(b)) / 2)
			case 4:
				p := int(a) + int(b) - int(c)
				pa, pb, pc := p-int(a), p-int(b), p-int(c)
				if pa < 0 {
					pa = -pa
				}
				if pb < 0 {
					pb = -pb
				}
				if pc < 0 {
					pc = -pc
				}
				switch {
				case pa <= pb && pa <= pc:
					pred = a
				case pb <= pc:
					pred = b
				default:
					pred = c
				}
			}
			enc[k] = r[k] - pred
		}
		raw = append(append(raw, ft), enc...)
		want = append(want, r...)
		prev = r
	}
	parms := fmt.Sprintf("/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns %d >>", cols)
	doc, err := pdfcda.Read(pdfWith(parms, deflate(raw)), pdfcda.Limits{})
	if err != nil || !bytes.Equal(doc.CDA, want) {
		t.Fatalf("%v: %v, want %v", err, doc, want)
	}
	for _, bad := range []string{
		"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 16777216 /Colors 32 /BitsPerComponent 16 >>",
		"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 0 >>",
		"/Filter /FlateDecode /DecodeParms << /Predictor 2 >>",
	} {
		if _, err := pdfcda.Read(pdfWith(bad, deflate(raw)), pdfcda.Limits{}); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if doc, err := pdfcda.Read(pdfWith("/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 16777216 /Colors 32 /BitsPerComponent 16 >>", deflate(nil)), pdfcda.Limits{}); err != nil || len(doc.CDA) != 0 {
		t.Errorf("empty predicted stream: %v", err)
	}
}
