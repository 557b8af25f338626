package fault

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

const fixtures = "../../fixtures/faults"

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file      string
		status    int
		ok        bool
		code      string
		class     Class
		faultcode string
		actor     string
		text      string // expected Text (exact)
		detail    bool
	}{
		{"idocument_00407_gateway.xml", 500, true, "FSE-00407", Security, "S:Server", "IDocument",
			"Asserzioni applicative obbligatorie mancanti o non valide", true},
		{"idocument_00000_generic.xml", 500, true, "FSE-00000", Server, "soap:Server", "IDocument", "Errore generico", true},
		{"idocument_00415_notpdf.xml", 415, true, "", Validation, "soap:Client", "IDocument", "Il documento non è pdf", false},
		{"idocument_00404_notfound.xml", 500, true, "FSE-00404", NotFound, "soap:Client", "IDocument",
			"Documento non trovato per il paziente FSEPGL01E41A145J", true},
		{"idocument_00409_duplicate.xml", 500, true, "FSE-00409", Duplicate, "soap:Client", "IDocument",
			"Documento con uniqueId gia' pubblicato", true},
		{"consent_00451_client.xml", 500, true, "FSE-00451", ConsentMissing, "soap:Client", "IGestoreConsenso",
			"Consultazione negata: consenso C2 mancante", true},
		{"consent_00400_http200.xml", 200, true, "FSE-00400", Validation, "soap:Client", "IGestoreConsenso",
			"Richiesta non valida: campo assistito.codiceFiscale mancante", true},
		{"taccuino_00503_transient.xml", 503, true, "FSE-00503", Transient, "a:Server", "ITaccuino",
			"Servizio temporaneamente non disponibile", true},
		{"wssec_000231_sist.xml", 500, true, "E000231", Security, "soapenv:Server", "IDocument",
			"Il codice fiscale della smart card non corrisponde a quello dell'operatore", true},
		{"unknown_code_no_detail.xml", 500, true, "FSE-00999", Unknown, "soap:Server", "", "Errore non censito", false},
		{"notfault_gateway_502.html", 502, false, "", Unknown, "", "", "", false},
		{"notfault_success.xml", 200, false, "", Unknown, "", "", "", false},
		{"notfault_soap12.xml", 500, false, "", Unknown, "", "", "", false},
		{"notfault_truncated.xml", 500, false, "", Unknown, "", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, ok := Parse(readFixture(t, tc.file), tc.status)
			if ok != tc.ok {
				t.Fatalf("Parse ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				if f != nil {
					t.Fatalf("Parse returned a fault with ok=false")
				}
				return
			}
			if f.Code != tc.code || f.Class != tc.class || f.FaultCode != tc.faultcode || f.Actor != tc.actor ||
				f.Text != tc.text || f.HTTPStatus != tc.status {
				t.Errorf("got code=%q class=%v faultcode=%q actor=%q text=%q status=%d\nwant code=%q class=%v faultcode=%q actor=%q text=%q status=%d",
					f.Code, f.Class, f.FaultCode, f.Actor, f.Text, f.HTTPStatus,
					tc.code, tc.class, tc.faultcode, tc.actor, tc.text, tc.status)
			}
			if (len(f.Detail) > 0) != tc.detail {
				t.Errorf("detail present = %v, want %v (%q)", len(f.Detail) > 0, tc.detail, f.Detail)
			}
			if tc.detail && !strings.Contains(string(f.Detail), "errorCode") {
				t.Errorf("raw detail lost its errorCode element: %q", f.Detail)
			}
		})
	}
}

// TestFixturesWellFormed checks the fixtures with an independent XML parser (xmllint), so
// that a fixture the Go parser tolerates but is not XML does not slip in.
func TestFixturesWellFormed(t *testing.T) {
	xmllint := testenv.Tool(t, "xmllint", "apt-get install libxml2-utils")
	files, _ := filepath.Glob(filepath.Join(fixtures, "*.xml"))
	if len(files) == 0 {
		t.Fatal("no fixtures found")
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(xmllint, "--noout", file).CombinedOutput()
			wantOK := name != "notfault_truncated.xml"
			if (err == nil) != wantOK {
				t.Fatalf("xmllint ok=%v, want %v: %s", err == nil, wantOK, out)
			}
		})
	}
}

func TestErrorRedactsFiscalCodes(t *testing.T) {
	f, ok := Parse(readFixture(t, "idocument_00404_notfound.xml"), 500)
	if !ok {
		t.Fatal("fixture not parsed")
	}
	f.Op = "retrieveDocument"
	msg := f.Error()
	if strings.Contains(msg, "FSEPGL01E41A145J") {
		t.Fatalf("Error() leaks a fiscal code: %s", msg)
	}
	for _, want := range []string{"retrieveDocument", "FSE-00404", "[CF]", "not-found", "IDocument", "HTTP 500"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q, want it to contain %q", msg, want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"paziente FSEPGL01E41A145J assente", "paziente [CF] assente"},
		{"FSELBR01C41A145S", "[CF]"},
		{"PROVAX00X00X000Y", "[CF]"}, // published test identity, month letter X
		{"ABCDEF", "ABCDEF"},
		{"omocodia RSSMRA85T10A56LS", "omocodia [CF]"},
		{"lowercase fsepgl01e41a145j", "lowercase [CF]"},
		{"uniqueId 2.16.840.1.113883.2.9.2.160.4.4^ABC", "uniqueId 2.16.840.1.113883.2.9.2.160.4.4^ABC"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := Redact(tc.in); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestCodeTable checks the Go table against the code table of the project's brief, typed
// here independently: any drift between the two fails.
func TestCodeTable(t *testing.T) {
	want := map[string]Class{
		"E000231": Security, "FSE-00000": Server, "FSE-00407": Security, "FSE-10001": Validation,
		"FSE-00231": Security, "FSE-00415": Validation, "FSE-00400": Validation, "FSE-00401": Security, "FSE-00402": Security, "FSE-00404": NotFound,
		"FSE-00409": Duplicate, "FSE-00422": Validation, "FSE-00451": ConsentMissing, "FSE-00503": Transient,
	}
	// Observed in public traffic (wsdl/FAULTS.md): #2501 #2331 #2332 #1005.
	observed := map[string]bool{"E000231": true, "FSE-00000": true, "FSE-00407": true, "FSE-10001": true}
	codes := Codes()
	if len(codes) != len(want) {
		t.Errorf("table has %d codes, want %d", len(codes), len(want))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		t.Run(c.Code, func(t *testing.T) {
			if seen[c.Code] {
				t.Errorf("duplicate code")
			}
			seen[c.Code] = true
			wc, ok := want[c.Code]
			if !ok {
				t.Fatalf("code not in the brief's table")
			}
			if c.Class != wc || ClassOf(c.Code) != wc {
				t.Errorf("class %v, want %v", c.Class, wc)
			}
			if c.Observed != observed[c.Code] {
				t.Errorf("observed = %v, want %v", c.Observed, observed[c.Code])
			}
			if c.Meaning == "" {
				t.Errorf("no meaning")
			}
		})
	}
	if ClassOf("FSE-12345") != Unknown || ClassOf("") != Unknown {
		t.Errorf("unknown codes must be class Unknown")
	}
}

func TestNormaliseCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"FSE-00407", "FSE-00407"},
		{" fse-00407 ", "FSE-00407"},
		{"000231", "E000231"},
		{"e000231", "E000231"},
		{"00231", "FSE-00231"},
		{"123456", "123456"},
		{"-0231", "-0231"},
		{"", ""},
		{"PFA11", "PFA11"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := normaliseCode(tc.in); got != tc.want {
				t.Errorf("normaliseCode(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestClassString(t *testing.T) {
	names := map[string]bool{}
	for c := Unknown; c <= Server; c++ {
		s := c.String()
		if s == "" || names[s] {
			t.Errorf("class %d has empty or duplicate name %q", c, s)
		}
		names[s] = true
	}
	if Class(99).String() != "unknown" {
		t.Errorf("out of range class must print unknown")
	}
}

func BenchmarkParse(b *testing.B) {
	body, err := os.ReadFile(filepath.Join(fixtures, "idocument_00407_gateway.xml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Parse(body, 500); !ok {
			b.Fatal("not parsed")
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"120", 2 * time.Minute}, {" 1 ", time.Second}, {"-3", 0}, {"soon", 0},
		{"Tue, 01 Dec 2026 09:00:30 GMT", 30 * time.Second}, {"Tue, 01 Dec 2026 08:00:00 GMT", 0},
	} {
		if got := ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
