package informativa

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in fixtures/sim")

const golden = "../../../fixtures/sim/informativa-160-1.0.pdf"

func TestPDFValidAndDeterministic(t *testing.T) {
	pdf, err := PDF(DefaultID)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := PDF(DefaultID)
	if !bytes.Equal(pdf, again) {
		t.Fatal("two calls gave different bytes")
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("golden missing (run with -update once): %v", err)
	}
	if !bytes.Equal(pdf, want) {
		t.Fatal("PDF differs from the golden file: the informativa is no longer stable")
	}

	// Independent validators: qpdf and poppler (pdfinfo, pdftotext).
	if err := checkPDF(t, pdf); err != nil {
		t.Fatal(err)
	}

	// Every xref entry points exactly at its object, and startxref at the table.
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref at the end")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(pdf[xref:], []byte("xref\n")) {
		t.Fatal("startxref does not point at the xref table")
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllSubmatch(pdf[xref:], -1)
	if len(entries) != 6 {
		t.Fatalf("%d xref entries", len(entries))
	}
	for i, e := range entries {
		off, _ := strconv.Atoi(string(e[1]))
		if !bytes.HasPrefix(pdf[off:], []byte(strconv.Itoa(i+1)+" 0 obj")) {
			t.Fatalf("xref entry %d points at %q", i+1, pdf[off:off+10])
		}
	}
}

func TestIDs(t *testing.T) {
	tests := []struct {
		id, region, version string
		ok                  bool
	}{
		{"160^1.0", "160", "1.0", true},
		{"160^12.3", "160", "12.3", true},
		{"160^1", "", "", false},
		{"160-1.0", "", "", false},
		{"16^1.0", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			r, v, err := ParseID(tc.id)
			if (err == nil) != tc.ok || r != tc.region || v != tc.version {
				t.Fatalf("got %q %q %v", r, v, err)
			}
			_, perr := PDF(tc.id)
			if (perr == nil) != tc.ok {
				t.Fatalf("PDF error %v", perr)
			}
		})
	}
	a, _ := PDF("160^1.0")
	b, _ := PDF("160^2.0")
	if bytes.Equal(a, b) {
		t.Fatal("versions are indistinguishable")
	}
}

func TestEscape(t *testing.T) {
	if got := escape(`a(b)\c`); got != `a\(b\)\\c` {
		t.Fatalf("got %s", got)
	}
}

// TestValidatorCatchesBreakage shows that checkPDF can fail: each breakage is caught by
// qpdf or poppler.
func TestValidatorCatchesBreakage(t *testing.T) {
	pdf, _ := PDF(DefaultID)
	tests := []struct{ name, from, to string }{
		{"catalog type", "/Type /Catalog", "/Type /Catalox"},
		{"media box", "/MediaBox [0 0 595 842]", "/MediaBox [0 0 595]"},
		{"font subtype", "/Subtype /Type1", "/Subtype /Bogus"},
		{"header", "%PDF-1.4", "%XYZ-1.4"},
		{"stream length", "/Length ", "/Lenxth "},
		{"text", "Informativa sul trattamento", "Informativa sul tratamento"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			broken := bytes.Replace(pdf, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(broken, pdf) {
				t.Fatalf("%q not found in the PDF", tc.from)
			}
			if err := checkPDF(t, broken); err == nil {
				t.Fatal("the independent checkers accepted the broken PDF")
			}
		})
	}
}

// checkPDF checks pdf with tools that share none of our code (CI installs them): qpdf finds
// no syntax or stream error, qpdf's object dump has a /Catalog root, one A4 page and a
// standard font type, and poppler reads it without a syntax error or warning, one A4 page,
// with the notice's title as text.
func checkPDF(t *testing.T, pdf []byte) error {
	t.Helper()
	qpdf := testenv.Tool(t, "qpdf", "apt-get install qpdf")
	pdfinfo := testenv.Tool(t, "pdfinfo", "apt-get install poppler-utils")
	pdftotext := testenv.Tool(t, "pdftotext", "apt-get install poppler-utils")
	path := filepath.Join(t.TempDir(), "informativa.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(qpdf, "--check", path).CombinedOutput(); err != nil {
		return fmt.Errorf("qpdf --check: %v\n%s", err, out)
	}
	raw, err := exec.Command(qpdf, "--json=2", "--json-key=qpdf", path).Output()
	if err != nil {
		return fmt.Errorf("qpdf --json: %v", err)
	}
	var dump struct {
		QPDF []json.RawMessage `json:"qpdf"`
	}
	var objects map[string]struct {
		Value map[string]json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &dump); err != nil || len(dump.QPDF) != 2 {
		return fmt.Errorf("qpdf --json: unexpected shape (%v)", err)
	}
	if err := json.Unmarshal(dump.QPDF[1], &objects); err != nil {
		return fmt.Errorf("qpdf --json objects: %v", err)
	}
	types := map[string]int{}
	for _, o := range objects {
		var typ, sub string
		json.Unmarshal(o.Value["/Type"], &typ)
		json.Unmarshal(o.Value["/Subtype"], &sub)
		types[typ]++
		switch typ {
		case "/Page":
			if box := strings.Join(strings.Fields(string(o.Value["/MediaBox"])), ""); box != "[0,0,595,842]" {
				return fmt.Errorf("page MediaBox %s, want A4 [0 0 595 842]", box)
			}
		case "/Font":
			if sub != "/Type1" && sub != "/TrueType" && sub != "/Type0" && sub != "/Type3" {
				return fmt.Errorf("font subtype %q", sub)
			}
		}
	}
	if types["/Catalog"] != 1 || types["/Page"] != 1 || types["/Font"] < 1 {
		return fmt.Errorf("objects by type %v: want one /Catalog, one /Page, a /Font", types)
	}
	info, err := exec.Command(pdfinfo, path).CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^Pages:\s+1$`).Match(info) || !bytes.Contains(info, []byte("595 x 842 pts (A4)")) {
		return fmt.Errorf("pdfinfo: %v\n%s", err, info)
	}
	var text, stderr bytes.Buffer
	cmd := exec.Command(pdftotext, path, "-")
	cmd.Stdout, cmd.Stderr = &text, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pdftotext: %v\n%s", err, stderr.String())
	}
	if bytes.Contains(info, []byte("Syntax ")) || stderr.Len() > 0 {
		return fmt.Errorf("poppler reports problems:\n%s%s", info, stderr.String())
	}
	if !strings.Contains(text.String(), "Informativa sul trattamento dei dati personali") {
		return fmt.Errorf("pdftotext does not find the title:\n%s", text.String())
	}
	return nil
}
