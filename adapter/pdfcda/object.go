package pdfcda

import (
	"bytes"
	"strconv"
)

// The PDF object model, kept minimal: nil, bool, int64, float64, name, []byte (string),
// array, dict and ref. Parsed values never alias the bytes they were parsed from (strings
// are copied), so a window of the file can be dropped once its object is parsed.
type (
	name  string
	array []any
	dict  map[name]any
	ref   struct{ num, gen int64 }
)

// parser reads PDF objects from b starting at pos. It never reads beyond len(b), but when
// it reads a file (f set) b is a window of the file starting at offset base, which grows on
// demand (in) up to offset limit: callers bound its work by the limit they give it.
// Positions (pos, spans) are relative to b; error offsets are the file's.
type parser struct {
	b        []byte
	pos      int
	depth    int
	maxDepth int
	f        *file // the file b is a window of, nil when b is all there is
	base     int   // file offset of b[0]
	limit    int   // file offset the window may not grow beyond
	// spans, when set, collects where each string value of a /Contents key lies in b (a
	// signature verifier must know that the signed ranges exclude exactly that string).
	spans *[]span
}

// span is the position of a string value in the parsed buffer, delimiters included.
type span struct {
	start, end int
	val        []byte
}

// in reports whether b[i] exists, growing the window from the file if needed (more).
func (p *parser) in(i int) bool { return i < len(p.b) || p.more(i) }

func (p *parser) more(i int) bool {
	if p.f == nil || i < 0 || p.base+len(p.b) >= p.limit {
		return false
	}
	n := min(max(2*len(p.b), i+1, p.f.minWindow), p.limit-p.base)
	p.b = p.f.grow(p.b, p.base, n)
	return i < len(p.b)
}

// abs is the file offset of the current position.
func (p *parser) abs() int64 { return int64(p.base + p.pos) }

// hasPrefix reports whether s is at pos.
func (p *parser) hasPrefix(pos int, s string) bool {
	return p.in(pos+len(s)-1) && string(p.b[pos:pos+len(s)]) == s
}

// atKeyword reports whether the keyword kw starts at pos and ends at a token boundary.
func (p *parser) atKeyword(pos int, kw string) bool {
	if pos < 0 || !p.hasPrefix(pos, kw) {
		return false
	}
	end := pos + len(kw)
	return !p.in(end) || !isRegular(p.b[end])
}

func isWS(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func isRegular(c byte) bool { return !isWS(c) && !isDelim(c) }

// skipWS skips white space and comments.
func (p *parser) skipWS() {
	for p.in(p.pos) {
		c := p.b[p.pos]
		if isWS(c) {
			p.pos++
			continue
		}
		if c == '%' {
			for p.in(p.pos) && p.b[p.pos] != '\n' && p.b[p.pos] != '\r' {
				p.pos++
			}
			continue
		}
		return
	}
}

// skipSpace skips white space only (not comments: "%%EOF" is one).
func (p *parser) skipSpace() {
	for p.in(p.pos) && isWS(p.b[p.pos]) {
		p.pos++
	}
}

// uint reads an unsigned decimal integer of at most 18 digits after white space.
func (p *parser) uint() (int64, bool) {
	p.skipWS()
	start := p.pos
	for p.in(p.pos) && p.b[p.pos] >= '0' && p.b[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start || p.pos-start > 18 || (p.in(p.pos) && isRegular(p.b[p.pos])) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(p.b[start:p.pos]), 10, 64)
	return n, err == nil
}

// keyword reads a run of regular characters.
func (p *parser) keyword() []byte {
	start := p.pos
	for p.in(p.pos) && isRegular(p.b[p.pos]) {
		p.pos++
	}
	return p.b[start:p.pos]
}

func (p *parser) errf(msg string) error { return &SyntaxError{Offset: p.abs(), Msg: msg} }

// object parses one object; a bare keyword that is not a value (e.g. "endobj", "stream",
// "R") is an error returned with the keyword so that callers may look at it.
func (p *parser) object() (any, error) {
	p.skipWS()
	if !p.in(p.pos) {
		return nil, p.errf("unexpected end of data")
	}
	c := p.b[p.pos]
	switch {
	case c == '/':
		p.pos++
		return p.name(), nil
	case c == '(':
		return p.literalString()
	case c == '<':
		if p.in(p.pos+1) && p.b[p.pos+1] == '<' {
			return p.dict()
		}
		return p.hexString()
	case c == '[':
		return p.array()
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		return p.number()
	case isRegular(c):
		kw := p.keyword()
		switch string(kw) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		p.pos -= len(kw)
		return nil, &SyntaxError{Offset: p.abs(), Msg: "unexpected keyword " + strconv.Quote(string(truncate(kw, 16)))}
	}
	return nil, p.errf("unexpected character " + strconv.QuoteRune(rune(c)))
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func (p *parser) name() name {
	raw := p.keyword()
	if bytes.IndexByte(raw, '#') < 0 {
		return name(raw)
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '#' && i+2 < len(raw) {
			if v, err := strconv.ParseUint(string(raw[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, raw[i])
	}
	return name(out)
}

func (p *parser) number() (any, error) {
	kw := p.keyword()
	if i, err := strconv.ParseInt(string(kw), 10, 64); err == nil {
		// Maybe "num gen R".
		save := p.pos
		p.skipWS()
		gstart := p.pos
		for p.in(p.pos) && p.b[p.pos] >= '0' && p.b[p.pos] <= '9' {
			p.pos++
		}
		if p.pos > gstart && p.pos-gstart < 10 {
			gen, _ := strconv.ParseInt(string(p.b[gstart:p.pos]), 10, 64)
			p.skipWS()
			if p.in(p.pos) && p.b[p.pos] == 'R' && (!p.in(p.pos+1) || !isRegular(p.b[p.pos+1])) {
				p.pos++
				return ref{i, gen}, nil
			}
		}
		p.pos = save
		return i, nil
	}
	f, err := strconv.ParseFloat(string(kw), 64)
	if err != nil {
		return nil, &SyntaxError{Offset: p.abs() - int64(len(kw)), Msg: "bad number"}
	}
	return f, nil
}

func (p *parser) literalString() ([]byte, error) {
	p.pos++ // (
	start := p.pos
	depth := 1
	simple := true
	for p.in(p.pos) {
		switch p.b[p.pos] {
		case '\\':
			simple = false
			p.pos++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				raw := p.b[start:p.pos]
				p.pos++
				if simple {
					return bytes.Clone(raw), nil
				}
				return unescape(raw), nil
			}
		}
		p.pos++
	}
	return nil, p.errf("unterminated string")
}

func unescape(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		i++
		switch e := raw[i]; e {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case '\n':
		default:
			if e >= '0' && e <= '7' {
				v := 0
				j := 0
				for ; j < 3 && i+j < len(raw) && raw[i+j] >= '0' && raw[i+j] <= '7'; j++ {
					v = v*8 + int(raw[i+j]-'0')
				}
				i += j - 1
				out = append(out, byte(v))
				continue
			}
			out = append(out, e)
		}
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (p *parser) hexString() ([]byte, error) {
	p.pos++ // <
	end := -1
	for from := p.pos; ; {
		if i := bytes.IndexByte(p.b[from:], '>'); i >= 0 {
			end = from + i - p.pos
			break
		}
		if from = len(p.b); !p.in(from) {
			break
		}
	}
	if end < 0 {
		p.pos = len(p.b) // searched to the end: charged as read
		return nil, p.errf("unterminated hex string")
	}
	raw := p.b[p.pos : p.pos+end]
	p.pos += end + 1
	out := make([]byte, 0, len(raw)/2+1)
	var hi byte
	half := false
	for _, c := range raw {
		v, ok := unhex(c)
		if !ok {
			if isWS(c) {
				continue
			}
			return nil, &SyntaxError{Offset: p.abs(), Msg: "bad hex string"}
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	return out, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > p.maxDepth {
		return &LimitError{What: "nesting depth", Limit: int64(p.maxDepth)}
	}
	return nil
}

func (p *parser) array() (array, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.pos++ // [
	var a array
	for {
		p.skipWS()
		if !p.in(p.pos) {
			return nil, p.errf("unterminated array")
		}
		if p.b[p.pos] == ']' {
			p.pos++
			return a, nil
		}
		v, err := p.object()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
}

func (p *parser) dict() (dict, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.pos += 2 // <<
	d := dict{}
	for {
		p.skipWS()
		if !p.in(p.pos) {
			return nil, p.errf("unterminated dictionary")
		}
		if p.b[p.pos] == '>' {
			if p.in(p.pos+1) && p.b[p.pos+1] == '>' {
				p.pos += 2
				return d, nil
			}
			return nil, p.errf("bad dictionary end")
		}
		if p.b[p.pos] != '/' {
			return nil, p.errf("dictionary key is not a name")
		}
		p.pos++
		k := p.name()
		p.skipWS()
		vs := p.pos
		v, err := p.object()
		if err != nil {
			return nil, err
		}
		if k == "Contents" && p.spans != nil {
			if s, ok := v.([]byte); ok {
				*p.spans = append(*p.spans, span{vs, p.pos, s})
			}
		}
		d[k] = v
	}
}
