package fault

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/fsepuglia/fsepuglia/wsdl"
)

// texts are the services' fault texts by code: observed where wsdl/FAULTS.md says so
// (E000231 #2501, FSE-00000 #2331, FSE-00407 #2332, FSE-10001 #1005), the project's otherwise.
var texts = map[string]string{
	"E000231":   "Il codice fiscale della smart card non corrisponde a quello dell'operatore.",
	"FSE-00000": "Errore generico",
	"FSE-00407": "Mancano le asserzioni applicative obbligatorie o riportano informazioni non valide.",
	"FSE-10001": "Il documento CDA non e' firmato digitalmente",
	"FSE-00400": "Richiesta non valida",
	"FSE-00401": "Intestazione WS-Security assente o non valida",
	"FSE-00402": "MessageID già utilizzato",
	"FSE-00404": "Documento non trovato",
	"FSE-00409": "Documento già pubblicato",
	"FSE-00422": "Contenuto del documento non coerente",
	"FSE-00451": "Consultazione negata",
	"FSE-00503": "Servizio temporaneamente non disponibile",
	"FSE-00231": "Il codice fiscale della smart card non corrisponde a quello dell'operatore",
	"FSE-00415": "Il documento non è pdf",
}

// Text returns the service's text for code ("Errore" for a code without one).
func Text(code string) string {
	if t, ok := texts[code]; ok {
		return t
	}
	return "Errore"
}

// FaultString is the faultstring of code with an optional precision: "FSE-NNNNN - <text>"
// then ": <detail>"; the security fault E000231 carries its text alone (#2501).
func FaultString(code, detail string) string {
	s := Text(code)
	if code != "E000231" {
		s = code + " - " + s
	}
	if detail != "" {
		s += ": " + detail
	}
	return s
}

// EnvelopeParams describe a fault answer of the services.
type EnvelopeParams struct {
	// Code is the fault code (FSE-NNNNN or E000231).
	Code string
	// Detail is an optional precision appended to the faultstring (never personal data).
	Detail string
	// Actor is the faultactor, the portType (IDocument, IGestoreConsenso, ITaccuino).
	Actor string
	// Op is the operation; it gives the header's fault Action (none when empty).
	Op string
	// MessageID is the answer's wsa:MessageID (urn:uuid:…); no MessageID header when empty.
	MessageID string
	// RelatesTo is the request's MessageID; no RelatesTo header when empty.
	RelatesTo string
	// Problem, for an FSE-00000, is the middleware's problem+json passed through (#2717):
	// the faultstring then reads "Error during middleware call: … returned error: {json}".
	Problem *Problem
}

// MiddlewarePrefix is how the regional service introduces a refusal of the regional
// middleware (#2717).
const MiddlewarePrefix = "Error during middleware call: Validation and publication service returned error: "

// Envelope builds a fault answer in the shapes public traffic shows (wsdl/FAULTS.md): the
// E000231 envelope with To anonymous and an empty Action, no actor, no detail (#2501); every
// other code as in #2331/#2717: XML declaration, the fault Action, MessageID, To anonymous
// and RelatesTo in the header, faultcode a:Server (a:Client for the project's FSE-004xx
// codes, modelled), faultstring, faultactor, detail errorCode and errorMessage.
func Envelope(p EnvelopeParams) []byte {
	var b bytes.Buffer
	if p.Code == "E000231" {
		b.WriteString(`<S:Envelope xmlns:S="` + NSSOAP11 + `"><S:Header>`)
		b.WriteString(`<To xmlns="http://www.w3.org/2005/08/addressing">http://www.w3.org/2005/08/addressing/anonymous</To>`)
		b.WriteString(`<Action xmlns="http://www.w3.org/2005/08/addressing"/></S:Header><S:Body>`)
		b.WriteString(`<ns2:Fault xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:ns2="` + NSSOAP11 + `">`)
		b.WriteString(`<faultcode>env:E000231</faultcode><faultstring>` + esc(FaultString(p.Code, p.Detail)) + `</faultstring>`)
		b.WriteString(`</ns2:Fault></S:Body></S:Envelope>`)
		return b.Bytes()
	}
	const wsa = `xmlns="http://www.w3.org/2005/08/addressing"`
	b.WriteString(`<?xml version='1.0' encoding='UTF-8'?><soap:Envelope xmlns:soap="` + NSSOAP11 + `">`)
	if p.Op != "" || p.MessageID != "" || p.RelatesTo != "" {
		b.WriteString(`<soap:Header>`)
		if o, ok := wsdl.Lookup(p.Op); ok {
			b.WriteString(`<Action ` + wsa + `>` + esc(o.FaultAction()) + `</Action>`)
		}
		if p.MessageID != "" {
			b.WriteString(`<MessageID ` + wsa + `>` + esc(p.MessageID) + `</MessageID>`)
		}
		b.WriteString(`<To ` + wsa + `>http://www.w3.org/2005/08/addressing/anonymous</To>`)
		if p.RelatesTo != "" {
			b.WriteString(`<RelatesTo ` + wsa + `>` + esc(p.RelatesTo) + `</RelatesTo>`)
		}
		b.WriteString(`</soap:Header>`)
	}
	fs := FaultString(p.Code, p.Detail)
	msg := Text(p.Code)
	if p.Detail != "" {
		msg += ": " + p.Detail
	}
	if p.Problem != nil {
		fs = MiddlewarePrefix + p.Problem.JSON()
		msg = strings.TrimSuffix(MiddlewarePrefix, ": ")
	}
	b.WriteString(`<soap:Body><soap:Fault>`)
	b.WriteString(`<faultcode xmlns:a="` + NSSOAP11 + `">a:` + faultSide(p.Code) + `</faultcode>`)
	b.WriteString(`<faultstring>` + esc(fs) + `</faultstring>`)
	b.WriteString(`<faultactor>` + esc(p.Actor) + `</faultactor>`)
	b.WriteString(`<detail><fse:errorCode xmlns:fse="` + NSFSE + `">` + esc(p.Code) + `</fse:errorCode>`)
	b.WriteString(`<fse:errorMessage xmlns:fse="` + NSFSE + `">` + esc(msg) + `</fse:errorMessage></detail>`)
	b.WriteString(`</soap:Fault></soap:Body></soap:Envelope>`)
	return b.Bytes()
}

// faultSide is Client for the project's request codes (FSE-004xx) and Server otherwise
// (every observed fault is a:Server).
func faultSide(code string) string {
	if n, err := strconv.Atoi(strings.TrimPrefix(code, "FSE-")); err == nil && n >= 400 && n < 500 {
		return "Client"
	}
	return "Server"
}

// JSON writes the problem as the national gateway does (traceID, spanID, type, title,
// detail, status, instance, workflowInstanceId), indented by two spaces.
func (p *Problem) JSON() string {
	var b strings.Builder
	b.WriteString("{\n")
	field := func(k, v string) { b.WriteString(`  "` + k + `": ` + strconv.Quote(v) + ",\n") }
	field("traceID", p.TraceID)
	field("spanID", p.SpanID)
	field("type", p.Type)
	field("title", p.Title)
	field("detail", p.Detail)
	b.WriteString(`  "status": ` + strconv.Itoa(p.Status) + ",\n")
	field("instance", p.Instance)
	b.WriteString(`  "workflowInstanceId": ` + strconv.Quote(p.WorkflowInstanceID) + "\n}")
	return b.String()
}

// esc escapes text content: &, < and > only (quotes stay literal, as in #2501's
// "dell'operatore.").
var esc = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;").Replace
