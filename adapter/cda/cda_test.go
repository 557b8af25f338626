package cda_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// TestWholeDocument: the body is read to the end, so a document that is not well-formed
// after the header is refused (issue 10: these passed as well-formed when the parser
// stopped at the first <component>).
func TestWholeDocument(t *testing.T) {
	good := pdfcdatest.CDA{}.Bytes()
	at := bytes.Index(good, []byte("<component>")) + len("<component>")
	cases := []struct {
		name string
		doc  []byte
		want string // "" for accepted, else a substring of the error
	}{
		{"complete", good, ""},
		{"large body", pdfcdatest.CDA{BodyPadding: 2 << 20}.Bytes(), ""},
		{"comment and PI after the root", append(append([]byte{}, good...), "<!-- fine -->\n<?pi x?>\n"...), ""},
		{"closing </ClinicalDocument> removed", bytes.Replace(good, []byte("</ClinicalDocument>"), nil, 1), "truncated"},
		{"truncated at 90%", good[:len(good)*9/10], "truncated"},
		{"garbage after the first <component>", append(append(append([]byte{}, good[:at]...), "<<garbage & more>>"...), good[at:]...), "not well-formed"},
		{"mismatched tag in the body", bytes.Replace(good, []byte("</section>"), []byte("</sektion>"), 1), "not well-formed"},
		{"second root", append(append([]byte{}, good...), "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>"...), "one root"},
		{"text after the root", append(append([]byte{}, good...), "trailing words"...), "outside the root"},
		{"text before the root", []byte("hello " + string(good[bytes.Index(good, []byte("<ClinicalDocument")):])), "not well-formed"},
		{"duplicate attribute in the body", bytes.Replace(good, []byte(`<code code="18719-5"`), []byte(`<code code="18719-5" code="x"`), 1), "twice"},
		{"element name starting with a digit", bytes.Replace(good, []byte("<section>"), []byte("<1section>"), 1), "not well-formed"},
		{"no white space between attributes", bytes.Replace(good, []byte(`<code code="18719-5" codeSystem`), []byte(`<code code="18719-5"codeSystem`), 1), "white space between attributes"},
		{"surrogate character reference", bytes.Replace(good, []byte("<title>Chimica"), []byte("<title>&#xD800;Chimica"), 1), "character reference"},
		{"NUL character reference in an attribute", bytes.Replace(good, []byte(`code="18719-5"`), []byte(`code="18719-5&#0;"`), 1), "not well-formed"},
		{"character reference in a comment is text", bytes.Replace(good, []byte("<section>"), []byte("<section><!-- &#0; -->"), 1), ""},
		{"XML declaration after a space", append([]byte(" "), good...), "very start"},
		{"malformed XML declaration", bytes.Replace(good, []byte(`encoding="UTF-8"`), []byte(`encoding=UTF-8`), 1), "XML declaration"},
		{"byte order mark", append([]byte("\xef\xbb\xbf"), good...), ""},
		{"body deeper than the limit", bytes.Replace(good, []byte("<section>"), []byte("<section>"+strings.Repeat("<a>", 300)+strings.Repeat("</a>", 300)), 1), "depth"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cda.ParseHeader(bytes.NewReader(tc.doc), cda.Limits{})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
		})
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
	utc := func(y int, mo time.Month, d, h, mi, sec, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, sec, ns, time.UTC)
	}
	cases := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		// Without an offset: local time in Europe/Rome (CET +01:00 in winter, CEST +02:00 in summer).
		{"2022", utc(2021, 12, 31, 23, 0, 0, 0), false},
		{"20220330", utc(2022, 3, 29, 22, 0, 0, 0), false},
		{"202203301124", utc(2022, 3, 30, 9, 24, 0, 0), false},
		{"20260115120000", utc(2026, 1, 15, 11, 0, 0, 0), false},
		{"20260701120000", utc(2026, 7, 1, 10, 0, 0, 0), false},
		{"20261025013000", utc(2026, 10, 24, 23, 30, 0, 0), false}, // before the October change: still CEST
		// With an offset the offset rules.
		{"20220330112426+0100", utc(2022, 3, 30, 10, 24, 26, 0), false},
		{"20220330112426-0500", utc(2022, 3, 30, 16, 24, 26, 0), false},
		{"20220330112426.123+0000", utc(2022, 3, 30, 11, 24, 26, 123e6), false},
		{"20220330+0200", utc(2022, 3, 29, 22, 0, 0, 0), false},
		{"2022033", time.Time{}, true},
		{"2022-03-30", time.Time{}, true},
		{"20221330", time.Time{}, true},
		{"20220230", time.Time{}, true},
		{"", time.Time{}, true},
		{"20220330112426+01", time.Time{}, true},
		{"20220330112426+2500", time.Time{}, true},
		{"20220330112426+01x0", time.Time{}, true},
		{"20220330112426.", time.Time{}, true},
		{"202203301124.5", time.Time{}, true},
		{"2022033011242a", time.Time{}, true},
		{" 20220330", time.Time{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := cda.ParseTime(tc.in, nil)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, bad %v", err, tc.bad)
			}
			if !tc.bad && !got.Equal(tc.want) {
				t.Fatalf("got %v, want %v", got.UTC(), tc.want)
			}
		})
	}
	got, _ := cda.ParseTime("202203301124", time.UTC)
	if !got.Equal(utc(2022, 3, 30, 11, 24, 0, 0)) {
		t.Fatalf("zone-less time in an explicit UTC: %v", got)
	}
}

// cdaSeeds are the fuzz seeds: documents whole and broken in the header and in the body.
func cdaSeeds() [][]byte {
	good := pdfcdatest.CDA{}.Bytes()
	at := bytes.Index(good, []byte("<component>")) + len("<component>")
	seeds := [][]byte{
		good,
		pdfcdatest.CDA{NoBody: true}.Bytes(),
		pdfcdatest.CDA{BodyPadding: 2000}.Bytes(),
		[]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><recordTarget><patientRole><id root="x" extension="y"/></patientRole></recordTarget></ClinicalDocument>`),
		bytes.Replace(good, []byte("</ClinicalDocument>"), nil, 1),
		good[:len(good)*9/10],
		append(append(append([]byte{}, good[:at]...), "<<garbage"...), good[at:]...),
		append(append([]byte{}, good...), "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>"...),
		append(append([]byte{}, good...), "<!-- after -->"...),
		bytes.Replace(good, []byte("<section>"), []byte("<section><![CDATA[a < b]]><?pi x?><!-- c -->"), 1),
		bytes.Replace(good, []byte("<section>"), []byte(`<section xmlns:x="urn:x"><x:a x:b="1"/>`), 1),
	}
	dir := filepath.Join("..", "..", "..", "shared", "samples", "cda")
	if files, err := filepath.Glob(filepath.Join(dir, "*.xml")); err == nil {
		for _, p := range files[:min(len(files), 2)] {
			if b, err := os.ReadFile(p); err == nil {
				seeds = append(seeds, b)
			}
		}
	}
	return seeds
}

// FuzzCDA: no panic, and what ParseHeader accepts is well-formed as far as can be told
// without a second parser (TestXmllintAgrees asks libxml2 on a corpus): after the root
// element, only white space, comments and processing instructions; the root is closed.
func FuzzCDA(f *testing.F) {
	for _, s := range cdaSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := cda.ParseHeader(bytes.NewReader(data), cda.Limits{MaxTokens: 20000})
		if err != nil {
			return
		}
		if h == nil {
			t.Fatal("nil header without error")
		}
		tail := bytes.TrimRight(data, " \t\r\n")
		for {
			switch {
			case bytes.HasSuffix(tail, []byte("-->")):
				i := bytes.LastIndex(tail, []byte("<!--"))
				if i < 0 {
					t.Fatalf("accepted, ends with --> without <!--: %q", tail[max(0, len(tail)-64):])
				}
				tail = bytes.TrimRight(tail[:i], " \t\r\n")
				continue
			case bytes.HasSuffix(tail, []byte("?>")):
				i := bytes.LastIndex(tail, []byte("<?"))
				if i < 0 {
					t.Fatalf("accepted, ends with ?> without <?: %q", tail[max(0, len(tail)-64):])
				}
				tail = bytes.TrimRight(tail[:i], " \t\r\n")
				continue
			}
			break
		}
		if !bytes.HasSuffix(tail, []byte("ClinicalDocument>")) && !bytes.HasSuffix(tail, []byte("/>")) {
			t.Fatalf("accepted, but the root is not closed at the end: %q", tail[max(0, len(tail)-64):])
		}
		if !bytes.Contains(data, []byte("urn:hl7-org:v3")) {
			t.Fatal("accepted without the HL7 namespace")
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

// BenchmarkParse20MB: the whole document is read (well-formedness of the body), at the
// decoder's speed.
func BenchmarkParse20MB(b *testing.B) {
	doc := pdfcdatest.CDA{BodyPadding: 20 << 20}.Bytes()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cda.ParseHeader(bytes.NewReader(doc), cda.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
