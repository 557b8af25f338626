package informativa

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
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

	// Independent validator: pdfcpu in strict mode.
	api.DisableConfigDir()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationStrict
	if err := api.Validate(bytes.NewReader(pdf), conf); err != nil {
		t.Fatalf("pdfcpu strict validation: %v", err)
	}
	if n, err := api.PageCount(bytes.NewReader(pdf), conf); err != nil || n != 1 {
		t.Fatalf("page count %d %v", n, err)
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

// TestValidatorCatchesBreakage shows the pdfcpu check above can fail.
func TestValidatorCatchesBreakage(t *testing.T) {
	pdf, _ := PDF(DefaultID)
	api.DisableConfigDir()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationStrict
	tests := []struct{ name, from, to string }{
		{"catalog type", "/Type /Catalog", "/Type /Catalox"},
		{"media box", "/MediaBox [0 0 595 842]", "/MediaBox [0 0 595]"},
		{"font subtype", "/Subtype /Type1", "/Subtype /Bogus"},
		{"header", "%PDF-1.4", "%XYZ-1.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			broken := bytes.Replace(pdf, []byte(tc.from), []byte(tc.to), 1)
			if err := api.Validate(bytes.NewReader(broken), conf); err == nil {
				t.Fatal("pdfcpu accepted the broken PDF")
			}
		})
	}
}
