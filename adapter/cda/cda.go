// Package cda reads the header of an HL7 CDA R2 document (namespace urn:hl7-org:v3, root
// ClinicalDocument) as the Italian FSE profiles fill it: document id, type code, templateIds,
// effectiveTime, confidentiality, language, set id and version, patient ids, author,
// custodian and legal authenticator.
//
// ParseHeader streams the whole document with encoding/xml: the header fields are taken
// before the body (the first ClinicalDocument/component), and the body is read to the end
// so that a document that is not well-formed anywhere (truncated, unclosed, garbage after
// the header, a second root, duplicate attributes) is refused. Token count and nesting
// depth are capped over the whole document against hostile input.
//
// HL7 times written without a UTC offset are local Italian time: ParseTime takes them in
// Europe/Rome (Rome), with its daylight-saving rules.
//
// Person names are health-related personal data: Name's String method redacts them, so a
// Header printed with %v or %+v does not leak them, and they are left out of JSON.
package cda

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Rome must resolve on a machine without a zoneinfo database
	"unicode"
	"unicode/utf8"
)

// Rome is Europe/Rome, the zone of CDA times written without a UTC offset.
var Rome = mustLoad("Europe/Rome")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("cda: " + err.Error()) // time/tzdata is embedded: cannot happen
	}
	return loc
}

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
	// MaxTokens caps the XML tokens of the whole document (default 5,000,000: a large
	// structured body has a few hundred thousand).
	MaxTokens int
	// MaxDepth caps the element nesting, in the header and the body (default 256).
	MaxDepth int
}

// ParseHeader reads the CDA header from r and checks that the whole document is
// well-formed XML with one HL7 v3 ClinicalDocument root.
func ParseHeader(r io.Reader, lim Limits) (*Header, error) {
	if lim.MaxTokens <= 0 {
		lim.MaxTokens = 5_000_000
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 256
	}
	raw := &rawState{}
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3) // a UTF-8 byte order mark
	}
	d := xml.NewDecoder(&recorder{br: br, st: raw})
	d.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		conv, err := charsetReader(charset, input)
		if err != nil {
			return nil, err
		}
		return &recorder{br: bufio.NewReader(conv), st: raw}, nil
	}
	h := &Header{}
	var stack []string // local names; "" for elements outside the HL7 namespace
	var text *string
	var name *Name
	authors := 0
	tokens := 0
	rootSeen, rootDone, inBody := false, false, false
	for {
		tok, err := d.Token()
		if err == nil {
			if msg := raw.check(tok, tokens == 0); msg != "" {
				line, _ := d.InputPos()
				return nil, &SyntaxError{Line: line, Msg: msg}
			}
		}
		if err == io.EOF {
			switch {
			case !rootSeen:
				return nil, &SyntaxError{Msg: "no root element"}
			case !rootDone:
				line, _ := d.InputPos()
				return nil, &SyntaxError{Line: line, Msg: "document ends before </ClinicalDocument> (truncated?)"}
			}
			return h, nil
		}
		if err != nil {
			line, _ := d.InputPos()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				msg := se.Msg
				if msg == "unexpected EOF" && rootSeen {
					msg = fmt.Sprintf("document ends %d element(s) deep, before </ClinicalDocument> (truncated?)", len(stack))
				}
				return nil, &SyntaxError{Line: se.Line, Msg: msg, Err: err}
			}
			return nil, &SyntaxError{Line: line, Msg: err.Error(), Err: err}
		}
		tokens++
		if tokens > lim.MaxTokens {
			return nil, &LimitError{What: "XML tokens in the document", Limit: lim.MaxTokens}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := uniqueAttrs(t); err != nil {
				line, _ := d.InputPos()
				return nil, &SyntaxError{Line: line, Msg: err.Error()}
			}
			if rootDone {
				line, _ := d.InputPos()
				return nil, &SyntaxError{Line: line, Msg: "content after </ClinicalDocument>: an XML document has one root element"}
			}
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
				inBody = true // the header is complete; the body is only checked
			}
			stack = append(stack, local)
			if len(stack) > lim.MaxDepth {
				return nil, &LimitError{What: "element depth", Limit: lim.MaxDepth}
			}
			text, name = nil, nil
			if inBody {
				continue
			}
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
				rootDone = true
			}
		case xml.CharData:
			if (!rootSeen || rootDone) && len(bytes.TrimSpace(t)) > 0 {
				line, _ := d.InputPos()
				return nil, &SyntaxError{Line: line, Msg: "text outside the root element"}
			}
			if text != nil {
				*text += string(bytes.TrimSpace(t))
			}
		case xml.Directive:
			if rootSeen {
				line, _ := d.InputPos()
				return nil, &SyntaxError{Line: line, Msg: "a <!DOCTYPE> or other declaration after the root element starts"}
			}
		}
	}
}

// rawState follows the bytes the XML decoder reads with a small lexer, to refuse what
// encoding/xml lets through: a malformed XML declaration, no white space between
// attributes, and character references to characters XML excludes. It keeps no more than
// a few bytes (the first bytes for the declaration, the digits of a reference).
type rawState struct {
	err   string
	state int
	quote byte   // the quote of the attribute value being read
	ref   []byte // a character reference being read, after "&#"
	inRef bool
	amp   bool   // '&' just seen
	prev  []byte // the last bytes, to recognise "<!--", "-->", "]]>", "?>"
	depth int    // DOCTYPE internal subset brackets
	head  []byte // the first bytes of the document, for the XML declaration
	n     int64
}

const (
	lexText     = iota
	lexOpen     // after '<'
	lexBang     // after "<!"
	lexTag      // in a start or end tag, outside a value
	lexValue    // in an attribute value
	lexAfterVal // just after a value's closing quote
	lexComment
	lexCDATA
	lexPI
	lexDoctype
)

// recorder is the decoder's byte source: every byte it hands out goes through the lexer.
type recorder struct {
	br *bufio.Reader
	st *rawState
}

// ReadByte implements io.ByteReader, which the decoder then reads byte by byte.
func (r *recorder) ReadByte() (byte, error) {
	c, err := r.br.ReadByte()
	if err == nil {
		r.st.feed(c)
	}
	return c, err
}

// Read serves a charset decoder's bulk reads, which are not the decoder's bytes.
func (r *recorder) Read(p []byte) (int, error) { return r.br.Read(p) }

var xmlDecl = regexp.MustCompile(`^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*("1\.[0-9]+"|'1\.[0-9]+')` +
	`([ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*("[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?` +
	`([ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*("(yes|no)"|'(yes|no)'))?[ \t\r\n]*\?>$`)

func (st *rawState) fail(msg string) {
	if st.err == "" {
		st.err = msg
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// feed advances the lexer by one byte.
func (st *rawState) feed(c byte) {
	st.n++
	if len(st.head) < 256 {
		st.head = append(st.head, c)
	}
	if len(st.prev) == 9 {
		copy(st.prev, st.prev[1:])
		st.prev = st.prev[:8]
	}
	st.prev = append(st.prev, c)
	ends := func(s string) bool { return bytes.HasSuffix(st.prev, []byte(s)) }
	// Character references, in text and in attribute values.
	if st.state == lexText || st.state == lexValue {
		switch {
		case st.inRef:
			if c == ';' {
				st.checkRef()
				st.inRef, st.ref = false, st.ref[:0]
			} else if len(st.ref) < 12 {
				st.ref = append(st.ref, c)
			} else {
				st.inRef = false // not a reference the decoder accepts: it refuses it
			}
		case st.amp && c == '#':
			st.inRef, st.ref = true, st.ref[:0]
		}
		st.amp = c == '&'
	}
	switch st.state {
	case lexText:
		if c == '<' {
			st.state = lexOpen
		}
	case lexOpen:
		switch c {
		case '!':
			st.state = lexBang
		case '?':
			st.state = lexPI
		default:
			st.state = lexTag
		}
	case lexBang:
		switch {
		case ends("<!--"):
			st.state = lexComment
		case ends("<![CDATA["):
			st.state = lexCDATA
		case ends("<!D") || ends("<!E") || ends("<!A") || ends("<!N"):
			st.state, st.depth, st.quote = lexDoctype, 0, 0
		case len(st.prev) >= 9 && !bytes.Contains(st.prev, []byte("<!")):
			st.state = lexText // not markup the decoder accepts: it refuses it
		}
	case lexTag:
		switch c {
		case '"', '\'':
			st.state, st.quote = lexValue, c
		case '>':
			st.state = lexText
		}
	case lexValue:
		if c == st.quote {
			st.state = lexAfterVal
		}
	case lexAfterVal:
		switch {
		case c == '>':
			st.state = lexText
		case isSpace(c) || c == '/':
			st.state = lexTag
		default:
			st.fail("no white space between attributes")
			st.state = lexTag
		}
	case lexComment:
		if ends("-->") && !ends("<!-->") {
			st.state = lexText
		}
	case lexCDATA:
		if ends("]]>") {
			st.state = lexText
		}
	case lexPI:
		if ends("?>") {
			st.state = lexText
		}
	case lexDoctype:
		switch {
		case st.quote != 0:
			if c == st.quote {
				st.quote = 0
			}
		case c == '"' || c == '\'':
			st.quote = c
		case c == '[':
			st.depth++
		case c == ']':
			st.depth--
		case c == '>' && st.depth <= 0:
			st.state = lexText
		}
	}
}

func (st *rawState) checkRef() {
	num, base := string(st.ref), 10
	if strings.HasPrefix(num, "x") {
		num, base = num[1:], 16
	}
	if v, err := strconv.ParseUint(num, base, 32); err == nil && !xmlChar(rune(v)) {
		st.fail("character reference &#" + string(st.ref) + "; names a character XML does not allow")
	}
}

// check runs after each token: the lexer's verdict, and the place and syntax of an XML
// declaration.
func (st *rawState) check(tok xml.Token, first bool) string {
	if st.err != "" {
		return st.err
	}
	if pi, ok := tok.(xml.ProcInst); ok && strings.EqualFold(pi.Target, "xml") {
		if !first {
			return "the XML declaration <?xml ...?> is allowed only at the very start of the document"
		}
		end := bytes.Index(st.head, []byte("?>"))
		if end < 0 || !xmlDecl.Match(st.head[:end+2]) {
			return "malformed XML declaration " + strconv.Quote(string(st.head[:min(len(st.head), 80)]))
		}
	}
	return ""
}

func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// nameStart reports whether a (local) name starts as XML requires; encoding/xml accepts
// digits, '-' and '.' there.
func nameStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '_' || unicode.IsLetter(r)
}

// uniqueAttrs refuses an element with the same attribute twice (by expanded name, which
// covers the raw name), which XML forbids and encoding/xml lets through.
func uniqueAttrs(t xml.StartElement) error {
	if !nameStart(t.Name.Local) {
		return fmt.Errorf("element name %q does not start with a letter or _", t.Name.Local)
	}
	for i := range t.Attr {
		if !nameStart(t.Attr[i].Name.Local) {
			return fmt.Errorf("attribute name %q on <%s> does not start with a letter or _", t.Attr[i].Name.Local, t.Name.Local)
		}
	}
	for i := 1; i < len(t.Attr); i++ {
		for j := 0; j < i; j++ {
			if t.Attr[i].Name == t.Attr[j].Name {
				return fmt.Errorf("attribute %q appears twice on <%s>", t.Attr[i].Name.Local, t.Name.Local)
			}
		}
	}
	return nil
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

// ParseTime parses an HL7 TS value: YYYY[MM[DD[HH[MM[SS[.f...]]]]]] with an optional UTC
// offset +HHMM or -HHMM. Without an offset the time is local time in loc (Rome, that is
// Europe/Rome with its daylight-saving rules, when nil: Italian CDAs write local time).
// Anything else is an error: a time that cannot be read is never replaced by a guess.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = Rome
	}
	bad := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("cda: bad HL7 time %q: %s (want YYYYMMDDHHMMSS, optionally +HHMM or -HHMM)", s, why)
	}
	base, zone := s, ""
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		base, zone = s[:i], s[i:]
	}
	frac := ""
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base, frac = base[:i], base[i+1:]
	}
	digits := func(x string) bool {
		for _, c := range x {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	layouts := map[int]string{4: "2006", 6: "200601", 8: "20060102", 10: "2006010215", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(base)]
	switch {
	case !ok || !digits(base):
		return bad("the date and time must be 4, 6, 8, 10, 12 or 14 digits")
	case strings.Contains(s, ".") && (len(base) != 14 || frac == "" || len(frac) > 9 || !digits(frac)):
		return bad("a fraction of a second needs all 14 digits before it and 1 to 9 digits after")
	case zone != "" && (len(zone) != 5 || !digits(zone[1:]) || zone[1:3] > "14" || zone[3:] > "59"):
		return bad("the UTC offset must be +HHMM or -HHMM")
	}
	value := base
	if frac != "" {
		layout += "." + strings.Repeat("0", len(frac))
		value += "." + frac
	}
	var t time.Time
	var err error
	if zone != "" {
		t, err = time.Parse(layout+"-0700", value+zone)
	} else {
		t, err = time.ParseInLocation(layout, value, loc)
	}
	if err != nil {
		return bad(strings.TrimPrefix(err.Error(), "parsing time "))
	}
	return t, nil
}
