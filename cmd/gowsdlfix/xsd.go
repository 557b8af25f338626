package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

const xsdNS = "http://www.w3.org/2001/XMLSchema"

// qname is a namespace-qualified XML name.
type qname struct{ Space, Local string }

// particle is one xs:element inside a complex type's content model, as the
// wire sees it: its name, the namespace it is written in ("" when unqualified),
// its resolved type and its occurrence bounds.
type particle struct {
	Name             string
	Space            string // namespace of the element on the wire; "" = unqualified
	Type             qname  // resolved type; zero when the type is anonymous
	InlineSimpleBase qname  // base of an anonymous simple type
	MinOccurs        int
	MaxOccurs        int // -1 = unbounded
}

// repeated reports whether the particle may occur more than once.
func (p particle) repeated() bool { return p.MaxOccurs < 0 || p.MaxOccurs > 1 }

// complexType is a named complex type, or the anonymous complex type of a global element.
type complexType struct {
	Name      qname      // type name, or element name for anonymous types of global elements
	Particles []particle // in document order
	// Base is the complexContent extension base (zero when none); gowsdl
	// embeds it as an anonymous *Base field.
	Base qname
	node *etree.Element
}

// schemaSet is everything the post-processor needs to know about the XSDs behind one WSDL.
type schemaSet struct {
	Elements     map[qname]*etree.Element // global elements
	ComplexTypes map[qname]*complexType   // named complex types
	ElementTypes map[qname]*complexType   // anonymous complex types of global elements
	SimpleTypes  map[qname]*etree.Element
	// Messages maps a WSDL message name to the element of its first part.
	Messages map[string]qname
	// OpInput maps an operation name to its input message name.
	OpInput map[string]string
	loaded  map[string]bool
}

func newSchemaSet() *schemaSet {
	return &schemaSet{
		Elements:     map[qname]*etree.Element{},
		ComplexTypes: map[qname]*complexType{},
		ElementTypes: map[qname]*complexType{},
		SimpleTypes:  map[qname]*etree.Element{},
		Messages:     map[string]qname{},
		OpInput:      map[string]string{},
		loaded:       map[string]bool{},
	}
}

// loadWSDL reads a WSDL 1.1 file, its inline schemas and every schema they
// include or import through a schemaLocation, resolved against the including file.
func loadWSDL(path string) (*schemaSet, error) {
	s := newSchemaSet()
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(path); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	root := doc.Root()
	if root == nil {
		return nil, fmt.Errorf("%s: empty document", path)
	}
	for _, types := range childrenNS(root, "types") {
		for _, sc := range childrenNS(types, "schema") {
			if err := s.addSchema(sc, path, ""); err != nil {
				return nil, err
			}
		}
	}
	for _, m := range childrenNS(root, "message") {
		// Document/literal wrapped: the first part names the wrapper element.
		if parts := childrenNS(m, "part"); len(parts) > 0 {
			if el := parts[0].SelectAttrValue("element", ""); el != "" {
				s.Messages[m.SelectAttrValue("name", "")] = resolveQName(parts[0], el)
			}
		}
	}
	for _, pt := range childrenNS(root, "portType") {
		for _, op := range childrenNS(pt, "operation") {
			for _, in := range childrenNS(op, "input") {
				s.OpInput[op.SelectAttrValue("name", "")] = localPart(in.SelectAttrValue("message", ""))
			}
		}
	}
	return s, nil
}

func (s *schemaSet) loadSchemaFile(path, chameleonNS string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("schema %s: %w", path, err)
	}
	if s.loaded[abs] {
		return nil
	}
	s.loaded[abs] = true
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(path); err != nil {
		return fmt.Errorf("read schema %s: %w", path, err)
	}
	if doc.Root() == nil {
		return fmt.Errorf("schema %s: empty document", path)
	}
	return s.addSchema(doc.Root(), path, chameleonNS)
}

func (s *schemaSet) addSchema(sc *etree.Element, base, chameleonNS string) error {
	tns := sc.SelectAttrValue("targetNamespace", chameleonNS)
	if tns == "" && chameleonNS != "" {
		sc.CreateAttr("targetNamespace", chameleonNS)
	}
	for _, ch := range sc.ChildElements() {
		if ch.NamespaceURI() != xsdNS {
			continue
		}
		switch ch.Tag {
		case "include", "import", "redefine":
			loc := ch.SelectAttrValue("schemaLocation", "")
			if loc == "" {
				continue
			}
			ns := ""
			if ch.Tag != "import" {
				ns = tns
			}
			if err := s.loadSchemaFile(filepath.Join(filepath.Dir(base), loc), ns); err != nil {
				return err
			}
		case "element":
			q := qname{tns, ch.SelectAttrValue("name", "")}
			s.Elements[q] = ch
			if ct := firstChildNS(ch, "complexType"); ct != nil {
				s.ElementTypes[q] = &complexType{Name: q, node: ct}
			}
		case "complexType":
			q := qname{tns, ch.SelectAttrValue("name", "")}
			s.ComplexTypes[q] = &complexType{Name: q, node: ch}
		case "simpleType":
			s.SimpleTypes[qname{tns, ch.SelectAttrValue("name", "")}] = ch
		}
	}
	return nil
}

// resolve computes the particles of every complex type. It runs after all
// schemas are loaded so that references across files resolve.
func (s *schemaSet) resolve() error {
	for _, m := range []map[qname]*complexType{s.ComplexTypes, s.ElementTypes} {
		for _, ct := range m {
			ps, err := s.particles(ct.node)
			if err != nil {
				return fmt.Errorf("type %s: %w", ct.Name.Local, err)
			}
			ct.Particles = ps
			if cc := firstChildNS(ct.node, "complexContent"); cc != nil {
				if ext := firstChildNS(cc, "extension"); ext != nil {
					ct.Base = resolveQName(ext, ext.SelectAttrValue("base", ""))
				}
			}
		}
	}
	return nil
}

func (s *schemaSet) particles(node *etree.Element) ([]particle, error) {
	var out []particle
	for _, ch := range node.ChildElements() {
		if ch.NamespaceURI() != xsdNS {
			continue
		}
		switch ch.Tag {
		case "sequence", "choice", "all", "complexContent", "extension", "restriction":
			ps, err := s.particles(ch)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
		case "element":
			p, err := s.particle(ch)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func (s *schemaSet) particle(el *etree.Element) (particle, error) {
	var p particle
	var err error
	if p.MinOccurs, err = occurs(el.SelectAttrValue("minOccurs", "1")); err != nil {
		return p, err
	}
	if p.MaxOccurs, err = occurs(el.SelectAttrValue("maxOccurs", "1")); err != nil {
		return p, err
	}
	decl := el
	if ref := el.SelectAttrValue("ref", ""); ref != "" {
		q := resolveQName(el, ref)
		g, ok := s.Elements[q]
		if !ok {
			return p, fmt.Errorf("element ref %s: not declared", ref)
		}
		decl = g
		p.Name, p.Space = q.Local, q.Space
	} else {
		p.Name = el.SelectAttrValue("name", "")
		sc := schemaOf(el)
		form := el.SelectAttrValue("form", sc.SelectAttrValue("elementFormDefault", "unqualified"))
		if form == "qualified" {
			p.Space = sc.SelectAttrValue("targetNamespace", "")
		}
	}
	if t := decl.SelectAttrValue("type", ""); t != "" {
		p.Type = resolveQName(decl, t)
	} else if st := firstChildNS(decl, "simpleType"); st != nil {
		if r := firstChildNS(st, "restriction"); r != nil {
			p.InlineSimpleBase = resolveQName(r, r.SelectAttrValue("base", ""))
		}
	}
	return p, nil
}

// hasUnqualified reports whether ct or one of its extension bases has an
// unqualified child element.
func (s *schemaSet) hasUnqualified(ct *complexType) bool {
	for i := 0; ct != nil && i < 32; i++ {
		for _, p := range ct.Particles {
			if p.Space == "" {
				return true
			}
		}
		ct = s.ComplexTypes[ct.Base]
	}
	return false
}

// isExtensionBase reports whether some complex type extends t.
func (s *schemaSet) isExtensionBase(t qname) bool {
	for _, m := range []map[qname]*complexType{s.ComplexTypes, s.ElementTypes} {
		for _, ct := range m {
			if ct.Base == t {
				return true
			}
		}
	}
	return false
}

// isBase64 reports whether the type is xs:base64Binary or a simple type derived from it.
func (s *schemaSet) isBase64(t qname) bool {
	for i := 0; i < 32; i++ {
		if t == (qname{xsdNS, "base64Binary"}) {
			return true
		}
		st, ok := s.SimpleTypes[t]
		if !ok {
			return false
		}
		r := firstChildNS(st, "restriction")
		if r == nil {
			return false
		}
		t = resolveQName(r, r.SelectAttrValue("base", ""))
	}
	return false
}

func occurs(v string) (int, error) {
	if v == "unbounded" {
		return -1, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad occurrence bound %q", v)
	}
	return n, nil
}

func childrenNS(e *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	for _, ch := range e.ChildElements() {
		if ch.Tag == tag {
			out = append(out, ch)
		}
	}
	return out
}

func firstChildNS(e *etree.Element, tag string) *etree.Element {
	for _, ch := range e.ChildElements() {
		if ch.Tag == tag && ch.NamespaceURI() == xsdNS {
			return ch
		}
	}
	return nil
}

func schemaOf(e *etree.Element) *etree.Element {
	for p := e; p != nil; p = p.Parent() {
		if p.Tag == "schema" && p.NamespaceURI() == xsdNS {
			return p
		}
	}
	return e
}

// resolveQName resolves a prefixed QName value against the namespace
// declarations in scope at e.
func resolveQName(e *etree.Element, v string) qname {
	prefix, local := "", v
	if i := strings.IndexByte(v, ':'); i >= 0 {
		prefix, local = v[:i], v[i+1:]
	}
	for p := e; p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (prefix != "" && a.Space == "xmlns" && a.Key == prefix) {
				return qname{a.Value, local}
			}
		}
	}
	if prefix == "" {
		// No default namespace: XSD 1.0 resolves unprefixed QNames to no namespace.
		return qname{"", local}
	}
	return qname{"urn:unresolved:" + prefix, local}
}

func localPart(v string) string {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		return v[i+1:]
	}
	return v
}
