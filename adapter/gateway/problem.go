package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Source says who produced a Problem: the national gateway (passed through unchanged by the
// middleware), the regional middleware itself (types mw/…), or the GovWay frontier in front
// of either (govway_id, govway.org types).
type Source string

// The sources of a Problem.
const (
	SourceGateway    Source = "gateway"
	SourceMiddleware Source = "middleware"
	SourceGovWay     Source = "govway"
)

// Class groups problems by what the caller can do about them; the CLI maps each class to an
// exit code.
type Class string

// The classes of a Problem.
const (
	// ClassInvalid is a request or document the gateway refused (400, 413, 415, 422): fix it.
	ClassInvalid Class = "invalid"
	// ClassAuth is a refused or missing JWT, certificate or ModI header (401, 403, GovWay 400
	// InteroperabilityInvalidRequest): fix the credentials or the claims.
	ClassAuth Class = "auth"
	// ClassNotFound is an unknown document or workflow (404).
	ClassNotFound Class = "not-found"
	// ClassConflict is a state conflict (409), e.g. a document already published.
	ClassConflict Class = "conflict"
	// ClassTransient is a temporary failure on the way (429, 502, 503, 504, mw/io_error,
	// /msg/generic-timeout): the call may be repeated after reconciling with Status.
	ClassTransient Class = "transient"
	// ClassServer is a generic server error (500, mw/internal_error): not retried.
	ClassServer Class = "server"
)

// MiddlewareWarningSeparator separates the national gateway's warning from the warnings the
// regional middleware appends (it-fse-support doc/middleware-regionale).
const MiddlewareWarningSeparator = "--middlewarewarning--"

// UnknownWorkflowID is the workflowInstanceId the gateway answers when it could not compute
// one (the CDA could not be read).
const UnknownWorkflowID = "UNKNOWN_WORKFLOW_ID"

// Problem is an RFC 7807 application/problem+json answer, typed: the fields of the gateway's
// ErrorResponseDTO and ValidationErrorResponseDTO, GovWay's govway_id, and the HTTP status
// of the answer. It is the error every Client method returns for a refused call.
type Problem struct {
	// Type is the problem URI: /msg/… (gateway), mw/… (middleware), a govway.org URL.
	Type string `json:"type,omitempty"`
	// Title is the short description.
	Title string `json:"title,omitempty"`
	// Detail is the long description (schematron asserts, the claim at fault …).
	Detail string `json:"detail,omitempty"`
	// Status is the HTTP status the body states.
	Status int `json:"status,omitempty"`
	// Instance names the occurrence, e.g. /jwt-hash-match.
	Instance string `json:"instance,omitempty"`
	// TraceID and SpanID identify the call on the gateway's side (quote them in tickets).
	TraceID string `json:"traceID,omitempty"`
	SpanID  string `json:"spanID,omitempty"`
	// WorkflowInstanceID is set on validation errors (UNKNOWN_WORKFLOW_ID when not computable).
	WorkflowInstanceID string `json:"workflowInstanceId,omitempty"`
	// GovWayID is set by the GovWay frontier.
	GovWayID string `json:"govway_id,omitempty"`

	// HTTPStatus is the status line of the answer (the body's Status may be missing).
	HTTPStatus int `json:"-"`
	// Op is the client operation that got the answer (validate, publish …).
	Op string `json:"-"`
}

// Error implements error. It holds no personal data: the gateway's texts name fields and
// rules, not values (Detail is kept out of the message when it is long).
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gateway %s: %d", p.Op, p.statusCode())
	if p.Type != "" {
		fmt.Fprintf(&b, " %s", p.Type)
	}
	if p.Title != "" {
		fmt.Fprintf(&b, " %q", p.Title)
	}
	if p.Detail != "" {
		d := p.Detail
		if len(d) > 300 {
			d = d[:300] + "…"
		}
		fmt.Fprintf(&b, ": %s", d)
	}
	if p.Instance != "" {
		fmt.Fprintf(&b, " (instance %s)", p.Instance)
	}
	if p.TraceID != "" {
		fmt.Fprintf(&b, " [traceID %s]", p.TraceID)
	}
	if p.GovWayID != "" {
		fmt.Fprintf(&b, " [govway_id %s]", p.GovWayID)
	}
	return b.String()
}

func (p *Problem) statusCode() int {
	if p.HTTPStatus != 0 {
		return p.HTTPStatus
	}
	return p.Status
}

// Source says who produced the problem.
func (p *Problem) Source() Source {
	switch {
	case strings.HasPrefix(p.Type, "mw/") || strings.HasPrefix(p.Type, "/mw/"):
		return SourceMiddleware
	case p.GovWayID != "" || strings.Contains(p.Type, "govway.org"):
		return SourceGovWay
	}
	return SourceGateway
}

// Class says what the caller can do about the problem.
func (p *Problem) Class() Class {
	t := strings.TrimPrefix(p.Type, "/")
	switch {
	case t == "mw/io_error", t == "msg/generic-timeout":
		return ClassTransient
	case t == "mw/internal_error":
		return ClassServer
	case strings.Contains(p.Type, "InteroperabilityInvalidRequest"), strings.Contains(p.Type, "AuthenticationRequired"),
		strings.Contains(p.Type, "Authorization"):
		return ClassAuth
	}
	switch s := p.statusCode(); {
	case s == 401 || s == 403:
		return ClassAuth
	case s == 404:
		return ClassNotFound
	case s == 409:
		return ClassConflict
	case s == 429 || s == 502 || s == 503 || s == 504:
		return ClassTransient
	case s >= 500:
		return ClassServer
	}
	return ClassInvalid
}

// Transient reports whether the call failed on the way and may be repeated (after a Status
// lookup for calls that change state).
func (p *Problem) Transient() bool { return p.Class() == ClassTransient }

// ParseProblem decodes an error answer. A body that is not JSON (a proxy's HTML page)
// still gives a Problem with the HTTP status and the start of the body as Detail.
func ParseProblem(op string, status int, body []byte) *Problem {
	p := &Problem{}
	if err := json.Unmarshal(body, p); err != nil || (p.Type == "" && p.Title == "" && p.Status == 0) {
		d := strings.TrimSpace(string(body))
		if len(d) > 200 {
			d = d[:200] + "…"
		}
		p = &Problem{Title: "answer without problem+json", Detail: d}
	}
	p.HTTPStatus, p.Op = status, op
	return p
}

// Warning is one warning of a successful answer.
type Warning struct {
	// Source is SourceGateway for the national gateway's warning and SourceMiddleware for
	// each one the regional middleware appended.
	Source Source `json:"source"`
	// Text is the warning as sent.
	Text string `json:"text"`
}

// SplitWarnings splits the warning string of an answer at MiddlewareWarningSeparator: the
// part before it is the national gateway's warning, each part after it one regional
// warning. Empty parts are dropped.
func SplitWarnings(w string) []Warning {
	parts := strings.Split(w, MiddlewareWarningSeparator)
	var out []Warning
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		src := SourceGateway
		if i > 0 {
			src = SourceMiddleware
		}
		out = append(out, Warning{Source: src, Text: p})
	}
	return out
}
