package middleware_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware/mwtest"
)

var ctx = context.Background()

func problemOf(t *testing.T, err error) *gateway.Problem {
	t.Helper()
	var p *gateway.Problem
	if !errors.As(err, &p) {
		t.Fatalf("want a *gateway.Problem, got %T %v", err, err)
	}
	return p
}

// validated validates c (unsigned) and returns the workflowInstanceId.
func validated(t *testing.T, e *mwtest.Env, c pdfcdatest.CDA) string {
	t.Helper()
	res, err := e.Client.Validate(ctx, gateway.ValidateRequest{Document: e.Doc(t, c, false)})
	if err != nil {
		t.Fatal(err)
	}
	if res.HTTPStatus != http.StatusCreated {
		t.Fatalf("VALIDATION answered %d, want 201", res.HTTPStatus)
	}
	return res.WorkflowInstanceID
}

func TestValidatePublishStatus(t *testing.T) {
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	c := pdfcdatest.CDA{}
	wii := validated(t, e, c)
	if !gateway.WorkflowIDPattern.MatchString(wii) || !gateway.WorkflowIDMatches(wii, "2.16.840.1.113883.2.9.2.160.4.4", "160114.TEST.20260315103000.0001") {
		t.Fatalf("workflowInstanceId %q is not in the spec's format for the CDA id", wii)
	}
	e.Clock.Add(2 * time.Hour) // signed later
	res, err := e.Client.Publish(ctx, gateway.PublishRequest{Document: e.Doc(t, c, true), WorkflowInstanceID: wii})
	if err != nil {
		t.Fatal(err)
	}
	if res.HTTPStatus != http.StatusAccepted || res.WorkflowInstanceID != wii || len(res.TraceID) != 16 {
		t.Fatalf("publication answer %+v", res)
	}
	st, err := e.Client.Status(ctx, wii)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range st.Events {
		types = append(types, ev.EventType+":"+ev.EventStatus)
	}
	if got := strings.Join(types, " "); got != "VALIDATION:SUCCESS PUBLICATION:SUCCESS SEND_TO_INI:SUCCESS" || !st.Published() {
		t.Fatalf("events %s", got)
	}
	byTrace, err := e.Client.StatusByTrace(ctx, res.TraceID)
	if err != nil || len(byTrace.Events) != 3 {
		t.Fatalf("status by trace: %v %+v", err, byTrace)
	}
	_, err = e.Client.Status(ctx, "2.16.840.1.113883.2.9.2.160.4.4."+strings.Repeat("0", 64)+".0000000000"+gateway.WorkflowSuffix)
	if p := problemOf(t, err); p.HTTPStatus != 404 || p.Type != "/msg/record-not-found" || p.Class() != gateway.ClassNotFound {
		t.Fatalf("unknown wii: %+v", p)
	}
	if n := e.Server.Accepted(gateway.OpCreate); n != 1 {
		t.Fatalf("accepted creates %d", n)
	}
}

func TestWarnings(t *testing.T) {
	e := mwtest.Start(t, middleware.Options{RegionalWarning: "[MW] avviso regionale"}, gateway.Config{})
	res, err := e.Client.Validate(ctx, gateway.ValidateRequest{Document: e.Doc(t, pdfcdatest.CDA{}, true), NoMode: true, Activity: gateway.ActivityVerifica})
	if err != nil {
		t.Fatal(err)
	}
	if res.HTTPStatus != 200 {
		t.Fatalf("VERIFICA answered %d, want 200", res.HTTPStatus)
	}
	want := []gateway.Warning{{Source: gateway.SourceGateway, Text: middleware.WarnExtract + "," + middleware.WarnSigned}, {Source: gateway.SourceMiddleware, Text: "[MW] avviso regionale"}}
	if fmt.Sprint(res.Warnings) != fmt.Sprint(want) {
		t.Fatalf("warnings %q, want %q", res.Warnings, want)
	}
	// With mode and unsigned: no gateway warning at all.
	res, err = e.Client.Validate(ctx, gateway.ValidateRequest{Document: e.Doc(t, pdfcdatest.CDA{}, false), Activity: gateway.ActivityVerifica})
	if err != nil || len(res.Warnings) != 1 || res.Warnings[0].Source != gateway.SourceMiddleware {
		t.Fatalf("%v %+v", err, res)
	}
	// VERIFICA keeps nothing: publishing now is refused for lack of a validation.
	_, err = e.Client.Publish(ctx, gateway.PublishRequest{Document: e.Doc(t, pdfcdatest.CDA{}, true), WorkflowInstanceID: res.WorkflowInstanceID})
	if p := problemOf(t, err); p.Type != "/msg/cda-match" {
		t.Fatalf("publication after VERIFICA only: %+v", p)
	}
}

func TestCDAMatchAndWindow(t *testing.T) {
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	c := pdfcdatest.CDA{}
	wii := validated(t, e, c)

	changed := c
	changed.BodyPadding = 10 // any change outside legalAuthenticator
	_, err := e.Client.Publish(ctx, gateway.PublishRequest{Document: e.Doc(t, changed, true), WorkflowInstanceID: wii})
	if p := problemOf(t, err); p.Type != "/msg/cda-match" || p.HTTPStatus != 400 {
		t.Fatalf("changed CDA: %+v", p)
	}

	e.Clock.Add(5*24*time.Hour + time.Minute) // day 6
	_, err = e.Client.Publish(ctx, gateway.PublishRequest{Document: e.Doc(t, c, true), WorkflowInstanceID: wii})
	if p := problemOf(t, err); p.Type != "/msg/max-day-limit-exceed" {
		t.Fatalf("day 6: %+v", p)
	}
	e.Clock.Add(-2 * time.Minute) // just inside the window
	if _, err := e.Client.Publish(ctx, gateway.PublishRequest{Document: e.Doc(t, c, true), WorkflowInstanceID: wii}); err != nil {
		t.Fatalf("within 5 days: %v", err)
	}
}

func TestLegalAuthenticatorMayChange(t *testing.T) {
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	c := pdfcdatest.CDA{}
	wii := validated(t, e, c)
	// The signer's time is known only at signature: change legalAuthenticator only.
	cdaBytes := bytes.Replace(c.Bytes(), []byte(`<legalAuthenticator>
    <time value="20260315103000+0100"/>`), []byte(`<legalAuthenticator>
    <time value="20260316120000+0100"/>`), 1)
	if bytes.Equal(cdaBytes, c.Bytes()) {
		t.Fatal("test document has no legalAuthenticator/time to change")
	}
	d := mwtest.DocFrom(t, pdfcdatest.PDF{Attachment: cdaBytes}.Bytes(), true, e.PKI)
	if _, err := e.Client.Publish(ctx, gateway.PublishRequest{Document: d, WorkflowInstanceID: wii}); err != nil {
		t.Fatalf("legalAuthenticator-only change refused: %v", err)
	}
}

func TestPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	e := mwtest.Start(t, middleware.Options{DataDir: dir}, gateway.Config{})
	c := pdfcdatest.CDA{}
	wii := validated(t, e, c)
	e.HTTP.Close()
	// A new process on the same data directory remembers the validation.
	e2 := mwtest.Start(t, middleware.Options{DataDir: dir}, gateway.Config{})
	if _, err := e2.Client.Publish(ctx, gateway.PublishRequest{Document: e.Doc(t, c, true), WorkflowInstanceID: wii}); err != nil {
		t.Fatalf("publication after restart: %v", err)
	}
	if _, err := e2.Client.Status(ctx, wii); err != nil {
		t.Fatal(err)
	}
	e2.HTTP.Close()
	e3 := mwtest.Start(t, middleware.Options{DataDir: dir}, gateway.Config{})
	if !e3.Server.Published("2.16.840.1.113883.2.9.2.160.4.4^160114.TEST.20260315103000.0001") || e3.Server.Accepted(gateway.OpCreate) != 1 {
		t.Fatal("publication not persisted")
	}
}

func TestReplaceDeleteMetadata(t *testing.T) {
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	c := pdfcdatest.CDA{}
	wii := validated(t, e, c)
	if _, err := e.Client.Publish(ctx, gateway.PublishRequest{Document: e.Doc(t, c, true), WorkflowInstanceID: wii}); err != nil {
		t.Fatal(err)
	}
	oldID := "2.16.840.1.113883.2.9.2.160.4.4^160114.TEST.20260315103000.0001"
	// Duplicate create.
	_, err := e.Client.Publish(ctx, gateway.PublishRequest{Document: e.Doc(t, c, true), WorkflowInstanceID: wii})
	if p := problemOf(t, err); p.HTTPStatus != 409 || p.Class() != gateway.ClassConflict {
		t.Fatalf("duplicate: %+v", p)
	}
	// Replace with a new version (validated with action UPDATE).
	v2 := pdfcdatest.CDA{IDExtension: "160114.TEST.20260315103000.0002"}
	res, err := e.Client.Validate(ctx, gateway.ValidateRequest{Document: e.Doc(t, v2, false), Action: "UPDATE"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.Replace(ctx, oldID, gateway.PublishRequest{Document: e.Doc(t, v2, true), WorkflowInstanceID: res.WorkflowInstanceID}); err != nil {
		t.Fatal(err)
	}
	if e.Server.Published(oldID) {
		t.Fatal("replaced document still published")
	}
	newID := "2.16.840.1.113883.2.9.2.160.4.4^160114.TEST.20260315103000.0002"
	d := e.Doc(t, v2, true)
	if _, err := e.Client.UpdateMetadata(ctx, newID, gateway.MetadataRequest{Meta: d.Meta}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.Delete(ctx, newID, pdfcdatest.PatientCF); err != nil {
		t.Fatal(err)
	}
	_, err = e.Client.Delete(ctx, newID, pdfcdatest.PatientCF)
	if p := problemOf(t, err); p.HTTPStatus != 404 {
		t.Fatalf("second delete: %+v", p)
	}
	// Validate-and-create needs no prior validation.
	v3 := pdfcdatest.CDA{IDExtension: "160114.TEST.20260315103000.0003"}
	if _, err := e.Client.ValidateAndPublish(ctx, gateway.PublishRequest{Document: e.Doc(t, v3, true)}); err != nil {
		t.Fatal(err)
	}
}

// --- forced requests: what the client refuses to send, sent anyway ---

type forced struct {
	op     gateway.Operation
	method string
	path   string
	body   any    // requestBody part (nil: none)
	pdf    []byte // file part (nil: none)
	json   bool   // body as application/json instead of multipart
	claims func(*gateway.Claims)
	bearer func(*gateway.Claims)
	key    *rsa.PrivateKey
	cert   *x509.Certificate
	noSig  bool
	rawReq string // requestBody exactly as given
}

func baseClaims(e *mwtest.Env, op gateway.Operation, d *gateway.Document) gateway.Claims {
	r, ok := gateway.Rules[op]
	if !ok {
		r = gateway.Rules[gateway.OpValidation]
	}
	yes := true
	now := e.Clock.Now()
	c := gateway.Claims{Issuer: "integrity:" + e.PKI.Client.Cert.Subject.CommonName, Subject: gateway.CX(pdfcdatest.TestCF), Audience: gateway.NationalTestURL,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(5 * time.Minute).Unix(), ID: fmt.Sprint(now.UnixNano()), SubjectRole: "AAS",
		SubjectOrganizationID: "160", SubjectOrganization: "Regione Puglia", Locality: gateway.XON("Struttura di prova", "160101"),
		PurposeOfUse: r.Purposes[0], ActionID: r.Actions[0], PersonID: gateway.CX(pdfcdatest.PatientCF), PatientConsent: &yes,
		SubjectApplicationID: "app", SubjectApplicationVendor: "v", SubjectApplicationVersion: "1"}
	if d != nil {
		c.ResourceHL7Type = d.HL7Type()
		c.AttachmentHash = gateway.AttachmentHash(d.Data)
	}
	return c
}

func (f forced) send(t *testing.T, e *mwtest.Env, d *gateway.Document) (int, map[string]any) {
	t.Helper()
	cl := baseClaims(e, f.op, d)
	if f.claims != nil {
		f.claims(&cl)
	}
	key, cert := e.PKI.Client.Key, e.PKI.Client.Cert
	if f.key != nil {
		key = f.key
	}
	if f.cert != nil {
		cert = f.cert
	}
	bc := cl.Bearer()
	if f.bearer != nil {
		f.bearer(&bc)
	}
	bearer, err := gateway.Sign(bc, key, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := gateway.Sign(cl, key, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	ct := ""
	switch {
	case f.json:
		_ = json.NewEncoder(&body).Encode(f.body)
		ct = "application/json"
	case f.pdf != nil || f.body != nil || f.rawReq != "":
		w := multipart.NewWriter(&body)
		if f.rawReq != "" {
			_ = w.WriteField("requestBody", f.rawReq)
		} else if f.body != nil {
			b, _ := json.Marshal(f.body)
			_ = w.WriteField("requestBody", string(b))
		}
		if f.pdf != nil {
			fw, _ := w.CreateFormFile("file", "x.pdf")
			_, _ = fw.Write(f.pdf)
		}
		_ = w.Close()
		ct = w.FormDataContentType()
	}
	req, _ := http.NewRequest(f.method, e.BaseURL+f.path, &body)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	if !f.noSig {
		req.Header.Set("FSE-JWT-Signature", sig)
	}
	resp, err := e.Transport.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, raw)
	}
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("error answer with Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, m
}

func pubBody(t *testing.T, d *gateway.Document, wii string) gateway.Body {
	b, err := gateway.BodyFrom(d.Meta, gateway.BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.WorkflowInstanceID = wii
	return b
}

func otherKey(t *testing.T, selfSigned bool, template *x509.Certificate, parentKey *rsa.PrivateKey) (*rsa.PrivateKey, *x509.Certificate) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if !selfSigned {
		return k, template
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: template.Subject.CommonName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return k, c
}

// TestRules: every rule of the simulator, each case refused with the gateway's problem.
func TestRules(t *testing.T) {
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	c := pdfcdatest.CDA{}
	unsigned := e.Doc(t, c, false)
	signedDoc := e.Doc(t, c, true)
	wii := validated(t, e, c)
	validBody := map[string]string{"activity": "VALIDATION", "mode": "ATTACHMENT", "healthDataFormat": "CDA"}
	badKey, _ := otherKey(t, false, e.PKI.Client.Cert, nil)
	ssKey, ssCert := otherKey(t, true, e.PKI.Client.Cert, nil)
	otherName := pdfcdatest.PDF{Attachment: c.Bytes(), AttachmentName: "CDA.xml"}.Bytes()
	changedPatient := e.Doc(t, pdfcdatest.CDA{PatientCF: pdfcdatest.PatientCF2}, false)
	fakeSigned := mwtest.DocFrom(t, pdfcdatest.PDF{Attachment: c.Bytes(), Sign: true}.Bytes(), false, e.PKI)

	val := func(mut func(*gateway.Claims)) forced {
		return forced{op: gateway.OpValidation, method: "POST", path: "/documents/validation", body: validBody, pdf: unsigned.Data, claims: mut}
	}
	pub := func(d *gateway.Document, mut func(*gateway.Claims)) forced {
		return forced{op: gateway.OpCreate, method: "POST", path: "/documents", body: pubBody(t, d, wii), pdf: d.Data, claims: mut}
	}
	cases := []struct {
		name     string
		f        forced
		doc      *gateway.Document
		status   int
		typ      string
		instance string
	}{
		{"signature by another key", func() forced { f := val(nil); f.key = badKey; return f }(), unsigned, 400, "https://govway.org/handling-errors/400/InteroperabilityInvalidRequest.html", ""},
		{"untrusted x5c", func() forced { f := val(nil); f.key, f.cert = ssKey, ssCert; return f }(), unsigned, 400, "https://govway.org/handling-errors/400/InteroperabilityInvalidRequest.html", ""},
		{"expired", val(func(c *gateway.Claims) { c.IssuedAt -= 3600; c.ExpiresAt = c.IssuedAt + 60 }), unsigned, 400, "https://govway.org/handling-errors/400/InteroperabilityInvalidRequest.html", ""},
		{"aud", val(func(c *gateway.Claims) { c.Audience = "https://elsewhere.example/v1" }), unsigned, 400, "https://govway.org/handling-errors/400/InteroperabilityInvalidRequest.html", ""},
		{"bearer iss", func() forced {
			f := val(nil)
			f.bearer = func(c *gateway.Claims) { c.Issuer = "integrity:" + strings.TrimPrefix(c.Issuer, "auth:") }
			return f
		}(), unsigned, 403, "/msg/jwt-validation", "/jwt-mandatory-field-malformed"},
		{"signature iss CN", val(func(c *gateway.Claims) { c.Issuer = "integrity:someone.else.it" }), unsigned, 403, "/msg/jwt-validation", "/jwt-mandatory-field-malformed"},
		{"no FSE-JWT-Signature", func() forced { f := val(nil); f.noSig = true; return f }(), unsigned, 403, "/msg/missing-token", "/missing-jwt"},
		{"missing subject_role", val(func(c *gateway.Claims) { c.SubjectRole = "" }), unsigned, 403, "/msg/mandatory-element-token", "/jwt-mandatory-field-missing"},
		{"missing locality", val(func(c *gateway.Claims) { c.Locality = "" }), unsigned, 403, "/msg/mandatory-element-token", "/jwt-mandatory-field-missing"},
		{"missing patient_consent", val(func(c *gateway.Claims) { c.PatientConsent = nil }), unsigned, 403, "/msg/mandatory-element-token", "/jwt-mandatory-field-missing"},
		{"missing application version", val(func(c *gateway.Claims) { c.SubjectApplicationVersion = "" }), unsigned, 403, "/msg/mandatory-element-token", "/jwt-mandatory-field-missing"},
		{"missing resource_hl7_type", val(func(c *gateway.Claims) { c.ResourceHL7Type = "" }), unsigned, 403, "/msg/mandatory-element-token", "/jwt-mandatory-field-missing"},
		{"validation action DELETE", val(func(c *gateway.Claims) { c.ActionID = "DELETE" }), unsigned, 403, "/msg/jwt-validation", "/jwt-mandatory-field-malformed"},
		{"validation purpose UPDATE", val(func(c *gateway.Claims) { c.PurposeOfUse = "UPDATE" }), unsigned, 403, "/msg/jwt-validation", "/jwt-mandatory-field-malformed"},
		{"create action UPDATE", pub(signedDoc, func(c *gateway.Claims) { c.ActionID = "UPDATE" }), signedDoc, 403, "/msg/jwt-validation", "/jwt-mandatory-field-malformed"},
		{"organization pair", val(func(c *gateway.Claims) { c.SubjectOrganization = "Regione Lazio" }), unsigned, 403, "/msg/jwt-validation", "/jwt-mandatory-field-malformed"},
		{"person_id not CX", val(func(c *gateway.Claims) { c.PersonID = pdfcdatest.PatientCF }), unsigned, 403, "/msg/jwt-validation", "/jwt-mandatory-field-malformed"},
		{"resource_hl7_type vs CDA", val(func(c *gateway.Claims) { c.ResourceHL7Type = "('34105-7^^2.16.840.1.113883.6.1')" }), unsigned, 403, "/msg/jwt-validation", "/jwt-document-type"},
		{"resource_hl7_type with spaces", val(func(c *gateway.Claims) { c.ResourceHL7Type = "('11502-2 ^^2.16.840.1.113883.6.1')" }), unsigned, 403, "/msg/jwt-validation", "/jwt-document-type"},
		{"person_id vs patientRole", val(func(c *gateway.Claims) { c.PersonID = gateway.CX(pdfcdatest.PatientCF2) }), unsigned, 403, "/msg/jwt-validation", "/jwt-person-id"},
		{"locality not XON at create", pub(signedDoc, func(c *gateway.Claims) { c.Locality = "201123456" }), signedDoc, 403, "/msg/jwt-validation", "/jwt-mandatory-field-malformed"},
		{"hash of the unsigned PDF", pub(signedDoc, func(c *gateway.Claims) { c.AttachmentHash = gateway.AttachmentHash(unsigned.Data) }), signedDoc, 400, "/msg/document-hash", "/jwt-hash-match"},
		{"signature dictionary whose CMS does not verify", pub(fakeSigned, nil), fakeSigned, 400, "/msg/sign-error", "/msg/sign-error"},
		{"upper-case hash accepted, then unsigned refused", pub(unsigned, func(c *gateway.Claims) { c.AttachmentHash = strings.ToUpper(c.AttachmentHash) }), unsigned, 400, "/msg/sign-error", "/msg/sign-error"},
		{"attachment named CDA.xml", func() forced {
			f := val(func(c *gateway.Claims) { c.AttachmentHash = gateway.AttachmentHash(otherName) })
			f.pdf = otherName
			return f
		}(), unsigned, 400, "/msg/cda-element", "/cda-extraction"},
		{"not a PDF", func() forced { f := val(nil); f.pdf = []byte("<ClinicalDocument/>"); return f }(), unsigned, 415, "/msg/document-type", "/multipart-file"},
		{"empty file", func() forced { f := val(nil); f.pdf = []byte{}; return f }(), unsigned, 400, "/msg/empty-file", "/empty-multipart-file"},
		{"trailing comma", func() forced {
			f := val(nil)
			f.body, f.rawReq = nil, `{"activity":"VALIDATION","mode":"ATTACHMENT",}`
			return f
		}(), unsigned, 400, "/msg/invalid-format", "/request-invalid-format"},
		{"unknown field", func() forced {
			f := val(nil)
			f.body = map[string]string{"activity": "VALIDATION", "tipoAttivita": "PHR"}
			return f
		}(), unsigned, 400, "/msg/invalid-format", "/request-invalid-format"},
		{"no activity", func() forced { f := val(nil); f.body = map[string]string{"mode": "ATTACHMENT"}; return f }(), unsigned, 400, "/msg/mandatory-element", "/request-missing-field"},
		{"changed patient, person_id follows", val(func(c *gateway.Claims) {
			c.PersonID = gateway.CX(pdfcdatest.PatientCF2)
			c.AttachmentHash = gateway.AttachmentHash(changedPatient.Data)
		}), unsigned, 403, "/msg/jwt-validation", "/jwt-person-id"},
		{"class vs type", func() forced {
			f := pub(signedDoc, nil)
			b := pubBody(t, signedDoc, wii)
			b.TipoDocumentoLivAlto = "LDO"
			f.body = b
			return f
		}(), signedDoc, 403, "/msg/jwt-validation", "/jwt-document-type"},
		{"missing tipologiaStruttura", func() forced {
			f := pub(signedDoc, nil)
			b := pubBody(t, signedDoc, wii)
			b.TipologiaStruttura = ""
			f.body = b
			return f
		}(), signedDoc, 400, "/msg/mandatory-element", "/request-missing-field"},
		{"wii in validate-and-create", func() forced {
			f := pub(signedDoc, nil)
			f.op, f.path = gateway.OpValidateAndCreate, "/documents/validate-and-create"
			return f
		}(), signedDoc, 400, "/msg/invalid-format", "/request-invalid-format"},
		{"delete without locality", forced{op: gateway.OpDelete, method: "DELETE", path: "/documents/2.16.840.1.113883.2.9.2.160.4.4%5Eunknown",
			claims: func(c *gateway.Claims) { c.Locality = "x" }}, nil, 403, "/msg/jwt-validation", "/jwt-mandatory-field-malformed"},
		{"delete unknown", forced{op: gateway.OpDelete, method: "DELETE", path: "/documents/2.16.840.1.113883.2.9.2.160.4.4%5Eunknown"}, nil, 404, "/msg/record-not-found", "/record-not-found"},
		{"unknown path", forced{op: gateway.OpStatus, method: "GET", path: "/nothing"}, nil, 404, "/msg/record-not-found", "/api/v1/nothing"},
	}
	// The "changed patient" case sends the other patient's PDF.
	for i := range cases {
		if cases[i].name == "changed patient, person_id follows" {
			cases[i].f.pdf = changedPatient.Data
			cases[i].f.claims = func(c *gateway.Claims) { c.AttachmentHash = gateway.AttachmentHash(changedPatient.Data) }
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, m := tc.f.send(t, e, tc.doc)
			if status != tc.status || m["type"] != tc.typ || (tc.instance != "" && m["instance"] != tc.instance) {
				t.Fatalf("got %d %v %v (%v), want %d %s %s", status, m["type"], m["instance"], m["detail"], tc.status, tc.typ, tc.instance)
			}
			if strings.HasPrefix(tc.typ, "https://govway.org") {
				if id, _ := m["govway_id"].(string); id == "" {
					t.Fatal("GovWay problem without govway_id")
				}
			} else if tid, _ := m["traceID"].(string); len(tid) != 16 {
				t.Fatalf("problem without traceID: %v", m)
			}
			if tc.f.op == gateway.OpValidation && tc.status != 400 || tc.f.op == gateway.OpValidation && strings.HasPrefix(tc.typ, "/msg/") {
				w, _ := m["workflowInstanceId"].(string)
				if w == "" {
					t.Fatalf("validation error without workflowInstanceId: %v", m)
				}
				early := tc.typ == "/msg/document-type" || tc.typ == "/msg/cda-element" || tc.typ == "/msg/empty-file" || tc.instance == "/request-invalid-format" ||
					tc.instance == "/request-missing-field" || strings.HasPrefix(tc.instance, "/jwt-mandatory") || tc.instance == "/missing-jwt"
				if early != (w == gateway.UnknownWorkflowID) {
					t.Fatalf("workflowInstanceId %q for %s", w, tc.typ)
				}
			}
		})
	}
	if n := e.Server.Accepted(gateway.OpCreate); n != 0 {
		t.Fatalf("%d forced publications were accepted", n)
	}
}

func TestForcedGoodRequestsPass(t *testing.T) {
	// The forced-request builder itself sends acceptable requests: the refusals above come
	// from the mutation, not from the builder.
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	c := pdfcdatest.CDA{}
	unsigned, signedDoc := e.Doc(t, c, false), e.Doc(t, c, true)
	f := forced{op: gateway.OpValidation, method: "POST", path: "/documents/validation", body: map[string]string{"activity": "VALIDATION", "mode": "ATTACHMENT"}, pdf: unsigned.Data}
	status, m := f.send(t, e, unsigned)
	if status != 201 {
		t.Fatalf("%d %v", status, m)
	}
	wii := m["workflowInstanceId"].(string)
	f = forced{op: gateway.OpCreate, method: "POST", path: "/documents", body: pubBody(t, signedDoc, wii), pdf: signedDoc.Data}
	if status, m := f.send(t, e, signedDoc); status != 202 {
		t.Fatalf("%d %v", status, m)
	}
	// The deprecated priorita is still accepted (the OpenAPI file lists it); the client never sends it.
	f = forced{op: gateway.OpDelete, method: "DELETE", path: "/documents/2.16.840.1.113883.2.9.2.160.4.4%5E160114.TEST.20260315103000.0001"}
	if status, m := f.send(t, e, nil); status != 200 {
		t.Fatalf("%d %v", status, m)
	}
}
