package soapdec

import (
	"encoding"
	"encoding/xml"
	"reflect"
	"strings"
	"sync"

	"github.com/hooklift/gowsdl/soap"
)

// A plan says how to fill one Go type from an element, computed once per type from the
// `xml` struct tags by encoding/xml's rules (typeinfo.go's structFieldInfo, read.go's
// unmarshal). What it cannot represent is left to encoding/xml itself (kindFallback).
type plan struct {
	typ  reflect.Type
	kind planKind
	elem *plan // kindPtr, kindSlice

	// kindStruct
	xmlname  *field // the XMLName field, if it names the element
	fields   []field
	attrs    []field // ",attr" fields
	chardata *field  // the first ",chardata" field
	unique   bool    // local names are distinct: at most one field can match an element

	textPtr bool // kindText: UnmarshalText has a pointer receiver
}

type planKind uint8

const (
	kindFallback planKind = iota // encoding/xml decodes the element (its raw bytes)
	kindSkip                     // an interface: encoding/xml skips the element when nil
	kindPtr
	kindSlice
	kindStruct
	kindName // xml.Name: the element's name
	kindString
	kindBool
	kindInt
	kindUint
	kindFloat
	kindBytes
	kindText     // encoding.TextUnmarshaler
	kindDateTime // soap.XSDDateTime
	kindDate     // soap.XSDDate
)

type field struct {
	index     int
	ns        string // "" matches any namespace
	name      string
	plan      *plan
	isXMLName bool // kindStruct's xmlname field holds an xml.Name
}

var (
	unmarshalerType     = reflect.TypeFor[xml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	unmarshalerAttrType = reflect.TypeFor[xml.UnmarshalerAttr]()
	nameType            = reflect.TypeFor[xml.Name]()
	dateTimeType        = reflect.TypeFor[soap.XSDDateTime]()
	dateType            = reflect.TypeFor[soap.XSDDate]()
)

var (
	plansMu sync.Mutex
	plans   = map[reflect.Type]*plan{}
)

// planFor returns the plan of t, building it (and those of the types it holds) once.
func planFor(t reflect.Type) *plan {
	plansMu.Lock()
	defer plansMu.Unlock()
	return build(t)
}

func build(t reflect.Type) *plan {
	if p, ok := plans[t]; ok {
		return p
	}
	p := &plan{typ: t}
	plans[t] = p // before the fields: recursive types end here
	switch {
	case t == dateTimeType:
		// Its UnmarshalXML reads the text as a string and parses it (gowsdl's
		// unmarshalTime): soaptime.go does the same and builds it with CreateXsdDateTime.
		p.kind = kindDateTime
		return p
	case t == dateType:
		p.kind = kindDate
		return p
	case t.Kind() == reflect.Pointer:
		// encoding/xml dereferences one pointer, then looks at the element type.
		e := t.Elem()
		if e.Kind() == reflect.Pointer || e.Kind() == reflect.Interface {
			p.kind = kindFallback
			return p
		}
		p.kind, p.elem = kindPtr, build(e)
		return p
	case t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType):
		p.kind = kindFallback
		return p
	case t.Implements(textUnmarshalerType):
		p.kind = kindText
		return p
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		p.kind, p.textPtr = kindText, true
		return p
	}
	switch t.Kind() {
	case reflect.Interface:
		p.kind = kindSkip
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			p.kind = kindBytes
		} else {
			p.kind, p.elem = kindSlice, build(t.Elem())
		}
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		p.kind, _ = scalarKind(t)
	case reflect.Struct:
		if t == nameType {
			p.kind = kindName
		} else if !buildStruct(p) {
			p.kind, p.fields, p.xmlname = kindFallback, nil, nil
		}
	default:
		p.kind = kindFallback // encoding/xml refuses it ("unknown type")
	}
	return p
}

// buildStruct fills a struct's plan; false sends the type to encoding/xml (embedded
// fields, inner XML, comments, ",any", a>b paths, attributes or character data of types the
// plan does not read, conflicting or invalid tags).
func buildStruct(p *plan) bool {
	t := p.typ
	p.kind = kindStruct
	seen := map[string]bool{}
	p.unique = true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("xml")
		if f.Anonymous {
			return false
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		ns, name, mode, ok := fieldTag(t, f, tag)
		if !ok {
			return false
		}
		switch {
		case f.Name == "XMLName":
			fp := build(f.Type)
			p.xmlname = &field{index: i, ns: ns, name: name, plan: fp, isXMLName: f.Type == nameType}
			continue
		case mode == modeAttr:
			ap := attrPlan(f.Type)
			if ap == nil {
				return false
			}
			if seen["attr "+ns+" "+name] {
				return false
			}
			seen["attr "+ns+" "+name] = true
			p.attrs = append(p.attrs, field{index: i, ns: ns, name: name, plan: ap})
			continue
		case mode == modeCharData:
			if p.chardata != nil {
				continue // encoding/xml fills the first one only
			}
			cp := attrPlan(f.Type) // the same kinds as an attribute: scalars and TextUnmarshalers
			if cp == nil || f.Type.Kind() == reflect.Pointer {
				return false
			}
			p.chardata = &field{index: i, plan: cp}
			continue
		}
		key := ns + " " + name
		if seen[key] {
			return false // encoding/xml reports the conflict
		}
		seen[key] = true
		for _, g := range p.fields {
			if g.name == name {
				p.unique = false
			}
		}
		p.fields = append(p.fields, field{index: i, ns: ns, name: name, plan: build(f.Type)})
	}
	return true
}

// attrPlan is the plan of an attribute (or character data) field: what encoding/xml's
// unmarshalAttr and copyValue do for a string, bool, number, []byte or TextUnmarshaler,
// through one pointer. nil: anything else (an UnmarshalerAttr, a slice, xml.Attr…).
func attrPlan(t reflect.Type) *plan {
	ptr := t
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	p := &plan{typ: t}
	switch {
	case t.Implements(unmarshalerAttrType) || reflect.PointerTo(t).Implements(unmarshalerAttrType):
		return nil
	case t.Implements(textUnmarshalerType):
		p.kind = kindText
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		p.kind, p.textPtr = kindText, true
	default:
		if k, ok := scalarKind(t); ok {
			p.kind = k
			break
		}
		switch t.Kind() {
		case reflect.Slice:
			if t.Elem().Kind() != reflect.Uint8 {
				return nil
			}
			p.kind = kindBytes
		default:
			return nil
		}
	}
	if ptr != t {
		return &plan{typ: ptr, kind: kindPtr, elem: p}
	}
	return p
}

// scalarKind is the plan kind of a string, bool or number type (one place for both the
// element and the attribute plans); false for any other kind.
func scalarKind(t reflect.Type) (planKind, bool) {
	switch t.Kind() {
	case reflect.String:
		return kindString, true
	case reflect.Bool:
		return kindBool, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return kindUint, true
	case reflect.Float32, reflect.Float64:
		return kindFloat, true
	}
	return 0, false
}

type tagMode uint8

const (
	modeElement tagMode = iota
	modeAttr
	modeCharData
)

// fieldTag reads a field's tag as structFieldInfo does; ok is false for what the plan does
// not read (inner XML, comments, any, cdata, a>b paths) and for tags encoding/xml refuses.
func fieldTag(t reflect.Type, f reflect.StructField, tag string) (ns, name string, mode tagMode, ok bool) {
	if n, rest, found := strings.Cut(tag, " "); found {
		ns, tag = n, rest
	}
	tokens := strings.Split(tag, ",")
	tag = tokens[0]
	attr, chardata, omitempty, other := false, false, false, 0
	for _, flag := range tokens[1:] {
		switch flag {
		case "omitempty":
			omitempty = true
		case "attr":
			attr = true
		case "chardata":
			chardata = true
		case "cdata", "innerxml", "comment", "any":
			other++
		}
	}
	switch {
	case other > 0 || attr && chardata:
		return "", "", 0, false
	case attr:
		mode = modeAttr
	case chardata:
		mode = modeCharData
		if tag != "" || omitempty || f.Name == "XMLName" {
			return "", "", 0, false
		}
	}
	if mode == modeAttr && f.Name == "XMLName" {
		return "", "", 0, false
	}
	if ns != "" && tag == "" {
		return "", "", 0, false // encoding/xml: namespace without name
	}
	if f.Name == "XMLName" {
		return ns, tag, mode, true
	}
	if tag == "" {
		if xn := lookupXMLName(f.Type); xn != nil {
			return xn.ns, xn.name, mode, true
		}
		return ns, f.Name, mode, true
	}
	if strings.Contains(tag, ">") {
		return "", "", 0, false
	}
	if xn := lookupXMLName(f.Type); mode == modeElement && xn != nil && xn.name != tag {
		return "", "", 0, false // encoding/xml reports the conflict
	}
	return ns, tag, mode, true
}

type xmlName struct{ ns, name string }

// lookupXMLName is encoding/xml's: the XMLName tag of a struct type (through pointers).
func lookupXMLName(t reflect.Type) *xmlName {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	f, ok := t.FieldByName("XMLName")
	if !ok || len(f.Index) != 1 {
		return nil
	}
	ns, name, _, ok := fieldTag(t, f, f.Tag.Get("xml"))
	if !ok || name == "" {
		return nil
	}
	return &xmlName{ns, name}
}
