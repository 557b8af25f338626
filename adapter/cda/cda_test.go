package cda_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/cda"
	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

func TestParseHeaderGenerated(t *testing.T) {
	doc := pdfcdatest.CDA{PatientCF: pdfcdatest.PatientCF2, TypeCode: "68604-8", TemplateRoot: "2.16.840.1.113883.2.9.10.1.7.1", IDExtension: "X.1", EffectiveTime: "20260102030405", Confidential: "V"}.Bytes()
	h, err := cda.ParseHeader(bytes.NewReader(doc), cda.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	id, ok := h.PatientID()
	checks := []struct{ field, got, want string }{
		{"patient", id.Extension, pdfcdatest.PatientCF2},
		{"patient root", id.Root, cda.OIDFiscalCode},
		{"patient ok", fmt.Sprint(ok), "true"},
		{"code", h.Code.Code, "68604-8"},
		{"code system", h.Code.CodeSystem, "2.16.840.1.113883.6.1"},
		{"display", h.Code.DisplayName, "Referto di laboratorio"},
		{"template", fmt.Sprint(h.TemplateIDs), "[2.16.840.1.113883.2.9.10.1.7.1^1.2]"},
		{"id", h.ID.String(), "2.16.840.1.113883.2.9.2.160.4.4^X.1"},
		{"set id", h.SetID.String(), "2.16.840.1.113883.2.9.2.160.4.4^X.1"},
		{"version", h.VersionNumber, "1"},
		{"effective", h.EffectiveTime, "20260102030405"},
		{"confidentiality", h.ConfidentialityCode.Code, "V"},
		{"language", h.LanguageCode, "it-IT"},
		{"title", h.Title, "Referto di prova (sintetico)"},
		{"author id", fmt.Sprint(h.Author.IDs), "[" + cda.OIDFiscalCode + "^" + pdfcdatest.AuthorCF + "]"},
		{"author name", h.Author.Name.Full(), "Dott. Medico Sintetico"},
		{"author time", h.Author.Time, "20260102030405"},
		{"custodian", fmt.Sprint(*h.Custodian), "{[2.16.840.1.113883.2.9.4.1.2^160114] Struttura di prova}"},
		{"legal", h.LegalAuthenticator.IDs[0].Extension, pdfcdatest.LegalCF},
		{"legal name", h.LegalAuthenticator.Name.Full(), "Direttrice Sintetica"},
	}
	for _, c := range checks {
		t.Run(c.field, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("%s = %q, want %q", c.field, c.got, c.want)
			}
		})
	}
}

// TestNamesNeverPrinted: printing or marshalling a header must not leak person names.
func TestNamesNeverPrinted(t *testing.T) {
	h, err := cda.ParseHeader(bytes.NewReader(pdfcdatest.CDA{}.Bytes()), cda.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"%v": fmt.Sprintf("%v", h.Author), "%+v": fmt.Sprintf("%+v", *h.Author), "%#v": fmt.Sprintf("%#v", *h.LegalAuthenticator), "json": string(js)} {
		for _, n := range []string{"Medico", "Sintetico", "Direttrice", "Paziente"} {
			if strings.Contains(s, n) {
				t.Errorf("%s output leaks %q: %s", name, n, s)
			}
		}
	}
}

func TestParseHeaderErrors(t *testing.T) {
	good := pdfcdatest.CDA{}.Bytes()
	cases := []struct {
		name string
		in   string
		lim  cda.Limits
		want any
	}{
		{"empty", "", cda.Limits{}, &cda.SyntaxError{}},
		{"not XML", "%PDF-1.4", cda.Limits{}, &cda.SyntaxError{}},
		{"truncated header", string(good[:len(good)/2]), cda.Limits{}, &cda.SyntaxError{}},
		{"mismatched tags", `<ClinicalDocument xmlns="urn:hl7-org:v3"><id></code></ClinicalDocument>`, cda.Limits{}, &cda.SyntaxError{}},
		{"wrong namespace", string(pdfcdatest.CDA{Namespace: "urn:hl7-org:v2"}.Bytes()), cda.Limits{}, &cda.NotCDAError{}},
		{"no namespace", `<ClinicalDocument><id root="1"/></ClinicalDocument>`, cda.Limits{}, &cda.NotCDAError{}},
		{"wrong root", string(pdfcdatest.CDA{Root: "Document"}.Bytes()), cda.Limits{}, &cda.NotCDAError{}},
		{"too deep", `<ClinicalDocument xmlns="urn:hl7-org:v3">` + strings.Repeat("<a>", 300), cda.Limits{}, &cda.LimitError{}},
		{"too many tokens", string(good), cda.Limits{MaxTokens: 20}, &cda.LimitError{}},
		{"unknown charset", `<?xml version="1.0" encoding="EBCDIC"?><ClinicalDocument xmlns="urn:hl7-org:v3"/>`, cda.Limits{}, &cda.SyntaxError{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cda.ParseHeader(strings.NewReader(tc.in), tc.lim)
			ok := false
			switch w := tc.want.(type) {
			case *cda.SyntaxError:
				ok = errors.As(err, &w)
			case *cda.NotCDAError:
				ok = errors.As(err, &w)
			case *cda.LimitError:
				ok = errors.As(err, &w)
			}
			if !ok {
				t.Fatalf("err = %v (%T), want %T", err, err, tc.want)
			}
		})
	}
}

func TestLatin1(t *testing.T) {
	doc := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>Cort\xe8se</title><component/></ClinicalDocument>")
	h, err := cda.ParseHeader(bytes.NewReader(doc), cda.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Title != "Cortèse" {
		t.Fatalf("title %q", h.Title)
	}
}

// stopReader counts the bytes the parser reads.
type stopReader struct {
	r    io.Reader
	read int
}

func (s *stopReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.read += n
	return n, err
}

// TestStopsAtBody: a document with a 20 MB body is parsed after reading a few KB.
func TestStopsAtBody(t *testing.T) {
	doc := pdfcdatest.CDA{BodyPadding: 20 << 20}.Bytes()
	sr := &stopReader{r: bytes.NewReader(doc)}
	if _, err := cda.ParseHeader(sr, cda.Limits{}); err != nil {
		t.Fatal(err)
	}
	if sr.read > 64<<10 {
		t.Fatalf("read %d bytes of a %d-byte document", sr.read, len(doc))
	}
}

func TestSamples(t *testing.T) {
	dir := testenv.SamplesDir(t)
	for _, s := range pdfcdatest.Samples {
		t.Run(s.Type, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, "cda", s.Type+".xml"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h, err := cda.ParseHeader(f, cda.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			id, _ := h.PatientID()
			if id.Extension != s.PatientCF || h.Code.Code != s.LOINC || len(h.TemplateIDs) == 0 || h.TemplateIDs[0].Root != s.TemplateRoot {
				t.Fatalf("got patient match %v, code %s, templates %v", id.Extension == s.PatientCF, h.Code.Code, h.TemplateIDs)
			}
			if !strings.HasPrefix(h.ID.Root, "2.16.840.1.113883.2.9.2.120.") || h.ID.Extension == "" {
				t.Fatalf("document id %v", h.ID)
			}
			if _, err := cda.ParseTime(h.EffectiveTime, nil); err != nil {
				t.Fatalf("effectiveTime: %v", err)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	rome := time.FixedZone("CET", 3600)
	cases := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"2022", time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"20220330", time.Date(2022, 3, 30, 0, 0, 0, 0, time.UTC), false},
		{"202203301124", time.Date(2022, 3, 30, 11, 24, 0, 0, time.UTC), false},
		{"20220330112426+0100", time.Date(2022, 3, 30, 10, 24, 26, 0, time.UTC), false},
		{"20220330112426-0500", time.Date(2022, 3, 30, 16, 24, 26, 0, time.UTC), false},
		{"20220330112426.123+0000", time.Date(2022, 3, 30, 11, 24, 26, 123e6, time.UTC), false},
		{"2022033", time.Time{}, true},
		{"2022-03-30", time.Time{}, true},
		{"20221330", time.Time{}, true},
		{"", time.Time{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := cda.ParseTime(tc.in, nil)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, bad %v", err, tc.bad)
			}
			if !tc.bad && !got.Equal(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	got, _ := cda.ParseTime("202203301124", rome)
	if !got.Equal(time.Date(2022, 3, 30, 10, 24, 0, 0, time.UTC)) {
		t.Fatalf("zone-less time in CET: %v", got)
	}
}

func FuzzCDA(f *testing.F) {
	f.Add(pdfcdatest.CDA{}.Bytes())
	f.Add(pdfcdatest.CDA{NoBody: true}.Bytes())
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><recordTarget><patientRole><id root="x" extension="y"/></patientRole></recordTarget></ClinicalDocument>`))
	dir := filepath.Join("..", "..", "..", "shared", "samples", "cda")
	if files, err := filepath.Glob(filepath.Join(dir, "*.xml")); err == nil {
		for _, p := range files[:min(len(files), 2)] {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := cda.ParseHeader(bytes.NewReader(data), cda.Limits{MaxTokens: 20000})
		if err == nil && h == nil {
			t.Fatal("nil header without error")
		}
	})
}

// TestGeneratedWellFormedXmllint checks the synthetic CDAs with xmllint, an independent
// parser, so that the generator cannot agree with our parser on a mistake.
func TestGeneratedWellFormedXmllint(t *testing.T) {
	xmllint := testenv.Tool(t, "xmllint", "apt-get install libxml2-utils")
	for _, c := range []pdfcdatest.CDA{{}, {NoBody: true}, {PatientCF: pdfcdatest.TestCF, TypeCode: "34105-7"}} {
		cmd := exec.Command(xmllint, "--noout", "--nonet", "-")
		cmd.Stdin = bytes.NewReader(c.Bytes())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xmllint: %v\n%s", err, out)
		}
	}
}
