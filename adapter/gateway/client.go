// Package gateway is the client of the FSE 2.0 gateway REST API as the Puglia regional
// middleware exposes it (../shared/docs/gateway.md): validation, publication, replace,
// delete, metadata update, validate-and-publish and the status of a transaction.
//
// Every call carries two fresh JWTs (Authorization: Bearer and FSE-JWT-Signature), RS256
// with the signing certificate in x5c, whose claims are checked here against the document
// before anything is sent (CheckClaims); request bodies are derived from the document's
// metadata (adapter/docmeta) and checked against the OpenAPI value sets (Body.Check).
// Refusals come back as *Problem (RFC 7807), failures on the way as *CallError.
//
// A Client is safe for concurrent use and meant to be reused: it shares one *http.Client
// (adapter/transport: mutual TLS, kept-alive connections).
package gateway

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/cda"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/xds"
)

// The modes and activities of a validation.
const (
	ModeAttachment = "ATTACHMENT"
	ModeResource   = "RESOURCE"
	// ActivityValidation stores the CDA hash for the publication that follows.
	ActivityValidation = "VALIDATION"
	// ActivityVerifica only checks; nothing is kept.
	ActivityVerifica = "VERIFICA"
)

// Base URLs.
const (
	// MiddlewareTestURL is the Puglia middleware in test (seed 000 §5.1; it-fse-support#2128).
	MiddlewareTestURL = "https://mdw-fse-preprod.sanita.regione.rsr.rupar.puglia.it/api/v1"
	// NationalTestURL and NationalProdURL are the national gateway's base URLs, the default
	// audience of the JWTs.
	NationalTestURL = "https://modipa-val.fse.salute.gov.it/govway/rest/in/FSE/gateway/v1"
	NationalProdURL = "https://modipa.fse.salute.gov.it/govway/rest/in/FSE/gateway/v1"
)

// Config is the middleware part of the client configuration (adapter.Config.Gateway).
type Config struct {
	// BaseURL is the middleware's base URL including /v1; empty means MiddlewareTestURL in
	// test. Production has not been published: it must be set.
	BaseURL string `json:"base_url,omitempty"`
	// BaseURLs gives a base URL per environment ("test", "prod", "local"), as adapter.Config's
	// base_urls does, so that one file holds every environment; BaseURL wins over it.
	BaseURLs map[string]string `json:"base_urls,omitempty"`
	// Audience is the JWTs' aud; empty means the national base URL of the environment (the
	// public threads show the rule unsettled: it-fse-support#2532, #2759).
	Audience string `json:"audience,omitempty"`
	// JWTCertFile/JWTKeyFile (or JWTPKCS12File) sign both JWTs; empty means the TLS client
	// certificate (Puglia's model: one certificate for TLS and signature).
	JWTCertFile   string `json:"jwt_cert_file,omitempty"`
	JWTKeyFile    string `json:"jwt_key_file,omitempty"`
	JWTPKCS12File string `json:"jwt_pkcs12_file,omitempty"`
	// Locality is the XON locality claim; empty means XON(structure.name, structure.code).
	Locality string `json:"locality,omitempty"`
	// PatientConsent is the patient_consent claim; nil means true.
	PatientConsent *bool `json:"patient_consent,omitempty"`
	// ClinicalActivity is tipoAttivitaClinica (default PHR).
	ClinicalActivity string `json:"clinical_activity,omitempty"`
	// SubmissionRoot is the root of identificativoSottomissione (default DefaultSubmissionRoot).
	SubmissionRoot string `json:"submission_root,omitempty"`
	// Scenario is current, intermediate or final (seed 000 §4.1); empty means current.
	Scenario string `json:"scenario,omitempty"`
	// SupportedTypes are the LOINC types the gateway takes; empty means DefaultSupportedTypes.
	SupportedTypes []string `json:"supported_types,omitempty"`
}

// Identity is who calls: the operator (sub, subject_role), the structure (locality) and the
// accredited application.
type Identity struct {
	OperatorCF, Role             string
	StructureName, StructureCode string
	ApplicationID                string
	ApplicationVendor            string
	ApplicationVersion           string
}

// Options are what New needs besides the configuration.
type Options struct {
	// HTTPClient is the shared transport (adapter/transport.New); required.
	HTTPClient *http.Client
	// Key and Chain sign the JWTs (Chain[0] is the signing certificate, sent in x5c).
	Key   crypto.Signer
	Chain []*x509.Certificate
	// Environment is test, prod or local; it picks the default base URL and audience.
	Environment string
	// Timeout bounds a call whose context has no deadline; 0 means 60s.
	Timeout time.Duration
	// TokenTTL is the lifetime of the JWTs; 0 means 5 minutes.
	TokenTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TraceDir keeps every call (headers, parts, answers) for support tickets, redacted
	// unless TraceRaw.
	TraceDir string
	TraceRaw bool
}

// Client calls the middleware. Safe for concurrent use.
type Client struct {
	cfg     Config
	id      Identity
	o       Options
	base    string
	aud     string
	cn      string
	consent bool
}

// ConfigError is a configuration New refuses, naming the field.
type ConfigError struct{ Field, Msg, Fix string }

// Error implements error.
func (e *ConfigError) Error() string {
	return "gateway: " + e.Field + ": " + e.Msg + "; " + e.Fix
}

// New checks the configuration and builds a Client.
func New(cfg Config, id Identity, o Options) (*Client, error) {
	if o.HTTPClient == nil {
		return nil, &ConfigError{"http client", "missing", "pass the shared transport"}
	}
	if o.Key == nil || len(o.Chain) == 0 {
		return nil, &ConfigError{"gateway.jwt_cert_file", "no JWT signing certificate", "set gateway.jwt_cert_file/jwt_key_file or tls.cert_file/key_file"}
	}
	c := &Client{cfg: cfg, id: id, o: o, consent: true}
	if cfg.PatientConsent != nil {
		c.consent = *cfg.PatientConsent
	}
	env := strings.ToLower(strings.TrimSpace(o.Environment))
	var err error
	if c.base, _, err = ResolveBaseURL(cfg, env); err != nil {
		return nil, err
	}
	c.aud = AudienceFor(cfg, env)
	c.cn = o.Chain[0].Subject.CommonName
	if c.cn == "" {
		return nil, &ConfigError{"gateway.jwt_cert_file", "the signing certificate has no CN (iss is integrity:<CN>)", "use the structure's certificate (CN PartitaIva.Dominio.it)"}
	}
	if c.o.Timeout <= 0 {
		c.o.Timeout = 60 * time.Second
	}
	if c.o.TokenTTL <= 0 {
		c.o.TokenTTL = 5 * time.Minute
	}
	if c.o.Now == nil {
		c.o.Now = time.Now
	}
	return c, nil
}

// ResolveBaseURL returns the middleware base URL of env under cfg and whether it was
// configured (not the default); a *ConfigError when there is none or it is not https.
func ResolveBaseURL(cfg Config, env string) (string, bool, error) {
	base := cfg.BaseURL
	if base == "" {
		base = cfg.BaseURLs[env]
	}
	base, overridden := strings.TrimRight(base, "/"), base != ""
	if base == "" {
		if env != "test" {
			return "", false, &ConfigError{"gateway.base_url", "no default middleware URL in " + env + " (production is not published yet)", "set gateway.base_url"}
		}
		base = MiddlewareTestURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(env == "local" && u.Scheme == "http")) {
		return "", false, &ConfigError{"gateway.base_url", fmt.Sprintf("%q is not an https URL", base), "use https://host[:port]/…/v1"}
	}
	return base, overridden, nil
}

// AudienceFor returns the aud of the JWTs: cfg.Audience, else the national base URL of env.
func AudienceFor(cfg Config, env string) string {
	if cfg.Audience != "" {
		return cfg.Audience
	}
	if env == "prod" {
		return NationalProdURL
	}
	return NationalTestURL
}

// BaseURL returns the middleware base URL calls go to.
func (c *Client) BaseURL() string { return c.base }

// Audience returns the aud of the JWTs.
func (c *Client) Audience() string { return c.aud }

// Issuer returns the CN after integrity:/auth:.
func (c *Client) Issuer() string { return c.cn }

// Document is one document to send: its exact bytes and what docmeta derived from it.
type Document struct {
	// Name is the file name (for messages only).
	Name string
	// Data are the exact bytes uploaded.
	Data []byte
	// Meta is the derived metadata (docmeta plus the structure profile).
	Meta xds.Metadata
	// Header is the CDA header.
	Header *cda.Header
	// CDA is the embedded cda.xml.
	CDA []byte
	// Signed says whether the PDF has a signature dictionary.
	Signed bool
}

// HL7Type returns the resource_hl7_type of the document (its CDA's first code).
func (d *Document) HL7Type() string {
	if d.Header == nil {
		return ""
	}
	return HL7Type(d.Header.Code.Code, d.Header.Code.CodeSystem)
}

// PatientCF returns the CDA's patientRole/id/@extension.
func (d *Document) PatientCF() string {
	if d.Header == nil {
		return ""
	}
	if id, ok := d.Header.PatientID(); ok {
		return id.Extension
	}
	return ""
}

// CDAHash returns the validation hash of the document's CDA (see CDAHash).
func (d *Document) CDAHash() (string, error) { return CDAHash(d.CDA) }

// NewDocument inspects data with docmeta (opts carries the structure profile) and returns
// the Document, or the report's *docmeta.CheckError when a pre-flight check fails.
func NewDocument(data []byte, name string, opts docmeta.Options) (*Document, *docmeta.Report, error) {
	r := docmeta.InspectBytes(data, name, opts)
	if err := r.Err(); err != nil {
		return nil, r, err
	}
	d := &Document{Name: name, Data: data, Meta: r.Metadata, Header: r.Header, Signed: len(r.Signatures) > 0}
	if doc, err := pdfcda.Read(data, opts.Limits); err == nil {
		d.CDA = doc.CDA
	}
	if d.CDA == nil {
		return nil, r, fmt.Errorf("gateway: %s: no cda.xml", name)
	}
	return d, r, nil
}

// NewDocumentFile is NewDocument for the file at path, inspected without reading it into
// memory (docmeta.InspectFile, pdfcda.ReadAt): the Document has the metadata, the CDA and
// whether the PDF is signed, what the workflow checks (CheckPublishable) need, but no Data
// (it cannot be uploaded as it is). The error of an unreadable file is returned as such.
func NewDocumentFile(path string, opts docmeta.Options) (*Document, *docmeta.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: %w", err)
	}
	name := filepath.Base(path)
	r, err := docmeta.Inspect(f, st.Size(), name, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := r.Err(); err != nil {
		return nil, r, err
	}
	d := &Document{Name: name, Meta: r.Metadata, Header: r.Header, Signed: len(r.Signatures) > 0}
	if doc, err := pdfcda.ReadAt(f, st.Size(), opts.Limits); err == nil {
		d.CDA = doc.CDA
	}
	if d.CDA == nil {
		return nil, r, fmt.Errorf("gateway: %s: no cda.xml", name)
	}
	return d, r, nil
}

// Result is a successful answer.
type Result struct {
	// Op is the operation.
	Op Operation `json:"op"`
	// HTTPStatus is the answer's status (200 VERIFICA, 201 VALIDATION, 202 publications).
	HTTPStatus int `json:"http_status"`
	// TraceID and SpanID identify the call at the gateway.
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
	// WorkflowInstanceID links validation, publication and status.
	WorkflowInstanceID string `json:"workflowInstanceId,omitempty"`
	// Warning is the warning string as sent; Warnings the same split by source.
	Warning  string    `json:"warning,omitempty"`
	Warnings []Warning `json:"warnings,omitempty"`
}

// CallError is a call that did not complete (network, TLS, timeout, an unreadable answer):
// it may or may not have reached the gateway.
type CallError struct {
	Op  Operation
	URL string
	Err error
}

// Error implements error.
func (e *CallError) Error() string { return fmt.Sprintf("gateway %s %s: %v", e.Op, e.URL, e.Err) }

// Unwrap returns the cause.
func (e *CallError) Unwrap() error { return e.Err }

// TransportFailure marks the error as a failure on the way (the CLI's exit code 6).
func (e *CallError) TransportFailure() bool { return true }

// ValidateRequest is a validation.
type ValidateRequest struct {
	Document *Document
	// Activity is VALIDATION (default: the publication that follows needs it) or VERIFICA.
	Activity string
	// Mode is ATTACHMENT by default; NoMode sends none (the gateway then guesses and warns).
	Mode   string
	NoMode bool
	// Action is the action_id: CREATE (default) or UPDATE (a validation before a replace).
	Action string
}

// Validate sends the document to /documents/validation.
func (c *Client) Validate(ctx context.Context, req ValidateRequest) (*Result, error) {
	if req.Document == nil {
		return nil, errors.New("gateway: validate: no document")
	}
	act := req.Activity
	if act == "" {
		act = ActivityValidation
	}
	if act != ActivityValidation && act != ActivityVerifica {
		return nil, &FieldError{Field: "activity", Value: act, Msg: "not VALIDATION or VERIFICA"}
	}
	body := ValidationBody{HealthDataFormat: "CDA", Mode: req.Mode, Activity: act}
	if body.Mode == "" {
		body.Mode = ModeAttachment
	}
	if req.NoMode {
		body.Mode = ""
	}
	return c.send(ctx, OpValidation, http.MethodPost, "/documents/validation", body, req.Document, req.Action, "")
}

// PublishRequest is a publication (create, replace, validate-and-*).
type PublishRequest struct {
	Document *Document
	// WorkflowInstanceID is the validation's (create and replace; not validate-and-*).
	WorkflowInstanceID string
	// Body overrides the derived body when not nil.
	Body *Body
}

func (c *Client) body(req PublishRequest) (Body, error) {
	if req.Body != nil {
		return *req.Body, req.Body.Check()
	}
	return BodyFrom(req.Document.Meta, BodyOptions{ClinicalActivity: c.cfg.ClinicalActivity, SubmissionRoot: c.cfg.SubmissionRoot, Now: c.o.Now()})
}

func (c *Client) publication(ctx context.Context, op Operation, method, path string, req PublishRequest, wii bool) (*Result, error) {
	if req.Document == nil {
		return nil, fmt.Errorf("gateway: %s: no document", op)
	}
	b, err := c.body(req)
	if err != nil {
		return nil, err
	}
	if err := b.forPublication(); err != nil {
		return nil, err
	}
	if !req.Document.Signed {
		return nil, &FieldError{Field: "file", Msg: "the PDF carries no PAdES signature: the gateway refuses it (/msg/sign-error)", Fix: "sign the PDF after validation, then publish the signed bytes"}
	}
	if wii {
		b.WorkflowInstanceID = req.WorkflowInstanceID
		if b.WorkflowInstanceID == "" {
			return nil, &FieldError{Field: "workflowInstanceId", Msg: "required: the publication must follow a validation", Fix: "run fsepuglia validate first, or use validate-and-publish for error recovery"}
		}
	} else {
		b.WorkflowInstanceID = ""
	}
	return c.send(ctx, op, method, path, b, req.Document, "", "")
}

// Publish sends a validated, signed document to POST /documents.
func (c *Client) Publish(ctx context.Context, req PublishRequest) (*Result, error) {
	return c.publication(ctx, OpCreate, http.MethodPost, "/documents", req, true)
}

// Replace replaces the document idDoc (its uniqueId) with req's, PUT /documents/{idDoc}.
func (c *Client) Replace(ctx context.Context, idDoc string, req PublishRequest) (*Result, error) {
	if err := checkIDDoc(idDoc); err != nil {
		return nil, err
	}
	return c.publication(ctx, OpReplace, http.MethodPut, "/documents/"+url.PathEscape(idDoc), req, true)
}

// ValidateAndPublish validates and publishes in one call (POST /documents/validate-and-create):
// the specification reserves it for error recovery.
func (c *Client) ValidateAndPublish(ctx context.Context, req PublishRequest) (*Result, error) {
	return c.publication(ctx, OpValidateAndCreate, http.MethodPost, "/documents/validate-and-create", req, false)
}

// ValidateAndReplace is ValidateAndPublish for a replace.
func (c *Client) ValidateAndReplace(ctx context.Context, idDoc string, req PublishRequest) (*Result, error) {
	if err := checkIDDoc(idDoc); err != nil {
		return nil, err
	}
	return c.publication(ctx, OpValidateAndReplace, http.MethodPut, "/documents/validate-and-replace/"+url.PathEscape(idDoc), req, false)
}

// Delete deletes the document idDoc of the patient, DELETE /documents/{idDoc}.
func (c *Client) Delete(ctx context.Context, idDoc, patientCF string) (*Result, error) {
	if err := checkIDDoc(idDoc); err != nil {
		return nil, err
	}
	return c.send(ctx, OpDelete, http.MethodDelete, "/documents/"+url.PathEscape(idDoc), nil, &Document{Meta: xds.Metadata{PatientCF: patientCF}}, "", "")
}

// MetadataRequest is a metadata update: the new metadata and the document's type (for
// resource_hl7_type).
type MetadataRequest struct {
	Meta xds.Metadata
	// TypeCode and TypeSystem are the document's first code (LOINC by default).
	TypeCode, TypeSystem string
}

// UpdateMetadata updates the metadata of idDoc, PUT /documents/{idDoc}/metadata (JSON).
func (c *Client) UpdateMetadata(ctx context.Context, idDoc string, req MetadataRequest) (*Result, error) {
	if err := checkIDDoc(idDoc); err != nil {
		return nil, err
	}
	b, err := BodyFrom(req.Meta, BodyOptions{ClinicalActivity: c.cfg.ClinicalActivity, SubmissionRoot: c.cfg.SubmissionRoot, Now: c.o.Now()})
	if err != nil {
		return nil, err
	}
	b.IdentificativoDoc, b.IdentificativoRep, b.Mode, b.WorkflowInstanceID, b.HealthDataFormat = "", "", "", "", ""
	sys := req.TypeSystem
	if sys == "" {
		sys = docmeta.OIDLoinc
	}
	code := req.TypeCode
	if code == "" {
		code = req.Meta.TypeCode
	}
	return c.send(ctx, OpUpdateMetadata, http.MethodPut, "/documents/"+url.PathEscape(idDoc)+"/metadata", b, &Document{Meta: req.Meta}, "", HL7Type(code, sys))
}

func checkIDDoc(id string) error {
	if _, ext, ok := strings.Cut(id, "^"); !ok || ext == "" {
		return &FieldError{Field: "idDoc", Value: id, Msg: "must be the document's uniqueId root^extension"}
	}
	return nil
}

// Claims returns the FSE-JWT-Signature claims of op for d, checked (CheckClaims); action ""
// is the operation's default.
func (c *Client) Claims(op Operation, d *Document, action string) (Claims, error) {
	return c.claims(op, d, action, "")
}

func (c *Client) claims(op Operation, d *Document, action, hl7 string) (Claims, error) {
	now := c.o.Now()
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return Claims{}, err
	}
	r := Rules[op]
	if action == "" {
		action = r.Actions[0]
	}
	consent := c.consent
	loc := c.cfg.Locality
	if loc == "" {
		loc = XON(c.id.StructureName, c.id.StructureCode)
	}
	cl := Claims{
		Issuer: "integrity:" + c.cn, Subject: CX(c.id.OperatorCF), Audience: c.aud,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(c.o.TokenTTL).Unix(), ID: hex.EncodeToString(jti[:]),
		SubjectRole: c.id.Role, SubjectOrganizationID: RegionPugliaID, SubjectOrganization: RegionPuglia,
		Locality: loc, PurposeOfUse: r.Purposes[0], ActionID: action, PersonID: CX(d.Meta.PatientCF),
		PatientConsent: &consent, SubjectApplicationID: c.id.ApplicationID,
		SubjectApplicationVendor: c.id.ApplicationVendor, SubjectApplicationVersion: c.id.ApplicationVersion,
	}
	if r.HL7Type {
		cl.ResourceHL7Type = d.HL7Type()
		if hl7 != "" {
			cl.ResourceHL7Type = hl7
		}
	}
	if d.Data != nil && (r.Hash || op == OpValidation) {
		cl.AttachmentHash = AttachmentHash(d.Data)
	}
	f := Facts{PatientCF: d.PatientCF(), HL7Type: d.HL7Type(), Uploaded: d.Data, Signed: d.Signed}
	if err := CheckClaims(op, cl, f); err != nil {
		return Claims{}, err
	}
	return cl, nil
}

// Tokens returns the two JWTs of one call: the Authorization bearer and the
// FSE-JWT-Signature (exported for `fsepuglia doctor` and for tests).
func (c *Client) Tokens(op Operation, d *Document, action string) (bearer, signature string, err error) {
	cl, err := c.claims(op, d, action, "")
	if err != nil {
		return "", "", err
	}
	return c.sign(cl)
}

func (c *Client) sign(cl Claims) (string, string, error) {
	b, err := Sign(cl.Bearer(), c.o.Key, c.o.Chain)
	if err != nil {
		return "", "", err
	}
	s, err := Sign(cl, c.o.Key, c.o.Chain)
	if err != nil {
		return "", "", err
	}
	return b, s, nil
}

// send builds and sends one call. part is the requestBody (nil for delete); d holds the file
// (Data nil: no multipart).
func (c *Client) send(ctx context.Context, op Operation, method, path string, part any, d *Document, action, hl7 string) (*Result, error) {
	cl, err := c.claims(op, d, action, hl7)
	if err != nil {
		return nil, err
	}
	bearer, sig, err := c.sign(cl)
	if err != nil {
		return nil, err
	}
	var (
		body        io.Reader
		size        int64
		contentType string
		jsonPart    []byte
	)
	if part != nil {
		if jsonPart, err = json.Marshal(part); err != nil {
			return nil, fmt.Errorf("gateway: %s: %w", op, err)
		}
	}
	switch {
	case d.Data != nil:
		body, size, contentType, err = multipartBody(jsonPart, d)
		if err != nil {
			return nil, err
		}
	case jsonPart != nil:
		body, size, contentType = bytes.NewReader(jsonPart), int64(len(jsonPart)), "application/json"
	}
	return c.do(ctx, op, method, path, body, size, contentType, bearer, sig, jsonPart, d)
}

// multipartBody streams requestBody then file without copying the document: the two
// envelopes are small buffers around a reader of d.Data.
func multipartBody(jsonPart []byte, d *Document) (io.Reader, int64, string, error) {
	var head, tail bytes.Buffer
	w := multipart.NewWriter(&head)
	if jsonPart != nil {
		fw, err := w.CreateFormField("requestBody")
		if err != nil {
			return nil, 0, "", err
		}
		_, _ = fw.Write(jsonPart)
	}
	name := d.Name
	if name == "" {
		name = "document.pdf"
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, strings.ReplaceAll(name, `"`, "")))
	h.Set("Content-Type", "application/pdf")
	if _, err := w.CreatePart(h); err != nil {
		return nil, 0, "", err
	}
	ct := w.FormDataContentType()
	// Close writes the closing boundary: send it to tail.
	tw := multipart.NewWriter(&tail)
	if err := tw.SetBoundary(w.Boundary()); err != nil {
		return nil, 0, "", err
	}
	if err := tw.Close(); err != nil {
		return nil, 0, "", err
	}
	// Close writes "\r\n--boundary--\r\n": the CRLF that ends the file part and the closing
	// boundary.
	tailBytes := tail.Bytes()
	size := int64(head.Len()) + int64(len(d.Data)) + int64(len(tailBytes))
	return io.MultiReader(bytes.NewReader(head.Bytes()), bytes.NewReader(d.Data), bytes.NewReader(tailBytes)), size, ct, nil
}

const maxAnswer = 4 << 20

func (c *Client) do(ctx context.Context, op Operation, method, path string, body io.Reader, size int64, contentType, bearer, sig string, jsonPart []byte, d *Document) (*Result, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.o.Timeout)
		defer cancel()
	}
	u := c.base + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, &CallError{Op: op, URL: u, Err: err}
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	if sig != "" {
		req.Header.Set("FSE-JWT-Signature", sig)
	}
	start := c.o.Now()
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		c.trace(start, op, req, jsonPart, d, 0, nil, err)
		return nil, &CallError{Op: op, URL: u, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	c.trace(start, op, req, jsonPart, d, resp.StatusCode, raw, err)
	if err != nil {
		return nil, &CallError{Op: op, URL: u, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, ParseProblem(string(op), resp.StatusCode, raw)
	}
	res := &Result{Op: op, HTTPStatus: resp.StatusCode}
	if op != OpStatus {
		if err := json.Unmarshal(raw, res); err != nil {
			return nil, &CallError{Op: op, URL: u, Err: fmt.Errorf("answer %d is not JSON: %w", resp.StatusCode, err)}
		}
		res.Op, res.HTTPStatus = op, resp.StatusCode
		res.Warnings = SplitWarnings(res.Warning)
	}
	return res, nil
}

// Event is one event of a transaction (StatusCheckDTO).
type Event struct {
	EventType          string `json:"eventType,omitempty"`
	EventDate          string `json:"eventDate,omitempty"`
	EventStatus        string `json:"eventStatus,omitempty"`
	Message            string `json:"message,omitempty"`
	DocumentID         string `json:"identificativoDocumento,omitempty"`
	Subject            string `json:"subject,omitempty"`
	SubjectRole        string `json:"subjectRole,omitempty"`
	TipoAttivita       string `json:"tipoAttivita,omitempty"`
	Organization       string `json:"organizzazione,omitempty"`
	WorkflowInstanceID string `json:"workflowInstanceId,omitempty"`
	TraceID            string `json:"traceId,omitempty"`
	Issuer             string `json:"issuer,omitempty"`
	ExpiringDate       string `json:"expiringDate,omitempty"`
	Extra              string `json:"extra,omitempty"`
}

// Status is the answer of a status lookup (TransactionInspectResDTO).
type Status struct {
	TraceID string  `json:"traceID"`
	SpanID  string  `json:"spanID"`
	Events  []Event `json:"transactionData"`
}

// Published reports whether the events show a successful publication.
func (s *Status) Published() bool {
	for _, e := range s.Events {
		if e.EventType == "PUBLICATION" && e.EventStatus == "SUCCESS" {
			return true
		}
	}
	return false
}

// Failed returns the first BLOCKING_ERROR event, if any.
func (s *Status) Failed() (Event, bool) {
	for _, e := range s.Events {
		if e.EventStatus == "BLOCKING_ERROR" {
			return e, true
		}
	}
	return Event{}, false
}

// Status returns the events of a workflowInstanceId, GET /status/{wii}; an unknown id is a
// *Problem of ClassNotFound.
func (c *Client) Status(ctx context.Context, wii string) (*Status, error) {
	if wii == "" {
		return nil, &FieldError{Field: "workflowInstanceId", Msg: "required"}
	}
	return c.status(ctx, "/status/"+url.PathEscape(wii))
}

// StatusByTrace returns the events of a traceId, GET /status/search/{traceId}.
func (c *Client) StatusByTrace(ctx context.Context, traceID string) (*Status, error) {
	if traceID == "" {
		return nil, &FieldError{Field: "traceId", Msg: "required"}
	}
	return c.status(ctx, "/status/search/"+url.PathEscape(traceID))
}

func (c *Client) status(ctx context.Context, path string) (*Status, error) {
	// Status takes the Authorization bearer only (no document, no FSE-JWT-Signature).
	now := c.o.Now()
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	cl := Claims{Issuer: "integrity:" + c.cn, Subject: CX(c.id.OperatorCF), Audience: c.aud, IssuedAt: now.Unix(), ExpiresAt: now.Add(c.o.TokenTTL).Unix(), ID: hex.EncodeToString(jti[:])}
	bearer, err := Sign(cl.Bearer(), c.o.Key, c.o.Chain)
	if err != nil {
		return nil, err
	}
	ctx2 := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx2, cancel = context.WithTimeout(ctx, c.o.Timeout)
		defer cancel()
	}
	u := c.base + path
	req, err := http.NewRequestWithContext(ctx2, http.MethodGet, u, nil)
	if err != nil {
		return nil, &CallError{Op: OpStatus, URL: u, Err: err}
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	start := c.o.Now()
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		c.trace(start, OpStatus, req, nil, nil, 0, nil, err)
		return nil, &CallError{Op: OpStatus, URL: u, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	c.trace(start, OpStatus, req, nil, nil, resp.StatusCode, raw, err)
	if err != nil {
		return nil, &CallError{Op: OpStatus, URL: u, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, ParseProblem(string(OpStatus), resp.StatusCode, raw)
	}
	var s Status
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, &CallError{Op: OpStatus, URL: u, Err: fmt.Errorf("answer is not JSON: %w", err)}
	}
	return &s, nil
}
