package gateway_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware/mwtest"
)

var ctx = context.Background()

// captured is one request as the server saw it.
type captured struct {
	method, path, contentType string
	length                    int64
	header                    http.Header
	parts                     map[string][]byte
	partTypes                 map[string]string
	fileName                  string
	order                     []string
}

// capture answers every request with answer and records it.
func capture(t *testing.T, status int, answer string) (*httptest.Server, *[]captured) {
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := captured{method: r.Method, path: r.URL.EscapedPath(), contentType: r.Header.Get("Content-Type"), length: r.ContentLength, header: r.Header.Clone(),
			parts: map[string][]byte{}, partTypes: map[string]string{}}
		mt, params, _ := mime.ParseMediaType(c.contentType)
		if mt == "multipart/form-data" {
			mr := multipart.NewReader(r.Body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Errorf("multipart: %v", err)
					break
				}
				b, _ := io.ReadAll(p)
				c.parts[p.FormName()] = b
				c.partTypes[p.FormName()] = p.Header.Get("Content-Type")
				c.order = append(c.order, p.FormName())
				if p.FormName() == "file" {
					c.fileName = p.FileName()
				}
			}
		} else {
			b, _ := io.ReadAll(r.Body)
			c.parts["body"] = b
		}
		got = append(got, c)
		w.Header().Set("Content-Type", "application/json")
		if status >= 400 {
			w.Header().Set("Content-Type", "application/problem+json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func plainClient(t *testing.T, e *mwtest.Env, base string, cfg gateway.Config) *gateway.Client {
	cfg.BaseURL = base
	c, err := gateway.New(cfg, e.Identity, gateway.Options{HTTPClient: http.DefaultClient, Key: e.PKI.Client.Key, Chain: []*x509.Certificate{e.PKI.Client.Cert},
		Environment: "local", Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestExactRequests pins what goes on the wire: methods, paths, the two parts in order, the
// exact JSON (no deprecated or unknown fields), the file bytes, Content-Length, headers.
func TestExactRequests(t *testing.T) {
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	srv, got := capture(t, 202, `{"traceID":"0123456789abcdef","spanID":"0123456789abcdef","workflowInstanceId":"w"}`)
	c := plainClient(t, e, srv.URL+"/api/v1", gateway.Config{})
	unsigned := e.Doc(t, pdfcdatest.CDA{}, false)
	signed := e.Doc(t, pdfcdatest.CDA{}, true)
	id := "2.16.840.1.113883.2.9.2.160.4.4^160114.TEST.20260315103000.0001"

	if _, err := c.Validate(ctx, gateway.ValidateRequest{Document: unsigned}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx, gateway.PublishRequest{Document: signed, WorkflowInstanceID: "wii-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Replace(ctx, id, gateway.PublishRequest{Document: signed, WorkflowInstanceID: "wii-2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ValidateAndPublish(ctx, gateway.PublishRequest{Document: signed}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateMetadata(ctx, id, gateway.MetadataRequest{Meta: signed.Meta}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, id, pdfcdatest.PatientCF); err != nil {
		t.Fatal(err)
	}
	reqs := *got
	if len(reqs) != 6 {
		t.Fatalf("%d requests", len(reqs))
	}
	want := []struct{ method, path string }{
		{"POST", "/api/v1/documents/validation"},
		{"POST", "/api/v1/documents"},
		{"PUT", "/api/v1/documents/2.16.840.1.113883.2.9.2.160.4.4%5E160114.TEST.20260315103000.0001"},
		{"POST", "/api/v1/documents/validate-and-create"},
		{"PUT", "/api/v1/documents/2.16.840.1.113883.2.9.2.160.4.4%5E160114.TEST.20260315103000.0001/metadata"},
		{"DELETE", "/api/v1/documents/2.16.840.1.113883.2.9.2.160.4.4%5E160114.TEST.20260315103000.0001"},
	}
	for i, w := range want {
		r := reqs[i]
		if r.method != w.method || r.path != w.path {
			t.Errorf("request %d: %s %s, want %s %s", i, r.method, r.path, w.method, w.path)
		}
		if !strings.HasPrefix(r.header.Get("Authorization"), "Bearer ey") || !strings.HasPrefix(r.header.Get("FSE-JWT-Signature"), "ey") {
			t.Errorf("request %d: JWT headers %q / %q", i, r.header.Get("Authorization"), r.header.Get("FSE-JWT-Signature"))
		}
	}
	if v := reqs[0]; string(v.parts["requestBody"]) != `{"healthDataFormat":"CDA","mode":"ATTACHMENT","activity":"VALIDATION"}` ||
		string(v.parts["file"]) != string(unsigned.Data) || v.partTypes["file"] != "application/pdf" || v.fileName != "referto.pdf" ||
		strings.Join(v.order, ",") != "requestBody,file" || v.length <= int64(len(unsigned.Data)) {
		t.Errorf("validation request: body %s, order %v, file type %q, length %d", v.parts["requestBody"], v.order, v.partTypes["file"], v.length)
	}
	pubKeys := func(raw []byte) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		return m
	}
	create := pubKeys(reqs[1].parts["requestBody"])
	wantCreate := map[string]any{"workflowInstanceId": "wii-1", "healthDataFormat": "CDA", "mode": "ATTACHMENT", "tipologiaStruttura": "Ospedale",
		"identificativoDoc": id, "identificativoRep": "2.16.840.1.113883.2.9.2.160.4.5.1", "tipoDocumentoLivAlto": "REF",
		"assettoOrganizzativo": "AD_PSC001", "tipoAttivitaClinica": "PHR"}
	for k, v := range wantCreate {
		if create[k] != v {
			t.Errorf("create %s = %v, want %v", k, create[k], v)
		}
	}
	sub, _ := create["identificativoSottomissione"].(string)
	if !gateway.SubmissionIDPattern.MatchString(sub) {
		t.Errorf("identificativoSottomissione %q", sub)
	}
	if len(create) != len(wantCreate)+1 {
		t.Errorf("create sends extra fields: %v", create)
	}
	if _, ok := create["priorita"]; ok {
		t.Error("deprecated priorita sent")
	}
	if string(reqs[1].parts["file"]) != string(signed.Data) {
		t.Error("create did not upload the exact signed bytes")
	}
	if vc := pubKeys(reqs[3].parts["requestBody"]); vc["workflowInstanceId"] != nil {
		t.Error("validate-and-create sends a workflowInstanceId")
	}
	md := reqs[4]
	if md.contentType != "application/json" {
		t.Errorf("metadata update Content-Type %q", md.contentType)
	}
	m := pubKeys(md.parts["body"])
	for _, k := range []string{"identificativoDoc", "identificativoRep", "mode", "workflowInstanceId", "priorita"} {
		if _, ok := m[k]; ok {
			t.Errorf("metadata update sends %s", k)
		}
	}
	if d := reqs[5]; d.contentType != "" || len(d.parts["body"]) != 0 {
		t.Errorf("delete sends a body: %q %q", d.contentType, d.parts["body"])
	}
}

func TestProblemsAndClasses(t *testing.T) {
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	cases := []struct {
		status int
		body   string
		class  gateway.Class
		source gateway.Source
	}{
		{400, `{"traceID":"a","spanID":"b","type":"/msg/cda-match","title":"Errore","detail":"Il CDA non risulta validato","status":400,"instance":"/cda-validation"}`, gateway.ClassInvalid, gateway.SourceGateway},
		{422, `{"type":"/msg/semantic","title":"Errore semantico.","status":422,"workflowInstanceId":"w"}`, gateway.ClassInvalid, gateway.SourceGateway},
		{403, `{"type":"/msg/jwt-validation","status":403}`, gateway.ClassAuth, gateway.SourceGateway},
		{400, `{"type":"https://govway.org/handling-errors/400/InteroperabilityInvalidRequest.html","title":"InteroperabilityInvalidRequest","status":400,"govway_id":"x"}`, gateway.ClassAuth, gateway.SourceGovWay},
		{504, `{"type":"mw/io_error","title":"timeout","status":504}`, gateway.ClassTransient, gateway.SourceMiddleware},
		{500, `{"type":"mw/internal_error","status":500}`, gateway.ClassServer, gateway.SourceMiddleware},
		{404, `{"type":"/msg/record-not-found","status":404}`, gateway.ClassNotFound, gateway.SourceGateway},
		{409, `{"type":"/msg/id-doc","status":409}`, gateway.ClassConflict, gateway.SourceGateway},
		{502, `<html>Bad Gateway</html>`, gateway.ClassTransient, gateway.SourceGateway},
	}
	unsigned := e.Doc(t, pdfcdatest.CDA{}, false)
	for _, tc := range cases {
		srv, _ := capture(t, tc.status, tc.body)
		c := plainClient(t, e, srv.URL, gateway.Config{})
		_, err := c.Validate(ctx, gateway.ValidateRequest{Document: unsigned})
		var p *gateway.Problem
		if !errors.As(err, &p) {
			t.Fatalf("%d: %T %v", tc.status, err, err)
		}
		if p.Class() != tc.class || p.Source() != tc.source || p.HTTPStatus != tc.status {
			t.Errorf("%s: class %s source %s status %d", tc.body, p.Class(), p.Source(), p.HTTPStatus)
		}
	}
	// Unreachable: a *CallError, a transport failure.
	c := plainClient(t, e, "http://127.0.0.1:1/api/v1", gateway.Config{})
	_, err := c.Validate(ctx, gateway.ValidateRequest{Document: unsigned})
	var ce *gateway.CallError
	if !errors.As(err, &ce) || !ce.TransportFailure() {
		t.Fatalf("unreachable: %T %v", err, err)
	}
}

func TestSplitWarnings(t *testing.T) {
	got := gateway.SplitWarnings("[W001] nazionale--middlewarewarning--[R1] regionale--middlewarewarning--[R2] altro")
	if len(got) != 3 || got[0] != (gateway.Warning{Source: gateway.SourceGateway, Text: "[W001] nazionale"}) ||
		got[1].Source != gateway.SourceMiddleware || got[2].Text != "[R2] altro" {
		t.Fatalf("%+v", got)
	}
	if got := gateway.SplitWarnings("--middlewarewarning--solo regionale"); len(got) != 1 || got[0].Source != gateway.SourceMiddleware {
		t.Fatalf("%+v", got)
	}
	if got := gateway.SplitWarnings(""); got != nil {
		t.Fatalf("%+v", got)
	}
}

func TestCDAHash(t *testing.T) {
	base := pdfcdatest.CDA{}.Bytes()
	h0, err := gateway.CDAHash(base)
	if err != nil {
		t.Fatal(err)
	}
	la := strings.Replace(string(base), `<given>Direttrice</given>`, `<given>Altra firmataria</given>`, 1)
	la = strings.Replace(la, `<signatureCode code="S"/>`, `<signatureCode code="S"/><signature>firma</signature>`, 1)
	if la == string(base) {
		t.Fatal("no legalAuthenticator in the sample")
	}
	if h, _ := gateway.CDAHash([]byte(la)); h != h0 {
		t.Fatal("a legalAuthenticator change changed the hash")
	}
	other := strings.Replace(string(base), `Referto di prova (sintetico)`, `Referto di prova (modificato)`, 1)
	if h, _ := gateway.CDAHash([]byte(other)); h == h0 {
		t.Fatal("a title change kept the hash")
	}
	if _, err := gateway.CDAHash([]byte("<ClinicalDocument>")); err == nil {
		t.Fatal("broken XML hashed")
	}
}

// TestTraceRedacted: --trace-dir keeps middleware calls, JWT claims and answers, with fiscal
// codes, the JWT signatures, certificates and the document bytes left out unless raw.
func TestTraceRedacted(t *testing.T) {
	for _, raw := range []bool{false, true} {
		e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
		dir := t.TempDir()
		c, err := gateway.New(gateway.Config{BaseURL: e.BaseURL}, e.Identity, gateway.Options{HTTPClient: e.Transport, Key: e.PKI.Client.Key,
			Chain: []*x509.Certificate{e.PKI.Client.Cert}, Environment: "local", Now: e.Clock.Now, TraceDir: dir, TraceRaw: raw})
		if err != nil {
			t.Fatal(err)
		}
		doc := e.Doc(t, pdfcdatest.CDA{}, false)
		if _, err := c.Validate(ctx, gateway.ValidateRequest{Document: doc}); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*-gateway-validation.json"))
		if len(files) != 1 {
			t.Fatalf("trace files %v", files)
		}
		b, _ := os.ReadFile(files[0])
		s := string(b)
		var rec map[string]any
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		has := func(x string) bool { return strings.Contains(s, x) }
		if !has(`"workflowInstanceId"`) || !has(`"person_id"`) || !has(`"activity": "VALIDATION"`) && !has(`"activity":"VALIDATION"`) {
			t.Fatalf("trace lacks the call: %s", s)
		}
		if raw != has(pdfcdatest.PatientCF) || raw != has(`"base64"`) || raw != has(`"token"`) {
			t.Fatalf("raw=%v: CF present %v, file present %v, token present %v", raw, has(pdfcdatest.PatientCF), has(`"base64"`), has(`"token"`))
		}
		if !raw && (has("CF[redacted]") == false || has("MII")) {
			t.Fatalf("redacted trace: %s", s)
		}
	}
}
