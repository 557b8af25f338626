package sim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	fsefault "github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/fsepuglia/fsepuglia/wsdl"
)

// NS is the services' namespace, with its final slash (wsdl.Namespace); an operation's
// wsa:Action is NS + operation (wsdl.Operation.Action).
const NS = wsdl.Namespace

// Fault codes answered by the simulator (the project's table, wsdl/FAULTS.md).
const (
	CodeGeneric      = "FSE-00000"
	CodeCFMismatch   = "E000231"
	CodeInvalid      = "FSE-00400"
	CodeSecurity     = "FSE-00401"
	CodeReplay       = "FSE-00402"
	CodeNotFound     = "FSE-00404"
	CodeAssertion    = "FSE-00407"
	CodeDuplicate    = "FSE-00409"
	CodeInconsistent = "FSE-00422"
	CodeConsent      = "FSE-00451"
	CodeUnavailable  = "FSE-00503"
	CodeUnsignedCDA  = "FSE-10001"
)

// Fault is a SOAP fault the simulator answers: Code is FSE-NNNNN (or E000231), Detail an
// optional English precision appended to the text (never personal data), Problem the
// middleware's problem+json for a refusal the national gateway would make (#2717).
type Fault struct {
	Code    string
	Detail  string
	Problem *fsefault.Problem
}

// Error implements error.
func (f *Fault) Error() string {
	if f.Problem != nil {
		return f.Code + " - " + fsefault.MiddlewarePrefix + f.Problem.Summary()
	}
	return FaultString(f.Code, f.Detail)
}

func fault(code, format string, args ...any) *Fault {
	return &Fault{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// gatewayRefusal is what the regional service answers when the regional middleware (the
// national gateway's validation) refuses the document before publication: FSE-00000 with
// the problem+json (#2717).
func gatewayRefusal(typ, title, detail string, status int, instance string) *Fault {
	return &Fault{Code: CodeGeneric, Problem: &fsefault.Problem{Type: typ, Title: title, Detail: detail, Status: status,
		Instance: instance, TraceID: randomHex(16), SpanID: randomHex(8), WorkflowInstanceID: "UNKNOWN_WORKFLOW_ID"}}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FaultString is the faultstring of a fault: "FSE-NNNNN - <text>", then ": detail".
func FaultString(code, detail string) string { return fsefault.FaultString(code, detail) }

// FaultEnvelope is the fault answer without WS-Addressing context (adapter/fault.Envelope).
func FaultEnvelope(code, detail, actor string) []byte {
	return fsefault.Envelope(fsefault.EnvelopeParams{Code: code, Detail: detail, Actor: actor})
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// actorOf maps a service name to its portType (the faultactor).
func actorOf(service string) string {
	return strings.TrimSuffix(service, "Service")
}

// call is one request being served.
type call struct {
	service   string
	op        string
	path      string
	envelope  []byte
	env       *wssec.Envelope // the envelope, parsed once
	opEl      *etree.Element  // the operation element (first child of soap:Body) in env
	msg       *wssec.Message  // the verified message (profile, signature value, attributes); nil in relaxed mode without WS-Security
	req       *request        // what was read: skeleton and large texts (removed when the call ends)
	docText   *elided         // document/document's text when it was kept out of memory
	requester requester
}

// requester is who makes a call: from the SAML assertions, or the richiedente block in
// relaxed mode.
type requester struct {
	OperatorCF string
	Role       string
	Structure  string
	PatientCF  string // the patient the assertion names ("" when none)
	fromSAML   bool
}

type handlerFunc func(s *Server, c *call) (any, error)

// operations maps service → operation → handler.
var operations = map[string]map[string]handlerFunc{
	ServiceDocument: {
		"addDocument":      (*Server).addDocument,
		"replaceDocument":  (*Server).replaceDocument,
		"deleteDocument":   (*Server).deleteDocument,
		"searchDocuments":  (*Server).searchDocuments,
		"retrieveDocument": (*Server).retrieveDocument,
	},
	ServiceConsenso: {
		"statoConsensi":         (*Server).statoConsensi,
		"comunicazioneConsensi": (*Server).comunicazioneConsensi,
		"recuperoInformativa":   (*Server).recuperoInformativa,
	},
	ServiceTaccuino: {
		"getTaccuino":           (*Server).getTaccuino,
		"getRilevazioni":        (*Server).getRilevazioni,
		"getFarmaci":            (*Server).getFarmaci,
		"getEventi":             (*Server).getEventi,
		"getSintomi":            (*Server).getSintomi,
		"getDocumentiPersonali": (*Server).getDocumentiPersonali,
	},
}

// serveSOAP handles a POST to a service path.
func (s *Server) serveSOAP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	_, service, _ := splitPath(r.URL.Path)
	c := &call{service: service, path: r.URL.Path}
	if r.ContentLength > s.opt.MaxBody {
		// Refused unread (checkTransport): closing after the answer keeps net/http from
		// reading up to 256 KiB of the body first.
		w.Header().Set("Connection", "close")
	}
	resp, err := s.handle(c, r)
	if c.req != nil {
		defer c.req.close()
	}
	if c.op != "" {
		s.callsMu.Lock()
		if s.calls == nil {
			s.calls = map[string]int{}
		}
		s.calls[c.op]++
		s.callsMu.Unlock()
	}
	if err != nil {
		var f *Fault
		if !errors.As(err, &f) {
			f = &Fault{Code: CodeGeneric, Detail: "internal error"}
			s.logf("sim: %s %s: internal error: %v", service, c.op, err)
		}
		p := fsefault.EnvelopeParams{Code: f.Code, Detail: f.Detail, Actor: actorOf(service), Op: c.op,
			MessageID: "urn:" + wssec.NewMessageID(), Problem: f.Problem}
		if c.msg != nil {
			p.RelatesTo = c.msg.MessageID
		} else {
			p.RelatesTo = requestMessageID(c.envelope)
		}
		b := fsefault.Envelope(p)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(b)
		s.logf("sim: %s %s -> %s (%s)", service, opName(c.op), f.Code, time.Since(start).Round(time.Millisecond))
		return
	}
	sr, _ := resp.(*streamedResponse)
	if sr != nil {
		defer sr.file.Close()
		resp = sr.resp
	}
	b, err := responseEnvelope(c, resp)
	var prefix, suffix []byte
	if err == nil && sr != nil {
		prefix, suffix, err = sr.split(b)
	}
	if err != nil {
		s.logf("sim: %s %s: marshal response: %v", service, c.op, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	if sr == nil {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	} else {
		n := int64(len(prefix)+len(suffix)) + int64(base64.StdEncoding.EncodedLen(int(sr.size)))
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		if err := sr.write(w, prefix, suffix); err != nil {
			// The status is sent: the connection is cut short, the client sees a truncated answer.
			s.logf("sim: %s %s: streaming the document: %v", service, c.op, err)
			return
		}
	}
	s.logf("sim: %s %s -> OK (%s)", service, c.op, time.Since(start).Round(time.Millisecond))
}

var messageIDRE = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?MessageID\b[^>]*>\s*([A-Za-z0-9:._-]{1,128})\s*</`)

// requestMessageID is the request's wsa:MessageID read from the envelope's head when the
// message was not verified (so that a security fault still relates to it, as #2331's answer
// does); only identifier characters are echoed.
func requestMessageID(env []byte) string {
	head := env
	if len(head) > 64<<10 {
		head = head[:64<<10]
	}
	if i := bytes.Index(head, []byte("Body")); i > 0 {
		head = head[:i]
	}
	if m := messageIDRE.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	return ""
}

func opName(op string) string {
	if op == "" {
		return "?"
	}
	return op
}

// handle reads, checks and dispatches one request.
func (s *Server) handle(c *call, r *http.Request) (any, error) {
	if err := checkTransport(r, s.opt.MaxBody); err != nil {
		return nil, err
	}
	q, err := readRequest(r.Body, r.ContentLength, func() (*os.File, error) { return s.data.Store.TempFile("request-*") })
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, fault(CodeInvalid, "request larger than %d bytes", mbe.Limit)
		case errors.Is(err, errSkeleton), errors.Is(err, errLargeText):
			return nil, fault(CodeInvalid, "%v", err)
		}
		return nil, fault(CodeInvalid, "request body not readable")
	}
	c.req = q
	env := q.skeleton
	c.envelope = env
	e, opEl, err := parseRequest(env)
	if err != nil {
		return nil, fault(CodeInvalid, "not a SOAP 1.1 envelope: %v", err)
	}
	if opEl.NamespaceURI() != NS {
		return nil, fault(CodeInvalid, "soap:Body element not in the service namespace")
	}
	h, ok := operations[c.service][opEl.Tag]
	if !ok {
		return nil, fault(CodeInvalid, "unknown operation %q for %s", opEl.Tag, c.service)
	}
	c.op, c.env, c.opEl = opEl.Tag, e, opEl
	if err := c.placeElided(); err != nil {
		return nil, err
	}
	if a := inject.OperationFromSOAPAction(r); a != "" && a != opEl.Tag {
		return nil, fault(CodeInvalid, "SOAPAction names %s but the Body holds %s", a, opEl.Tag)
	}
	if err := s.checkSecurity(c, r); err != nil {
		return nil, err
	}
	return h(s, c)
}

// parseRequest parses the envelope, once for every later step (wssec.ParseEnvelope: the
// signature checks and the handler's decoding read the same tree), and returns it with its
// operation element, the first element inside soap:Body.
func parseRequest(env []byte) (*wssec.Envelope, *etree.Element, error) {
	e, err := wssec.ParseEnvelope(env)
	if err != nil {
		var we *wssec.Error
		if errors.As(err, &we) {
			return nil, nil, errors.New(we.Reason)
		}
		return nil, nil, err
	}
	op := e.Operation()
	if op == nil {
		return nil, nil, errors.New("empty soap:Body")
	}
	return e, op, nil
}

// checkSecurity verifies WS-Security and SAML (unless relaxed and absent), wsa:Action and
// wsa:To, and the replay cache.
func (s *Server) checkSecurity(c *call, r *http.Request) error {
	if s.opt.Relaxed && !bytes.Contains(c.envelope, []byte(wssec.NSWSSE)) {
		return nil
	}
	vo := wssec.VerifyOptions{Clock: s.opt.Clock, Roots: s.data.PKI.SignerRoots(), TrustCache: &s.trust}
	if d := c.docText; d != nil {
		vo.Elisions = []wssec.Elision{{Marker: d.marker, WriteCanonical: d.canonical}}
	}
	msg, err := c.env.Verify(vo)
	if err != nil {
		var we *wssec.Error
		if errors.As(err, &we) {
			switch we.Kind {
			case wssec.KindMalformed:
				return fault(CodeInvalid, "%s", we.Reason)
			case wssec.KindAssertion:
				return fault(CodeAssertion, "%s", we.Reason)
			default:
				return fault(CodeSecurity, "%s", we.Reason)
			}
		}
		return fault(CodeSecurity, "WS-Security not verifiable")
	}
	if msg.Attributes == nil {
		return fault(CodeAssertion, "SAML assertions missing")
	}
	if !saml.KnownRole(msg.Attributes.Role) {
		return fault(CodeAssertion, "subject role %q is not a known subject role", msg.Attributes.Role)
	}
	if msg.CFMismatch() {
		return &Fault{Code: CodeCFMismatch}
	}
	def := wsdl.MustLookup(c.op)
	if !def.National.Accepts(msg.Attributes.Action) && !def.Puglia.Accepts(msg.Attributes.Action) {
		return fault(CodeAssertion, "assertion action-id %q does not fit %s (want %s or %s)", msg.Attributes.Action, c.op, def.National.ActionID, def.Puglia.ActionID)
	}
	if want := def.Action(); msg.Action != want {
		return fault(CodeInvalid, "wsa:Action does not match the operation %s", c.op)
	}
	u, err := url.Parse(msg.To)
	if err != nil || u.Path != r.URL.Path {
		return fault(CodeInvalid, "wsa:To does not match the service path %s", r.URL.Path)
	}
	if life := msg.Expires.Sub(msg.Created); life > MaxTimestampLifetime {
		return fault(CodeSecurity, "wsu:Timestamp lifetime %s exceeds %s", life, MaxTimestampLifetime)
	}
	// The replay cache keys on what the signature binds (wsa:MessageID is not signed: a
	// captured message re-sent under a new MessageID would pass), and on the MessageID too.
	// An entry lives as long as wssec.Verify accepts the message: Expires plus the skew.
	for _, key := range []string{replayKey(msg, elementDigest(c.opEl, c.hashText)), msg.MessageID} {
		replay, err := s.data.Store.SeenMessageID(key, msg.Expires.Add(wssec.DefaultSkew))
		if errors.Is(err, store.ErrReplayFull) {
			return fault(CodeUnavailable, "replay cache full (too many messages within their lifetime): try again later")
		}
		if err != nil {
			return fmt.Errorf("replay cache: %w", err)
		}
		if replay {
			return fault(CodeReplay, "message already received (same signature or wsa:MessageID)")
		}
	}
	c.msg = msg
	a := msg.Attributes
	c.requester = requester{OperatorCF: a.OperatorCF, Role: a.Role, Structure: a.StructureCode, PatientCF: a.PatientCF, fromSAML: true}
	return nil
}

// applyRichiedente fills the requester from the richiedente block when no assertion did,
// and checks the block's fields that the schema requires.
func (c *call) applyRichiedente(codiceFiscale, ruolo, struttura string, present bool) error {
	if c.requester.fromSAML {
		if present && ruolo != "" && !strings.EqualFold(ruolo, c.requester.Role) {
			return fault(CodeAssertion, "richiedente/ruolo %q contradicts the assertion's subject role", ruolo)
		}
		return nil
	}
	if !present {
		return fault(CodeInvalid, "richiedente missing")
	}
	if err := checkCF("richiedente/codiceFiscale", codiceFiscale); err != nil {
		return err
	}
	if ruolo == "" {
		return fault(CodeInvalid, "richiedente/ruolo missing")
	}
	if !saml.KnownRole(ruolo) {
		return fault(CodeInvalid, "richiedente/ruolo %q is not a known subject role", ruolo)
	}
	if struttura == "" {
		return fault(CodeInvalid, "richiedente/struttura missing")
	}
	c.requester = requester{OperatorCF: codiceFiscale, Role: ruolo, Structure: struttura}
	return nil
}

// checkPatient checks that the assertion's patient (when the assertion names one) is the
// request's patient.
func (c *call) checkPatient(cf string) error {
	if c.requester.fromSAML && c.requester.PatientCF != "" && c.requester.PatientCF != cf {
		return fault(CodeAssertion, "assertion resource-id differs from the request's patient")
	}
	return nil
}

// decode unmarshals the operation element into v, from the tree parsed once.
func (c *call) decode(v any) error {
	if err := decodeElement(c.opEl, v, c.decodeText); err != nil {
		return fault(CodeInvalid, "%s not valid: %s", c.op, redactXMLError(err))
	}
	return nil
}

// placeElided checks where the texts kept out of memory stood: only document/document of
// addDocument and replaceDocument may hold one, as its whole content (anything else of
// that size is not what the contract carries).
func (c *call) placeElided() error {
	if c.req == nil || len(c.req.elided) == 0 {
		return nil
	}
	var doc *etree.Element
	if c.op == "addDocument" || c.op == "replaceDocument" {
		if d := childNS(c.opEl, NS, "document"); d != nil {
			doc = childNS(d, NS, "document")
		}
	}
	var bad bool
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		for _, t := range el.Child {
			switch t := t.(type) {
			case *etree.Element:
				walk(t)
			case *etree.CharData:
				if !strings.ContainsRune(t.Data, '\ue000') {
					continue
				}
				if e := c.req.byMarker(t.Data); e != nil && el == doc && c.docText == nil && len(el.Child) == 1 {
					c.docText = e
					continue
				}
				bad = true
			}
		}
	}
	walk(c.env.Root)
	if bad || c.docText == nil {
		return fault(CodeInvalid, "%s: a text of more than %d KiB where only document/document may hold one", c.op, elideThreshold>>10)
	}
	return nil
}

// childNS is the first child element of el with the namespace and local name given.
func childNS(el *etree.Element, ns, local string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

// decodeText is what the handler's decoding reads for a text: the elided document's
// marker reads as empty (the handler takes the content from c.docText).
func (c *call) decodeText(cd *etree.CharData) string {
	if c.docText != nil && cd.Data == c.docText.marker {
		return ""
	}
	return cd.Data
}

// hashText is what the replay key's body digest reads for a text: the elided document's
// content digest in place of its (random) marker, so that a re-sent document is a replay.
func (c *call) hashText(cd *etree.CharData) string {
	if c.docText != nil && cd.Data == c.docText.marker {
		return "\x00elided:" + hex.EncodeToString(c.docText.sum)
	}
	return cd.Data
}

// redactXMLError keeps the kind of an XML error without echoing values.
func redactXMLError(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("XML syntax error on line %d", se.Line)
	}
	var ue *xml.UnmarshalError
	if errors.As(err, &ue) {
		return "unexpected content"
	}
	return "a field has a value of the wrong type"
}

// responseEnvelope wraps a response element in a SOAP 1.1 envelope with the WS-Addressing
// reply headers (Action and RelatesTo when the request had a MessageID).
func responseEnvelope(c *call, resp any) ([]byte, error) {
	payload, err := xml.Marshal(resp)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(payload) + 512)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.WriteString(`<soap:Envelope xmlns:soap="` + wssec.NSSOAP11 + `"><soap:Header>`)
	b.WriteString(`<wsa:Action xmlns:wsa="` + wssec.NSWSA + `">` + esc(wsdl.MustLookup(c.op).ResponseAction()) + `</wsa:Action>`)
	if c.msg != nil && c.msg.MessageID != "" {
		b.WriteString(`<wsa:RelatesTo xmlns:wsa="` + wssec.NSWSA + `">` + esc(c.msg.MessageID) + `</wsa:RelatesTo>`)
	}
	b.WriteString(`</soap:Header><soap:Body>`)
	b.Write(payload)
	b.WriteString(`</soap:Body></soap:Envelope>`)
	return b.Bytes(), nil
}
