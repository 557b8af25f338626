package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
)

func sampleSearch() *adapter.SearchResult {
	return &adapter.SearchResult{Total: 2, Documents: []adapter.Metadata{
		{UniqueID: "2.16.840.1.113883.2.9.2.160.4.4^LAB1", PatientCF: cfA, TypeCode: "11502-2", ClassCode: "REF", Title: "Referto di laboratorio",
			CreationTime: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), Status: "Approved", AuthorInstitutionName: "Laboratorio Test", Size: 1234, Hash: strings.Repeat("ab", 32)},
	}}
}

func TestSearch(t *testing.T) {
	h := newHarness(t)
	h.region.searchRes = sampleSearch()
	out, e, code := h.run("--output", "json", "search", "--patient", strings.ToLower(cfA), "--from", "2026-01-01", "--to", "2026-06-30", "--type", "11502-2", "--limit", "10")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	q := h.region.searchQ
	if q.PatientCF != cfA || q.TypeCode != "11502-2" || q.Limit != 10 || q.From.Format("2006-01-02") != "2026-01-01" || q.To.Format("2006-01-02") != "2026-06-30" {
		t.Fatalf("query sent %+v", q)
	}
	golden(t, "search.json", out)

	out, _, _ = h.run("search", "--patient", cfA)
	for _, s := range []string{"UNIQUE ID", "2.16.840.1.113883.2.9.2.160.4.4^LAB1", "1 of 2 document(s)"} {
		if !strings.Contains(out, s) {
			t.Errorf("table output lacks %q:\n%s", s, out)
		}
	}
	if _, e, code := h.run("search", "--patient", cfA, "--from", "2026-06-30", "--to", "2026-01-01"); code != exitInput || !strings.Contains(e, "--to") {
		t.Fatalf("reversed dates: exit %d %s", code, e)
	}
}

func TestEmptySearchJSONHasArray(t *testing.T) {
	h := newHarness(t)
	h.region.searchRes = &adapter.SearchResult{}
	out, _, _ := h.run("--output", "json", "search", "--patient", cfA)
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if docs, ok := v["documents"].([]any); !ok || len(docs) != 0 {
		t.Fatalf("documents = %#v, want []", v["documents"])
	}
}

func TestRetrieveDeleteReplace(t *testing.T) {
	h := newHarness(t)
	id := "2.16.840.1.113883.2.9.2.160.4.4^R1"
	h.region.docs[id] = []byte("%PDF-1.7 body")
	dst := filepath.Join(t.TempDir(), "out.pdf")
	out, e, code := h.run("--output", "json", "retrieve", id, "--patient", cfA, "-o", dst)
	if code != 0 {
		t.Fatalf("retrieve exit %d: %s", code, e)
	}
	if b, _ := os.ReadFile(dst); string(b) != "%PDF-1.7 body" {
		t.Fatalf("file content %q", b)
	}
	var ro retrieveOutput
	json.Unmarshal([]byte(out), &ro)
	if ro.SHA256 != sha("%PDF-1.7 body") || ro.Size != 13 {
		t.Fatalf("retrieve output %+v", ro)
	}
	if _, e, code := h.run("retrieve", id, "--patient", cfA, "-o", dst); code != exitInput || !strings.Contains(e, "--force") {
		t.Fatalf("overwrite without --force: exit %d %s", code, e)
	}
	if _, _, code := h.run("retrieve", id, "--patient", cfA, "-o", dst, "--force"); code != 0 {
		t.Fatalf("--force refused")
	}
	if _, _, code := h.run("retrieve", "2.16.840.1.113883.2.9.2.160.4.4^NOPE", "--patient", cfA, "-o", dst+"2"); code != exitFault {
		t.Fatalf("unknown document: exit %d, want %d", code, exitFault)
	}

	newDoc := writeDoc(t, t.TempDir(), "v2.pdf", "%PDF v2", sidecar(cfA, id+"v2"))
	if _, e, code := h.run("replace", id, newDoc); code != 0 {
		t.Fatalf("replace exit %d: %s", code, e)
	}
	if !reflect.DeepEqual(h.region.replaced, []string{id + ">" + id + "v2"}) {
		t.Fatalf("replaced %v", h.region.replaced)
	}
	if _, e, code := h.run("delete", id, "--patient", cfB, "--yes"); code != 0 {
		t.Fatalf("delete exit %d: %s", code, e)
	}
	if !reflect.DeepEqual(h.region.deleted, []string{cfB + "/" + id}) {
		t.Fatalf("deleted %v", h.region.deleted)
	}
}

func TestConsentSetParsing(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[adapter.ConsentCode]bool
		code int
	}{
		{"flags", []string{"set", "--patient", cfA, "--c2=true", "--c3=false"}, map[adapter.ConsentCode]bool{"C2": true, "C3": false}, 0},
		{"args", []string{"set", "--patient", cfA, "C2=1", "c4=0"}, map[adapter.ConsentCode]bool{"C2": true, "C4": false}, 0},
		{"flags and args agree", []string{"set", "--patient", cfA, "--c2=1", "C2=1", "C3=1"}, map[adapter.ConsentCode]bool{"C2": true, "C3": true}, 0},
		{"flags and args conflict", []string{"set", "--patient", cfA, "--c2=1", "C2=0"}, nil, exitUsage},
		{"C1 not settable", []string{"set", "--patient", cfA, "C1=0"}, nil, exitInput},
		{"bare code in set", []string{"set", "--patient", cfA, "C2"}, nil, exitUsage},
		{"bad value", []string{"set", "--patient", cfA, "C2=maybe"}, nil, exitInput},
		{"nothing to set", []string{"set", "--patient", cfA}, nil, exitUsage},
		{"revoke", []string{"revoke", "--yes", "--patient", cfA, "C2", "C3"}, map[adapter.ConsentCode]bool{"C2": false, "C3": false}, 0},
		{"revoke with value", []string{"revoke", "--patient", cfA, "C2=1"}, nil, exitUsage},
		{"revoke nothing", []string{"revoke", "--patient", cfA}, nil, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			_, e, code := h.run(append([]string{"consent"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, e)
			}
			if tt.want == nil {
				if len(h.region.consentCh) != 0 {
					t.Fatalf("a refused command sent %v", h.region.consentCh)
				}
				return
			}
			if len(h.region.consentCh) != 1 || !reflect.DeepEqual(h.region.consentCh[0].Values, tt.want) || h.region.consentCh[0].PatientCF != cfA {
				t.Fatalf("sent %+v, want %v", h.region.consentCh, tt.want)
			}
		})
	}
}

func TestConsentRepresentative(t *testing.T) {
	h := newHarness(t)
	if _, e, code := h.run("consent", "set", "--patient", cfA, "--c2=1", "--on-behalf-of", cfB, "--representative-role", "TUT"); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if r := h.region.consentCh[0].OnBehalfOf; r == nil || r.CF != cfB || r.Role != "TUT" {
		t.Fatalf("representative %+v", r)
	}
	if _, _, code := h.run("consent", "set", "--patient", cfA, "--c2=1", "--on-behalf-of", cfB); code != exitInput {
		t.Fatalf("representative without role: exit %d", code)
	}
}

func TestConsentStatusAndInformativa(t *testing.T) {
	h := newHarness(t)
	h.region.consents["C2"] = true
	out, e, code := h.run("--output", "json", "consent", "status", "--patient", cfA)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	golden(t, "consent-status.json", out)
	dst := filepath.Join(t.TempDir(), "inf.pdf")
	if _, e, code := h.run("consent", "informativa", "-o", dst); code != 0 {
		t.Fatalf("informativa exit %d: %s", code, e)
	}
	if b, _ := os.ReadFile(dst); !strings.HasPrefix(string(b), "%PDF") {
		t.Fatalf("informativa file %q", b)
	}
	if _, _, code := h.run("consent", "informativa"); code != exitUsage {
		t.Fatalf("informativa without -o: exit %d", code)
	}
}

func TestTaccuino(t *testing.T) {
	for _, kind := range adapter.TaccuinoKinds {
		t.Run(string(kind), func(t *testing.T) {
			h := newHarness(t)
			out, e, code := h.run("--output", "json", "taccuino", string(kind), "--patient", cfB, "--from", "2026-01-01", "--offset", "5", "--limit", "2")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, e)
			}
			q := h.region.taccQ
			if q.Kind != kind || q.PatientCF != cfB || q.Offset != 5 || q.Limit != 2 || q.From.IsZero() {
				t.Fatalf("query %+v", q)
			}
			var v taccuinoItemsOutput
			if err := json.Unmarshal([]byte(out), &v); err != nil || v.Total != 7 || len(v.Items) != 1 || v.Items[0].Kind != string(kind) {
				t.Fatalf("output %s (%v)", out, err)
			}
		})
	}
	h := newHarness(t)
	out, _, code := h.run("--output", "json", "taccuino", "summary", "--patient", cfA)
	if code != 0 {
		t.Fatal(code)
	}
	golden(t, "taccuino-summary.json", out)
}

// TestLogsNeverShowFiscalCodes runs commands at debug level and checks that stderr carries
// no fiscal code, while stdout (the user's own results) may.
func TestLogsNeverShowFiscalCodes(t *testing.T) {
	h := newHarness(t)
	h.region.searchRes = sampleSearch()
	dir := t.TempDir()
	doc := writeDoc(t, dir, "a.pdf", "%PDF a", sidecar(cfB, "2.16.840.1.113883.2.9.2.160.4.4^LOG1"))
	runs := [][]string{
		{"--log-level", "debug", "search", "--patient", cfA},
		{"--log-level", "debug", "consent", "set", "--patient", cfA, "C2=1"},
		{"--log-level", "debug", "taccuino", "summary", "--patient", cfA},
		{"--log-level", "debug", "publish", doc},
		{"--log-level", "debug", "delete", "2.16.840.1.113883.2.9.2.160.4.4^LOG1", "--patient", cfB, "--yes"},
	}
	sawMasked := false
	for _, args := range runs {
		out, e, code := h.run(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, e)
		}
		for _, cf := range []string{cfA, cfB} {
			if strings.Contains(e, cf) {
				t.Errorf("%v: stderr shows %s:\n%s", args, cf, e)
			}
		}
		sawMasked = sawMasked || strings.Contains(e, "FSE**********45J") || strings.Contains(e, "FSE**********45S")
		if args[2] == "search" && !strings.Contains(out, "LAB1") {
			t.Errorf("search results missing on stdout: %s", out)
		}
	}
	if !sawMasked {
		t.Fatal("no masked fiscal code in the logs: is info logging wired at all?")
	}
}

func TestLoggerRedactsFields(t *testing.T) {
	var buf bytesBuffer
	l := newLogger(&buf, "info")
	l.Info("call for "+cfA, map[string]any{"patient": cfB, "err": &fakeFault{"FSE-00451", "consenso mancante per " + cfA}, "n": 3})
	l.Debug("hidden", nil)
	s := buf.String()
	if strings.Contains(s, cfA) || strings.Contains(s, cfB) || strings.Contains(s, "hidden") {
		t.Fatalf("log line leaks or debug shown at info: %s", s)
	}
	if !strings.Contains(s, "FSE-00451") || !strings.Contains(s, "n=3") {
		t.Fatalf("log line lost non-personal data: %s", s)
	}
}

func TestOutputFlagAfterCommand(t *testing.T) {
	h := newHarness(t)
	h.region.searchRes = sampleSearch()
	out, e, code := h.run("search", "--patient", cfA, "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	var v searchOutput
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Total != 2 {
		t.Fatalf("not JSON: %q (%v)", out, err)
	}
	if _, e, code := h.run("taccuino", "summary", "--output", "xml", "--patient", cfA); code != exitInput || !strings.Contains(e, "--output") {
		t.Fatalf("bad local --output: exit %d %s", code, e)
	}
	if out, _, _ := h.run("consent", "status", "--patient", cfA); strings.HasPrefix(out, "{") {
		t.Fatalf("table expected by default: %s", out)
	}
}
