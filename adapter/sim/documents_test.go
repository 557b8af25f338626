package sim

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/hooklift/gowsdl/soap"
)

const uidRoot = "2.16.840.1.113883.2.9.2.160.4.4^"

var recent = time.Date(2026, 3, 15, 9, 30, 0, 0, time.UTC)

func TestPublicationChecks(t *testing.T) {
	h := startSim(t, nil)
	cdaA := pdfcdatest.CDA{PatientCF: patA}.Bytes()
	tests := []struct {
		name   string
		mod    func(d *document.DocumentType)
		want   string
		detail string // expected in the faultstring
	}{
		{name: "valid", want: ""},
		{name: "not a PDF", want: CodeGeneric, detail: "Il documento non è pdf", mod: func(d *document.DocumentType) {
			setContent(d, []byte("plain text, not a PDF"))
		}},
		{name: "bare CDA XML", want: CodeGeneric, detail: "/msg/document-type", mod: func(d *document.DocumentType) { setContent(d, cdaA) }},
		{name: "PDF without cda.xml", want: CodeGeneric, detail: "Errore in fase di estrazione del CDA.", mod: func(d *document.DocumentType) {
			setContent(d, pdfcdatest.PDF{Attachment: cdaA, AttachmentName: "other.xml"}.Bytes())
		}},
		{name: "cda.xml not a CDA", want: CodeGeneric, detail: "/cda-extraction", mod: func(d *document.DocumentType) {
			setContent(d, pdfcdatest.PDF{Attachment: []byte("<html><body>no</body></html>")}.Bytes())
		}},
		{name: "CDA patient differs from the assertion's", want: CodeAssertion, detail: "resource-id differs",
			mod: func(d *document.DocumentType) { setContent(d, pdfFor(patB, "x")) }},
		{name: "p7m with the PDF inside", want: CodeGeneric, detail: "Il documento non è pdf", mod: func(d *document.DocumentType) {
			setContent(d, pdfcdatest.P7M(pdfFor(patA, "p7m")))
		}},
		{name: "CDA patient not a valid CF", want: CodeInvalid, detail: "not a valid codice fiscale", mod: func(d *document.DocumentType) {
			setContent(d, pdfcdatest.PDF{Attachment: signedCDA(pdfcdatest.CDA{PatientCF: "FSEPGL01E41A145K", IDExtension: "badcf"}.Bytes())}.Bytes())
		}},
		// #1005: the CDA inside the PDF must carry a valid XML signature.
		{name: "CDA not signed", want: CodeUnsignedCDA, detail: "Il documento CDA non e' firmato digitalmente", mod: func(d *document.DocumentType) {
			setContent(d, pdfcdatest.PDF{Attachment: cdaA, Sign: true}.Bytes())
		}},
		{name: "CDA signature does not verify", want: CodeUnsignedCDA, detail: "does not verify", mod: func(d *document.DocumentType) {
			tampered := bytes.Replace(signedCDA(pdfcdatest.CDA{PatientCF: patA, IDExtension: "tampered"}.Bytes()), []byte("tampered"), []byte("tampereD"), 1)
			setContent(d, pdfcdatest.PDF{Attachment: tampered}.Bytes())
		}},
		{name: "document missing", want: CodeInvalid, detail: "document/document", mod: func(d *document.DocumentType) { d.Document = nil }},
		{name: "documentName missing", want: CodeInvalid, detail: "documentName", mod: func(d *document.DocumentType) { d.DocumentName = " " }},
		{name: "status not Approved", want: CodeInvalid, detail: "status", mod: func(d *document.DocumentType) {
			d.Status = document.DocumentStatusTypeDeprecated
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uid := fmt.Sprintf("%scheck.%d", uidRoot, i)
			d := docFor(pdfFor(patA, uid))
			if tc.mod != nil {
				tc.mod(d)
			}
			before, _ := h.srv.Data().Store.Count()
			code, body := h.call(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: d}, nil)
			if code != tc.want {
				t.Fatalf("fault %q (%s), want %q", code, faultStringOf(body), tc.want)
			}
			if tc.detail != "" && !strings.Contains(faultStringOf(body), tc.detail) {
				t.Fatalf("faultstring %q lacks %q", faultStringOf(body), tc.detail)
			}
			if s := faultStringOf(body); strings.Contains(s, patA) || strings.Contains(s, patB) {
				t.Fatalf("faultstring holds a fiscal code: %q", s)
			}
			after, _ := h.srv.Data().Store.Count()
			if wantN := before + boolInt(tc.want == ""); after != wantN {
				t.Fatalf("store has %d documents, want %d", after, wantN)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// setContent replaces the file.
func setContent(d *document.DocumentType, b []byte) { d.Document = b }

func TestDuplicateReplaceDelete(t *testing.T) {
	h := startSim(t, nil)
	h.consent(patA, "C2", true, "C3", true)
	uid := uidRoot + "dup.1"
	h.publish(patA, uid, recent, "")
	stored, err := h.srv.Data().Store.Meta(uid)
	if err != nil || stored.PublishedBy != StructureCode || stored.PatientCF != patA {
		t.Fatalf("stored %+v, %v", stored, err)
	}

	t.Run("duplicate same content", func(t *testing.T) {
		d := docFor(pdfFor(patA, uid))
		code, body := h.call(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: d}, nil)
		if code != CodeDuplicate || !strings.Contains(faultStringOf(body), "same content") {
			t.Fatalf("fault %q %q", code, faultStringOf(body))
		}
	})
	t.Run("duplicate different content", func(t *testing.T) {
		d := docFor(pdfcdatest.PDF{Attachment: signedCDA(pdfcdatest.CDA{PatientCF: patA, IDExtension: "dup.1", BodyPadding: 10}.Bytes())}.Bytes())
		code, body := h.call(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: d}, nil)
		if code != CodeDuplicate || !strings.Contains(faultStringOf(body), "different content") {
			t.Fatalf("fault %q %q", code, faultStringOf(body))
		}
	})
	t.Run("replace unknown", func(t *testing.T) {
		nu := uidRoot + "dup.2"
		code, _ := h.call(ServiceDocument, "replaceDocument", patA, &document.ReplaceDocument{
			ReplacedUniqueId: uidRoot + "nope", Document: docFor(pdfFor(patA, nu))}, nil)
		if code != CodeNotFound {
			t.Fatalf("fault %q, want %s", code, CodeNotFound)
		}
	})
	t.Run("delete unknown", func(t *testing.T) {
		code, _ := h.call(ServiceDocument, "deleteDocument", patA, &document.DeleteDocument{UniqueId: uidRoot + "nope", PatientId: patA}, nil)
		if code != CodeNotFound {
			t.Fatalf("fault %q, want %s", code, CodeNotFound)
		}
	})
	nu := uidRoot + "dup.3"
	t.Run("replace", func(t *testing.T) {
		var resp document.ReplaceDocumentResponse
		h.mustOK(ServiceDocument, "replaceDocument", patA, &document.ReplaceDocument{
			ReplacedUniqueId: uid, Document: docFor(pdfFor(patA, nu))}, &resp)
		old, _ := h.srv.Data().Store.Meta(uid)
		if old.Status != store.StatusDeprecated || old.ReplacedBy != nu {
			t.Fatalf("old document %s replaced by %q", old.Status, old.ReplacedBy)
		}
	})
	t.Run("deleted disappears from search and retrieve", func(t *testing.T) {
		var resp document.DeleteDocumentResponse
		h.mustOK(ServiceDocument, "deleteDocument", patA, &document.DeleteDocument{UniqueId: nu, PatientId: patA}, &resp)
		var sr document.SearchDocumentsResponse
		h.mustOK(ServiceDocument, "searchDocuments", patA, &document.SearchDocuments{PatientId: patA}, &sr)
		for _, m := range sr.Metadata {
			if m.UniqueId == nu {
				t.Fatal("deleted document still found")
			}
		}
		code, _ := h.call(ServiceDocument, "retrieveDocument", patA, &document.RetrieveDocument{UniqueId: nu}, nil)
		if code != CodeNotFound {
			t.Fatalf("retrieve of a deleted document: fault %q", code)
		}
		code, _ = h.call(ServiceDocument, "deleteDocument", patA, &document.DeleteDocument{UniqueId: nu, PatientId: patA}, nil)
		if code != CodeNotFound {
			t.Fatalf("second delete: fault %q", code)
		}
	})
}

func TestConsultation(t *testing.T) {
	h := startSim(t, nil)
	pregresso := time.Date(2019, 6, 1, 10, 0, 0, 0, time.UTC)
	h.publish(patA, uidRoot+"c.new", recent, "")
	h.publish(patA, uidRoot+"c.old", pregresso, "")
	h.publish(patA, uidRoot+"c.p99", recent, "V")
	other := func(p *wssec.Params) { p.Attributes.StructureCode = "160999" }

	search := func(t *testing.T, mod func(*wssec.Params)) (string, []string) {
		t.Helper()
		code, body := h.call(ServiceDocument, "searchDocuments", patA, &document.SearchDocuments{PatientId: patA}, mod)
		if code != "" {
			return code, nil
		}
		var r document.SearchDocumentsResponse
		decodeBody(t, body, &r)
		var ids []string
		for _, m := range r.Metadata {
			ids = append(ids, strings.TrimPrefix(m.UniqueId, uidRoot))
		}
		if int(r.Total) != len(ids) {
			t.Fatalf("total %d, %d results", r.Total, len(ids))
		}
		return "", ids
	}
	retrieve := func(t *testing.T, id string, mod func(*wssec.Params)) string {
		t.Helper()
		code, body := h.call(ServiceDocument, "retrieveDocument", patA, &document.RetrieveDocument{UniqueId: uidRoot + id}, mod)
		if code == "" {
			var r document.RetrieveDocumentResponse
			decodeBody(t, body, &r)
			stored, err := h.srv.Data().Store.Meta(uidRoot + id)
			if err != nil || r.Document == nil || fmt.Sprintf("%x", sha256.Sum256(r.Document.Document)) != stored.Hash || r.Metadata == nil {
				t.Fatal("retrieved content differs from the published one")
			}
		}
		return code
	}

	t.Run("C2 missing", func(t *testing.T) {
		if code, _ := search(t, nil); code != CodeConsent {
			t.Fatalf("search fault %q, want %s", code, CodeConsent)
		}
		if code := retrieve(t, "c.new", nil); code != CodeConsent {
			t.Fatalf("retrieve fault %q, want %s", code, CodeConsent)
		}
	})
	h.consent(patA, "C2", true)
	t.Run("C3 cutoff", func(t *testing.T) {
		_, ids := search(t, nil)
		if strings.Join(ids, ",") != "c.new,c.p99" && strings.Join(ids, ",") != "c.p99,c.new" {
			t.Fatalf("without C3 the publisher sees %v", ids)
		}
		if code := retrieve(t, "c.old", nil); code != CodeConsent {
			t.Fatalf("retrieve pregresso fault %q, want %s", code, CodeConsent)
		}
		h.consent(patA, "C3", true)
		_, ids = search(t, nil)
		if len(ids) != 3 {
			t.Fatalf("with C3 the publisher sees %v", ids)
		}
		if code := retrieve(t, "c.old", nil); code != "" {
			t.Fatalf("retrieve pregresso with C3: fault %q", code)
		}
	})
	t.Run("P99 other structure", func(t *testing.T) {
		_, ids := search(t, other)
		if len(ids) != 2 || strings.Contains(strings.Join(ids, ","), "p99") {
			t.Fatalf("another structure sees %v", ids)
		}
		if code := retrieve(t, "c.p99", other); code != CodeNotFound {
			t.Fatalf("retrieve obscured by another structure: fault %q, want %s", code, CodeNotFound)
		}
		if code := retrieve(t, "c.p99", nil); code != "" {
			t.Fatalf("retrieve obscured by its publisher: fault %q", code)
		}
	})
	t.Run("paging and filters", func(t *testing.T) {
		var r document.SearchDocumentsResponse
		h.mustOK(ServiceDocument, "searchDocuments", patA, &document.SearchDocuments{PatientId: patA, Offset: 1, Limit: 1}, &r)
		if r.Total != 3 || len(r.Metadata) != 1 {
			t.Fatalf("page: total %d, %d results", r.Total, len(r.Metadata))
		}
		r = document.SearchDocumentsResponse{}
		h.mustOK(ServiceDocument, "searchDocuments", patA, &document.SearchDocuments{PatientId: patA,
			DateFrom: soap.CreateXsdDateTime(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), true)}, &r)
		if r.Total != 2 {
			t.Fatalf("from 2020: total %d, want 2", r.Total)
		}
		r = document.SearchDocumentsResponse{}
		h.mustOK(ServiceDocument, "searchDocuments", patA, &document.SearchDocuments{PatientId: patA, TypeCode: []string{"34105-7"}}, &r)
		if r.Total != 0 {
			t.Fatalf("typeCode filter: total %d, want 0", r.Total)
		}
	})
	t.Run("C4 hides everything", func(t *testing.T) {
		h.consent(patA, "C4", true)
		if code, _ := search(t, nil); code != CodeConsent {
			t.Fatalf("search fault %q, want %s", code, CodeConsent)
		}
		if code := retrieve(t, "c.new", nil); code != CodeConsent {
			t.Fatalf("retrieve fault %q, want %s", code, CodeConsent)
		}
	})
}

func TestRestartKeepsState(t *testing.T) {
	h := startSim(t, nil)
	h.consent(patB, "C2", true)
	uid := uidRoot + "restart.1"
	h.publish(patB, uid, recent, "")
	firstURL := h.srv.URL()
	h.restart()
	if h.srv.Data().Seeded {
		t.Fatal("the seed was loaded again on restart")
	}
	var r document.SearchDocumentsResponse
	h.mustOK(ServiceDocument, "searchDocuments", patB, &document.SearchDocuments{PatientId: patB}, &r)
	if r.Total != 1 || r.Metadata[0].UniqueId != uid {
		t.Fatalf("after restart (%s → %s): %d documents", firstURL, h.srv.URL(), r.Total)
	}
	code, _ := h.call(ServiceDocument, "addDocument", patB, &document.AddDocument{Document: docFor(pdfFor(patB, uid))}, nil)
	if code != CodeDuplicate {
		t.Fatalf("republish after restart: fault %q, want %s", code, CodeDuplicate)
	}
}

func TestConcurrentPublications(t *testing.T) {
	h := startSim(t, nil)
	const n = 12
	// Every uniqueId is sent twice at the same time: exactly one of each pair must succeed.
	type result struct{ uid, code string }
	results := make(chan result, 2*n)
	var wg sync.WaitGroup
	for i := 0; i < 2*n; i++ {
		uid := fmt.Sprintf("%sconc.%d", uidRoot, i%n)
		d := docFor(pdfFor(patC, uid))
		env := h.secure(ServiceDocument, "addDocument", patC, &document.AddDocument{Document: d}, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body := h.post(ServiceDocument, "addDocument", env)
			results <- result{uid, faultCode(body)}
		}()
	}
	wg.Wait()
	close(results)
	ok := map[string]int{}
	for r := range results {
		switch r.code {
		case "":
			ok[r.uid]++
		case CodeDuplicate:
		default:
			t.Errorf("%s: fault %s", r.uid, r.code)
		}
	}
	for i := 0; i < n; i++ {
		if uid := fmt.Sprintf("%sconc.%d", uidRoot, i); ok[uid] != 1 {
			t.Errorf("%s published %d times", uid, ok[uid])
		}
	}
	list, err := h.srv.Data().Store.List()
	if err != nil || len(list) != n {
		t.Fatalf("store holds %d documents (%v), want %d", len(list), err, n)
	}
}
