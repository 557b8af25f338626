package fault

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Problem is the national FSE gateway's problem+json (RFC 7807 with its own fields) that the
// regional middleware passes through inside an FSE-00000 fault (it-fse-support #2717):
//
//	Error during middleware call: Validation and publication service returned error: {
//	  "traceID": "…", "spanID": "…", "type": "/msg/document-type",
//	  "title": "Il documento non è pdf.", "detail": "Il documento non è pdf.", "status": 415,
//	  "instance": "/multipart-file" "workflowInstanceId": "UNKNOWN_WORKFLOW_ID" "govwayId": "null" }
type Problem struct {
	Type               string `json:"type,omitempty"`
	Title              string `json:"title,omitempty"`
	Detail             string `json:"detail,omitempty"`
	Status             int    `json:"status,omitempty"`
	Instance           string `json:"instance,omitempty"`
	TraceID            string `json:"traceID,omitempty"`
	SpanID             string `json:"spanID,omitempty"`
	WorkflowInstanceID string `json:"workflowInstanceId,omitempty"`
	// Prefix is the text before the JSON ("Error during middleware call: …").
	Prefix string `json:"prefix,omitempty"`
}

// problemField matches one "name": value pair: a JSON string, a number or null. The thread's
// JSON misses commas between fields, so the object is read pair by pair, not with
// encoding/json.
var problemField = regexp.MustCompile(`"([A-Za-z_]+)"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(-?\d+)|null)`)

// ParseProblem finds a problem+json object in s (a faultstring or errorMessage) and returns
// its fields, or nil when s holds none (no '{' followed by a "status" or "type" field).
func ParseProblem(s string) *Problem {
	i := strings.IndexByte(s, '{')
	if i < 0 {
		return nil
	}
	body := s[i:]
	if j := strings.LastIndexByte(body, '}'); j >= 0 {
		body = body[:j+1]
	}
	p := &Problem{Prefix: strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s[:i]), ":"))}
	found := false
	for _, m := range problemField.FindAllStringSubmatch(body, -1) {
		v := unescapeJSON(m[2])
		switch m[1] {
		case "type":
			p.Type, found = v, true
		case "title":
			p.Title = v
		case "detail":
			p.Detail = v
		case "status":
			if n, err := strconv.Atoi(m[3]); err == nil {
				p.Status, found = n, true
			}
		case "instance":
			p.Instance = v
		case "traceID":
			p.TraceID = v
		case "spanID":
			p.SpanID = v
		case "workflowInstanceId":
			p.WorkflowInstanceID = v
		}
	}
	if !found {
		return nil
	}
	return p
}

func unescapeJSON(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	if u, err := strconv.Unquote(`"` + s + `"`); err == nil {
		return u
	}
	return s
}

// Summary is "<title> (<status>, <type>)", e.g. "Il documento non è pdf. (415, /msg/document-type)".
func (p *Problem) Summary() string {
	text := p.Title
	if text == "" {
		text = p.Detail
	}
	if p.Detail != "" && p.Detail != p.Title && p.Title != "" {
		text += ": " + p.Detail
	}
	var in []string
	if p.Status != 0 {
		in = append(in, strconv.Itoa(p.Status))
	}
	if p.Type != "" {
		in = append(in, p.Type)
	}
	if len(in) == 0 {
		return text
	}
	return fmt.Sprintf("%s (%s)", text, strings.Join(in, ", "))
}

// Class is what a caller can do about the refusal, from its HTTP status.
func (p *Problem) Class() Class {
	switch s := p.Status; {
	case s == 401 || s == 403:
		return Security
	case s == 404:
		return NotFound
	case s == 409:
		return Duplicate
	case s == 502 || s == 503 || s == 504:
		return Transient
	case s >= 400 && s < 500:
		return Validation
	case s >= 500:
		return Server
	}
	return Unknown
}
