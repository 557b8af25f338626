package fault

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestObservedFaults decodes every fault shape public traffic shows (fixtures/observed,
// reconstructed from the it-fse-support threads named in its README) and checks code,
// class and, for the middleware refusal of #2717, the problem+json fields.
func TestObservedFaults(t *testing.T) {
	tests := []struct {
		file, code   string
		class        Class
		actor, text  string
		problem      *Problem
		errorMessage string
		errorString  string // a fragment of Error()
	}{
		{file: "2501_E000231.response.xml", code: "E000231", class: Security,
			text: "Il codice fiscale della smart card non corrisponde a quello dell'operatore.", errorString: "E000231 - Il codice fiscale"},
		{file: "2331_FSE-00000.response.xml", code: "FSE-00000", class: Server, actor: "IDocument", text: "Errore generico: Null"},
		{file: "2332_FSE-00407.response.xml", code: "FSE-00407", class: Security, actor: "IDocument",
			text: "Mancano le asserzioni applicative obbligatorie o riportano informazioni non valide."},
		{file: "1005_FSE-10001.response.xml", code: "FSE-10001", class: Validation, actor: "IDocument",
			text: "Il documento CDA non e' firmato digitalmente"},
		{file: "2717_FSE-00000_middleware.response.xml", code: "FSE-00000", class: Validation, actor: "IDocument",
			problem: &Problem{Type: "/msg/document-type", Title: "Il documento non è pdf.", Detail: "Il documento non è pdf.", Status: 415,
				Instance: "/multipart-file", TraceID: "00000000000000000000000000002717", SpanID: "0000000000002717",
				WorkflowInstanceID: "UNKNOWN_WORKFLOW_ID", Prefix: "Error during middleware call: Validation and publication service returned error"},
			errorMessage: "Error during middleware call",
			errorString:  "the regional middleware says: Il documento non è pdf. (415, /msg/document-type)"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b := readObserved(t, tc.file)
			f, ok := Parse(b, 500)
			if !ok {
				t.Fatal("not parsed as a fault")
			}
			if f.Code != tc.code || f.Class != tc.class || f.Actor != tc.actor {
				t.Errorf("code %q class %v actor %q, want %q %v %q", f.Code, f.Class, f.Actor, tc.code, tc.class, tc.actor)
			}
			if tc.text != "" && f.Text != tc.text {
				t.Errorf("text %q, want %q", f.Text, tc.text)
			}
			if f.Message != tc.errorMessage {
				t.Errorf("errorMessage %q, want %q", f.Message, tc.errorMessage)
			}
			switch {
			case tc.problem == nil && f.Middleware != nil:
				t.Errorf("middleware problem %+v where none is sent", f.Middleware)
			case tc.problem != nil && (f.Middleware == nil || *f.Middleware != *tc.problem):
				t.Errorf("middleware problem %+v, want %+v", f.Middleware, tc.problem)
			}
			if tc.errorString != "" && !strings.Contains(f.Error(), tc.errorString) {
				t.Errorf("Error() = %q, want it to contain %q", f.Error(), tc.errorString)
			}
		})
	}
}

// TestProblemClassByStatus: an FSE-00000 carrying the gateway's problem+json is classified
// by its status.
func TestProblemClassByStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   Class
	}{{400, Validation}, {415, Validation}, {422, Validation}, {401, Security}, {403, Security},
		{404, NotFound}, {409, Duplicate}, {500, Server}, {502, Transient}, {503, Transient}, {504, Transient}} {
		s := `FSE-00000 - Error during middleware call: {"type": "/msg/x", "title": "t", "status": ` + strconv.Itoa(tc.status) + `}`
		f := build("a:Server", s, "IDocument", nil, 500)
		if f.Middleware == nil || f.Middleware.Status != tc.status || f.Class != tc.want {
			t.Errorf("status %d: problem %+v class %v, want %v", tc.status, f.Middleware, f.Class, tc.want)
		}
	}
	if f := build("a:Server", "FSE-00000 - Errore generico: Null", "IDocument", nil, 500); f.Middleware != nil || f.Class != Server {
		t.Errorf("plain generic fault: %+v", f)
	}
	if p := ParseProblem(`text {"no": "fields we know"}`); p != nil {
		t.Errorf("ParseProblem found %+v in an unrelated object", p)
	}
}

// readObserved reads a replay of public traffic from fixtures/observed.
func readObserved(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "observed", name))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return b
}
