// Package cda reads the header of an HL7 CDA R2 document (namespace urn:hl7-org:v3, root
// ClinicalDocument) as the Italian FSE profiles fill it: document id, type code, templateIds,
// effectiveTime, confidentiality, language, set id and version, patient ids, author,
// custodian and legal authenticator.
//
// ParseHeader streams the XML with encoding/xml and stops at the body (the first
// ClinicalDocument/component), so the cost does not depend on the size of the body. Token
// count and nesting depth are capped against hostile input.
//
// Person names are health-related personal data: Name's String method redacts them, so a
// Header printed with %v or %+v does not leak them, and they are left out of JSON.
package cda

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Namespace is the HL7 v3 namespace of a CDA R2 document.
const Namespace = "urn:hl7-org:v3"

// OIDFiscalCode is the root of identifiers that are Italian fiscal codes (MEF).
const OIDFiscalCode = "2.16.840.1.113883.2.9.4.3.2"

// II is an HL7 instance identifier.
type II struct {
	Root      string `json:"root"`
	Extension string `json:"extension,omitempty"`
}

// String returns root^extension (the XDS uniqueId form), or root alone without extension.
func (i II) String() string {
	if i.Extension == "" {
		return i.Root
	}
	return i.Root + "^" + i.Extension
}

// CD is an HL7 coded value.
type CD struct {
	Code           string `json:"code"`
	CodeSystem     string `json:"code_system,omitempty"`
	CodeSystemName string `json:"code_system_name,omitempty"`
	DisplayName    string `json:"display_name,omitempty"`
}

// Name is a person's name. It is personal data: String redacts it; use Full to display it
// to the person entitled to see it.
type Name struct {
	Prefix, Given, Family string
}

// String implements fmt.Stringer with a redacted value, so that logs never carry names.
func (n Name) String() string {
	if n == (Name{}) {
		return ""
	}
	return "[redacted name]"
}

// GoString implements fmt.GoStringer, redacted like String.
func (n Name) GoString() string { return n.String() }

// Full returns the name as written: prefix, given, family.
func (n Name) Full() string {
	return strings.Join(strings.Fields(n.Prefix+" "+n.Given+" "+n.Family), " ")
}

// Person is an author or legal authenticator.
type Person struct {
	IDs  []II   `json:"ids,omitempty"`
	Time string `json:"time,omitempty"`
	Name Name   `json:"-"`
}

// Organization is the custodian organisation.
type Organization struct {
	IDs  []II   `json:"ids,omitempty"`
	Name string `json:"name,omitempty"`
}

// Header is the CDA header.
type Header struct {
	TemplateIDs         []II          `json:"template_ids,omitempty"`
	ID                  II            `json:"id"`
	Code                CD            `json:"code"`
	Title               string        `json:"title,omitempty"`
	EffectiveTime       string        `json:"effective_time,omitempty"`
	ConfidentialityCode CD            `json:"confidentiality_code"`
	LanguageCode        string        `json:"language_code,omitempty"`
	SetID               II            `json:"set_id"`
	VersionNumber       string        `json:"version_number,omitempty"`
	PatientIDs          []II          `json:"patient_ids,omitempty"`
	Author              *Person       `json:"author,omitempty"`
	Custodian           *Organization `json:"custodian,omitempty"`
	LegalAuthenticator  *Person       `json:"legal_authenticator,omitempty"`
}

// PatientID returns the patient id whose root is the fiscal-code OID, or else the first
// patient id; ok is false when the header has none.
func (h *Header) PatientID() (id II, ok bool) {
	for _, p := range h.PatientIDs {
		if p.Root == OIDFiscalCode {
			return p, true
		}
	}
	if len(h.PatientIDs) > 0 {
		return h.PatientIDs[0], true
	}
	return II{}, false
}

// NotCDAError is well-formed XML whose root is not an HL7 v3 ClinicalDocument.
type NotCDAError struct {
	Namespace, Local string
}

// Error implements error.
func (e *NotCDAError) Error() string {
	return fmt.Sprintf("cda: root element is {%s}%s, expected {%s}ClinicalDocument", e.Namespace, e.Local, Namespace)
}

// SyntaxError is XML that is not well-formed (or ends before the header does).
type SyntaxError struct {
	Line int
	Msg  string
	Err  error
}

// Error implements error.
func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return "cda: XML not well-formed at line " + strconv.Itoa(e.Line) + ": " + e.Msg
	}
	return "cda: XML not well-formed: " + e.Msg
}

// Unwrap returns the decoder's error.
func (e *SyntaxError) Unwrap() error { return e.Err }

// LimitError is a header that exceeds a cap.
type LimitError struct {
	What  string
	Limit int
}

// Error implements error.
func (e *LimitError) Error() string { return fmt.Sprintf("cda: %s exceeds %d", e.What, e.Limit) }

// Limits caps the work on hostile input; zero fields take their defaults.
type Limits struct {
	// MaxTokens caps the XML tokens read before the header ends (default 200,000).
	MaxTokens int
	// MaxDepth caps the element nesting (default 256).
	MaxDepth int
}

// ParseHeader reads the CDA header from r, stopping at the body.
func ParseHeader(r io.Reader, lim Limits) (*Header, error) {
	if lim.MaxTokens <= 0 {
		lim.MaxTokens = 200_000
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 256
	}
	d := xml.NewDecoder(r)
	d.CharsetReader = charsetReader
	h := &Header{}
	var stack []string // local names; "" for elements outside the HL7 namespace
	var text *string
	var name *Name
	authors := 0
	tokens := 0
	rootSeen := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !rootSeen {
				return nil, &SyntaxError{Msg: "no root element"}
			}
			return nil, &SyntaxError{Msg: "document ends inside the header"}
		}
		if err != nil {
			line, _ := d.InputPos()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &SyntaxError{Line: se.Line, Msg: se.Msg, Err: err}
			}
			return nil, &SyntaxError{Line: line, Msg: err.Error(), Err: err}
		}
		tokens++
		if tokens > lim.MaxTokens {
			return nil, &LimitError{What: "XML tokens in the header", Limit: lim.MaxTokens}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !rootSeen {
				if t.Name.Space != Namespace || t.Name.Local != "ClinicalDocument" {
					return nil, &NotCDAError{Namespace: t.Name.Space, Local: t.Name.Local}
				}
				rootSeen = true
				stack = append(stack, "ClinicalDocument")
				continue
			}
			local := ""
			if t.Name.Space == Namespace {
				local = t.Name.Local
			}
			if len(stack) == 1 && local == "component" {
				return h, nil // the body starts: the header is complete
			}
			stack = append(stack, local)
			if len(stack) > lim.MaxDepth {
				return nil, &LimitError{What: "element depth", Limit: lim.MaxDepth}
			}
			text, name = nil, nil
			if local == "author" && len(stack) == 2 {
				authors++
			}
			h.start(stack[1:], t, authors, &text, &name)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, &SyntaxError{Msg: "unbalanced end element"}
			}
			stack = stack[:len(stack)-1]
			text = nil
			if len(stack) == 0 {
				return h, nil // a document without a body
			}
		case xml.CharData:
			if text != nil {
				*text += string(bytes.TrimSpace(t))
			}
		}
	}
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func ii(t xml.StartElement) II { return II{Root: attr(t, "root"), Extension: attr(t, "extension")} }

func cd(t xml.StartElement) CD {
	return CD{Code: attr(t, "code"), CodeSystem: attr(t, "codeSystem"), CodeSystemName: attr(t, "codeSystemName"), DisplayName: attr(t, "displayName")}
}

// start records what a start element at path (below ClinicalDocument) carries.
func (h *Header) start(path []string, t xml.StartElement, authors int, text **string, nm **Name) {
	p := strings.Join(path, "/")
	switch p {
	case "templateId":
		h.TemplateIDs = append(h.TemplateIDs, ii(t))
	case "id":
		h.ID = ii(t)
	case "code":
		if h.Code.Code == "" && h.Code.CodeSystem == "" {
			h.Code = cd(t)
		}
	case "title":
		*text = &h.Title
	case "effectiveTime":
		h.EffectiveTime = attr(t, "value")
	case "confidentialityCode":
		h.ConfidentialityCode = cd(t)
	case "languageCode":
		h.LanguageCode = attr(t, "code")
	case "setId":
		h.SetID = ii(t)
	case "versionNumber":
		h.VersionNumber = attr(t, "value")
	case "recordTarget/patientRole/id":
		h.PatientIDs = append(h.PatientIDs, ii(t))
	case "custodian/assignedCustodian/representedCustodianOrganization/id":
		h.custodian().IDs = append(h.custodian().IDs, ii(t))
	case "custodian/assignedCustodian/representedCustodianOrganization/name":
		*text = &h.custodian().Name
	}
	if authors == 1 && len(path) > 0 && path[0] == "author" {
		if h.Author == nil {
			h.Author = &Person{}
		}
		person(h.Author, path[1:], t, text)
	}
	if len(path) > 0 && path[0] == "legalAuthenticator" {
		if h.LegalAuthenticator == nil {
			h.LegalAuthenticator = &Person{}
		}
		person(h.LegalAuthenticator, path[1:], t, text)
	}
}

func (h *Header) custodian() *Organization {
	if h.Custodian == nil {
		h.Custodian = &Organization{}
	}
	return h.Custodian
}

// person fills an author (assignedAuthor) or legal authenticator (assignedEntity).
func person(p *Person, path []string, t xml.StartElement, text **string) {
	switch {
	case len(path) == 1 && path[0] == "time":
		p.Time = attr(t, "value")
	case len(path) == 2 && (path[0] == "assignedAuthor" || path[0] == "assignedEntity") && path[1] == "id":
		p.IDs = append(p.IDs, ii(t))
	case len(path) == 4 && path[1] == "assignedPerson" && path[2] == "name":
		switch path[3] {
		case "given":
			*text = &p.Name.Given
		case "family":
			*text = &p.Name.Family
		case "prefix":
			*text = &p.Name.Prefix
		}
	}
}

// charsetReader accepts the single-byte declarations some producers still write.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "iso_8859-1", "windows-1252", "us-ascii":
		return &latin1Reader{r: input}, nil
	}
	return nil, fmt.Errorf("cda: unsupported encoding %q", charset)
}

type latin1Reader struct {
	r   io.Reader
	buf []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if len(p) < utf8.UTFMax {
		return 0, io.ErrShortBuffer
	}
	n := len(p) / 2
	if cap(l.buf) < n {
		l.buf = make([]byte, n)
	}
	m, err := l.r.Read(l.buf[:n])
	out := p[:0]
	for _, c := range l.buf[:m] {
		out = utf8.AppendRune(out, rune(c))
	}
	return len(out), err
}

// ParseTime parses an HL7 TS value (YYYY[MM[DD[HH[MM[SS[.fff]]]]]][+-ZZZZ]); without a zone
// the time is taken in loc (UTC when nil).
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	base, zone := s, ""
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		base, zone = s[:i], s[i:]
	}
	frac := ""
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base, frac = base[:i], base[i:]
	}
	layouts := map[int]string{4: "2006", 6: "200601", 8: "20060102", 10: "2006010215", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(base)]
	if !ok || (frac != "" && len(base) != 14) {
		return time.Time{}, fmt.Errorf("cda: bad HL7 time %q", s)
	}
	value := base + frac
	if frac != "" {
		layout += "." + strings.Repeat("0", len(frac)-1)
	}
	if zone != "" {
		layout += "-0700"
		value += zone
		return time.Parse(layout, value)
	}
	return time.ParseInLocation(layout, value, loc)
}
