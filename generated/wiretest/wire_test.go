package wiretest

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"github.com/hooklift/gowsdl/soap"
)

// TestOperationsWire calls every operation through the generated client and
// gowsdl's soap.Client against an httptest server, locks request and response
// envelopes as goldens, validates both payloads with xmllint against the
// service XSD, and checks that the decoded response re-marshals identically.
func TestOperationsWire(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range cases() {
		seen[tc.op] = true
		t.Run(tc.op, func(t *testing.T) {
			respEnv := responseEnvelope(t, tc.response)
			srv, got := server(t, respEnv)
			resp, err := tc.call(context.Background(), client(srv))
			if err != nil {
				t.Fatalf("%s: %v", tc.op, err)
			}
			req := got()
			if req.soapAction != wantAction(tc.op) {
				t.Errorf("SOAPAction = %s, want %s", req.soapAction, wantAction(tc.op))
			}
			golden(t, tc.op+".request.xml", req.body)
			golden(t, tc.op+".response.xml", respEnv)

			reqPayload, err := bodyPayload(req.body)
			if err != nil {
				t.Fatal(err)
			}
			respPayload, err := bodyPayload(respEnv)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"<" + tc.op + ` xmlns="` + fseNS + `"`} {
				if !has(reqPayload, want) {
					t.Errorf("request payload lacks %s:\n%s", want, reqPayload)
				}
			}
			for _, frag := range tc.contains {
				if !has(reqPayload, frag) {
					t.Errorf("request payload lacks %s:\n%s", frag, reqPayload)
				}
			}
			checkQualified(t, reqPayload)
			checkQualified(t, respPayload)

			// What the client decoded re-marshals to exactly what the server sent.
			re, err := xml.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(re, respPayload) {
				t.Errorf("decoded response re-marshals differently\n got: %s\nwant: %s", re, respPayload)
			}
			// And the request decodes through the generated request type (as a server would).
			in := tc.request()
			if err := xml.Unmarshal(reqPayload, in); err != nil {
				t.Fatalf("request does not decode into %T: %v", in, err)
			}
			if re, err := xml.Marshal(in); err != nil || !bytes.Equal(re, reqPayload) {
				t.Errorf("decoded request re-marshals differently (err %v)\n got: %s\nwant: %s", err, re, reqPayload)
			}

			validate(t, tc.xsd, reqPayload)
			validate(t, tc.xsd, respPayload)
		})
	}
	for _, op := range []string{"addDocument", "replaceDocument", "deleteDocument", "searchDocuments", "retrieveDocument",
		"statoConsensi", "comunicazioneConsensi", "recuperoInformativa",
		"getTaccuino", "getRilevazioni", "getFarmaci", "getEventi", "getSintomi", "getDocumentiPersonali"} {
		if !seen[op] {
			t.Errorf("operation %s has no wire case", op)
		}
	}
}

// TestGoldenResponsesRoundTrip decodes each golden response file (as stored,
// not as the test just built it) through gowsdl's response envelope and the
// generated type, and checks that re-marshalling reproduces the same payload.
func TestGoldenResponsesRoundTrip(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.op, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(envelopeDir, tc.op+".response.xml"))
			if err != nil {
				t.Fatalf("golden missing (go test ./generated/wiretest -update): %v", err)
			}
			want, err := bodyPayload(raw)
			if err != nil {
				t.Fatal(err)
			}
			content := tc.fresh()
			env := soap.SOAPEnvelopeResponse{Body: soap.SOAPBodyResponse{Content: content, Fault: &soap.SOAPFault{}}}
			if err := xml.Unmarshal(raw, &env); err != nil {
				t.Fatalf("decode golden: %v", err)
			}
			if err := env.Body.ErrorFromFault(); err != nil {
				t.Fatalf("golden decoded as fault: %v", err)
			}
			got, err := xml.Marshal(content)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("re-marshalled payload differs\n got: %s\nwant: %s", got, want)
			}
		})
	}
}
