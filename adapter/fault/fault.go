// Package fault turns what comes back from the FSE services into typed errors: SOAP 1.1
// faults become *Fault (code, class, actor, raw detail) and transport failures become
// *CallError, which says whether the failure is transient. Both work with errors.As.
//
// The services answer faults in the shapes public traffic shows (wsdl/FAULTS.md):
//
//	<soap:Fault>
//	  <faultcode>a:Server</faultcode>
//	  <faultstring>FSE-00407 - …</faultstring>
//	  <faultactor>IDocument</faultactor>
//	  <detail><fse:errorCode>FSE-00407</fse:errorCode><fse:errorMessage>…</fse:errorMessage></detail>
//	</soap:Fault>
//
// the security fault <faultcode>env:E000231</faultcode> without actor or detail, and an
// FSE-00000 whose faultstring carries the regional middleware's (national gateway's)
// problem+json, parsed into Fault.Middleware and classified by its status. Faults come
// with HTTP 500, sometimes with HTTP 200. gowsdl v0.5.0 hides the first case inside
// *soap.HTTPError and the second inside *soap.SOAPFault: FromError handles both.
package fault

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/wsdl"
)

// Namespaces the parser knows.
const (
	// NSSOAP11 is the SOAP 1.1 envelope namespace.
	NSSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	// NSFSE is the namespace of the FSE services and of detail/fse:errorCode.
	NSFSE = wsdl.Namespace
)

// Fault is a SOAP 1.1 fault returned by an FSE service. Text may quote what the server
// received: Error() masks anything shaped like a codice fiscale, the fields are raw.
type Fault struct {
	// Code is the FSE code, e.g. "FSE-00407", from detail/errorCode or else from the
	// faultstring prefix; empty when the fault carries none.
	Code string
	// Text is the faultstring without its "FSE-NNNNN - " prefix.
	Text string
	// FaultCode is the SOAP faultcode as sent, e.g. "soap:Server" or "soap:Client".
	FaultCode string
	// Actor is the faultactor, the portType name (IDocument, IGestoreConsenso, ITaccuino).
	Actor string
	// Message is detail/errorMessage when the service sent one (#2717).
	Message string
	// Middleware is the problem+json of the regional middleware / national gateway that an
	// FSE-00000 passed through (#2717); nil when the fault carries none.
	Middleware *Problem
	// Detail is the raw inner XML of the detail element (nil when absent). Namespace
	// declarations made on ancestors are not repeated inside it.
	Detail []byte
	// HTTPStatus is the status the fault came with (500, sometimes 200); 0 when unknown.
	HTTPStatus int
	// Class is what a caller can do about it, from the project's code table.
	Class Class
	// Op is the operation that failed (e.g. "addDocument") when known.
	Op string
	// Endpoint is the URL that answered when known.
	Endpoint string
}

// Error implements error. Fiscal codes in the fault text are masked.
func (f *Fault) Error() string {
	var b strings.Builder
	if f.Op != "" {
		b.WriteString(f.Op)
		b.WriteString(": ")
	}
	if f.Code != "" {
		b.WriteString(f.Code)
		b.WriteString(" - ")
	} else {
		b.WriteString("SOAP fault: ")
	}
	if p := f.Middleware; p != nil {
		b.WriteString("the regional middleware says: ")
		b.WriteString(Redact(p.Summary()))
	} else {
		b.WriteString(Redact(f.Text))
	}
	fmt.Fprintf(&b, " (%s", f.Class)
	if f.Actor != "" {
		fmt.Fprintf(&b, ", actor %s", f.Actor)
	}
	if f.HTTPStatus != 0 {
		fmt.Fprintf(&b, ", HTTP %d", f.HTTPStatus)
	}
	b.WriteString(")")
	return b.String()
}

// Transient reports whether the fault says the service is temporarily unavailable.
func (f *Fault) Transient() bool { return f.Class == Transient }

// IsClientFault reports whether faultcode is Client (the request was wrong), in any prefix.
func (f *Fault) IsClientFault() bool { return localName(f.FaultCode) == "Client" }

type wireEnvelope struct {
	Body struct {
		Fault *wireFault `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

type wireFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Actor  string `xml:"faultactor"`
	Detail *struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"detail"`
}

// Parse reads a SOAP 1.1 fault from a response body. httpStatus is recorded in the fault and
// decides the class of a fault without a known code (503 → Transient, 415 → Validation). It
// returns false when the body is not a SOAP 1.1 envelope whose Body holds a Fault.
func Parse(body []byte, httpStatus int) (*Fault, bool) {
	if !bytes.Contains(body, []byte("Fault")) {
		return nil, false
	}
	var env wireEnvelope
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	var start xml.StartElement
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		if se, ok := tok.(xml.StartElement); ok {
			start = se
			break
		}
	}
	if start.Name.Space != NSSOAP11 || start.Name.Local != "Envelope" {
		return nil, false
	}
	if err := dec.DecodeElement(&env, &start); err != nil || env.Body.Fault == nil {
		return nil, false
	}
	w := env.Body.Fault
	var detail []byte
	if w.Detail != nil {
		detail = w.Detail.Inner
	}
	return build(w.Code, w.String, w.Actor, detail, httpStatus), true
}

// build assembles a Fault and derives its code and class.
func build(faultcode, faultstring, actor string, detail []byte, httpStatus int) *Fault {
	f := &Fault{
		FaultCode:  strings.TrimSpace(faultcode),
		Actor:      strings.TrimSpace(actor),
		Detail:     detail,
		HTTPStatus: httpStatus,
	}
	f.Text = strings.TrimSpace(faultstring)
	if m := faultStringRE.FindStringSubmatch(f.Text); m != nil {
		f.Code = strings.ToUpper(m[1])
		f.Text = strings.TrimSpace(m[2])
	}
	// The security fault carries its code in faultcode (env:E000231, #2501).
	if c := normaliseCode(localName(f.FaultCode)); f.Code == "" && securityCodeRE.MatchString(c) {
		f.Code = c
	}
	if c := normaliseCode(detailText(detail, "errorCode")); c != "" {
		f.Code = c
	}
	f.Message = detailText(detail, "errorMessage")
	f.Middleware = ParseProblem(f.Text)
	if f.Middleware == nil && f.Message != "" {
		f.Middleware = ParseProblem(f.Message)
	}
	f.Class = ClassOf(f.Code)
	if p := f.Middleware; p != nil && (f.Code == "" || f.Code == "FSE-00000") {
		if c := p.Class(); c != Unknown {
			f.Class = c
		}
	}
	if f.Class == Unknown {
		switch httpStatus {
		case 503:
			f.Class = Transient
		case 415:
			f.Class = Validation
		}
	}
	return f
}

var (
	faultStringRE  = regexp.MustCompile(`(?is)^(FSE-\d{5})\s*[-–:]\s*(.*)$`)
	securityCodeRE = regexp.MustCompile(`^E\d{6}$`)
)

// detailText returns the text of the first element called local inside detail, in any
// namespace (the prefix may be declared on an ancestor that innerxml left out).
func detailText(detail []byte, local string) string {
	if len(detail) == 0 {
		return ""
	}
	dec := xml.NewDecoder(bytes.NewReader(detail))
	dec.Strict = false
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == local {
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				return ""
			}
			return strings.TrimSpace(s)
		}
	}
}

// normaliseCode accepts "FSE-00407", "fse-00407", the security fault "E000231" (#2501) and
// its SIST-documented bare form "000231" (mapped to "E000231"), a bare "00407" (mapped to
// "FSE-00407"); anything else is returned trimmed and upper-cased as is.
func normaliseCode(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if c == "" {
		return ""
	}
	if _, err := strconv.Atoi(c); err == nil && !strings.HasPrefix(c, "-") && !strings.HasPrefix(c, "+") {
		switch {
		case len(c) == 5:
			return "FSE-" + c
		case len(c) == 6 && c[0] == '0':
			return "E" + c
		}
	}
	return c
}

func localName(qname string) string {
	qname = strings.TrimSpace(qname)
	if i := strings.LastIndexByte(qname, ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}

// Redact masks anything shaped like a codice fiscale in s (codicefiscale.Find: any case, any
// position), so that fault texts can be logged.
func Redact(s string) string {
	return codicefiscale.ReplaceAll(s, func(string) string { return "[CF]" })
}
