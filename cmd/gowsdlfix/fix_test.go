package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	gen "github.com/hooklift/gowsdl"
)

// qualifiedWSDL exhibits, in a qualified schema, every defect the fixer repairs:
// base64Binary, required fields, maxOccurs="5", a simple type, a complex type
// used under two element names (thing / item), and an empty soapAction.
const qualifiedWSDL = `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:q" targetNamespace="urn:q">
  <wsdl:types>
    <xs:schema targetNamespace="urn:q" elementFormDefault="qualified">
      <xs:simpleType name="Code"><xs:restriction base="xs:string"><xs:pattern value="C[1-8]"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="Blob"><xs:restriction base="xs:base64Binary"/></xs:simpleType>
      <xs:complexType name="Item"><xs:sequence>
        <xs:element name="label" type="xs:string"/>
      </xs:sequence></xs:complexType>
      <xs:element name="thing" type="tns:Item"/>
      <xs:element name="op"><xs:complexType><xs:sequence>
        <xs:element name="blob" type="xs:base64Binary"/>
        <xs:element name="derivedBlob" type="tns:Blob" minOccurs="0"/>
        <xs:element name="opt" type="xs:string" minOccurs="0"/>
        <xs:element name="flag" type="xs:boolean"/>
        <xs:element name="count" type="xs:int"/>
        <xs:element name="five" type="xs:string" minOccurs="0" maxOccurs="5"/>
        <xs:element name="many" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="code" type="tns:Code"/>
        <xs:element name="item" type="tns:Item"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="opResponse"><xs:complexType><xs:sequence>
        <xs:element name="ok" type="xs:boolean"/>
      </xs:sequence></xs:complexType></xs:element>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="op"><wsdl:part name="parameters" element="tns:op"/></wsdl:message>
  <wsdl:message name="opResponse"><wsdl:part name="parameters" element="tns:opResponse"/></wsdl:message>
  <wsdl:message name="getThing"><wsdl:part name="parameters" element="tns:thing"/></wsdl:message>
  <wsdl:portType name="P">
    <wsdl:operation name="op"><wsdl:input message="tns:op"/><wsdl:output message="tns:opResponse"/></wsdl:operation>
    <wsdl:operation name="getThing"><wsdl:input message="tns:getThing"/><wsdl:output message="tns:opResponse"/></wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="B" type="tns:P">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="op"><soap:operation soapAction="urn:q/op"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>
    <wsdl:operation name="getThing"><soap:operation soapAction=""/>
      <wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>
  </wsdl:binding>
</wsdl:definitions>
`

// unqualifiedWSDL is the JAX-WS default: elementFormDefault unqualified, with
// the child type in an imported qualified schema, as the Piemonte models do.
const unqualifiedWSDL = `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:u" targetNamespace="urn:u">
  <wsdl:types>
    <xs:schema targetNamespace="urn:u" xmlns:tns="urn:u">
      <xs:complexType name="Inner"><xs:sequence>
        <xs:element name="c" type="xs:string"/>
      </xs:sequence></xs:complexType>
      <xs:element name="uop"><xs:complexType><xs:sequence>
        <xs:element name="a" type="xs:string"/>
        <xs:element name="b" type="tns:Inner"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="uopResponse"><xs:complexType><xs:sequence>
        <xs:element name="r" type="xs:string" minOccurs="0"/>
      </xs:sequence></xs:complexType></xs:element>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="uop"><wsdl:part name="parameters" element="tns:uop"/></wsdl:message>
  <wsdl:message name="uopResponse"><wsdl:part name="parameters" element="tns:uopResponse"/></wsdl:message>
  <wsdl:portType name="U">
    <wsdl:operation name="uop"><wsdl:input message="tns:uop"/><wsdl:output message="tns:uopResponse"/></wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="UB" type="tns:U">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="uop"><soap:operation soapAction="urn:u/uop"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>
  </wsdl:binding>
</wsdl:definitions>
`

// mixedWSDL is shaped like the Piemonte models (read, not copied): an
// unqualified schema importing a qualified one, a ref to a global element of
// the other namespace, a form="qualified" override, a complexContent extension
// and a bounded maxOccurs.
const mixedWSDL = `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:m" xmlns:d="urn:d" targetNamespace="urn:m">
  <wsdl:types>
    <xs:schema targetNamespace="urn:m" elementFormDefault="unqualified" xmlns:d="urn:d">
      <xs:import namespace="urn:d"/>
      <xs:complexType name="reqType"><xs:sequence>
        <xs:element ref="d:paziente"/>
        <xs:element name="flagQ" type="xs:boolean" form="qualified"/>
        <xs:element name="unq" type="xs:string"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="baseResp"><xs:sequence>
        <xs:element name="esito" type="xs:string" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="respType"><xs:complexContent><xs:extension base="tns:baseResp"><xs:sequence>
        <xs:element name="extra" type="xs:string" minOccurs="0" maxOccurs="3"/>
      </xs:sequence></xs:extension></xs:complexContent></xs:complexType>
      <xs:element name="mop" type="tns:reqType"/>
      <xs:element name="mopResponse" type="tns:respType"/>
    </xs:schema>
    <xs:schema targetNamespace="urn:d" elementFormDefault="qualified" xmlns:d="urn:d">
      <xs:element name="paziente" type="d:paziente"/>
      <xs:complexType name="paziente"><xs:sequence>
        <xs:element name="codiceFiscale" type="xs:string"/>
      </xs:sequence></xs:complexType>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="mop"><wsdl:part name="parameters" element="tns:mop"/></wsdl:message>
  <wsdl:message name="mopResponse"><wsdl:part name="parameters" element="tns:mopResponse"/></wsdl:message>
  <wsdl:portType name="M">
    <wsdl:operation name="mop"><wsdl:input message="tns:mop"/><wsdl:output message="tns:mopResponse"/></wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="MB" type="tns:M">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="mop"><soap:operation soapAction="urn:m/mop"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>
  </wsdl:binding>
</wsdl:definitions>
`

// gowsdlOutput runs the real gowsdl v0.5.0 (as a library, in process) on wsdl
// and returns its output, assembled and gofmt'ed as its command does.
func gowsdlPackage(t *testing.T, wsdl, pkg string) (raw []byte, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "svc.wsdl")
	if err := os.WriteFile(path, []byte(wsdl), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := gen.NewGoWSDL(path, pkg, false, true)
	if err != nil {
		t.Fatal(err)
	}
	code, err := g.Start()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(code["header"])
	b.Write(code["types"])
	b.Write(code["operations"])
	out, err := format.Source(b.Bytes())
	if err != nil {
		t.Fatalf("gowsdl output does not format: %v", err)
	}
	return out, path
}

// repaired runs gowsdl then the fixer on wsdl.
func repaired(t *testing.T, wsdl string) (raw, fixed []byte) {
	return repairedPackage(t, wsdl, "svc")
}

func repairedPackage(t *testing.T, wsdl, pkg string) (raw, fixed []byte) {
	t.Helper()
	raw, path := gowsdlPackage(t, wsdl, pkg)
	s, err := loadWSDL(path)
	if err != nil {
		t.Fatal(err)
	}
	fixed, err = fixSource(raw, s, "// Code generated by test. DO NOT EDIT.")
	if err != nil {
		t.Fatal(err)
	}
	return raw, fixed
}

// fieldOf returns the type and xml tag of field fieldName in struct typeName.
func fieldOf(t *testing.T, src []byte, typeName, fieldName string) (typ, xmlTag string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, sp := range gd.Specs {
			ts, ok := sp.(*ast.TypeSpec)
			if !ok || ts.Name.Name != typeName {
				continue
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				t.Fatalf("%s is not a struct", typeName)
			}
			for _, fl := range st.Fields.List {
				if len(fl.Names) == 1 && fl.Names[0].Name == fieldName {
					typ = string(src[fset.Position(fl.Type.Pos()).Offset:fset.Position(fl.Type.End()).Offset])
					if fl.Tag != nil {
						v, _ := strconv.Unquote(fl.Tag.Value)
						xmlTag = reflect.StructTag(v).Get("xml")
					}
					return typ, xmlTag
				}
			}
			return "", ""
		}
	}
	t.Fatalf("type %s not found in\n%s", typeName, src)
	return "", ""
}

// TestRepairs checks each repair on gowsdl's real output for a small schema
// exhibiting the defect: the "before" column is what gowsdl v0.5.0 emits (so
// the test notices if the defect disappears upstream), "after" what we emit.
func TestRepairs(t *testing.T) {
	raw, fixed := repaired(t, qualifiedWSDL)
	tests := []struct {
		name                  string
		typ, field            string
		beforeType, beforeTag string
		afterType, afterTag   string
	}{
		{"base64Binary becomes Base64Binary", "Op", "Blob", "[]byte", "blob,omitempty", "Base64Binary", "urn:q blob"},
		{"simple type derived from base64Binary", "Op", "DerivedBlob", "*Blob", "derivedBlob,omitempty", "Base64Binary", "urn:q derivedBlob,omitempty"},
		{"optional keeps omitempty", "Op", "Opt", "string", "opt,omitempty", "string", "urn:q opt,omitempty"},
		{"required bool loses omitempty", "Op", "Flag", "bool", "flag,omitempty", "bool", "urn:q flag"},
		{"required int loses omitempty", "Op", "Count", "int32", "count,omitempty", "int32", "urn:q count"},
		{"maxOccurs=5 becomes a slice", "Op", "Five", "string", "five,omitempty", "[]string", "urn:q five,omitempty"},
		{"unbounded stays a slice", "Op", "Many", "[]string", "many,omitempty", "[]string", "urn:q many,omitempty"},
		{"named simple type is a value", "Op", "Code", "*Code", "code,omitempty", "Code", "urn:q code"},
		{"complex child keeps its pointer, gains its namespace", "Op", "Item", "*Item", "item,omitempty", "*Item", "urn:q item"},
		{"nested element gains its namespace", "Item", "Label", "string", "label,omitempty", "string", "urn:q label"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bt, btag := fieldOf(t, raw, tc.typ, tc.field)
			if bt != tc.beforeType || btag != tc.beforeTag {
				t.Errorf("gowsdl emitted %s `%s`, test expected the defect %s `%s`", bt, btag, tc.beforeType, tc.beforeTag)
			}
			at, atag := fieldOf(t, fixed, tc.typ, tc.field)
			if at != tc.afterType || atag != tc.afterTag {
				t.Errorf("repaired to %s `%s`, want %s `%s`", at, atag, tc.afterType, tc.afterTag)
			}
		})
	}
	t.Run("XMLName conflict: tag removed from Item", func(t *testing.T) {
		if _, tag := fieldOf(t, raw, "Item", "XMLName"); tag != "urn:q thing" {
			t.Errorf("gowsdl emitted XMLName tag %q, test expected the defect \"urn:q thing\"", tag)
		}
		typ, tag := fieldOf(t, fixed, "Item", "XMLName")
		if typ != "xml.Name" || tag != "" {
			t.Errorf("Item.XMLName = %s `%s`, want an untagged xml.Name", typ, tag)
		}
		if !bytes.Contains(fixed, []byte(`req.XMLName = xml.Name{Space: "urn:q", Local: "thing"}`)) {
			t.Errorf("getThing does not name its request element:\n%s", fixed)
		}
	})
	t.Run("wrapper XMLName explicit", func(t *testing.T) {
		if _, tag := fieldOf(t, fixed, "Op", "XMLName"); tag != "urn:q op" {
			t.Errorf("Op.XMLName tag %q", tag)
		}
	})
	t.Run("soapAction quoted", func(t *testing.T) {
		for _, c := range []struct{ before, after string }{
			{`CallContext(ctx, "urn:q/op",`, `CallContext(ctx, "\"urn:q/op\"",`},
			{`CallContext(ctx, "''",`, `CallContext(ctx, "\"\"",`},
		} {
			if !bytes.Contains(raw, []byte(c.before)) {
				t.Errorf("gowsdl output lacks the defect %s", c.before)
			}
			if !bytes.Contains(fixed, []byte(c.after)) {
				t.Errorf("repaired output lacks %s", c.after)
			}
		}
	})
	t.Run("header and doc comments", func(t *testing.T) {
		if !bytes.HasPrefix(fixed, []byte("// Code generated by test. DO NOT EDIT.\n")) {
			t.Errorf("header not replaced: %.80s", fixed)
		}
		if !bytes.Contains(fixed, []byte("// Op is generated from")) {
			t.Error("exported type without doc comment")
		}
	})
}

// TestUnqualified checks that unqualified children get no namespace in their
// tags and that their parent gets the prefixing MarshalXML.
func TestUnqualified(t *testing.T) {
	raw, fixed := repaired(t, unqualifiedWSDL)
	if _, tag := fieldOf(t, raw, "Uop", "A"); tag != "a,omitempty" {
		t.Errorf("gowsdl emitted %q for the unqualified child", tag)
	}
	for _, c := range []struct{ typ, field, want string }{
		{"Uop", "A", "a"}, {"Uop", "B", "b"}, {"Inner", "C", "c"}, {"UopResponse", "R", "r,omitempty"},
	} {
		if _, tag := fieldOf(t, fixed, c.typ, c.field); tag != c.want {
			t.Errorf("%s.%s tag = %q, want %q", c.typ, c.field, tag, c.want)
		}
	}
	for _, typ := range []string{"Uop", "Inner", "UopResponse"} {
		if !bytes.Contains(fixed, []byte(fmt.Sprintf("func (v %s) MarshalXML(", typ))) {
			t.Errorf("%s has unqualified children but no MarshalXML", typ)
		}
	}
}

// TestDeterministic: the same input gives byte-identical output.
func TestDeterministic(t *testing.T) {
	_, a := repaired(t, qualifiedWSDL)
	_, b := repaired(t, qualifiedWSDL)
	if !bytes.Equal(a, b) {
		t.Error("two runs differ")
	}
}

// TestMixedSchemas checks ref, form="qualified", imported namespaces and
// complexContent extension on a Piemonte-shaped WSDL.
func TestMixedSchemas(t *testing.T) {
	_, fixed := repairedPackage(t, mixedWSDL, "mx")
	for _, c := range []struct{ typ, field, wantType, wantTag string }{
		{"ReqType", "Paziente", "*Paziente", "urn:d paziente"},
		{"ReqType", "FlagQ", "bool", "urn:m flagQ"},
		{"ReqType", "Unq", "string", "unq"},
		{"Paziente", "CodiceFiscale", "string", "urn:d codiceFiscale"},
		{"BaseResp", "Esito", "string", "esito,omitempty"},
		{"RespType", "Extra", "[]string", "extra,omitempty"},
	} {
		typ, tag := fieldOf(t, fixed, c.typ, c.field)
		if typ != c.wantType || tag != c.wantTag {
			t.Errorf("%s.%s = %s `%s`, want %s `%s`", c.typ, c.field, typ, tag, c.wantType, c.wantTag)
		}
	}
	for typ, want := range map[string]bool{"ReqType": true, "RespType": true, "BaseResp": false, "Paziente": false} {
		has := bytes.Contains(fixed, []byte(fmt.Sprintf("func (v %s) MarshalXML(", typ)))
		if has != want {
			t.Errorf("%s has MarshalXML = %v, want %v (an extension base must not: it would be promoted)", typ, has, want)
		}
	}
}
