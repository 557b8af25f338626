package sim

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/generated/document"
)

// largeTexts sends the documents of a test through the file path of a large request:
// elideThreshold lowered to 4 KiB (above any header text: the certificate is ~1.5 KiB of
// base64), documents of 16 KiB (largeDoc).
func largeTexts(t *testing.T) {
	old := elideThreshold
	elideThreshold = 4 << 10
	t.Cleanup(func() { elideThreshold = old })
}

func largeDoc(id string) []byte { return pdfcdatestPadded(patA, id, 16<<10) }

// TestLargeDocumentPath (issue 13): a document kept out of memory on arrival is checked,
// stored and retrieved exactly as one held in memory: publication, replace, a Body-signing
// message (its digest over the file's text), a tampered signed Body, a replay of the same
// large message, base64 that does not decode, a large text where only the document may be,
// and no temporary file left behind.
func TestLargeDocumentPath(t *testing.T) {
	largeTexts(t)
	h := startSim(t, nil)
	h.consent(patA, "C2", true, "C3", true)
	content := largeDoc("large.1")
	if base64.StdEncoding.EncodedLen(len(content)) < 2*elideThreshold {
		t.Fatalf("test document of %d bytes too small to take the file path", len(content))
	}
	env := h.secure(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: docFor(content)}, nil)
	if _, body := h.post(ServiceDocument, "addDocument", env); faultCode(body) != "" {
		t.Fatalf("publication: %s", faultStringOf(body))
	}
	if _, body := h.post(ServiceDocument, "addDocument", env); faultCode(body) != CodeReplay {
		t.Fatalf("the same large message again: %q (%s), want %s", faultCode(body), faultStringOf(body), CodeReplay)
	}
	retrieved := func(uid string) []byte {
		t.Helper()
		var r document.RetrieveDocumentResponse
		h.mustOK(ServiceDocument, "retrieveDocument", patA, &document.RetrieveDocument{UniqueId: uid}, &r)
		if r.Document == nil {
			t.Fatal("no document in the answer")
		}
		return r.Document.Document
	}
	if got := retrieved(uidRoot + "large.1"); !bytes.Equal(got, content) {
		t.Fatalf("retrieved %d bytes, published %d: they differ", len(got), len(content))
	}
	// Replace, with a Body-signing message.
	signBody := func(p *wssec.Params) { p.SignBody = true }
	repl := largeDoc("large.2")
	code, body := h.call(ServiceDocument, "replaceDocument", patA, &document.ReplaceDocument{ReplacedUniqueId: uidRoot + "large.1", Document: docFor(repl)}, signBody)
	if code != "" {
		t.Fatalf("replace, Body signed: %s %s", code, faultStringOf(body))
	}
	if got := retrieved(uidRoot + "large.2"); !bytes.Equal(got, repl) {
		t.Fatal("the replacement retrieved differs")
	}
	// A signed Body whose large text changed after signing: the digest over the file's
	// text catches it.
	signed := h.secure(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: docFor(largeDoc("large.3"))}, signBody)
	b64 := base64.StdEncoding.EncodeToString(largeDoc("large.3"))
	i := bytes.Index(signed, []byte(b64))
	if i < 0 {
		t.Fatal("document text not found")
	}
	tampered := append([]byte(nil), signed...)
	tampered[i+len(b64)/2] ^= 'A' ^ 'B'
	if tampered[i+len(b64)/2] == signed[i+len(b64)/2] {
		t.Fatal("not tampered")
	}
	if _, body := h.post(ServiceDocument, "addDocument", tampered); faultCode(body) != CodeSecurity {
		t.Fatalf("tampered signed Body: %q (%s), want %s", faultCode(body), faultStringOf(body), CodeSecurity)
	}
	if _, body := h.post(ServiceDocument, "addDocument", signed); faultCode(body) != "" {
		t.Fatalf("the untampered signed Body: %s", faultStringOf(body))
	}
	// base64 that does not decode (a padding character inside the text).
	bad := largeDoc("large.4")
	badEnv := h.secure(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: docFor(bad)}, nil)
	b64 = base64.StdEncoding.EncodeToString(bad)
	badEnv = bytes.Replace(badEnv, []byte(b64), []byte(b64[:100]+"="+b64[101:]), 1)
	if _, body := h.post(ServiceDocument, "addDocument", badEnv); faultCode(body) != CodeInvalid || !strings.Contains(faultStringOf(body), "base64") {
		t.Fatalf("corrupt base64: %q %s", faultCode(body), faultStringOf(body))
	}
	// A large base64 text in documentName.
	d := docFor(largeDoc("large.5"))
	d.DocumentName = strings.Repeat("QUJD", elideThreshold)
	if code, body := h.call(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: d}, nil); code != CodeInvalid || !strings.Contains(faultStringOf(body), "only document/document") {
		t.Fatalf("a large documentName: %q %s", code, faultStringOf(body))
	}
	if code, body := h.call(ServiceDocument, "searchDocuments", patA, &document.SearchDocuments{PatientId: patA + strings.Repeat("QUJD", elideThreshold)}, nil); code != CodeInvalid {
		t.Fatalf("a large patientId: %q %s", code, faultStringOf(body))
	}
	// An unsigned CDA in a large document: FSE-10001, read from the staged file.
	unsigned := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{PatientCF: patA, IDExtension: "large.6"}.Bytes(), PadTo: 16 << 10}.Bytes()
	if code, body := h.call(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: docFor(unsigned)}, nil); code != CodeUnsignedCDA {
		t.Fatalf("an unsigned CDA: %q %s", code, faultStringOf(body))
	}
	ents, err := os.ReadDir(filepath.Join(h.dir, "blobs", "tmp"))
	if err != nil || len(ents) != 0 {
		t.Fatalf("temporary files left: %d (%v)", len(ents), err)
	}
}
