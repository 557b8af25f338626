package sim

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"testing"

	"github.com/fsepuglia/fsepuglia/generated/consenso"
	"github.com/fsepuglia/fsepuglia/generated/document"
)

// TestParseRequest: the operation element is found in the one parse, in every envelope
// shape seen, and what is not a SOAP 1.1 envelope with an operation is refused.
func TestParseRequest(t *testing.T) {
	const op = `<addDocument xmlns="` + NS + `"><a>1</a></addDocument>`
	tests := []struct {
		name, env, wantErr string
	}{
		{"soap prefix", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + op + `</soap:Body></soap:Envelope>`, ""},
		{"other prefix, header, white space", "<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\">\n <S:Header><x/></S:Header>\n <S:Body>\n" + op + "\n </S:Body>\n</S:Envelope>\n", ""},
		{"default namespace", `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body>` + op + `</Body></Envelope>`, ""},
		{"operation prefix declared on the Envelope", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:f="` + NS + `"><soap:Body><f:addDocument><f:a>1</f:a></f:addDocument></soap:Body></soap:Envelope>`, ""},
		{"trailing comment", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + op + `</soap:Body></soap:Envelope><!-- c -->`, ""},
		{"SOAP 1.2", `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>` + op + `</env:Body></env:Envelope>`, "not a SOAP 1.1 envelope"},
		{"empty body", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body></soap:Body></soap:Envelope>`, "empty soap:Body"},
		{"two bodies", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + op + `</soap:Body><soap:Body/></soap:Envelope>`, "envelope needs one Body and at most one Header"},
		{"not XML", `{"json": true}`, "not a SOAP 1.1 envelope"},
		{"broken XML", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a></b>`, "envelope is not well-formed XML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, el, err := parseRequest([]byte(tc.env))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || el.Tag != "addDocument" || el.NamespaceURI() != NS {
				t.Fatalf("got %v, %v", el, err)
			}
			var v struct {
				A int `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/ a"`
			}
			if err := decodeElement(el, &v, nil); err != nil || v.A != 1 {
				t.Fatalf("decoded %+v, %v", v, err)
			}
		})
	}
}

// TestDecodeFromTreeMatchesUnmarshal: decoding the operation element from the parsed tree
// gives what xml.Unmarshal gives from its bytes, for requests of every service (entities,
// base64, nested types, namespace declared on an ancestor), and a field of the wrong type is
// refused the same way.
func TestDecodeFromTreeMatchesUnmarshal(t *testing.T) {
	reqs := []any{
		&consenso.ComunicazioneConsensi{Paziente: &consenso.PazienteType{CodiceFiscale: patA}, IdInformativa: "160^1.0 & <x>",
			Consenso: []*consenso.ConsensoType{{Codice: "C2", Valore: true}, {Codice: "C3"}}},
		&document.AddDocument{Document: &document.DocumentType{Document: []byte("%PDF-1.7 \x00\xff binary"), DocumentName: "a.pdf", Status: "Approved"}},
		&document.SearchDocuments{PatientId: patA, Limit: 10, Offset: 2, TypeCode: []string{"11502-2", "57833-6"}},
	}
	for _, req := range reqs {
		env := marshalEnvelope(t, req)
		for _, variant := range [][]byte{env, bytes.Replace(env, []byte(`<soap:Envelope `), []byte(`<soap:Envelope xmlns:unused="urn:x" `), 1)} {
			_, el, err := parseRequest(variant)
			if err != nil {
				t.Fatal(err)
			}
			_, raw, err := bodyElement(variant)
			if err != nil {
				t.Fatal(err)
			}
			want := reflect.New(reflect.TypeOf(req).Elem()).Interface()
			got := reflect.New(reflect.TypeOf(req).Elem()).Interface()
			if err := xml.Unmarshal(raw, want); err != nil {
				t.Fatal(err)
			}
			if err := decodeElement(el, got, nil); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("tree decode %+v\nunmarshal %+v", got, want)
			}
			// What was sent came back (XMLName aside, which marshalling leaves empty).
			reflect.ValueOf(got).Elem().FieldByName("XMLName").Set(reflect.ValueOf(xml.Name{}))
			if !reflect.DeepEqual(got, req) {
				t.Fatalf("tree decode %+v\nsent %+v", got, req)
			}
		}
	}
	bad := bytes.Replace(marshalEnvelope(t, &document.SearchDocuments{PatientId: patA, Limit: 10}), []byte(">10</limit>"), []byte(">ten</limit>"), 1)
	if !bytes.Contains(bad, []byte(">ten</limit>")) {
		t.Fatal("limit not replaced")
	}
	_, el, err := parseRequest(bad)
	if err != nil {
		t.Fatal(err)
	}
	var v document.SearchDocuments
	if err := decodeElement(el, &v, nil); err == nil {
		t.Fatal("a non-numeric limit decoded")
	}
}

// TestReplayKeyBody: the body digest of the replay key tells different bodies apart and is
// the same for one body written with other prefixes.
func TestReplayKeyBody(t *testing.T) {
	digest := func(env string) []byte {
		_, el, err := parseRequest([]byte(env))
		if err != nil {
			t.Fatal(err)
		}
		return elementDigest(el, nil)
	}
	const soapNS = `xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"`
	a := digest(`<soap:Envelope ` + soapNS + `><soap:Body><x:op xmlns:x="` + NS + `"><x:v>1</x:v></x:op></soap:Body></soap:Envelope>`)
	b := digest(`<soap:Envelope ` + soapNS + `><soap:Body><op xmlns="` + NS + `"><v>1</v></op></soap:Body></soap:Envelope>`)
	c := digest(`<soap:Envelope ` + soapNS + `><soap:Body><op xmlns="` + NS + `"><v>2</v></op></soap:Body></soap:Envelope>`)
	d := digest(`<soap:Envelope ` + soapNS + `><soap:Body><op xmlns="urn:other"><v>1</v></op></soap:Body></soap:Envelope>`)
	if !bytes.Equal(a, b) {
		t.Error("one body under two prefixes: different digests")
	}
	if bytes.Equal(b, c) || bytes.Equal(b, d) {
		t.Error("different bodies (value, namespace): same digest")
	}
}
