package main

import (
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/queue"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed serve_openapi.json
var serveOpenAPI []byte

// maxUpload bounds a document posted to the API.
const maxUpload = 64 << 20

// apiError is the JSON of every error answer.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"` // input, not_found, busy, fault, consent, transport, unauthorized, unavailable, internal
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Fix     string `json:"fix,omitempty"`
	Fault   string `json:"fault_code,omitempty"`
}

// apiItem is a queue item as the API shows it (no body, no metadata: they hold patient data).
type apiItem struct {
	ID         string    `json:"id"`
	UniqueID   string    `json:"unique_id"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	Name       string    `json:"name,omitempty"`
	Source     string    `json:"source,omitempty"`
	State      string    `json:"state"`
	Outcome    string    `json:"outcome,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	FaultClass string    `json:"fault_class,omitempty"`
	FaultCode  string    `json:"fault_code,omitempty"`
	Retryable  bool      `json:"retryable,omitempty"`
	Attempts   int       `json:"attempts"`
	Route      string    `json:"route,omitempty"`
	WorkflowID string    `json:"workflow_instance_id,omitempty"`
	NextAt     time.Time `json:"next_attempt,omitzero"`
	Owner      string    `json:"owner,omitempty"`
	Enqueued   time.Time `json:"enqueued"`
	Updated    time.Time `json:"updated"`
}

func toAPIItem(it queue.Item) apiItem {
	state := it.State
	if state == queue.Sending && it.LeaseUntil.Before(time.Now()) {
		state = queue.InDoubt // its instance is gone; another one reconciles it
	}
	out := apiItem{ID: it.Key, UniqueID: it.UniqueID, SHA256: it.SHA256, Size: it.Size, Name: it.Path, Source: it.Source,
		State: string(state), Outcome: string(it.Outcome), Reason: redact.Text(it.Reason), FaultClass: it.FaultClass, FaultCode: it.FaultCode,
		Retryable: it.Retryable, Attempts: it.Attempts, Route: it.Route, WorkflowID: it.WorkflowID, Owner: it.Owner,
		Enqueued: it.Enqueued, Updated: it.Updated}
	if state == queue.Queued || (state == queue.InDoubt && it.Retryable) {
		out.NextAt = it.NextAt
	}
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) { r.code = code; r.ResponseWriter.WriteHeader(code) }

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, route string, h http.HandlerFunc, auth bool) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
			if auth && !s.authorized(r) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="fsepuglia"`)
				apiJSON(rec, http.StatusUnauthorized, apiError{apiErrorBody{Code: "unauthorized", Message: "missing or wrong bearer token",
					Fix: "send Authorization: Bearer <the token of --token-file>"}})
			} else {
				h(rec, r)
			}
			s.metrics.api.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		})
	}
	handle("GET /healthz", "healthz", func(w http.ResponseWriter, _ *http.Request) { apiJSON(w, 200, map[string]string{"status": "ok"}) }, false)
	handle("GET /readyz", "readyz", s.readyz, false)
	handle("GET /openapi.json", "openapi", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(serveOpenAPI)
	}, false)
	metrics := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	handle("GET /metrics", "metrics", metrics.ServeHTTP, true)

	handle("POST /v1/documents", "submit", s.submit, true)
	handle("GET /v1/documents", "list", s.list, true)
	handle("GET /v1/documents/{id}", "state", s.state, true)
	handle("POST /v1/documents/{id}/retry", "retry", s.retry, true)
	handle("DELETE /v1/documents/{id}", "forget", s.forget, true)
	handle("GET /v1/search", "search", s.search, true)
	handle("GET /v1/retrieve", "retrieve", s.retrieve, true)
	handle("GET /v1/consents", "consent_status", s.consentStatus, true)
	handle("POST /v1/consents", "consent_set", s.consentSet, true)
	handle("GET /v1/taccuino", "taccuino", s.taccuino, true)
	handle("POST /v1/validate", "validate", s.validate, true)
	handle("/", "unknown", func(w http.ResponseWriter, r *http.Request) {
		apiJSON(w, http.StatusNotFound, apiError{apiErrorBody{Code: "not_found", Message: "no such endpoint: " + r.Method + " " + r.URL.Path, Fix: "see GET /openapi.json"}})
	}, false)
	return mux
}

// authorized: loopback callers need nothing unless a token is configured; with a token every
// call but health, readiness and the OpenAPI document carries it. Mutual TLS is checked by
// the TLS layer before any handler runs.
func (s *server) authorized(r *http.Request) bool {
	if len(s.token) == 0 {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), s.token) == 1
}

func apiJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeErr maps an error to an HTTP status and a JSON body, without personal data.
func (s *server) writeErr(w http.ResponseWriter, err error) {
	var ie *adapter.InputError
	var fe *fieldError
	var ue *usageError
	var gf *gateway.FieldError
	var gw *gateway.WorkflowError
	body := apiErrorBody{Message: redact.Text(err.Error())}
	code := http.StatusInternalServerError
	switch {
	case errors.As(err, &ie):
		code, body.Code, body.Field, body.Fix = http.StatusBadRequest, "input", ie.Field, ie.Fix
	case errors.As(err, &fe):
		code, body.Code, body.Field, body.Fix = http.StatusBadRequest, "input", strings.TrimPrefix(fe.field, "--"), fe.fix
	case errors.As(err, &gf):
		code, body.Code, body.Field, body.Fix = http.StatusBadRequest, "input", gf.Field, gf.Fix
	case errors.As(err, &gw):
		code, body.Code, body.Field, body.Fix = http.StatusBadRequest, "workflow", "file", gw.Fix
	case errors.As(err, &ue):
		code, body.Code = http.StatusBadRequest, "input"
	case errors.Is(err, queue.ErrNotFound):
		code, body.Code = http.StatusNotFound, "not_found"
	case errors.Is(err, queue.ErrBusy):
		code, body.Code, body.Fix = http.StatusConflict, "busy", "wait until the item is settled"
	default:
		if fc, _, ok := faultOf(err); ok {
			body.Fault = fc
		}
		switch classifyRemote(err) {
		case remoteConsent:
			code, body.Code = http.StatusForbidden, "consent"
		case remoteFault:
			if isNotFound(err) {
				code, body.Code = http.StatusNotFound, "not_found"
			} else {
				code, body.Code = http.StatusBadGateway, "fault"
			}
		case remoteTransport:
			code, body.Code = http.StatusBadGateway, "transport"
		default:
			body.Code = "internal"
			s.log.Error("api: internal error", map[string]any{"error": err.Error()})
		}
	}
	apiJSON(w, code, apiError{body})
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		apiJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "stopping"})
		return
	}
	if _, err := s.st.Counts(r.Context()); err != nil {
		apiJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "queue unavailable", "queue": s.spec.String()})
		return
	}
	apiJSON(w, http.StatusOK, map[string]string{"status": "ready", "queue": s.spec.kind, "instance": s.owner})
}

// readUpload reads the multipart form of submit and validate: the file part and the optional
// metadata part (JSON overrides).
func readUpload(w http.ResponseWriter, r *http.Request) (name string, body, meta []byte, err error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, nil, &adapter.InputError{Field: "body", Msg: "not multipart/form-data", Fix: "send the document as a multipart part named file (curl -F file=@doc.pdf)"}
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, nil, &adapter.InputError{Field: "body", Msg: fmt.Sprintf("unreadable multipart body: %v", err), Fix: "check the request (at most 64 MiB)"}
		}
		switch p.FormName() {
		case "file":
			name = p.FileName()
			if body, err = io.ReadAll(io.LimitReader(p, maxUpload+1)); err != nil {
				return "", nil, nil, &adapter.InputError{Field: "file", Msg: fmt.Sprintf("unreadable: %v", err), Fix: "check the request"}
			}
			if len(body) > maxUpload {
				return "", nil, nil, &adapter.InputError{Field: "file", Msg: "larger than 64 MiB", Fix: "the region refuses such documents"}
			}
		case "metadata":
			if meta, err = io.ReadAll(io.LimitReader(p, 1<<20)); err != nil {
				return "", nil, nil, &adapter.InputError{Field: "metadata", Msg: fmt.Sprintf("unreadable: %v", err), Fix: "check the request"}
			}
		default:
			return "", nil, nil, &adapter.InputError{Field: p.FormName(), Msg: "unknown part", Fix: "send the parts file and (optionally) metadata"}
		}
	}
	if body == nil {
		return "", nil, nil, &adapter.InputError{Field: "file", Msg: "missing", Fix: "send the document as a multipart part named file"}
	}
	if name == "" {
		name = "document.pdf"
	}
	return name, body, meta, nil
}

func (s *server) submit(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		apiJSON(w, http.StatusServiceUnavailable, apiError{apiErrorBody{Code: "unavailable", Message: "stopping: submit to another instance or later"}})
		return
	}
	name, body, meta, err := readUpload(w, r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	it, isNew, err := s.enqueueDocument(r.Context(), name, body, meta, "metadata part", "api")
	if err != nil {
		s.writeErr(w, err)
		return
	}
	code := http.StatusAccepted
	if !isNew {
		code = http.StatusOK // already known: its current state
	}
	w.Header().Set("Location", "/v1/documents/"+pathEscapeID(it.Key))
	apiJSON(w, code, toAPIItem(it))
}

func pathEscapeID(id string) string { return strings.ReplaceAll(id, "|", "%7C") }

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f queue.Filter
	for _, v := range q["state"] {
		for _, st := range strings.Split(v, ",") {
			if !isState(st) {
				s.writeErr(w, &adapter.InputError{Field: "state", Value: st, Msg: "unknown state", Fix: "use queued, sending, in-doubt, done or failed"})
				return
			}
			f.States = append(f.States, queue.State(st))
		}
	}
	var err error
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			s.writeErr(w, &adapter.InputError{Field: "limit", Value: v, Msg: "not a number from 1 to 1000", Fix: "e.g. limit=100"})
			return
		}
	}
	if v := q.Get("after"); v != "" {
		if f.After, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.writeErr(w, &adapter.InputError{Field: "after", Value: v, Msg: "not a number", Fix: "pass the next_after of the previous page"})
			return
		}
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	items, err := s.st.List(r.Context(), f)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	counts, err := s.st.Counts(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := struct {
		Items     []apiItem      `json:"items"`
		Counts    map[string]int `json:"counts"`
		NextAfter int64          `json:"next_after,omitempty"`
	}{Items: []apiItem{}, Counts: map[string]int{}}
	for _, it := range items {
		out.Items = append(out.Items, toAPIItem(it))
	}
	for _, st := range queue.States {
		out.Counts[string(st)] = counts[st]
	}
	if len(items) == f.Limit {
		out.NextAfter = items[len(items)-1].Seq
	}
	apiJSON(w, http.StatusOK, out)
}

func isState(v string) bool {
	for _, st := range queue.States {
		if string(st) == v {
			return true
		}
	}
	return false
}

func (s *server) state(w http.ResponseWriter, r *http.Request) {
	it, err := s.st.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	apiJSON(w, http.StatusOK, toAPIItem(it))
}

func (s *server) retry(w http.ResponseWriter, r *http.Request) {
	it, err := s.st.Retry(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.wakeWorkers()
	apiJSON(w, http.StatusOK, toAPIItem(it))
}

func (s *server) forget(w http.ResponseWriter, r *http.Request) {
	if err := s.st.Forget(r.Context(), r.PathValue("id")); err != nil {
		s.writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// queryPatient reads and validates the patient parameter.
func queryPatient(r *http.Request) (string, error) {
	return patientCF("patient", r.URL.Query().Get("patient"))
}

func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &adapter.InputError{Field: name, Value: v, Msg: fmt.Sprintf("not a number from %d to %d", lo, hi), Fix: "fix the query parameter"}
	}
	return n, nil
}

func queryDay(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	return parseDay(name, v)
}

// queryPage reads the from/to (days, to = its end) and offset/limit parameters that search
// and the Taccuino share.
func queryPage(r *http.Request) (from, to time.Time, offset, limit int, err error) {
	if from, err = queryDay(r, "from"); err != nil {
		return
	}
	if to, err = queryDay(r, "to"); err != nil {
		return
	}
	if offset, err = queryInt(r, "offset", 0, 0, 1<<30); err != nil {
		return
	}
	limit, err = queryInt(r, "limit", 100, 1, 1000)
	return
}

func (s *server) search(w http.ResponseWriter, r *http.Request) {
	q := adapter.SearchQuery{TypeCode: r.URL.Query().Get("type_code"), ClassCode: r.URL.Query().Get("class_code"),
		Status: r.URL.Query().Get("status"), AuthorStructure: r.URL.Query().Get("author_structure")}
	var err error
	if q.PatientCF, err = queryPatient(r); err == nil {
		q.From, q.To, q.Offset, q.Limit, err = queryPage(r)
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	res, err := s.backend().docs.Search(r.Context(), q)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if res.Documents == nil {
		res.Documents = []adapter.Metadata{}
	}
	apiJSON(w, http.StatusOK, res)
}

// retrieve answers the document itself (Accept: application/pdf or anything but JSON) or,
// with Accept: application/json, its metadata and the content in base64.
func (s *server) retrieve(w http.ResponseWriter, r *http.Request) {
	cf, err := queryPatient(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	id := r.URL.Query().Get("unique_id")
	if id == "" {
		s.writeErr(w, &adapter.InputError{Field: "unique_id", Msg: "missing", Fix: "pass unique_id=<the document's uniqueId>"})
		return
	}
	doc, err := s.backend().docs.Retrieve(r.Context(), cf, id)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		apiJSON(w, http.StatusOK, struct {
			Metadata adapter.Metadata `json:"metadata"`
			Content  []byte           `json:"content"`
		}{doc.Metadata, doc.Body})
		return
	}
	mt := doc.Metadata.MimeType
	if mt == "" {
		mt = "application/pdf"
	}
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Content-Length", strconv.Itoa(len(doc.Body)))
	_, _ = w.Write(doc.Body)
}

func (s *server) consentStatus(w http.ResponseWriter, r *http.Request) {
	cf, err := queryPatient(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	st, err := s.backend().consents.Status(r.Context(), cf)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	apiJSON(w, http.StatusOK, st)
}

// consentRequest is the body of POST /v1/consents.
type consentRequest struct {
	Patient       string                  `json:"patient"`
	Consents      map[string]bool         `json:"consents"`
	InformativaID string                  `json:"informativa_id,omitempty"`
	OnBehalfOf    *adapter.Representative `json:"on_behalf_of,omitempty"`
}

func (s *server) consentSet(w http.ResponseWriter, r *http.Request) {
	var req consentRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.writeErr(w, &adapter.InputError{Field: "body", Msg: fmt.Sprintf("invalid JSON: %v", err), Fix: `send {"patient":"…","consents":{"C2":true}}`})
		return
	}
	cf, err := patientCF("patient", req.Patient)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if len(req.Consents) == 0 {
		s.writeErr(w, &adapter.InputError{Field: "consents", Msg: "empty", Fix: `give at least one code, e.g. {"C2":true}`})
		return
	}
	ch := adapter.ConsentChange{PatientCF: cf, Values: map[adapter.ConsentCode]bool{}, InformativaID: req.InformativaID, OnBehalfOf: req.OnBehalfOf}
	for k, v := range req.Consents {
		code := strings.ToUpper(k)
		if len(code) != 2 || code[0] != 'C' || code[1] < '1' || code[1] > '8' {
			s.writeErr(w, &adapter.InputError{Field: "consents", Value: k, Msg: "unknown consent code", Fix: "use C1 to C8"})
			return
		}
		ch.Values[adapter.ConsentCode(code)] = v
	}
	st, err := s.backend().consents.Set(r.Context(), ch)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	apiJSON(w, http.StatusOK, st)
}

// taccuino answers the summary, or with kind=… one page of items.
func (s *server) taccuino(w http.ResponseWriter, r *http.Request) {
	cf, err := queryPatient(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	kind := r.URL.Query().Get("kind")
	if kind == "" {
		sum, err := s.backend().taccuino.Summary(r.Context(), cf)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		apiJSON(w, http.StatusOK, sum)
		return
	}
	q := adapter.TaccuinoQuery{PatientCF: cf, Kind: adapter.TaccuinoKind(kind)}
	known := false
	for _, k := range adapter.TaccuinoKinds {
		known = known || k == q.Kind
	}
	if !known {
		s.writeErr(w, &adapter.InputError{Field: "kind", Value: kind, Msg: "unknown Taccuino kind", Fix: "use rilevazioni, farmaci, eventi, sintomi or documenti"})
		return
	}
	if q.From, q.To, q.Offset, q.Limit, err = queryPage(r); err != nil {
		s.writeErr(w, err)
		return
	}
	page, err := s.backend().taccuino.Items(r.Context(), q)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if page.Items == nil {
		page.Items = []adapter.TaccuinoItem{}
	}
	apiJSON(w, http.StatusOK, page)
}

// validate inspects a document as publish would (the CDA, the checks, the metadata after the
// overrides) without recording or sending it. In the intermediate and final scenarios (or
// with ?middleware=true) it is also validated by the FSE 2.0 middleware (VALIDATION), and a
// positive answer is journalled as `fsepuglia validate` does: the publication that follows
// (signed, within 5 days, same CDA) is then accepted.
func (s *server) validate(w http.ResponseWriter, r *http.Request) {
	name, body, meta, err := readUpload(w, r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	rep := docmeta.InspectBytes(body, name, docmeta.Options{Profile: docProfile(s.a.cfg)})
	type mwResult struct {
		Outcome            string            `json:"outcome"` // valid, invalid, error
		WorkflowInstanceID string            `json:"workflow_instance_id,omitempty"`
		TraceID            string            `json:"trace_id,omitempty"`
		Warnings           []gateway.Warning `json:"warnings,omitempty"`
		Problem            *gateway.Problem  `json:"problem,omitempty"`
		Error              string            `json:"error,omitempty"`
		Journalled         bool              `json:"journalled,omitempty"`
	}
	out := struct {
		Valid      bool              `json:"valid"`
		Error      *apiErrorBody     `json:"error,omitempty"`
		Metadata   *adapter.Metadata `json:"metadata,omitempty"`
		Middleware *mwResult         `json:"middleware,omitempty"`
		Report     *docmeta.Report   `json:"report"`
	}{Report: rep}
	m, err := s.a.documentMetadata(name, body, meta, "metadata part")
	if err == nil {
		out.Valid, out.Metadata = true, &m
	} else {
		var ie *adapter.InputError
		b := &apiErrorBody{Code: "input", Message: redact.Text(err.Error())}
		if errors.As(err, &ie) {
			b.Field, b.Fix = ie.Field, ie.Fix
		}
		out.Error = b
	}
	if out.Valid && (s.router.journal != nil || r.URL.Query().Get("middleware") == "true") {
		mr := &mwResult{Outcome: "valid"}
		out.Middleware = mr
		d, err := s.router.document(name, body)
		var res *gateway.Result
		if err == nil {
			var g gatewayAPI
			if g, err = s.router.gateway(); err == nil {
				res, err = g.Validate(r.Context(), gateway.ValidateRequest{Document: d, Activity: gateway.ActivityValidation})
			}
		}
		if err == nil {
			mr.WorkflowInstanceID, mr.TraceID, mr.Warnings = res.WorkflowInstanceID, res.TraceID, res.Warnings
			if s.router.journal != nil {
				if err = s.a.recordValidation(s.router.journal, d, res); err == nil {
					mr.Journalled = true
				}
			}
		}
		if err != nil {
			out.Valid = false
			mr.Outcome, mr.Error = "error", redact.Text(err.Error())
			var p *gateway.Problem
			if errors.As(err, &p) {
				mr.Problem = p
				if !p.Transient() {
					mr.Outcome = "invalid"
				}
			}
		}
	}
	apiJSON(w, http.StatusOK, out)
}
