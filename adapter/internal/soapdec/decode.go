// Package soapdec decodes SOAP 1.1 answers into gowsdl's generated types several times
// faster than encoding/xml (DESIGN.md has the figures), with the same result: the same
// values, the same *soap.SOAPFault, an error where encoding/xml has one. It is what
// gowsdl's soap.Client does with an answer (decode the Envelope, the Body's one element into
// the response, a Fault into *soap.SOAPFault), driven by the gosax tokenizer and a per-type
// plan computed once by reflection from the `xml` struct tags. A type the plan cannot
// represent (a custom UnmarshalXML, attributes, inner XML…) is decoded by encoding/xml itself,
// from its element's bytes.
package soapdec

import (
	"bytes"
	"encoding"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/hooklift/gowsdl/soap"
)

// Limits bound what an answer may make the decoder do.
type Limits struct {
	MaxDepth    int // elements open at once
	MaxElements int // elements in the answer
}

// DefaultLimits are far above any answer of the FSE services (a few levels, about 25
// elements per document found) and far below what would exhaust memory or stack.
var DefaultLimits = Limits{MaxDepth: 64, MaxElements: 1 << 20}

// RefusedError is an answer this decoder does not read although encoding/xml might: a
// document type declaration or another directive, a non-ASCII element name, a limit
// exceeded (Limit is then true).
type RefusedError struct {
	Reason string
	Limit  bool
}

// Error implements error.
func (e *RefusedError) Error() string { return "soapdec: answer refused: " + e.Reason }

// NS is the namespace of the SOAP 1.1 envelope.
const NS = "http://schemas.xmlsoap.org/soap/envelope/"

var faultPlan = planFor(reflect.TypeFor[soap.SOAPFault]())

// Decode reads the SOAP 1.1 envelope in doc as gowsdl's soap.Client.Call does with
// encoding/xml: the Body's element is decoded into out (a pointer to the generated response
// struct); a Fault is returned as *soap.SOAPFault (code, string, actor; its detail is not
// decoded, as with Call); a malformed answer is an error (*xml.SyntaxError for bad XML,
// with the message "unexpected EOF" for a truncated one). As with encoding/xml, values are
// added to what out already holds: give it a zero value. Nothing after the Envelope's end
// tag is read.
func Decode(doc []byte, out any) (*soap.SOAPFault, error) {
	return DecodeString(string(doc), out, DefaultLimits)
}

// DecodeString is Decode of an answer held in a string, with the given limits. For an
// answer up to 256 KiB the decoded strings share doc's memory when they need no unescaping
// (read the answer into a strings.Builder to avoid any copy of it); those of a larger one
// are copied, so that they do not keep it alive.
func DecodeString(doc string, out any, lim Limits) (*soap.SOAPFault, error) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, errors.New("soapdec: out must be a non-nil pointer")
	}
	d := &decoder{lx: newLexer(doc, lim), clone: len(doc) > shareLimit}
	defer d.lx.release()
	return d.envelope(v.Elem(), planFor(v.Elem().Type()))
}

type decoder struct {
	lx    *lexer
	clone bool // copy the strings kept in the result instead of sharing the answer's memory
}

// shareLimit is the largest answer whose memory the decoded strings share: a small string
// kept by the caller must not hold a large answer (a retrieved document's base64) alive.
const shareLimit = 256 << 10

// keep returns s to be stored in the result.
func (d *decoder) keep(s string) string {
	if d.clone {
		return strings.Clone(s)
	}
	return s
}

func (d *decoder) envelope(out reflect.Value, p *plan) (*soap.SOAPFault, error) {
	lx := d.lx
	for {
		if err := lx.next(); err != nil {
			return nil, err // io.EOF for an empty answer, as encoding/xml
		}
		if lx.kind == tStart {
			break
		}
	}
	if lx.local != "Envelope" {
		return nil, xml.UnmarshalError("expected element type <Envelope> but have <" + lx.local + ">")
	}
	if lx.space != NS {
		return nil, xml.UnmarshalError("expected element <Envelope> in name space " + NS + " but have " + orNoNS(lx.space))
	}
	var (
		fault         *soap.SOAPFault
		faultOccurred bool
		contentNil    bool
	)
	for {
		if err := lx.next(); err != nil {
			return nil, err
		}
		switch lx.kind {
		case tEnd:
			if faultOccurred {
				return fault, nil
			}
			return nil, nil
		case tStart:
			if lx.local != "Body" {
				// Header (gowsdl's holds nothing it reads), attachments, anything else.
				if err := d.skip(); err != nil {
					return nil, err
				}
				continue
			}
			// gowsdl's SOAPBodyResponse.UnmarshalXML.
			if contentNil {
				return nil, xml.UnmarshalError("Content must be a pointer to a struct")
			}
			consumed := false
		body:
			for {
				if err := lx.next(); err != nil {
					return nil, err
				}
				switch lx.kind {
				case tEnd:
					break body
				case tStart:
					if consumed {
						return nil, xml.UnmarshalError("Found multiple elements inside SOAP body; not wrapped-document/literal WS-I compliant")
					}
					consumed = true
					if lx.space == NS && lx.local == "Fault" {
						contentNil, faultOccurred = true, true
						if fault == nil {
							fault = &soap.SOAPFault{}
						}
						if err := d.element(faultPlan, reflect.ValueOf(fault).Elem()); err != nil {
							return nil, err
						}
						continue
					}
					if err := d.element(p, out); err != nil {
						return nil, err
					}
				}
			}
		}
	}
}

func orNoNS(s string) string {
	if s == "" {
		return "no name space"
	}
	return s
}

// skip reads to the end of the element just started.
func (d *decoder) skip() error {
	depth := len(d.lx.open)
	for len(d.lx.open) >= depth {
		if err := d.lx.next(); err != nil {
			return err
		}
	}
	return nil
}

// element fills v, by p, from the element just started (encoding/xml's unmarshal).
func (d *decoder) element(p *plan, v reflect.Value) error {
	lx := d.lx
	switch p.kind {
	case kindPtr:
		if v.IsNil() {
			v.Set(reflect.New(p.elem.typ))
		}
		return d.element(p.elem, v.Elem())
	case kindSlice:
		n := v.Len()
		v.Grow(1)
		v.SetLen(n + 1)
		if err := d.element(p.elem, v.Index(n)); err != nil {
			v.SetLen(n)
			return err
		}
		return nil
	case kindSkip:
		if !v.IsNil() {
			return d.fallback(v)
		}
		return d.skip()
	case kindFallback:
		return d.fallback(v)
	case kindName:
		v.Set(reflect.ValueOf(xml.Name{Space: d.keep(lx.space), Local: d.keep(lx.local)}))
		return d.skip()
	case kindStruct:
		return d.structElem(p, v)
	}
	// Character data: the element's own text, children skipped.
	s, err := d.chardata()
	if err != nil {
		return err
	}
	return setText(p, v, d.keep(s))
}

func (d *decoder) structElem(p *plan, v reflect.Value) error {
	lx := d.lx
	if xn := p.xmlname; xn != nil {
		if xn.name != "" && xn.name != lx.local {
			return xml.UnmarshalError("expected element type <" + xn.name + "> but have <" + lx.local + ">")
		}
		if xn.ns != "" && xn.ns != lx.space {
			return xml.UnmarshalError("expected element <" + xn.name + "> in name space " + xn.ns + " but have " + orNoNS(lx.space))
		}
		if xn.isXMLName {
			v.Field(xn.index).Set(reflect.ValueOf(xml.Name{Space: d.keep(lx.space), Local: d.keep(lx.local)}))
		}
	}
	if len(p.attrs) > 0 {
		// Every attribute against every attribute field, in document order (all matching
		// fields are set), as encoding/xml's unmarshal.
		for _, a := range lx.attrs {
			space := lx.translateAttr(a.prefix)
			for i := range p.attrs {
				fa := &p.attrs[i]
				if a.local == fa.name && (fa.ns == "" || fa.ns == space) {
					fv := v.Field(fa.index)
					ap := fa.plan
					if ap.kind == kindPtr {
						if fv.IsNil() {
							fv.Set(reflect.New(ap.elem.typ))
						}
						fv, ap = fv.Elem(), ap.elem
					}
					if ap.kind == kindText {
						// unmarshalAttr hands UnmarshalText the value, empty or not.
						u := fv
						if ap.textPtr {
							u = fv.Addr()
						}
						if err := u.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(a.value)); err != nil {
							return err
						}
					} else if err := setText(ap, fv, d.keep(a.value)); err != nil {
						return err
					}
				}
			}
		}
	}
	depth := len(lx.open)
	last := 0
	var text string
	var more []byte
	texts := 0
	for {
		if err := lx.next(); err != nil {
			return err
		}
		switch lx.kind {
		case tText:
			if p.chardata != nil {
				switch texts++; texts {
				case 1:
					text = lx.text
				case 2:
					more = append(append(more, text...), lx.text...)
				default:
					more = append(more, lx.text...)
				}
			}
		case tEnd:
			if len(lx.open) < depth {
				if p.chardata != nil {
					if texts > 1 {
						text = string(more)
					}
					return setText(p.chardata.plan, v.Field(p.chardata.index), d.keep(text))
				}
				return nil
			}
		case tStart:
			f := -1
			n := len(p.fields)
			for k := 0; k < n; k++ {
				i := k
				if p.unique {
					// Fields usually come in order: start after the last one matched.
					i = (last + k) % n
				}
				fi := &p.fields[i]
				if fi.name == lx.local && (fi.ns == "" || fi.ns == lx.space) {
					f = i
					break
				}
			}
			if f < 0 {
				if err := d.skip(); err != nil {
					return err
				}
				continue
			}
			last = f
			fi := &p.fields[f]
			if err := d.element(fi.plan, v.Field(fi.index)); err != nil {
				return err
			}
		}
	}
}

// chardata returns the text directly inside the element just started (text and CDATA
// joined, child elements skipped) and reads to its end.
func (d *decoder) chardata() (string, error) {
	lx := d.lx
	depth := len(lx.open)
	var s string
	var more []byte
	n := 0
	for {
		if err := lx.next(); err != nil {
			return "", err
		}
		switch lx.kind {
		case tText:
			switch n++; n {
			case 1:
				s = lx.text
			case 2:
				more = append(append(more, s...), lx.text...)
			default:
				more = append(more, lx.text...)
			}
		case tStart:
			if err := d.skip(); err != nil {
				return "", err
			}
		case tEnd:
			if len(lx.open) < depth {
				if n > 1 {
					return string(more), nil
				}
				return s, nil
			}
		}
	}
}

// setText stores s in v as encoding/xml's copyValue (and the text unmarshalers) would.
func setText(p *plan, v reflect.Value, s string) error {
	switch p.kind {
	case kindString:
		v.SetString(s)
	case kindBool:
		if s == "" {
			v.SetBool(false)
			return nil
		}
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		v.SetBool(b)
	case kindInt:
		if s == "" {
			v.SetInt(0)
			return nil
		}
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(i)
	case kindUint:
		if s == "" {
			v.SetUint(0)
			return nil
		}
		u, err := strconv.ParseUint(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetUint(u)
	case kindFloat:
		if s == "" {
			v.SetFloat(0)
			return nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case kindBytes:
		v.SetBytes(append([]byte{}, s...))
	case kindText:
		var b []byte
		if s != "" {
			b = []byte(s)
		}
		u := v
		if p.textPtr {
			u = v.Addr()
		}
		return u.Interface().(encoding.TextUnmarshaler).UnmarshalText(b)
	case kindDateTime:
		t, tz := parseTime(s, timeLayoutDateTime)
		v.Set(reflect.ValueOf(soap.CreateXsdDateTime(t, tz)))
	case kindDate:
		t, tz := parseTime(s, timeLayoutDate)
		v.Set(reflect.ValueOf(soap.CreateXsdDate(t, tz)))
	default:
		return fmt.Errorf("soapdec: internal error: no text plan for %s", p.typ)
	}
	return nil
}

// fallback has encoding/xml decode the element just started into v: its bytes, inside an
// element declaring the namespaces in scope, so that it reads them as in the answer.
func (d *decoder) fallback(v reflect.Value) error {
	lx := d.lx
	top := lx.open[len(lx.open)-1]
	start, outer := top.start, lx.scope[:top.scope]
	if err := d.skip(); err != nil {
		return err
	}
	raw := lx.src[start:lx.end]
	var w strings.Builder
	w.WriteString("<soapdec")
	seen := map[string]bool{}
	for i := len(outer) - 1; i >= 0; i-- {
		b := outer[i]
		if seen[b.prefix] {
			continue
		}
		seen[b.prefix] = true
		if b.prefix == "" {
			w.WriteString(` xmlns="`)
		} else {
			w.WriteString(` xmlns:` + b.prefix + `="`)
		}
		escapeAttr(&w, b.uri)
		w.WriteByte('"')
	}
	w.WriteByte('>')
	dec := xml.NewDecoder(io.MultiReader(strings.NewReader(w.String()), strings.NewReader(raw), strings.NewReader("</soapdec>")))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if !v.CanAddr() {
				return fmt.Errorf("soapdec: internal error: fallback on an unaddressable %s", v.Type())
			}
			return dec.DecodeElement(v.Addr().Interface(), &se)
		}
	}
}

func escapeAttr(w *strings.Builder, s string) {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&', '<', '>', '"', '\'', '\r', '\n', '\t':
			fmt.Fprintf(&b, "&#%d;", c)
		default:
			b.WriteByte(c)
		}
	}
	w.Write(b.Bytes())
}
