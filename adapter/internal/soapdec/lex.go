package soapdec

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/orisano/gosax"
)

// The lexer turns gosax's markup events into the tokens encoding/xml's Decoder.Token would
// return, with the same checks: gosax only finds where each piece of markup ends; the names,
// attributes, entities, characters and the nesting are checked here, by encoding/xml's rules
// (xml.go's rawToken, text, nsname, translate, popElement), so that an answer encoding/xml
// refuses is refused here too. What encoding/xml accepts and this lexer does not (a DTD or
// other directive, non-ASCII names, a few comment shapes gosax splits differently, limits)
// is refused with a *RefusedError, never read differently.

type tokKind uint8

const (
	tStart tokKind = iota + 1
	tEnd
	tText
)

// binding is one namespace declaration in scope.
type binding struct {
	prefix, uri string
}

// openElem is an element whose end tag has not been read yet.
type openElem struct {
	prefix, local string // as written (end tags must repeat them)
	scope         int    // len(lexer.scope) before the element's own declarations
	start         int    // offset of its start tag
}

type attr struct {
	prefix, local, value string
}

type lexer struct {
	src  string // the document; token texts are substrings of it when nothing needs decoding
	r    *gosax.Reader
	base int // cap of gosax's buffer: an event's offset is base - cap(event.Bytes)

	open  []openElem
	scope []binding
	attrs []attr
	buf   []byte // scratch for decoded text

	lastRaw, lastURI string // the last namespace value decoded (answers repeat it on every element)
	lastAttrs        string // what followed the name in the last start tag (its attributes are l.attrs)

	maxDepth, maxElems, elems int

	pooled   *pooledReader
	openArr  [16]openElem
	scopeArr [16]binding
	attrArr  [8]attr

	// The current token.
	kind          tokKind
	prefix, local string // start and end tags: the name as written
	space         string // start tags: the translated namespace (xml.Name.Space)
	text          string // text and CDATA: the decoded characters
	start, end    int    // byte offsets of the token in src
	pendingEnd    bool   // a self-closing tag: its end comes next
	scopeBefore   int    // start tags: len(scope) before its declarations
}

const (
	xmlURL      = "http://www.w3.org/XML/1998/namespace"
	xmlnsPrefix = "xmlns"
	xmlPrefix   = "xml"
)

// A pooled gosax reader and the capacity of its buffer.
type pooledReader struct {
	r   *gosax.Reader
	cap int
}

var readers sync.Pool

// maxPooled bounds the buffers kept between answers.
const maxPooled = 4 << 20

func newLexer(src string, lim Limits) *lexer {
	// gosax copies the input into its buffer; with room after the data it never moves
	// its window, so an event's offset is known from its capacity.
	need := len(src) + 4096
	pr, _ := readers.Get().(*pooledReader)
	if pr == nil || pr.cap < need {
		size := max(need, 64<<10)
		pr = &pooledReader{r: gosax.NewReaderBuf(nil, make([]byte, 0, size)), cap: size}
	}
	pr.r.Reset(strings.NewReader(src))
	l := &lexer{src: src, r: pr.r, base: pr.cap, pooled: pr, maxDepth: lim.MaxDepth, maxElems: lim.MaxElements}
	l.open = l.openArr[:0]
	l.scope = l.scopeArr[:0]
	l.attrs = l.attrArr[:0]
	return l
}

// release gives the reader back; the lexer is not used after.
func (l *lexer) release() {
	if l.pooled != nil && l.pooled.cap <= maxPooled {
		l.pooled.r.Reset(nil)
		readers.Put(l.pooled)
	}
	l.pooled, l.r = nil, nil
}

func (l *lexer) syntax(off int, msg string) error {
	return &xml.SyntaxError{Msg: msg, Line: 1 + strings.Count(l.src[:min(off, len(l.src))], "\n")}
}

// next reads the next token. At the end of the input it returns io.EOF if no element is
// open, a syntax error "unexpected EOF" otherwise (as encoding/xml).
func (l *lexer) next() error {
	if l.pendingEnd {
		l.pendingEnd = false
		l.kind = tEnd
		return l.pop(l.prefix, l.local, l.end)
	}
	for {
		ev, err := l.r.Event()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return l.syntax(len(l.src), "unexpected EOF")
			}
			return &RefusedError{Reason: "markup gosax cannot read: " + err.Error()}
		}
		if ev.Type() == gosax.EventEOF {
			if len(l.open) > 0 {
				return l.syntax(len(l.src), "unexpected EOF")
			}
			return io.EOF
		}
		b := ev.Bytes
		off := l.base - cap(b)
		if off < 0 || off+len(b) > len(l.src) {
			return fmt.Errorf("soapdec: internal error: token outside the document")
		}
		l.start, l.end = off, off+len(b)
		raw := l.src[off : off+len(b)]
		switch ev.Type() {
		case gosax.EventText:
			t, err := l.decodeText(raw, off, -1, false)
			if err != nil {
				return err
			}
			l.kind, l.text = tText, t
			return nil
		case gosax.EventCData:
			if len(raw) < len("<![CDATA[]]>") || raw[:9] != "<![CDATA[" {
				return l.syntax(off, "invalid <![ sequence")
			}
			t, err := l.decodeText(raw[9:len(raw)-3], off, -1, true)
			if err != nil {
				return err
			}
			l.kind, l.text = tText, t
			return nil
		case gosax.EventComment:
			if len(raw) < 4 || raw[3] != '-' {
				return l.syntax(off, "invalid sequence <!- not part of <!--")
			}
			if len(raw) < len("<!---->") {
				// "<!--->": encoding/xml reads on to a later "-->"; gosax stops here.
				return &RefusedError{Reason: "comment \"<!--->\""}
			}
			body := raw[4 : len(raw)-3]
			if strings.Contains(body, "--") || strings.HasSuffix(body, "-") {
				return l.syntax(off, `invalid sequence "--" not allowed in comments`)
			}
			continue
		case gosax.EventProcessingInstruction:
			if err := l.procInst(raw, off); err != nil {
				return err
			}
			continue
		case gosax.EventDocType:
			return &RefusedError{Reason: "a document type declaration (SOAP messages carry none)"}
		case gosax.EventStart:
			return l.startTag(raw, off)
		case gosax.EventEnd:
			return l.endTag(raw, off)
		default:
			return &RefusedError{Reason: "unknown markup"}
		}
	}
}

// procInst checks <?target data?> as encoding/xml does, including the xml declaration's
// version and encoding.
func (l *lexer) procInst(raw string, off int) error {
	body := raw[2 : len(raw)-2]
	n := nameLen(body)
	if n == 0 {
		return l.syntax(off, "expected target name after <?")
	}
	target := body[:n]
	if err := l.checkName(target, off); err != nil {
		return err
	}
	if target != "xml" {
		return nil
	}
	content := strings.TrimLeft(body[n:], " \r\n\t")
	if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
		return fmt.Errorf("xml: unsupported version %q; only version 1.0 is supported", ver)
	}
	if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
		return fmt.Errorf("xml: encoding %q declared but Decoder.CharsetReader is nil", enc)
	}
	return nil
}

// procInstParam is encoding/xml's procInst: the value of param="…" in s.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

var nameByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '_' || c == ':' || c == '.' || c == '-' || c >= utf8.RuneSelf
	}
	return
}()

// nameLen is the length of the name at the start of s (encoding/xml's readName: any byte
// that can be in a name, and every non-ASCII byte).
func nameLen(s string) int {
	i := 0
	for i < len(s) && nameByte[s[i]] {
		i++
	}
	return i
}

// checkName applies isName to an ASCII name; non-ASCII names are refused (encoding/xml
// checks them against Unicode tables it does not export; SOAP answers have none).
func (l *lexer) checkName(s string, off int) error {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return &RefusedError{Reason: "a non-ASCII XML name"}
		}
	}
	c := s[0]
	if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':') {
		return l.syntax(off, "invalid XML name: "+s)
	}
	return nil
}

// nsname splits a name as encoding/xml's nsname; ok is false for a name with two colons.
func nsname(s string) (prefix, local string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", s, true
	}
	if strings.IndexByte(s[i+1:], ':') >= 0 {
		return "", "", false
	}
	if i == 0 || i == len(s)-1 {
		return "", s, true
	}
	return s[:i], s[i+1:], true
}

func isSpace(c byte) bool { return c == ' ' || c == '\r' || c == '\n' || c == '\t' }

func (l *lexer) startTag(raw string, off int) error {
	// raw is "<name attrs>" or "<name attrs/>", its end found by gosax outside quotes.
	p := 1
	n := nameLen(raw[p:])
	if n == 0 {
		return l.syntax(off, "expected element name after <")
	}
	name := raw[p : p+n]
	if err := l.checkName(name, off); err != nil {
		return err
	}
	prefix, local, ok := nsname(name)
	if !ok {
		return l.syntax(off, "expected element name after <")
	}
	p += n
	empty := false
	if rest := raw[p:]; rest == l.lastAttrs {
		// The same attributes as the last start tag (answers repeat xmlns="…" on every
		// element): already checked and decoded, in l.attrs.
		empty = strings.HasSuffix(rest, "/>")
		p = len(raw)
	} else {
		l.lastAttrs = "\x00"
		l.attrs = l.attrs[:0]
		var err error
		if p, empty, err = l.parseAttrs(raw, p, off); err != nil {
			return err
		}
		l.lastAttrs = rest
	}
	if p != len(raw) {
		return fmt.Errorf("soapdec: internal error: tag end mismatch")
	}
	if len(l.open) >= l.maxDepth {
		return &RefusedError{Reason: fmt.Sprintf("elements nested deeper than %d", l.maxDepth), Limit: true}
	}
	if l.elems++; l.elems > l.maxElems {
		return &RefusedError{Reason: fmt.Sprintf("more than %d elements", l.maxElems), Limit: true}
	}
	l.scopeBefore = len(l.scope)
	for _, a := range l.attrs {
		switch {
		case a.prefix == xmlnsPrefix:
			l.scope = append(l.scope, binding{a.local, a.value})
		case a.prefix == "" && a.local == xmlnsPrefix:
			l.scope = append(l.scope, binding{"", a.value})
		}
	}
	l.open = append(l.open, openElem{prefix: prefix, local: local, scope: l.scopeBefore, start: off})
	l.kind, l.prefix, l.local = tStart, prefix, local
	l.space = l.translate(prefix, local)
	l.pendingEnd = empty
	return nil
}

// parseAttrs reads the attributes of the start tag raw from p to the tag's end into
// l.attrs, returning where the tag ends and whether it is self-closing.
func (l *lexer) parseAttrs(raw string, p, off int) (int, bool, error) {
	for {
		for p < len(raw) && isSpace(raw[p]) {
			p++
		}
		if p >= len(raw) {
			return 0, false, l.syntax(off, "unexpected EOF")
		}
		c := raw[p]
		if c == '/' {
			if p+1 >= len(raw) || raw[p+1] != '>' {
				return 0, false, l.syntax(off, "expected /> in element")
			}
			return p + 2, true, nil
		}
		if c == '>' {
			return p + 1, false, nil
		}
		n := nameLen(raw[p:])
		if n == 0 {
			return 0, false, l.syntax(off, "expected attribute name in element")
		}
		an := raw[p : p+n]
		if err := l.checkName(an, off); err != nil {
			return 0, false, err
		}
		ap, alocal, ok := nsname(an)
		if !ok {
			return 0, false, l.syntax(off, "expected attribute name in element")
		}
		p += n
		for p < len(raw) && isSpace(raw[p]) {
			p++
		}
		if p >= len(raw) || raw[p] != '=' {
			return 0, false, l.syntax(off, "attribute name without = in element")
		}
		p++
		for p < len(raw) && isSpace(raw[p]) {
			p++
		}
		if p >= len(raw) || raw[p] != '"' && raw[p] != '\'' {
			return 0, false, l.syntax(off, "unquoted or missing attribute value in element")
		}
		q := raw[p]
		j := strings.IndexByte(raw[p+1:], q)
		if j < 0 {
			return 0, false, l.syntax(off, "unexpected EOF")
		}
		rawVal := raw[p+1 : p+1+j]
		p += j + 2
		var val string
		if (ap == xmlnsPrefix || ap == "" && alocal == xmlnsPrefix) && rawVal == l.lastRaw && rawVal != "" {
			val = l.lastURI
		} else {
			v, err := l.decodeText(rawVal, off, int(q), false)
			if err != nil {
				return 0, false, err
			}
			val = v
			if ap == xmlnsPrefix || ap == "" && alocal == xmlnsPrefix {
				l.lastRaw, l.lastURI = rawVal, v
			}
		}
		l.attrs = append(l.attrs, attr{ap, alocal, val})
	}
}

// translate is encoding/xml's translate for an element name.
func (l *lexer) translate(prefix, local string) string {
	switch {
	case prefix == xmlnsPrefix:
		return prefix
	case prefix == xmlPrefix:
		return xmlURL
	case prefix == "" && local == xmlnsPrefix:
		return ""
	}
	for i := len(l.scope) - 1; i >= 0; i-- {
		if l.scope[i].prefix == prefix {
			return l.scope[i].uri
		}
	}
	return prefix // undeclared: encoding/xml keeps the prefix; "" is the DefaultSpace, ""
}

// translateAttr is encoding/xml's translate for an attribute's prefix: no prefix is no
// namespace (the default namespace does not apply to attributes).
func (l *lexer) translateAttr(prefix string) string {
	switch prefix {
	case "", xmlnsPrefix:
		return prefix
	case xmlPrefix:
		return xmlURL
	}
	for i := len(l.scope) - 1; i >= 0; i-- {
		if l.scope[i].prefix == prefix {
			return l.scope[i].uri
		}
	}
	return prefix
}

func (l *lexer) endTag(raw string, off int) error {
	body := raw[2 : len(raw)-1]
	if top := len(l.open) - 1; top >= 0 {
		// Fast path: the end tag repeats the start tag's name.
		o := l.open[top]
		if o.prefix == "" && strings.HasPrefix(body, o.local) || o.prefix != "" && len(body) > len(o.prefix) &&
			body[:len(o.prefix)] == o.prefix && body[len(o.prefix)] == ':' && strings.HasPrefix(body[len(o.prefix)+1:], o.local) {
			n := len(o.local)
			if o.prefix != "" {
				n += len(o.prefix) + 1
			}
			if n == len(body) || !nameByte[body[n]] {
				if strings.TrimLeft(body[n:], " \r\n\t") != "" {
					return l.syntax(off, "invalid characters between </"+o.local+" and >")
				}
				l.kind, l.prefix, l.local = tEnd, o.prefix, o.local
				return l.pop(o.prefix, o.local, off)
			}
		}
	}
	n := nameLen(body)
	if n == 0 {
		return l.syntax(off, "expected element name after </")
	}
	name := body[:n]
	if err := l.checkName(name, off); err != nil {
		return err
	}
	prefix, local, ok := nsname(name)
	if !ok {
		return l.syntax(off, "expected element name after </")
	}
	if strings.TrimLeft(body[n:], " \r\n\t") != "" {
		return l.syntax(off, "invalid characters between </"+local+" and >")
	}
	l.kind, l.prefix, l.local = tEnd, prefix, local
	return l.pop(prefix, local, off)
}

// pop closes the innermost element, which must be prefix:local (encoding/xml's popElement).
func (l *lexer) pop(prefix, local string, off int) error {
	top := len(l.open) - 1
	if top < 0 {
		return l.syntax(off, "unexpected end element </"+local+">")
	}
	o := l.open[top]
	if o.local != local {
		return l.syntax(off, "element <"+o.local+"> closed by </"+local+">")
	}
	if o.prefix != prefix {
		return l.syntax(off, "element <"+o.local+"> in space "+o.prefix+" closed by </"+local+"> in space "+prefix)
	}
	l.open = l.open[:top]
	l.scope = l.scope[:o.scope]
	return nil
}

// needsWork marks the bytes the fast path of decodeText cannot pass through unchanged.
var needsWork = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c < 0x20 && c != '\t' && c != '\n' || c >= 0x7f || c == '&' || c == '\r' || c == ']' || c == '<'
	}
	return
}()

// decodeText is encoding/xml's text(quote, cdata) on raw, which lies at offset off: entities
// replaced, \r\n and \r made \n, then every character checked.
func (l *lexer) decodeText(raw string, off, quote int, cdata bool) (string, error) {
	i := 0
	for i < len(raw) && !needsWork[raw[i]] {
		i++
	}
	if i == len(raw) {
		return raw, nil
	}
	buf := append(l.buf[:0], raw[:i]...)
	var b0, b1 byte
	if i > 0 {
		b1 = raw[i-1]
		if i > 1 {
			b0 = raw[i-2]
		}
	}
	for ; i < len(raw); i++ {
		b := raw[i]
		if quote < 0 && !cdata && b0 == ']' && b1 == ']' && b == '>' {
			return "", l.syntax(off, "unescaped ]]> not in CDATA section")
		}
		if b == '<' && !cdata {
			// Only in a quoted value (text ends at '<').
			return "", l.syntax(off, "unescaped < inside quoted string")
		}
		if b == '&' && !cdata {
			r, n, ok := entity(raw[i:])
			if !ok {
				return "", l.syntax(off, "invalid character entity")
			}
			buf = utf8.AppendRune(buf, r)
			i += n - 1
			b0, b1 = 0, 0
			continue
		}
		switch {
		case b == '\r':
			buf = append(buf, '\n')
		case b1 == '\r' && b == '\n':
		default:
			buf = append(buf, b)
		}
		b0, b1 = b1, b
	}
	l.buf = buf
	for j := 0; j < len(buf); {
		c := buf[j]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return "", l.syntax(off, fmt.Sprintf("illegal character code %U", rune(c)))
			}
			j++
			continue
		}
		r, size := utf8.DecodeRune(buf[j:])
		if r == utf8.RuneError && size == 1 {
			return "", l.syntax(off, "invalid UTF-8")
		}
		if !inCharRange(r) {
			return "", l.syntax(off, fmt.Sprintf("illegal character code %U", r))
		}
		j += size
	}
	if len(buf) == len(raw) && string(buf) == raw {
		return raw, nil
	}
	return string(buf), nil
}

func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// entity reads the reference at the start of s ("&…;"), returning its rune and length.
// Only what encoding/xml knows without a DTD: the five predefined entities and character
// references up to U+10FFFF (a surrogate becomes U+FFFD, as string(rune(n)) does there).
func entity(s string) (rune, int, bool) {
	if len(s) > 1 && s[1] == '#' {
		i, base := 2, 10
		if i < len(s) && s[i] == 'x' {
			base, i = 16, i+1
		}
		st := i
		for i < len(s) && ('0' <= s[i] && s[i] <= '9' || base == 16 && ('a' <= s[i] && s[i] <= 'f' || 'A' <= s[i] && s[i] <= 'F')) {
			i++
		}
		if i >= len(s) || s[i] != ';' {
			return 0, 0, false
		}
		n, err := strconv.ParseUint(s[st:i], base, 64)
		if err != nil || n > unicode.MaxRune {
			return 0, 0, false
		}
		r := rune(n)
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		return r, i + 1, true
	}
	n := nameLen(s[1:])
	if 1+n >= len(s) || s[1+n] != ';' {
		return 0, 0, false
	}
	var r rune
	switch s[1 : 1+n] {
	case "lt":
		r = '<'
	case "gt":
		r = '>'
	case "amp":
		r = '&'
	case "apos":
		r = '\''
	case "quot":
		r = '"'
	default:
		return 0, 0, false
	}
	return r, n + 2, true
}
