package pdfattach

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

func write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// qpdfCatalog returns the catalog and the cda.xml file specification as qpdf sees them
// (qpdf --json: an independent reader).
func qpdfCatalog(t *testing.T, file string) (cat, spec map[string]any) {
	t.Helper()
	qpdf := testenv.Tool(t, "qpdf", "apt-get install qpdf")
	out, err := exec.Command(qpdf, "--json=2", file).Output()
	if err != nil {
		t.Fatalf("qpdf --json: %v", err)
	}
	var j struct {
		QPDF []json.RawMessage `json:"qpdf"`
	}
	if err := json.Unmarshal(out, &j); err != nil || len(j.QPDF) < 2 {
		t.Fatalf("qpdf json: %v", err)
	}
	var objs map[string]map[string]any
	if err := json.Unmarshal(j.QPDF[1], &objs); err != nil {
		t.Fatalf("qpdf json objects: %v", err)
	}
	val := func(ref any) map[string]any {
		s, _ := ref.(string)
		o := objs["obj:"+s]
		if v, ok := o["value"].(map[string]any); ok {
			return v
		}
		if st, ok := o["stream"].(map[string]any); ok {
			d, _ := st["dict"].(map[string]any)
			return d
		}
		return nil
	}
	cat = val(objs["trailer"]["value"].(map[string]any)["/Root"])
	names, _ := cat["/Names"].(map[string]any)
	if names == nil {
		names = val(cat["/Names"])
	}
	tree := val(names["/EmbeddedFiles"])
	arr, _ := tree["/Names"].([]any)
	for i := 0; i+1 < len(arr); i += 2 {
		if arr[i] == "u:cda.xml" || arr[i] == "b:"+hexOf("cda.xml") {
			spec = val(arr[i+1])
		}
	}
	return cat, spec
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}

func TestAttach(t *testing.T) {
	pdfdetach := testenv.Tool(t, "pdfdetach", "apt-get install poppler-utils")
	qpdf := testenv.Tool(t, "qpdf", "apt-get install qpdf")
	cda := pdfcdatest.CDA{}.Bytes()
	for _, tc := range []struct {
		name     string
		base     []byte
		pdfa     string
		af       bool
		upgraded bool
		others   int
	}{
		{"plain PDF", pdfcdatest.PDF{}.Bytes(), "", false, false, 0},
		{"xref stream, another attachment", pdfcdatest.PDF{Attachment: []byte("note\n"), AttachmentName: "nota.txt", ObjectStream: true, Kids: true}.Bytes(), "", false, false, 1},
		{"PDF/A-3B", pdfcdatest.PDF{PDFA: 3}.Bytes(), "3B", true, false, 0},
		{"PDF/A-2B", pdfcdatest.PDF{PDFA: 2}.Bytes(), "2B", true, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, res, err := AttachBytes(tc.base, cda, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out[:len(tc.base)], tc.base) {
				t.Fatal("base bytes changed")
			}
			if res.PDFA != tc.pdfa || res.AssociatedFile != tc.af || res.UpgradedTo3 != tc.upgraded || len(res.Attachments) != tc.others+1 {
				t.Fatalf("result %+v", res)
			}
			doc, err := pdfcda.Read(out, pdfcda.Limits{})
			if err != nil || !bytes.Equal(doc.CDA, cda) {
				t.Fatalf("pdfcda: %v", err)
			}
			file := write(t, "out.pdf", out)
			if b, err := exec.Command(qpdf, "--check", file).CombinedOutput(); err != nil {
				t.Fatalf("qpdf --check: %v\n%s", err, b)
			}
			list, err := exec.Command(pdfdetach, "-list", file).CombinedOutput()
			if err != nil || !strings.Contains(string(list), ": cda.xml") {
				t.Fatalf("pdfdetach -list: %v\n%s", err, list)
			}
			saved := filepath.Join(t.TempDir(), "cda.xml")
			if b, err := exec.Command(pdfdetach, "-savefile", "cda.xml", "-o", saved, file).CombinedOutput(); err != nil {
				t.Fatalf("pdfdetach -save: %v\n%s", err, b)
			}
			if got, _ := os.ReadFile(saved); !bytes.Equal(got, cda) {
				t.Fatal("pdfdetach extracted other bytes than the CDA")
			}
			cat, spec := qpdfCatalog(t, file)
			if spec == nil || spec["/AFRelationship"] != "/Data" || spec["/UF"] == nil {
				t.Fatalf("file spec %v", spec)
			}
			af, hasAF := cat["/AF"].([]any)
			if hasAF != tc.af || (tc.af && len(af) != 1) {
				t.Fatalf("catalog /AF %v", cat["/AF"])
			}
			if tc.upgraded {
				meta := string(out[len(tc.base):])
				if !strings.Contains(meta, `pdfaid:part="3"`) {
					t.Fatal("PDF/A-2 base not declared PDF/A-3")
				}
			}
			// The embedded file's MIME type is application/xml.
			if !bytes.Contains(out[len(tc.base):], []byte("/Subtype /application#2Fxml")) {
				t.Fatal("no application/xml subtype")
			}
		})
	}
}

func TestAttachRefuses(t *testing.T) {
	cda := pdfcdatest.CDA{}.Bytes()
	if _, _, err := AttachBytes(pdfcdatest.PDF{Attachment: cda}.Bytes(), cda, Options{}); !errors.Is(err, ErrHasCDA) {
		t.Fatalf("second cda.xml: %v", err)
	}
	if _, _, err := AttachBytes(pdfcdatest.PDF{PDFA: 1}.Bytes(), cda, Options{}); err == nil || !strings.Contains(err.Error(), "PDF/A-1") {
		t.Fatalf("PDF/A-1: %v", err)
	}
	if _, _, err := AttachBytes(pdfcdatest.PDF{}.Bytes(), cda[:len(cda)/2], Options{}); err == nil || !strings.Contains(err.Error(), "not well-formed") {
		t.Fatalf("truncated CDA: %v", err)
	}
	base := pdfcdatest.PDF{}.Bytes()
	if _, _, err := AttachBytes(base[:len(base)*9/10], cda, Options{}); err == nil || !strings.Contains(err.Error(), "repair") {
		t.Fatalf("truncated PDF: %v", err)
	}
	if _, _, err := AttachBytes(base, cda, Options{Relationship: "Other"}); err == nil {
		t.Fatal("bad relationship accepted")
	}
}
