// Package middleware simulates the Puglia regional middleware, which exposes the national
// FSE 2.0 gateway's REST API unchanged (../shared/docs/gateway.md), strict where the
// national gateway is strict: the two JWTs (signature against a trusted x5c, every required
// claim, action/purpose per operation, resource_hl7_type against the CDA, person_id against
// patientRole/id, attachment_hash against the uploaded bytes, the XON locality), cda.xml
// extraction by its exact name, the %PDF check, the CDA match between validation and
// publication, the 5-day window, a PAdES signature at publication, SIGN_WARN and
// WARNING_EXTRACT, workflowInstanceIds in the spec's format, status events, and
// application/problem+json for every error.
//
// It keeps its state in <DataDir>/middleware.json and is served by the legacy simulator
// (adapter/sim) under /api/v1, beside the SOAP services, over the same mutual TLS.
package middleware

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fsepuglia/fsepuglia/adapter/cda"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

// PathPrefix is where the simulator serves the API (the middleware's /api/v1).
const PathPrefix = "/api/v1"

// MaxPublishAge is the window between validation and publication
// (days.allow-publish-after-validation=5).
const MaxPublishAge = 5 * 24 * time.Hour

// The warnings the gateway adds.
const (
	WarnExtract = "[WARNING_EXTRACT]Attenzione, non è stata selezionata la modalità di estrazione del CDA"
	WarnSigned  = "[SIGN_WARN - Attenzione il documento risulta firmato in validazione]"
)

// SignatureChecker checks the PAdES signature of a PDF at publication; an error becomes
// /msg/sign-error.
type SignatureChecker interface {
	CheckPAdES(pdf []byte) error
}

// SignatureFunc adapts a function to SignatureChecker.
type SignatureFunc func(pdf []byte) error

// CheckPAdES implements SignatureChecker.
func (f SignatureFunc) CheckPAdES(pdf []byte) error { return f(pdf) }

// VerifyPAdES is the default SignatureChecker, the dispatcher's rule (SignerUtility#isSigned
// and #validate): a signature dictionary whose CMS verifies over its ByteRange, covering the
// whole file (adapter/pades). The signer need not chain to a qualified CA (accreditation
// checks placement, not qualification: it-fse-accreditamento README, note 2).
var VerifyPAdES = SignatureFunc(func(pdf []byte) error {
	sigs, err := pades.Verify(pdf, sign.VerifyOptions{})
	if err != nil {
		return err
	}
	if !pades.Intact(sigs) {
		var problems []string
		for _, s := range sigs {
			problems = append(problems, s.Problems...)
			if s.Valid && !s.CoversWholeFile {
				problems = append(problems, fmt.Sprintf("%d bytes were appended after the signature", s.AppendedBytes))
			}
		}
		return fmt.Errorf("no valid signature covers the whole file: %s", strings.Join(problems, "; "))
	}
	return nil
})

// Logger receives one line per call, without personal data.
type Logger interface {
	Printf(format string, args ...any)
}

// Options configure New.
type Options struct {
	// DataDir holds middleware.json; empty keeps the state in memory.
	DataDir string
	// Roots are the CAs trusted for the x5c certificate of the JWTs (required).
	Roots *x509.CertPool
	// Audiences are the accepted aud values; empty means the national test URL.
	Audiences []string
	// Clock is the time source; nil means time.Now.
	Clock func() time.Time
	// Random feeds workflowInstanceIds and trace ids; nil means crypto/rand.
	Random io.Reader
	// Signatures checks PAdES at publication; nil means VerifyPAdES.
	Signatures SignatureChecker
	// RegionalWarning, when set, is appended to every successful answer after
	// --middlewarewarning-- (the middleware's own warnings).
	RegionalWarning string
	// Logger receives a line per call; nil discards.
	Logger Logger
}

// Server is the simulated middleware, an http.Handler for the paths under PathPrefix. Safe
// for concurrent use.
type Server struct {
	opt   Options
	mu    sync.Mutex
	st    *state
	calls map[gateway.Operation]int // every request routed, by operation (not persisted)
	dups  int                       // publications refused as already published
}

// New loads the state and returns the handler.
func New(opt Options) (*Server, error) {
	if opt.Roots == nil {
		return nil, errors.New("middleware sim: Roots (the trusted JWT issuers) is required")
	}
	if len(opt.Audiences) == 0 {
		opt.Audiences = []string{gateway.NationalTestURL}
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.Random == nil {
		opt.Random = rand.Reader
	}
	if opt.Signatures == nil {
		opt.Signatures = VerifyPAdES
	}
	st, err := loadState(opt.DataDir)
	if err != nil {
		return nil, err
	}
	return &Server{opt: opt, st: st, calls: map[gateway.Operation]int{}}, nil
}

// Accepted returns how many calls of op the simulator accepted (transmissions counted at the
// server, persisted).
func (s *Server) Accepted(op gateway.Operation) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Accepted[op]
}

// Calls returns how many requests of op reached the simulator since it started, accepted
// or not.
func (s *Server) Calls(op gateway.Operation) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Duplicates returns how many publications were refused because the document was already
// published (a resend the client should have avoided with Status).
func (s *Server) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dups
}

// Published reports whether a document with this uniqueId is published and not deleted.
func (s *Server) Published(idDoc string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.st.Documents[idDoc]
	return ok && !d.Deleted
}

// Operation names the operation of a request (for fault injection: "gtw-" + the operation).
func Operation(r *http.Request) string {
	op, _ := route(r.Method, strings.TrimPrefix(r.URL.EscapedPath(), PathPrefix))
	if op == "" {
		return ""
	}
	return "gtw-" + string(op)
}

// route maps method and path (below PathPrefix) to an operation and its path parameter.
func route(method, p string) (gateway.Operation, string) {
	unesc := func(s string) string {
		v, err := url.PathUnescape(s)
		if err != nil {
			return s
		}
		return v
	}
	switch {
	case method == http.MethodPost && p == "/documents/validation":
		return gateway.OpValidation, ""
	case method == http.MethodPost && p == "/documents":
		return gateway.OpCreate, ""
	case method == http.MethodPost && p == "/documents/validate-and-create":
		return gateway.OpValidateAndCreate, ""
	case method == http.MethodPut && strings.HasPrefix(p, "/documents/validate-and-replace/"):
		return gateway.OpValidateAndReplace, unesc(strings.TrimPrefix(p, "/documents/validate-and-replace/"))
	case method == http.MethodPut && strings.HasPrefix(p, "/documents/") && strings.HasSuffix(p, "/metadata"):
		return gateway.OpUpdateMetadata, unesc(strings.TrimSuffix(strings.TrimPrefix(p, "/documents/"), "/metadata"))
	case method == http.MethodPut && strings.HasPrefix(p, "/documents/"):
		return gateway.OpReplace, unesc(strings.TrimPrefix(p, "/documents/"))
	case method == http.MethodDelete && strings.HasPrefix(p, "/documents/"):
		return gateway.OpDelete, unesc(strings.TrimPrefix(p, "/documents/"))
	case method == http.MethodGet && strings.HasPrefix(p, "/status/search/"):
		return gateway.OpStatus, "trace:" + unesc(strings.TrimPrefix(p, "/status/search/"))
	case method == http.MethodGet && strings.HasPrefix(p, "/status/"):
		return gateway.OpStatus, unesc(strings.TrimPrefix(p, "/status/"))
	}
	return "", ""
}

// call is one request being handled.
type call struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	op      gateway.Operation
	param   string
	traceID string
	spanID  string
	wii     string // set once computable
	claims  jwt.MapClaims
}

// problem is an answer of the gateway's ErrorResponseDTO/ValidationErrorResponseDTO shape.
type problem struct {
	TraceID            string `json:"traceID"`
	SpanID             string `json:"spanID"`
	Type               string `json:"type"`
	Title              string `json:"title"`
	Detail             string `json:"detail,omitempty"`
	Status             int    `json:"status"`
	Instance           string `json:"instance"`
	WorkflowInstanceID string `json:"workflowInstanceId,omitempty"`
	GovWayID           string `json:"govway_id,omitempty"`
}

// errAnswered stops a handler after it wrote a problem.
var errAnswered = errors.New("answered")

func (c *call) fail(status int, typ, title, instance, detail string) error {
	p := problem{TraceID: c.traceID, SpanID: c.spanID, Type: typ, Title: title, Detail: detail, Status: status, Instance: instance}
	if c.op == gateway.OpValidation || c.op == gateway.OpValidateAndCreate || c.op == gateway.OpValidateAndReplace {
		p.WorkflowInstanceID = c.wii
		if p.WorkflowInstanceID == "" {
			p.WorkflowInstanceID = gateway.UnknownWorkflowID
		}
	}
	writeProblem(c.w, p)
	c.s.logf("middleware sim: %s -> %d %s %s", c.op, status, typ, instance)
	return errAnswered
}

// govway answers as the GovWay frontier does for a token it refuses.
func (c *call) govway(detail string) error {
	p := problem{Type: "https://govway.org/handling-errors/400/InteroperabilityInvalidRequest.html", Title: "InteroperabilityInvalidRequest",
		Status: 400, Detail: detail, GovWayID: c.newID(16), Instance: ""}
	writeProblem(c.w, p)
	c.s.logf("middleware sim: %s -> 400 govway InteroperabilityInvalidRequest", c.op)
	return errAnswered
}

func writeProblem(w http.ResponseWriter, p problem) {
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, _ = w.Write(b)
}

// MiddlewareProblem writes a middleware's own error (mw/io_error 504, mw/internal_error 500):
// used by fault injection.
func MiddlewareProblem(w http.ResponseWriter, status int, typ, detail string) {
	writeProblem(w, problem{Type: typ, Title: "Errore del middleware regionale", Detail: detail, Status: status, Instance: "/" + strings.TrimPrefix(typ, "mw/")})
}

// InjectedFault is the answer of an injected fault (adapter/sim/inject, kind fault): the
// middleware's own errors, mw/io_error 504 for FSE-00503 (the national gateway did not
// answer) and mw/internal_error 500 for any other code.
func InjectedFault(w http.ResponseWriter, _ *http.Request, code string) {
	if code == "" || code == "FSE-00503" {
		MiddlewareProblem(w, http.StatusGatewayTimeout, "mw/io_error", "the national gateway did not answer (injected)")
		return
	}
	MiddlewareProblem(w, http.StatusInternalServerError, "mw/internal_error", "injected failure "+code)
}

func (c *call) newID(n int) string {
	b := make([]byte, n/2)
	_, _ = io.ReadFull(c.s.opt.Random, b)
	return hex.EncodeToString(b)
}

func (s *Server) logf(format string, args ...any) {
	if s.opt.Logger != nil {
		s.opt.Logger.Printf(format, args...)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, param := route(r.Method, strings.TrimPrefix(r.URL.EscapedPath(), PathPrefix))
	c := &call{s: s, w: w, r: r, op: op, param: param}
	c.traceID, c.spanID = c.newID(16), c.newID(16)
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()
	if op == "" {
		_ = c.fail(http.StatusNotFound, "/msg/record-not-found", "Risorsa non trovata.", r.URL.Path, "no operation "+r.Method+" "+r.URL.Path)
		return
	}
	var err error
	switch op {
	case gateway.OpStatus:
		err = c.status()
	case gateway.OpValidation:
		err = c.validation()
	case gateway.OpCreate, gateway.OpReplace, gateway.OpValidateAndCreate, gateway.OpValidateAndReplace:
		err = c.publication()
	case gateway.OpDelete:
		err = c.delete()
	case gateway.OpUpdateMetadata:
		err = c.updateMetadata()
	}
	if err != nil && !errors.Is(err, errAnswered) {
		_ = c.fail(http.StatusInternalServerError, "/msg/generic-error", "Errore generico.", "/generic-error", err.Error())
	}
}

// --- JWTs ---

// tokens checks both JWTs (the bearer only for status).
func (c *call) tokens() error {
	auth := c.r.Header.Get("Authorization")
	bearer, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || bearer == "" {
		return c.tokenFail("/msg/missing-token", "Token non fornito.", "/missing-jwt", "Authorization: Bearer is missing")
	}
	if _, err := c.verify(bearer, "auth:"); err != nil {
		return err
	}
	if c.op == gateway.OpStatus {
		return nil
	}
	sig := c.r.Header.Get("FSE-JWT-Signature")
	if sig == "" {
		return c.tokenFail("/msg/missing-token", "Token non fornito.", "/missing-jwt", "FSE-JWT-Signature is missing")
	}
	claims, err := c.verify(sig, "integrity:")
	if err != nil {
		return err
	}
	c.claims = claims
	return c.signatureClaims()
}

// tokenFail answers a token problem with the dispatcher's status: 403 on the validation path,
// 401 for a missing or incomplete token elsewhere, 403 for a malformed one.
func (c *call) tokenFail(typ, title, instance, detail string) error {
	status := http.StatusForbidden
	if c.op != gateway.OpValidation && typ != "/msg/jwt-validation" {
		status = http.StatusUnauthorized
	}
	return c.fail(status, typ, title, instance, detail)
}

func (c *call) malformed(detail string) error {
	return c.tokenFail("/msg/jwt-validation", "Campo token JWT non valido.", "/jwt-mandatory-field-malformed", detail)
}

// verify checks a token's signature against its x5c (chained to Roots), its lifetime, aud,
// and that iss is prefix + the x5c CN: what GovWay checks before the dispatcher.
func (c *call) verify(tok, prefix string) (jwt.MapClaims, error) {
	var leaf *x509.Certificate
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != "JWT" {
			return nil, errors.New("header typ must be JWT")
		}
		raw, _ := t.Header["x5c"].([]any)
		if len(raw) == 0 {
			return nil, errors.New("header x5c is missing")
		}
		var chain []*x509.Certificate
		for _, v := range raw {
			s, _ := v.(string)
			der, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, errors.New("x5c is not base64 DER")
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, errors.New("x5c is not a certificate")
			}
			chain = append(chain, cert)
		}
		inter := x509.NewCertPool()
		for _, x := range chain[1:] {
			inter.AddCert(x)
		}
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: c.s.opt.Roots, Intermediates: inter, CurrentTime: c.s.opt.Clock(),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			return nil, fmt.Errorf("x5c certificate is not trusted: %v", err)
		}
		leaf = chain[0]
		return leaf.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256", "RS384", "RS512"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(c.s.opt.Clock), jwt.WithLeeway(30*time.Second))
	if err != nil {
		return nil, c.govway("JWT refused: " + err.Error())
	}
	aud, _ := claims["aud"].(string)
	if !slices.Contains(c.s.opt.Audiences, aud) {
		return nil, c.govway(fmt.Sprintf("JWT aud %q is not accepted", aud))
	}
	iss, _ := claims["iss"].(string)
	if iss != prefix+leaf.Subject.CommonName {
		return nil, c.tokenFail("/msg/jwt-validation", "Campo token JWT non valido.", "/jwt-mandatory-field-malformed",
			fmt.Sprintf("iss must be %s<CN of the x5c certificate>", prefix))
	}
	for _, k := range []string{"sub", "jti"} {
		if v, _ := claims[k].(string); v == "" {
			return nil, c.tokenFail("/msg/mandatory-element-token", "Token JWT non valido.", "/jwt-mandatory-field-missing", "claim "+k+" is missing")
		}
	}
	if gateway.CFFromCX(claims["sub"].(string)) == "" {
		return nil, c.malformed("sub is not a fiscal code in CX form")
	}
	return claims, nil
}

func (c *call) str(k string) string { v, _ := c.claims[k].(string); return v }

// signatureClaims checks the FSE-JWT-Signature's own claims for the operation.
func (c *call) signatureClaims() error {
	rule := gateway.Rules[c.op]
	required := []string{"subject_role", "subject_organization_id", "subject_organization", "locality", "purpose_of_use", "action_id",
		"person_id", "subject_application_id", "subject_application_vendor", "subject_application_version"}
	if rule.HL7Type {
		required = append(required, "resource_hl7_type")
	}
	if rule.Hash {
		required = append(required, "attachment_hash")
	}
	for _, k := range required {
		if c.str(k) == "" {
			return c.tokenFail("/msg/mandatory-element-token", "Token JWT non valido.", "/jwt-mandatory-field-missing", "claim "+k+" is missing")
		}
	}
	if _, ok := c.claims["patient_consent"].(bool); !ok {
		return c.tokenFail("/msg/mandatory-element-token", "Token JWT non valido.", "/jwt-mandatory-field-missing", "claim patient_consent is missing or not a boolean")
	}
	if !slices.Contains(rule.Actions, c.str("action_id")) {
		return c.malformed(fmt.Sprintf("action_id %q is not allowed for %s", c.str("action_id"), c.op))
	}
	if !slices.Contains(rule.Purposes, c.str("purpose_of_use")) {
		return c.malformed(fmt.Sprintf("purpose_of_use %q is not allowed for %s", c.str("purpose_of_use"), c.op))
	}
	if !slices.Contains(gateway.SubjectRoles, c.str("subject_role")) {
		return c.malformed("subject_role is not in the value set")
	}
	if name, ok := gateway.Organizations[c.str("subject_organization_id")]; !ok || name != c.str("subject_organization") {
		return c.malformed("subject_organization does not match subject_organization_id")
	}
	if gateway.CFFromCX(c.str("person_id")) == "" {
		return c.malformed("person_id is not a fiscal code in CX form")
	}
	if rule.Locality && !gateway.LocalityPattern.MatchString(c.str("locality")) {
		return c.malformed("locality is not in XON form")
	}
	return nil
}

// --- requests ---

// parts reads the multipart request: requestBody (strict JSON into dst) and file.
func (c *call) parts(dst any) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, c.invalidFormat("the request must be multipart/form-data")
	}
	if err := c.r.ParseMultipartForm(32 << 20); err != nil {
		return nil, c.invalidFormat("unreadable multipart: " + err.Error())
	}
	defer c.r.MultipartForm.RemoveAll()
	body := c.r.MultipartForm.Value["requestBody"]
	if len(body) != 1 {
		return nil, c.fail(http.StatusBadRequest, "/msg/mandatory-element", "Campo obbligatorio non presente.", "/request-missing-field", "the requestBody part is missing")
	}
	if err := strictJSON([]byte(body[0]), dst); err != nil {
		return nil, c.invalidFormat("requestBody: " + err.Error())
	}
	files := c.r.MultipartForm.File["file"]
	if len(files) != 1 {
		return nil, c.fail(http.StatusBadRequest, "/msg/empty-file", "File vuoto.", "/empty-multipart-file", "the file part is missing")
	}
	f, err := files[0].Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, c.fail(http.StatusBadRequest, "/msg/empty-file", "File vuoto.", "/empty-multipart-file", "the file part is empty")
	}
	if !bytes.HasPrefix(data, []byte("%PDF")) {
		return nil, c.fail(http.StatusUnsupportedMediaType, "/msg/document-type", "Il documento non è pdf.", "/multipart-file", "the file does not start with %PDF")
	}
	return data, nil
}

func strictJSON(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// extracted is the CDA found in the PDF.
type extracted struct {
	cda    []byte
	header *cda.Header
	hash   string
	signed bool
}

// extract finds cda.xml (ATTACHMENT: the exact name; RESOURCE is not simulated), parses the
// header, computes the workflowInstanceId and checks resource_hl7_type and person_id.
func (c *call) extract(pdf []byte, mode string) (*extracted, error) {
	doc, err := pdfcda.ReadPDF(pdf, pdfcda.Limits{})
	if err != nil || doc.CDA == nil {
		detail := "no embedded file named exactly cda.xml"
		if mode == gateway.ModeResource {
			detail = "RESOURCE (XFA) extraction is not simulated; no XFA datasets"
		}
		return nil, c.fail(http.StatusBadRequest, "/msg/cda-element", "Errore in fase di estrazione del CDA.", "/cda-extraction", detail)
	}
	h, err := cda.ParseHeader(bytes.NewReader(doc.CDA), cda.Limits{})
	if err != nil {
		return nil, c.fail(http.StatusBadRequest, "/msg/syntax", "Errore di sintassi.", "/cda-syntax", "ERROR: "+err.Error())
	}
	if strings.TrimSpace(h.ID.Root) == "" {
		return nil, c.fail(http.StatusBadRequest, "/msg/workflow-id-error-extraction", "Errore in fase di estrazione del workflow instance id.", "/workflow-id-extraction", "ClinicalDocument/id has no root")
	}
	if c.wii, err = gateway.NewWorkflowID(h.ID.Root, h.ID.Extension, c.s.opt.Random); err != nil {
		return nil, err
	}
	if c.claims != nil {
		want := gateway.HL7Type(h.Code.Code, h.Code.CodeSystem)
		if got := c.str("resource_hl7_type"); got != "" && got != want {
			return nil, c.tokenFail("/msg/jwt-validation", "Campo token JWT non valido.", "/jwt-document-type", "resource_hl7_type differs from the CDA's first code")
		}
		person := gateway.CFFromCX(c.str("person_id"))
		match := false
		for _, id := range h.PatientIDs {
			match = match || id.Extension == person
		}
		if !match {
			return nil, c.tokenFail("/msg/jwt-validation", "Campo token JWT non valido.", "/jwt-person-id", "person_id differs from recordTarget/patientRole/id")
		}
	}
	hash, err := gateway.CDAHash(doc.CDA)
	if err != nil {
		return nil, c.fail(http.StatusBadRequest, "/msg/syntax", "Errore di sintassi.", "/cda-syntax", "ERROR: "+err.Error())
	}
	return &extracted{cda: doc.CDA, header: h, hash: hash, signed: len(doc.Signatures) > 0}, nil
}

func (c *call) answer(status int, wii string, warnings ...string) error {
	var ws []string
	for _, w := range warnings {
		if w != "" {
			ws = append(ws, w)
		}
	}
	warning := strings.Join(ws, ",")
	if c.s.opt.RegionalWarning != "" {
		warning += gateway.MiddlewareWarningSeparator + c.s.opt.RegionalWarning
	}
	b, _ := json.Marshal(struct {
		TraceID            string `json:"traceID"`
		SpanID             string `json:"spanID"`
		WorkflowInstanceID string `json:"workflowInstanceId,omitempty"`
		Warning            string `json:"warning,omitempty"`
	}{c.traceID, c.spanID, wii, warning})
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
	c.s.logf("middleware sim: %s -> %d", c.op, status)
	return nil
}

// event records an event under wii and links the call's traceID; the caller holds the lock.
func (c *call) event(wii, typ, status, docID, msg string) {
	st := c.s.st
	e := gateway.Event{EventType: typ, EventDate: c.s.opt.Clock().UTC().Format("2006-01-02T15:04:05.000Z"), EventStatus: status,
		Message: msg, DocumentID: docID, WorkflowInstanceID: wii, TraceID: c.traceID, Issuer: c.str("iss"),
		SubjectRole: c.str("subject_role"), Organization: c.str("subject_organization_id")}
	st.Events[wii] = append(st.Events[wii], e)
	st.Traces[c.traceID] = wii
}

func (c *call) commit() error {
	c.s.st.Accepted[c.op]++
	if err := c.s.st.save(c.s.opt.DataDir); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	return nil
}

func (c *call) validation() error {
	if err := c.tokens(); err != nil {
		return err
	}
	var body struct {
		HealthDataFormat string `json:"healthDataFormat"`
		Mode             string `json:"mode"`
		Activity         string `json:"activity"`
	}
	pdf, err := c.parts(&body)
	if err != nil {
		return err
	}
	switch {
	case body.Activity == "":
		return c.fail(http.StatusBadRequest, "/msg/mandatory-element", "Campo obbligatorio non presente.", "/request-missing-field", "activity is required")
	case body.Activity != gateway.ActivityValidation && body.Activity != gateway.ActivityVerifica:
		return c.invalidFormat("activity must be VERIFICA or VALIDATION")
	case body.Mode != "" && body.Mode != gateway.ModeAttachment && body.Mode != gateway.ModeResource:
		return c.invalidFormat("mode must be ATTACHMENT or RESOURCE")
	case body.HealthDataFormat != "" && body.HealthDataFormat != "CDA":
		return c.invalidFormat("healthDataFormat must be CDA")
	}
	x, err := c.extract(pdf, body.Mode)
	if err != nil {
		return err
	}
	var warns []string
	if body.Mode == "" {
		warns = append(warns, WarnExtract)
	}
	if x.signed {
		warns = append(warns, WarnSigned)
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	status := http.StatusOK
	if body.Activity == gateway.ActivityValidation {
		status = http.StatusCreated
		c.s.st.Validations[x.hash] = validation{WII: c.wii, DocID: x.header.ID.String(), At: c.s.opt.Clock().UTC()}
		c.event(c.wii, "VALIDATION", "SUCCESS", x.header.ID.String(), "")
	}
	if err := c.commit(); err != nil {
		return err
	}
	return c.answer(status, c.wii, warns...)
}

// pubBody is every field of the publication DTOs; which may appear depends on the operation.
type pubBody struct {
	gateway.Body
	Priorita *bool `json:"priorita,omitempty"`
}

func (c *call) publication() error {
	if err := c.tokens(); err != nil {
		return err
	}
	var b pubBody
	pdf, err := c.parts(&b)
	if err != nil {
		return err
	}
	validateToo := c.op == gateway.OpValidateAndCreate || c.op == gateway.OpValidateAndReplace
	if validateToo && b.WorkflowInstanceID != "" {
		return c.invalidFormat("workflowInstanceId is not a field of " + string(c.op))
	}
	if err := c.checkBody(b.Body, true); err != nil {
		return err
	}
	if got := c.str("attachment_hash"); !strings.EqualFold(got, gateway.AttachmentHash(pdf)) {
		return c.fail(http.StatusBadRequest, "/msg/document-hash", "Verifica hash fallita.", "/jwt-hash-match", "attachment_hash is not the SHA-256 of the uploaded file")
	}
	x, err := c.extract(pdf, b.Mode)
	if err != nil {
		return err
	}
	if err := c.semantic(b.TipoDocumentoLivAlto, x.header.Code.Code); err != nil {
		return err
	}
	if err := c.s.opt.Signatures.CheckPAdES(pdf); err != nil {
		return c.fail(http.StatusBadRequest, "/msg/sign-error", "/msg/sign-error", "/msg/sign-error", "PAdES signature: "+err.Error())
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	st := c.s.st
	now := c.s.opt.Clock().UTC()
	if !validateToo {
		v, ok := st.Validations[x.hash]
		if !ok {
			return c.fail(http.StatusBadRequest, "/msg/cda-match", "Errore in fase di recupero dell'esito della verifica.", "/cda-validation", "Il CDA non risulta validato")
		}
		if b.WorkflowInstanceID != "" && b.WorkflowInstanceID != v.WII {
			return c.fail(http.StatusBadRequest, "/msg/cda-match", "Errore in fase di recupero dell'esito della verifica.", "/cda-validation", "the workflowInstanceId is not the validation's")
		}
		if now.Sub(v.At) > MaxPublishAge {
			return c.fail(http.StatusBadRequest, "/msg/max-day-limit-exceed", "Il documento ha superato il periodo massimo per essere pubblicato.", "/max-day-limit-exceed",
				fmt.Sprintf("validated %s ago, more than 5 days", now.Sub(v.At).Round(time.Hour)))
		}
		c.wii = v.WII
	}
	replace := c.op == gateway.OpReplace || c.op == gateway.OpValidateAndReplace
	if replace {
		old, ok := st.Documents[c.param]
		if !ok || old.Deleted {
			return c.fail(http.StatusNotFound, "/msg/record-not-found", "Record non trovato.", "/record-not-found", "no published document with this identificativoDoc")
		}
	}
	if d, ok := st.Documents[b.IdentificativoDoc]; ok && !d.Deleted && !(replace && b.IdentificativoDoc == c.param) {
		c.s.dups++
		return c.fail(http.StatusConflict, "/msg/id-doc", "Identificativo documento già presente.", "/id-doc", "identificativoDoc is already published")
	}
	if replace && b.IdentificativoDoc != c.param {
		old := st.Documents[c.param]
		old.Deleted, old.ReplacedBy = true, b.IdentificativoDoc
		st.Documents[c.param] = old
	}
	st.Documents[b.IdentificativoDoc] = document{WII: c.wii, Hash: gateway.AttachmentHash(pdf), Class: b.TipoDocumentoLivAlto, Published: now}
	if validateToo {
		c.event(c.wii, "VALIDATION", "SUCCESS", b.IdentificativoDoc, "")
	}
	c.event(c.wii, "PUBLICATION", "SUCCESS", b.IdentificativoDoc, "")
	c.event(c.wii, "SEND_TO_INI", "SUCCESS", b.IdentificativoDoc, "")
	if err := c.commit(); err != nil {
		return err
	}
	return c.answer(http.StatusAccepted, c.wii)
}

// checkBody applies the OpenAPI schema's required fields and value sets.
func (c *call) checkBody(b gateway.Body, publication bool) error {
	missing := func(f string) error {
		return c.fail(http.StatusBadRequest, "/msg/mandatory-element", "Campo obbligatorio non presente.", "/request-missing-field", f+" is required")
	}
	if publication {
		if b.IdentificativoDoc == "" {
			return missing("identificativoDoc")
		}
		if b.IdentificativoRep == "" {
			return missing("identificativoRep")
		}
		if _, ext, ok := strings.Cut(b.IdentificativoDoc, "^"); !ok || ext == "" {
			return c.invalidFormat("identificativoDoc must be root^extension")
		}
	}
	for _, f := range []struct{ name, v string }{{"tipologiaStruttura", b.TipologiaStruttura}, {"tipoDocumentoLivAlto", b.TipoDocumentoLivAlto},
		{"assettoOrganizzativo", b.AssettoOrganizzativo}, {"tipoAttivitaClinica", b.TipoAttivitaClinica}, {"identificativoSottomissione", b.IdentificativoSottomissione}} {
		if f.v == "" {
			return missing(f.name)
		}
	}
	if err := b.Check(); err != nil {
		return c.invalidFormat(err.Error())
	}
	return nil
}

// semantic checks resource_hl7_type against tipoDocumentoLivAlto through the type table.
func (c *call) semantic(class, typeCode string) error {
	t, ok := docmeta.Type(typeCode)
	if ok && !slices.Contains(t.Classes, class) {
		return c.tokenFail("/msg/jwt-validation", "Campo token JWT non valido.", "/jwt-document-type",
			fmt.Sprintf("tipoDocumentoLivAlto %s does not fit resource_hl7_type %s", class, typeCode))
	}
	return nil
}

func (c *call) delete() error {
	if err := c.tokens(); err != nil {
		return err
	}
	return c.changePublished("DELETE", func(d *document) { d.Deleted = true })
}

func (c *call) updateMetadata() error {
	if err := c.tokens(); err != nil {
		return err
	}
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return c.invalidFormat("the metadata update is application/json")
	}
	raw, err := io.ReadAll(c.r.Body)
	if err != nil {
		return err
	}
	var b gateway.Body
	if err := strictJSON(raw, &b); err != nil {
		return c.invalidFormat("body: " + err.Error())
	}
	if b.IdentificativoDoc != "" || b.IdentificativoRep != "" || b.Mode != "" || b.WorkflowInstanceID != "" {
		return c.invalidFormat("identificativoDoc, identificativoRep, mode and workflowInstanceId are not fields of a metadata update")
	}
	if err := c.checkBody(b, false); err != nil {
		return err
	}
	code := strings.TrimPrefix(strings.SplitN(c.str("resource_hl7_type"), "^", 2)[0], "('")
	if err := c.semantic(b.TipoDocumentoLivAlto, code); err != nil {
		return err
	}
	return c.changePublished("UPDATE", func(d *document) { d.Class = b.TipoDocumentoLivAlto })
}

// changePublished applies change to the published document the path names (404 when there
// is none or it was deleted), records the event, commits and answers its workflowInstanceId.
func (c *call) changePublished(event string, change func(*document)) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	d, ok := c.s.st.Documents[c.param]
	if !ok || d.Deleted {
		return c.fail(http.StatusNotFound, "/msg/record-not-found", "Record non trovato.", "/record-not-found", "no published document with this identificativoDoc")
	}
	change(&d)
	c.s.st.Documents[c.param] = d
	c.wii = d.WII
	c.event(d.WII, event, "SUCCESS", c.param, "")
	if err := c.commit(); err != nil {
		return err
	}
	return c.answer(http.StatusOK, d.WII)
}

// invalidFormat is the gateway's 400 /msg/invalid-format refusal, detail saying what is wrong.
func (c *call) invalidFormat(detail string) error {
	return c.fail(http.StatusBadRequest, "/msg/invalid-format", "Formato campo non valido.", "/request-invalid-format", detail)
}

func (c *call) status() error {
	if err := c.tokens(); err != nil {
		return err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	wii := c.param
	if t, ok := strings.CutPrefix(c.param, "trace:"); ok {
		wii = c.s.st.Traces[t]
	}
	evs, ok := c.s.st.Events[wii]
	if !ok {
		return c.fail(http.StatusNotFound, "/msg/record-not-found", "Record non trovato.", "/record-not-found", "no transaction with this id")
	}
	b, _ := json.Marshal(gateway.Status{TraceID: c.traceID, SpanID: c.spanID, Events: evs})
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b)
	return nil
}
