package pdfupdate

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

func TestEncoding(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{encodeName("application/xml"), "application#2Fxml"},
		{encodeName("A B#"), "A#20B#23"},
		{String(`a(b)\c`), `(a\(b\)\\c)`},
		{Date(time.Date(2026, 3, 15, 10, 30, 0, 0, time.FixedZone("", 3600))), "D:20260315103000+01'00'"},
		{Date(time.Date(2026, 3, 15, 10, 30, 0, 0, time.UTC)), "D:20260315103000Z"},
		{Ref{12, 0}.String(), "12 0 R"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestUpdate: an update that replaces the catalog (copied with its references kept) and
// adds an object reads back in qpdf (table and stream cross-references alike), and the
// original bytes are its prefix.
func TestUpdate(t *testing.T) {
	qpdf := testenv.Tool(t, "qpdf", "apt-get install qpdf")
	for _, base := range [][]byte{pdfcdatest.PDF{}.Bytes(), pdfcdatest.PDF{ObjectStream: true, Attachment: []byte("x"), AttachmentName: "a.txt"}.Bytes()} {
		d, err := Open(bytes.NewReader(base), int64(len(base)))
		if err != nil {
			t.Fatal(err)
		}
		info := d.Add([]byte("<< /Producer (pdfupdate test) >>"))
		cat := d.Catalog()
		ref, ok := KeyRef(d.Reader().Trailer(), "Root")
		if !ok {
			t.Fatal("no Root reference")
		}
		body, err := FormatDictWithout(cat, "/PieceInfo "+info.String())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, "/Pages 2 0 R") {
			t.Fatalf("catalog copy lost its reference: %s", body)
		}
		d.Replace(ref, []byte(body))
		upd, err := d.Update()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "u.pdf")
		os.WriteFile(file, append(append([]byte{}, base...), upd...), 0o600)
		out, err := exec.Command(qpdf, "--check", file).CombinedOutput()
		if err != nil {
			t.Fatalf("qpdf --check: %v\n%s", err, out)
		}
		shown, err := exec.Command(qpdf, "--show-object=trailer", file).CombinedOutput()
		if err != nil || !bytes.Contains(shown, []byte("/Prev")) {
			t.Fatalf("trailer without /Prev: %v %s", err, shown)
		}
	}
	if _, err := Open(bytes.NewReader([]byte("%PDF-1.7\nnot really")), 19); err == nil {
		t.Fatal("a broken PDF opened")
	}
}
