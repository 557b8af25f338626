package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// goTypeName reproduces gowsdl's naming of a type generated for an XSD name.
func goTypeName(n string) string {
	n = strings.Map(func(r rune) rune {
		if r == '.' {
			return '_'
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			return r
		}
		return -1
	}, n)
	r := []rune(n)
	if len(r) == 0 {
		return n
	}
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// fixer repairs one gowsdl-generated file using the schemas it came from.
type fixer struct {
	s       *schemaSet
	header  string
	fset    *token.FileSet
	src     []byte
	edits   []edit
	byGo    map[string]*complexType
	wrapper map[string]qname // Go type -> element it is the wrapper of (tagged XMLName)
	// conflict lists Go types whose XMLName had to be untagged because the
	// type is used under more than one element name.
	conflict map[string]bool
	// unqualified lists Go types that have unqualified child elements.
	unqualified map[string]bool
}

// fixSource applies every repair to src and returns gofmt'ed source.
// header becomes the first line of the file.
func fixSource(src []byte, s *schemaSet, header string) ([]byte, error) {
	if err := s.resolve(); err != nil {
		return nil, err
	}
	f := &fixer{s: s, header: header, fset: token.NewFileSet(), src: src,
		byGo: map[string]*complexType{}, wrapper: map[string]qname{},
		conflict: map[string]bool{}, unqualified: map[string]bool{}}
	for _, ct := range sortedTypes(s.ComplexTypes) {
		f.byGo[goTypeName(ct.Name.Local)] = ct
	}
	for _, ct := range sortedTypes(s.ElementTypes) {
		f.byGo[goTypeName(ct.Name.Local)] = ct
	}
	file, err := parser.ParseFile(f.fset, "gowsdl.go", src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse gowsdl output: %w", err)
	}
	f.fixHeader(file)
	if file.Doc == nil {
		f.insert(file.Package, fmt.Sprintf("// Package %s is generated from a service contract in wsdl/ (see wsdl/PROVENANCE.md)\n// by gowsdl v0.5.0 and the repairs of cmd/gowsdlfix. Keep it behind the adapter.\n", file.Name.Name))
	}
	for _, d := range file.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			f.fixGenDecl(d)
		case *ast.FuncDecl:
			f.fixFunc(d)
		}
	}
	out := f.apply()
	out = append(out, f.extra()...)
	formatted, err := format.Source(out)
	if err != nil {
		return nil, fmt.Errorf("format repaired source: %w\n%s", err, out)
	}
	return formatted, nil
}

func sortedTypes(m map[qname]*complexType) []*complexType {
	out := make([]*complexType, 0, len(m))
	for _, ct := range m {
		out = append(out, ct)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name.Local != out[j].Name.Local {
			return out[i].Name.Local < out[j].Name.Local
		}
		return out[i].Name.Space < out[j].Name.Space
	})
	return out
}

func (f *fixer) off(p token.Pos) int { return f.fset.Position(p).Offset }

func (f *fixer) replace(from, to token.Pos, text string) {
	f.edits = append(f.edits, edit{f.off(from), f.off(to), text})
}

func (f *fixer) insert(at token.Pos, text string) {
	o := f.off(at)
	f.edits = append(f.edits, edit{o, o, text})
}

func (f *fixer) apply() []byte {
	sort.SliceStable(f.edits, func(i, j int) bool { return f.edits[i].start > f.edits[j].start })
	out := append([]byte(nil), f.src...)
	for _, e := range f.edits {
		out = append(out[:e.start], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}

// fixHeader replaces gowsdl's generated-code marker with ours (still matching
// the standard `^// Code generated .* DO NOT EDIT\.$`).
func (f *fixer) fixHeader(file *ast.File) {
	for _, cg := range file.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "// Code generated") {
				f.replace(c.Pos(), c.End(), f.header)
				return
			}
		}
	}
}

func (f *fixer) fixGenDecl(d *ast.GenDecl) {
	if d.Tok != token.TYPE {
		return
	}
	for _, spec := range d.Specs {
		ts := spec.(*ast.TypeSpec)
		if d.Doc == nil && ast.IsExported(ts.Name.Name) && !d.Lparen.IsValid() {
			f.insert(d.Pos(), fmt.Sprintf("// %s is generated from the service contract (see wsdl/PROVENANCE.md).\n", ts.Name.Name))
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			continue
		}
		ct := f.byGo[ts.Name.Name]
		if ct == nil {
			continue
		}
		f.fixStruct(ts.Name.Name, st, ct)
		// A type embedded as an extension base must not get a MarshalXML: it
		// would be promoted to the derived type and marshal only the base's
		// fields. The derived type's own MarshalXML covers the base's children.
		if f.s.hasUnqualified(ct) && !f.s.isExtensionBase(ct.Name) {
			f.unqualified[ts.Name.Name] = true
		}
	}
}

// elementNamesOf returns every element name (global or local) declared with type t.
func (f *fixer) elementNamesOf(t qname) []qname {
	seen := map[qname]bool{}
	for q, el := range f.s.Elements {
		if v := el.SelectAttrValue("type", ""); v != "" && resolveQName(el, v) == t {
			seen[q] = true
		}
	}
	for _, m := range []map[qname]*complexType{f.s.ComplexTypes, f.s.ElementTypes} {
		for _, ct := range m {
			for _, p := range ct.Particles {
				if p.Type == t {
					seen[qname{p.Space, p.Name}] = true
				}
			}
		}
	}
	out := make([]qname, 0, len(seen))
	for q := range seen {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Local+" "+out[i].Space < out[j].Local+" "+out[j].Space })
	return out
}

func (f *fixer) fixStruct(goName string, st *ast.StructType, ct *complexType) {
	byName := map[string]particle{}
	for _, p := range ct.Particles {
		byName[p.Name] = p
	}
	for _, fld := range st.Fields.List {
		if fld.Tag == nil || len(fld.Names) != 1 {
			continue
		}
		tagVal, err := strconv.Unquote(fld.Tag.Value)
		if err != nil {
			continue
		}
		tag := reflect.StructTag(tagVal)
		xmlTag := tag.Get("xml")
		name := fld.Names[0].Name
		if name == "XMLName" {
			f.fixXMLName(goName, fld, ct)
			continue
		}
		parts := strings.Split(xmlTag, ",")
		local := parts[0]
		if i := strings.LastIndexByte(local, ' '); i >= 0 {
			local = local[i+1:]
		}
		if len(parts) > 1 && (parts[1] == "attr" || parts[1] == "chardata" || parts[1] == "innerxml" || parts[1] == "any") {
			continue
		}
		p, ok := byName[local]
		if !ok {
			continue
		}
		// Type: repeated elements become slices; base64 becomes Base64Binary;
		// named simple types are values (their zero value is "absent" only when optional).
		elem := strings.TrimPrefix(string(f.src[f.off(fld.Type.Pos()):f.off(fld.Type.End())]), "[]")
		switch {
		case f.s.isBase64(p.Type) || f.s.isBase64(p.InlineSimpleBase):
			elem = "Base64Binary"
		case f.s.SimpleTypes[p.Type] != nil:
			elem = strings.TrimPrefix(elem, "*")
		}
		if p.repeated() {
			elem = "[]" + elem
		}
		f.replace(fld.Type.Pos(), fld.Type.End(), elem)
		// Tag: explicit namespace (or none when unqualified), omitempty only when optional.
		x := local
		if p.Space != "" {
			x = p.Space + " " + local
		}
		if p.MinOccurs == 0 {
			x += ",omitempty"
		}
		newTag := fmt.Sprintf("xml:%q", x)
		if j := tag.Get("json"); j != "" {
			newTag += fmt.Sprintf(" json:%q", j)
		}
		f.replace(fld.Tag.Pos(), fld.Tag.End(), "`"+newTag+"`")
	}
}

// fixXMLName makes the XMLName of a wrapper explicit and correct, and removes
// the tag of a named type used under several element names (encoding/xml
// refuses a field whose tag name differs from the type's XMLName).
func (f *fixer) fixXMLName(goName string, fld *ast.Field, ct *complexType) {
	if _, isElem := f.s.ElementTypes[ct.Name]; isElem && f.s.ComplexTypes[ct.Name] == nil {
		f.wrapper[goName] = ct.Name
		f.replace(fld.Tag.Pos(), fld.Tag.End(), fmt.Sprintf("`xml:%q`", ct.Name.Space+" "+ct.Name.Local))
		return
	}
	names := f.elementNamesOf(ct.Name)
	if len(names) == 1 {
		f.wrapper[goName] = names[0]
		f.replace(fld.Tag.Pos(), fld.Tag.End(), fmt.Sprintf("`xml:%q`", names[0].Space+" "+names[0].Local))
		return
	}
	f.conflict[goName] = true
	f.replace(fld.Tag.Pos(), fld.End(), "")
}

// fixFunc quotes soapAction values and names the request element of
// operations whose request type lost its XMLName tag.
func (f *fixer) fixFunc(fd *ast.FuncDecl) {
	if fd.Recv == nil {
		if fd.Doc == nil && ast.IsExported(fd.Name.Name) {
			f.insert(fd.Pos(), fmt.Sprintf("// %s is generated from the service contract (see wsdl/PROVENANCE.md).\n", fd.Name.Name))
		}
		return
	}
	if fd.Body == nil {
		return
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "CallContext" || len(call.Args) != 4 {
			return true
		}
		if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			action, err := strconv.Unquote(lit.Value)
			if err == nil {
				if action == "''" {
					action = ""
				}
				// SOAP 1.1 §6.1.1: the SOAPAction header value is a quoted URI.
				f.replace(lit.Pos(), lit.End(), strconv.Quote(`"`+action+`"`))
			}
		}
		if id, ok := call.Args[2].(*ast.Ident); ok && id.Name == "request" {
			f.fixConflictRequest(fd, call.Args[2])
		}
		return true
	})
}

func (f *fixer) fixConflictRequest(fd *ast.FuncDecl, arg ast.Expr) {
	if len(fd.Type.Params.List) < 2 {
		return
	}
	star, ok := fd.Type.Params.List[1].Type.(*ast.StarExpr)
	if !ok {
		return
	}
	id, ok := star.X.(*ast.Ident)
	if !ok || !f.conflict[id.Name] {
		return
	}
	op := strings.TrimSuffix(fd.Name.Name, "Context")
	var el qname
	found := false
	for name, msg := range f.s.OpInput {
		if goTypeName(name) == op {
			el, found = f.s.Messages[msg]
		}
	}
	if !found {
		return
	}
	f.insert(fd.Body.Lbrace+1, fmt.Sprintf("\n// %s is used under several element names: name the request element here.\nvar req %s\nif request != nil {\nreq = *request\n}\nreq.XMLName = xml.Name{Space: %q, Local: %q}\n", id.Name, id.Name, el.Space, el.Local))
	f.replace(arg.Pos(), arg.End(), "&req")
}

// extra returns the methods appended to the file: MarshalXML for types with
// unqualified children, which must not be written under a default namespace.
func (f *fixer) extra() []byte {
	var b bytes.Buffer
	names := make([]string, 0, len(f.unqualified))
	for n := range f.unqualified {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "\n// MarshalXML writes %s with a prefixed element name, so that its unqualified\n// child elements are in no namespace instead of inheriting a default one.\n", n)
		fmt.Fprintf(&b, "func (v %s) MarshalXML(e *xml.Encoder, start xml.StartElement) error {\n\ttype plain %s\n", n, n)
		if el, ok := f.wrapper[n]; ok {
			fmt.Fprintf(&b, "\tstart.Name = xml.Name{Space: %q, Local: %q}\n", el.Space, el.Local)
		} else if f.conflict[n] {
			b.WriteString("\tif v.XMLName.Local != \"\" {\n\t\tstart.Name = v.XMLName\n\t}\n")
		}
		b.WriteString("\tif start.Name.Space != \"\" {\n\t\tstart.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: \"xmlns:ns0\"}, Value: start.Name.Space})\n\t\tstart.Name = xml.Name{Local: \"ns0:\" + start.Name.Local}\n\t}\n")
		b.WriteString("\treturn e.EncodeElement(plain(v), start)\n}\n")
	}
	return b.Bytes()
}
