package wiretest

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/hooklift/gowsdl/soap"
)

const largeSize = 20 << 20

func largeContent() []byte {
	b := make([]byte, largeSize)
	rand.New(rand.NewSource(20)).Read(b)
	return b
}

// TestLargeDocumentRoundTrip sends 20 MB of random bytes through marshal and
// unmarshal of addDocument and retrieveDocumentResponse: they must come back
// byte-identical (and travel as base64, not raw bytes).
func TestLargeDocumentRoundTrip(t *testing.T) {
	content := largeContent()
	tests := []struct {
		name string
		in   any
		out  func() (any, func() []byte)
	}{
		{"addDocument", &document.AddDocument{Document: &document.DocumentType{
			Document: content, DocumentName: "Referto", Status: document.DocumentStatusTypeApproved}},
			func() (any, func() []byte) {
				v := new(document.AddDocument)
				return v, func() []byte { return v.Document.Document }
			}},
		{"retrieveDocumentResponse", &document.RetrieveDocumentResponse{Document: &document.DocumentType{
			Document: content, DocumentName: "Referto", Status: document.DocumentStatusTypeApproved}},
			func() (any, func() []byte) {
				v := new(document.RetrieveDocumentResponse)
				return v, func() []byte { return v.Document.Document }
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wire, err := xml.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(wire) < largeSize*4/3 {
				t.Fatalf("payload is %d bytes: content not base64-encoded", len(wire))
			}
			out, get := tc.out()
			if err := xml.Unmarshal(wire, out); err != nil {
				t.Fatal(err)
			}
			if got := get(); !bytes.Equal(got, content) {
				t.Fatalf("content changed in the round trip (got %d bytes, want %d)", len(got), len(content))
			}
		})
	}
}

// TestValidatorRejects proves the xmllint check can fail: a request payload
// without a required element must be refused.
func TestValidatorRejects(t *testing.T) {
	xmllint := checker(t, "xmllint", "apt-get install libxml2-utils")
	raw, err := os.ReadFile(filepath.Join(envelopeDir, "searchDocuments.request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := bodyPayload(raw)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(payload), `<offset xmlns="`+fseNS+`">0</offset>`, "", 1)
	if bad == string(payload) {
		t.Fatal("fixture has no offset element to remove")
	}
	f := filepath.Join(t.TempDir(), "bad.xml")
	if err := os.WriteFile(f, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join(wsdlDir, "IDocument.xsd"), f).CombinedOutput(); err == nil {
		t.Fatalf("xmllint accepted a payload without the required offset:\n%s", out)
	}
}

func BenchmarkMarshalAddDocument20MB(b *testing.B) {
	req := &document.AddDocument{Document: &document.DocumentType{
		Document: largeContent(), DocumentName: "Referto", Status: document.DocumentStatusTypeApproved}}
	b.SetBytes(largeSize)
	b.ReportAllocs()
	// Encode to io.Discard: what is measured is the marshalling itself, not the
	// growth of a destination buffer (the soap.Client's own bytes.Buffer).
	for b.Loop() {
		if err := xml.NewEncoder(io.Discard).Encode(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalRetrieveDocumentResponse20MB(b *testing.B) {
	wire, err := xml.Marshal(&document.RetrieveDocumentResponse{Document: &document.DocumentType{
		Document: largeContent(), DocumentName: "Referto", Status: document.DocumentStatusTypeApproved}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(largeSize)
	b.ReportAllocs()
	for b.Loop() {
		var v document.RetrieveDocumentResponse
		if err := xml.Unmarshal(wire, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientAddDocument20MB measures a whole addDocument call through the
// generated client and gowsdl's soap.Client (which builds the envelope in a
// bytes.Buffer before sending) against a local server that discards the body.
func BenchmarkClientAddDocument20MB(b *testing.B) {
	resp := responseEnvelope(b, &document.AddDocumentResponse{Result: publication()})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(resp)
	}))
	defer srv.Close()
	svc := document.NewIDocument(soap.NewClient(srv.URL, soap.WithHTTPClient(srv.Client())))
	req := &document.AddDocument{Document: &document.DocumentType{
		Document: largeContent(), DocumentName: "Referto", Status: document.DocumentStatusTypeApproved}}
	b.SetBytes(largeSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.AddDocumentContext(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
