package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
)

func startSimWith(t *testing.T, opt sim.Options) *sim.Server {
	t.Helper()
	if opt.DataDir == "" {
		opt.DataDir = t.TempDir()
	}
	s, err := sim.Start(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func writeCDADoc(t *testing.T, dir, name string, c pdfcdatest.CDA, sign bool) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pdfcdatest.PDF{Attachment: c.Bytes(), Sign: sign}.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestValidateAndStatusAgainstSimulator: `fsepuglia validate` and `fsepuglia status` against
// the middleware simulator over mutual TLS, configured only by the file `fsepuglia sim` writes.
func TestValidateAndStatusAgainstSimulator(t *testing.T) {
	s := startSimWith(t, sim.Options{})
	dir := t.TempDir()
	doc := writeCDADoc(t, dir, "referto.pdf", pdfcdatest.CDA{}, true)
	notPDF := filepath.Join(dir, "note.txt")
	_ = os.WriteFile(notPDF, []byte("not a document"), 0o600)

	out, e, code := runReal(t, s.ClientConfigPath(), t.TempDir(), "validate", doc)
	if code != 0 {
		t.Fatalf("validate: exit %d\n%s", code, e)
	}
	var vs []validation
	if err := json.Unmarshal([]byte(out), &vs); err != nil || len(vs) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	v := vs[0]
	if v.Outcome != "valid" || v.HTTPStatus != 201 || !gateway.WorkflowIDPattern.MatchString(v.WorkflowInstanceID) || len(v.TraceID) != 16 {
		t.Fatalf("validation %+v", v)
	}
	// The PDF was already signed: the gateway's SIGN_WARN comes through.
	if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0].Text, "SIGN_WARN") {
		t.Fatalf("warnings %+v", v.Warnings)
	}

	out, e, code = runReal(t, s.ClientConfigPath(), t.TempDir(), "status", v.WorkflowInstanceID)
	if code != 0 || !strings.Contains(out, `"eventType": "VALIDATION"`) {
		t.Fatalf("status: exit %d %s %s", code, out, e)
	}
	out, _, code = runReal(t, s.ClientConfigPath(), t.TempDir(), "status", "--trace-id", v.TraceID)
	if code != 0 || !strings.Contains(out, v.WorkflowInstanceID) {
		t.Fatalf("status --trace-id: exit %d %s", code, out)
	}
	_, e, code = runReal(t, s.ClientConfigPath(), t.TempDir(), "status", "--trace-id", "ffffffffffffffff")
	if code != exitFault || !strings.Contains(e, "/msg/record-not-found") {
		t.Fatalf("unknown trace: exit %d %s", code, e)
	}

	// A batch with one file that is not a PDF: refused here, exit 7, the other validated.
	out, e, code = runReal(t, s.ClientConfigPath(), t.TempDir(), "validate", "--activity", "VERIFICA", doc, notPDF)
	if code != exitPartial {
		t.Fatalf("mixed batch: exit %d\n%s\n%s", code, out, e)
	}
	if err := json.Unmarshal([]byte(out), &vs); err != nil || len(vs) != 2 || vs[0].Outcome != "valid" || vs[0].HTTPStatus != 200 || vs[1].Outcome != "error" {
		t.Fatalf("%v %s", err, out)
	}
	// A single file refused before sending: exit 3.
	if _, _, code = runReal(t, s.ClientConfigPath(), t.TempDir(), "validate", notPDF); code != exitInput {
		t.Fatalf("not a PDF: exit %d", code)
	}
	if _, _, code = runReal(t, s.ClientConfigPath(), t.TempDir(), "validate", "--activity", "CHECK", doc); code != exitInput {
		t.Fatalf("bad activity: exit %d", code)
	}
	if _, _, code = runReal(t, s.ClientConfigPath(), t.TempDir(), "status"); code != exitUsage {
		t.Fatalf("status without id: exit %d", code)
	}
	if n := s.Middleware().Accepted(gateway.OpValidation); n != 2 {
		t.Fatalf("the middleware accepted %d validations, want 2", n)
	}
}

// TestValidateExitCodes: a refusal by the gateway is exit 4; the middleware's own io error
// (the national gateway unreachable) is exit 6.
func TestValidateExitCodes(t *testing.T) {
	rules, err := inject.ParseSpecs([]string{"gtw-validation:rate=1,kinds=fault"})
	if err != nil {
		t.Fatal(err)
	}
	s := startSimWith(t, sim.Options{Inject: rules})
	dir := t.TempDir()
	doc := writeCDADoc(t, dir, "referto.pdf", pdfcdatest.CDA{}, false)
	out, e, code := runReal(t, s.ClientConfigPath(), t.TempDir(), "validate", doc)
	if code != exitTransport || !strings.Contains(e, "mw/io_error") {
		t.Fatalf("injected mw/io_error: exit %d %s", code, e)
	}
	if !strings.Contains(out, `"type": "mw/io_error"`) || !strings.Contains(out, `"outcome": "error"`) {
		t.Fatalf("validate output: %s", out)
	}
	// A claim refused before sending: exit 3, nothing sent.
	bad := editConfig(t, s.ClientConfigPath(), func(m map[string]any) { m["operator"].(map[string]any)["role"] = "MEDICO" })
	if _, e, code = runReal(t, bad, t.TempDir(), "validate", doc); code != exitInput || !strings.Contains(e, "subject_role") {
		t.Fatalf("refused claim: exit %d %s", code, e)
	}

	// The audience is configurable; one the frontier does not accept is refused by GovWay
	// (a problem with govway_id): exit 4, nothing accepted.
	s2 := startSimWith(t, sim.Options{})
	raw, err := os.ReadFile(s2.ClientConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	_ = json.Unmarshal(raw, &cfg)
	cfg["gateway"].(map[string]any)["audience"] = "https://mdw-fse-preprod.sanita.regione.rsr.rupar.puglia.it/api/v1"
	raw, _ = json.Marshal(cfg)
	other := filepath.Join(t.TempDir(), "config.json")
	_ = os.WriteFile(other, raw, 0o600)
	_, e, code = runReal(t, other, t.TempDir(), "validate", doc)
	if code != exitFault || !strings.Contains(e, "govway_id") || !strings.Contains(e, "aud") {
		t.Fatalf("refused audience: exit %d %s", code, e)
	}
	if s2.Middleware().Accepted(gateway.OpValidation) != 0 {
		t.Fatal("accepted")
	}
}

// TestValidateTraceDir: --trace-dir keeps the middleware calls (headers, parts, decoded JWT
// claims, answers) with patient data and tokens redacted unless --trace-raw.
func TestValidateTraceDir(t *testing.T) {
	s := startSimWith(t, sim.Options{})
	doc := writeCDADoc(t, t.TempDir(), "referto.pdf", pdfcdatest.CDA{}, false)
	for _, raw := range []bool{false, true} {
		dir := t.TempDir()
		args := []string{"--trace-dir", dir}
		if raw {
			args = append(args, "--trace-raw")
		}
		if _, e, code := runReal(t, s.ClientConfigPath(), t.TempDir(), append(args, "validate", doc)...); code != 0 {
			t.Fatal(e)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*-gateway-validation.json"))
		if len(files) != 1 {
			t.Fatalf("trace files: %v", files)
		}
		b, _ := os.ReadFile(files[0])
		got := string(b)
		if !strings.Contains(got, `"person_id"`) || !strings.Contains(got, `"workflowInstanceId"`) {
			t.Fatalf("trace lacks the claims or the answer: %s", got)
		}
		if raw != strings.Contains(got, pdfcdatest.PatientCF) || raw != strings.Contains(got, `"token"`) {
			t.Fatalf("raw=%v, but CF present %v, token present %v", raw, strings.Contains(got, pdfcdatest.PatientCF), strings.Contains(got, `"token"`))
		}
	}
}

// TestDescribeGatewayErrors: the JSON error object of the middleware's errors (status, and
// any command that does not print its own JSON) names the problem type or the claim.
func TestDescribeGatewayErrors(t *testing.T) {
	for _, tc := range []struct {
		err                error
		code, class, field string
	}{
		{&gateway.Problem{Type: "mw/io_error", HTTPStatus: 504}, "mw/io_error", "transport", ""},
		{&gateway.Problem{Type: "/msg/record-not-found", HTTPStatus: 404}, "/msg/record-not-found", "fault", ""},
		{&gateway.Problem{HTTPStatus: 502}, "http-502", "transport", ""},
		{&gateway.ClaimError{Claim: "locality", Msg: "x"}, "invalid-input", "input", "jwt.locality"},
		{&gateway.FieldError{Field: "tipologiaStruttura", Msg: "x"}, "invalid-input", "input", "requestBody.tipologiaStruttura"},
		{&gateway.WorkflowError{Reason: "x", Fix: "y"}, "workflow", "input", "file"},
	} {
		b := describeError(tc.err, exitCode(tc.err))
		if b.Code != tc.code || b.Class != tc.class || b.Field != tc.field {
			t.Errorf("%T: %+v, want code %s class %s field %s", tc.err, b, tc.code, tc.class, tc.field)
		}
	}
}
