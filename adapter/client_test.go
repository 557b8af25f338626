package adapter

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/wssectest"
	"github.com/fsepuglia/fsepuglia/generated/consenso"
	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/fsepuglia/fsepuglia/generated/taccuino"
)

const patient = "FSEPGL01E41A145J"

// region is a fake regional gateway: mutual TLS, WS-Security verified with wssec.Verify,
// requests decoded with the generated types, answers from a small in-memory state. It
// records what it saw so tests assert on the exact request the client sent.
type region struct {
	t          testing.TB
	pki        *testPKI
	srv        *httptest.Server
	handshakes atomic.Int64

	mu    sync.Mutex
	seen  []*wssec.Message
	ops   []string
	docs  map[string]fakeDoc
	raw   map[string][]byte                                // the first request envelope of each operation, as received
	fail  func(op string, n int) (status int, body string) // optional failure injection
	count map[string]int
}

func newRegion(t testing.TB) *region {
	t.Helper()
	r := &region{t: t, pki: newTestPKI(t), docs: map[string]fakeDoc{}, count: map[string]int{}, raw: map[string][]byte{}}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{r.pki.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: r.pki.pool}
	r.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.handshakes.Add(1)
		}
	}
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *region) config() Config {
	return Config{
		Environment: "local", ASL: "aslba", BaseURL: r.srv.URL,
		TLS:         TLSConfig{CertFile: r.pki.clientCert, KeyFile: r.pki.clientKy, CAFile: r.pki.caFile},
		Signer:      SignerConfig{CertFile: r.pki.signCert, KeyFile: r.pki.signKey},
		Operator:    Operator{CF: operatorCF, Role: "AAS"},
		Structure:   Structure{Code: "160101", Name: "Poliambulatorio di prova", RepositoryID: "2.16.840.1.113883.2.9.2.160.4.5.1", FacilityType: "Territorio", PracticeSetting: "AD_PSC001"},
		Application: Application{ID: "fsepuglia-test", Vendor: "fsepuglia", Version: "test"},
	}
}

func (r *region) client(t *testing.T, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := r.config()
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func (r *region) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	op := bodyOperation(body)
	r.mu.Lock()
	r.count[op]++
	n := r.count[op]
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		if status, b := fail(op, n); status != 0 {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(status)
			io.WriteString(w, b)
			return
		}
	}
	msg, err := wssec.Verify(body, wssec.VerifyOptions{Roots: r.pki.pool})
	if err != nil {
		writeFault(w, "FSE-00401", err.Error())
		return
	}
	if msg.Action != Namespace+op || !strings.HasSuffix(msg.To, "/aslba/"+serviceOf(op)) {
		writeFault(w, "FSE-00400", "action "+msg.Action+" or To "+msg.To+" does not match "+op)
		return
	}
	if req.Header.Get("SOAPAction") != `"`+Namespace+op+`"` {
		writeFault(w, "FSE-00400", "SOAPAction header "+req.Header.Get("SOAPAction"))
		return
	}
	r.mu.Lock()
	r.seen = append(r.seen, msg)
	r.ops = append(r.ops, op)
	if _, ok := r.raw[op]; !ok {
		r.raw[op] = body
	}
	r.mu.Unlock()
	resp, ferr := r.answer(op, body)
	if ferr != "" {
		writeFault(w, ferr, "refused")
		return
	}
	out, err := xml.Marshal(resp)
	if err != nil {
		r.t.Errorf("marshal %s response: %v", op, err)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>%s</soap:Body></soap:Envelope>`, out)
}

func serviceOf(op string) string {
	switch {
	case strings.HasPrefix(op, "get"):
		return "ITaccuinoService"
	case strings.Contains(op, "Document"):
		return "IDocumentService"
	case strings.Contains(op, "onsensi") || strings.Contains(op, "Informativa"):
		return "IGestoreConsensoService"
	}
	return "ITaccuinoService"
}

func writeFault(w http.ResponseWriter, code, text string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(500)
	var esc bytes.Buffer
	xml.EscapeText(&esc, []byte(text))
	fmt.Fprintf(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>`+
		`<faultcode>soap:Server</faultcode><faultstring>%s - %s</faultstring><faultactor>IDocument</faultactor>`+
		`<detail><fse:errorCode xmlns:fse="%s">%s</fse:errorCode></detail></soap:Fault></soap:Body></soap:Envelope>`, code, esc.String(), Namespace, code)
}

// bodyOperation returns the local name of the Body's first child.
func bodyOperation(env []byte) string {
	d := xml.NewDecoder(bytes.NewReader(env))
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			if inBody {
				return se.Name.Local
			}
			inBody = se.Name.Local == "Body"
		}
	}
}

// decodeBody unmarshals the Body's first child into v.
func decodeBody(t testing.TB, env []byte, v any) {
	var e struct {
		Body struct {
			Inner []byte `xml:",innerxml"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(env, &e); err != nil {
		t.Fatalf("decode envelope: %v", err)
	}
	if err := xml.Unmarshal(e.Body.Inner, v); err != nil {
		t.Fatalf("decode body: %v", err)
	}
}

func (r *region) answer(op string, env []byte) (any, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch op {
	case "addDocument":
		var in document.AddDocument
		decodeBody(r.t, env, &in)
		d := r.derive(in.Document)
		id := d.meta.UniqueId
		if _, dup := r.docs[id]; dup {
			return nil, "FSE-00409"
		}
		r.docs[id] = d
		return &document.AddDocumentResponse{Result: &document.PublicationResultType{UniqueId: id, RepositoryUniqueId: d.meta.RepositoryUniqueId, Status: "Approved"}}, ""
	case "replaceDocument":
		var in document.ReplaceDocument
		decodeBody(r.t, env, &in)
		if _, ok := r.docs[in.ReplacedUniqueId]; !ok {
			return nil, "FSE-00404"
		}
		delete(r.docs, in.ReplacedUniqueId)
		d := r.derive(in.Document)
		r.docs[d.meta.UniqueId] = d
		return &document.ReplaceDocumentResponse{Result: &document.PublicationResultType{UniqueId: d.meta.UniqueId, RepositoryUniqueId: "r", Status: "Approved"}}, ""
	case "deleteDocument":
		var in document.DeleteDocument
		decodeBody(r.t, env, &in)
		if _, ok := r.docs[in.UniqueId]; !ok {
			return nil, "FSE-00404"
		}
		delete(r.docs, in.UniqueId)
		return &document.DeleteDocumentResponse{Result: &document.PublicationResultType{UniqueId: in.UniqueId, RepositoryUniqueId: "r", Status: "Deprecated"}}, ""
	case "searchDocuments":
		var in document.SearchDocuments
		decodeBody(r.t, env, &in)
		out := &document.SearchDocumentsResponse{}
		for _, d := range r.docs {
			if d.meta.PatientId == in.PatientId {
				out.Metadata = append(out.Metadata, d.meta)
			}
		}
		out.Total = int32(len(out.Metadata))
		return out, ""
	case "retrieveDocument":
		var in document.RetrieveDocument
		decodeBody(r.t, env, &in)
		d, ok := r.docs[in.UniqueId]
		if !ok {
			return nil, "FSE-00404"
		}
		return &document.RetrieveDocumentResponse{Metadata: d.meta, Document: d.doc}, ""
	case "statoConsensi":
		return &consenso.StatoConsensiResponse{Esito: "SUCCESSO", Consenso: []*consenso.StatoConsensoType{
			{Codice: "C1", Valore: true, DataAcquisizione: xsdDateTime(time.Date(2020, 5, 19, 0, 0, 0, 0, time.UTC)), RegistratoDa: operatorCF, RuoloRegistrante: "OGC"},
			{Codice: "C2", Valore: true, DataAcquisizione: xsdDateTime(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)), RegistratoDa: operatorCF, RuoloRegistrante: "OGC"},
		}}, ""
	case "comunicazioneConsensi":
		var in consenso.ComunicazioneConsensi
		decodeBody(r.t, env, &in)
		if in.IdInformativa == "" || len(in.Consenso) == 0 {
			return &consenso.ComunicazioneConsensiResponse{Esito: "FALLIMENTO", Errori: []*consenso.ErroreType{{Codice: "E1", Descrizione: "idInformativa missing"}}}, ""
		}
		return &consenso.ComunicazioneConsensiResponse{Esito: "SUCCESSO"}, ""
	case "recuperoInformativa":
		return &consenso.RecuperoInformativaResponse{Esito: "SUCCESSO", IdInformativa: "160^1.0", Versione: "1.0", Pdf: consenso.Base64Binary("%PDF-1.4 notice")}, ""
	case "getTaccuino":
		return &taccuino.GetTaccuinoResponse{Total: 3, Conteggio: []*taccuino.ConteggioType{{Tipo: "RILEVAZIONE", Numero: 2}, {Tipo: "FARMACO", Numero: 1}}}, ""
	case "getRilevazioni":
		return &taccuino.GetRilevazioniResponse{Total: 2, Rilevazione: []*taccuino.RilevazioneType{{Id: "r1", Data: xsdDateTime(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)), Parametro: "Peso", Valore: "70", UnitaMisura: "kg"}}}, ""
	case "getFarmaci":
		return &taccuino.GetFarmaciResponse{Total: 1, Farmaco: []*taccuino.FarmacoType{{Id: "f1", DataInizio: xsdDate(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), Nome: "Cetirizina", Posologia: "10 mg/die"}}}, ""
	case "getEventi":
		return &taccuino.GetEventiResponse{Total: 1, Evento: []*taccuino.EventoType{{Id: "e1", Data: xsdDateTime(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)), Tipo: "Visita", Descrizione: "controllo"}}}, ""
	case "getSintomi":
		return &taccuino.GetSintomiResponse{Total: 1, Sintomo: []*taccuino.SintomoType{{Id: "s1", Data: xsdDateTime(time.Date(2025, 2, 2, 0, 0, 0, 0, time.UTC)), Descrizione: "cefalea", Intensita: 3}}}, ""
	case "getDocumentiPersonali":
		return &taccuino.GetDocumentiPersonaliResponse{Total: 1, DocumentoPersonale: []*taccuino.DocumentoPersonaleType{{Id: "d1", Data: xsdDateTime(time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC)), Titolo: "Referto privato", Tipo: "REFERTO", MimeType: "application/pdf", Size: 10}}}, ""
	}
	return nil, "FSE-00400"
}

// fakeDoc is a document the fake region keeps: what was sent and what it read from the CDA.
type fakeDoc struct {
	meta *document.DocumentMetadataType
	doc  *document.DocumentType
}

// derive reads the metadata from the CDA inside the file, as the region does (the observed
// addDocument body carries none), with the calling structure's profile.
func (r *region) derive(d *document.DocumentType) fakeDoc {
	rep := docmeta.InspectBytes(d.Document, d.DocumentName, docmeta.Options{Profile: docmeta.Profile{
		StructureCode: "160101", StructureName: "Poliambulatorio di prova", RepositoryUniqueID: "2.16.840.1.113883.2.9.2.160.4.5.1"}})
	m := rep.Metadata
	return fakeDoc{doc: d, meta: &document.DocumentMetadataType{
		PatientId: patientID(m.PatientCF), UniqueId: m.UniqueID, RepositoryUniqueId: m.RepositoryUniqueID,
		TypeCode: m.TypeCode, ClassCode: m.ClassCode, FormatCode: m.FormatCode, ConfidentialityCode: m.ConfidentialityCode,
		AuthorInstitution: xon(m.AuthorInstitutionName, m.AuthorInstitutionCode), AuthorPerson: m.AuthorPerson,
		MimeType: m.MimeType, Hash: document.Sha256HexType(m.Hash), Size: m.Size, CreationTime: xsdDateTime(m.CreationTime),
		Title: m.Title, LanguageCode: m.LanguageCode,
	}}
}

func testPDF(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	copy(b, "%PDF-1.7\n")
	return b
}

// publishRequest publishes a real FSE document (a PDF with cda.xml, CDA id extension id) of
// about len(size) bytes: the region reads the uniqueId and the rest from the CDA.
func publishRequest(size []byte, id string) PublishRequest {
	body := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{PatientCF: patient, IDExtension: id}.Bytes(), PadTo: len(size)}.Bytes()
	return PublishRequest{Body: body, DocumentName: "referto.pdf", Metadata: Metadata{
		PatientCF: patient, UniqueID: "2.16.840.1.113883.2.9.2.160.4.4^" + id, TypeCode: "11502-2", ClassCode: "REF",
		FormatCode: "2.16.840.1.113883.2.9.10.1.1", CreationTime: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC), EventCodes: []string{"P99"},
	}}
}

func TestEveryOperationThroughTheAPI(t *testing.T) {
	r := newRegion(t)
	c := r.client(t)
	ctx := context.Background()
	req := publishRequest(testPDF(t, 300_000), "DOC1")
	body := req.Body

	pub, err := c.Documents.Publish(ctx, req)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if pub.UniqueID != "2.16.840.1.113883.2.9.2.160.4.4^DOC1" || !strings.HasPrefix(pub.MessageID, "uuid:") {
		t.Errorf("Publish = %+v", pub)
	}
	res, err := c.Documents.Search(ctx, SearchQuery{PatientCF: patient})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if res.Total != 1 || len(res.Documents) != 1 {
		t.Fatalf("Search = %+v", res)
	}
	m := res.Documents[0]
	if m.PatientCF != patient || m.AuthorInstitutionCode != "160101" || m.AuthorInstitutionName != "Poliambulatorio di prova" ||
		m.Size != int64(len(body)) || len(m.Hash) != 64 || !m.CreationTime.Equal(time.Date(2026, 3, 15, 9, 30, 0, 0, time.UTC)) ||
		m.RepositoryUniqueID != "2.16.840.1.113883.2.9.2.160.4.5.1" || m.TypeCode != "11502-2" {
		t.Errorf("metadata did not survive the round trip: %+v", m)
	}
	doc, err := c.Documents.Retrieve(ctx, patient, pub.UniqueID)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if !bytes.Equal(doc.Body, body) || doc.Metadata.DocumentName != "referto.pdf" {
		t.Errorf("retrieved %d bytes (equal=%v) name %q", len(doc.Body), bytes.Equal(doc.Body, body), doc.Metadata.DocumentName)
	}
	rep, err := c.Documents.Replace(ctx, pub.UniqueID, publishRequest(testPDF(t, 1000), "DOC2"))
	if err != nil || rep.UniqueID != "2.16.840.1.113883.2.9.2.160.4.4^DOC2" {
		t.Fatalf("Replace = %+v, %v", rep, err)
	}
	if err := c.Documents.Delete(ctx, patient, rep.UniqueID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	st, err := c.Consents.Status(ctx, patient)
	if err != nil || len(st.Consents) != 2 || st.Consents[1].Code != ConsentConsultation || !st.Consents[1].Value {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if _, err := c.Consents.Set(ctx, ConsentChange{PatientCF: patient, Values: map[ConsentCode]bool{"C2": true, "c3": false},
		OnBehalfOf: &Representative{CF: "FSELBR01C41A145S", Role: "tut"}}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if _, err := c.Consents.Set(ctx, ConsentChange{PatientCF: patient, Values: map[ConsentCode]bool{"C2": true}, InformativaID: "160^1.0"}); err != nil {
		t.Fatalf("Set with a known notice: %v", err)
	}
	info, err := c.Consents.Informativa(ctx)
	if err != nil || info.ID != "160^1.0" || !bytes.HasPrefix(info.PDF, []byte("%PDF")) {
		t.Fatalf("Informativa = %+v, %v", info, err)
	}
	sum, err := c.Taccuino.Summary(ctx, patient)
	if err != nil || sum.Counts[TaccuinoRilevazioni] != 2 || sum.Counts[TaccuinoFarmaci] != 1 || sum.Counts[TaccuinoSintomi] != 0 {
		t.Fatalf("Summary = %+v, %v", sum, err)
	}
	for _, k := range TaccuinoKinds {
		p, err := c.Taccuino.Items(ctx, TaccuinoQuery{PatientCF: patient, Kind: k, From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil || len(p.Items) != 1 || p.Items[0].Kind != k || p.Items[0].Date.IsZero() || p.Items[0].Title == "" {
			t.Errorf("Items(%s) = %+v, %v", k, p, err)
		}
	}

	want := []string{"addDocument", "searchDocuments", "retrieveDocument", "replaceDocument", "deleteDocument",
		"statoConsensi", "recuperoInformativa", "comunicazioneConsensi", "statoConsensi",
		"comunicazioneConsensi", "statoConsensi", "recuperoInformativa",
		"getTaccuino", "getRilevazioni", "getFarmaci", "getEventi", "getSintomi", "getDocumentiPersonali"}
	if strings.Join(r.ops, ",") != strings.Join(want, ",") {
		t.Errorf("operations seen:\n%v\nwant\n%v", r.ops, want)
	}
	ids := map[string]bool{}
	for i, m := range r.seen {
		if m.Attributes == nil || m.Attributes.OperatorCF != operatorCF || m.SignerCF != operatorCF || m.Attributes.StructureCode != "160101" {
			t.Errorf("%s: assertions %+v signer %q", r.ops[i], m.Attributes, m.SignerCF)
			continue
		}
		wantPatient := patient
		if r.ops[i] == "recuperoInformativa" {
			wantPatient = ""
		}
		if m.Attributes.PatientCF != wantPatient {
			t.Errorf("%s: SAML patient %q, want %q", r.ops[i], m.Attributes.PatientCF, wantPatient)
		}
		if ids[m.MessageID] {
			t.Errorf("MessageID %s reused", m.MessageID)
		}
		ids[m.MessageID] = true
	}
	// The observed Puglia vocabulary (#2501): action-id C for a publication, R for a read;
	// typeofcare is the class code.
	if r.seen[0].Attributes.Action != "C" || r.seen[0].Attributes.DocumentType != "11502-2" || r.seen[0].Attributes.TypeOfCare != "REF" ||
		r.seen[1].Attributes.Action != "R" || r.seen[0].Profile != wssec.ProfilePuglia {
		t.Errorf("SAML action/document type: %+v / %+v", r.seen[0].Attributes, r.seen[1].Attributes)
	}
	if got := r.handshakes.Load(); got != 1 {
		t.Errorf("%d calls opened %d TLS connections, want 1 (keep-alive)", len(r.ops), got)
	}
}

func TestFaultsAreTyped(t *testing.T) {
	recorded, err := os.ReadFile("../fixtures/faults/idocument_00407_gateway.xml")
	if err != nil {
		t.Skipf("recorded fault fixture: %v", err)
	}
	for _, status := range []int{500, 200} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			r := newRegion(t)
			r.fail = func(op string, n int) (int, string) { return status, string(recorded) }
			c := r.client(t)
			_, err := c.Documents.Publish(context.Background(), publishRequest(testPDF(t, 100), "X"))
			var f *fault.Fault
			if !errors.As(err, &f) {
				t.Fatalf("error %T %v is not a *fault.Fault", err, err)
			}
			if f.Code != "FSE-00407" || f.Class != fault.Security || f.Actor != "IDocument" {
				t.Errorf("fault = %+v", f)
			}
			if strings.Contains(err.Error(), patient) {
				t.Errorf("error text carries a fiscal code: %v", err)
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		r := newRegion(t)
		c := r.client(t)
		req := publishRequest(testPDF(t, 100), "DUP")
		if _, err := c.Documents.Publish(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		_, err := c.Documents.Publish(context.Background(), req)
		var f *fault.Fault
		if !errors.As(err, &f) || f.Class != fault.Duplicate || f.HTTPStatus != 500 {
			t.Fatalf("second publication: %v", err)
		}
	})
}

func TestRetriesOnlyTransientReads(t *testing.T) {
	r := newRegion(t)
	r.fail = func(op string, n int) (int, string) {
		if n <= 2 {
			return 503, "busy"
		}
		return 0, ""
	}
	c := r.client(t)
	if _, err := c.Documents.Search(context.Background(), SearchQuery{PatientCF: patient}); err != nil {
		t.Fatalf("Search after two 503s: %v", err)
	}
	_, err := c.Documents.Publish(context.Background(), publishRequest(testPDF(t, 100), "W"))
	var ce *fault.CallError
	if err == nil || !(errors.As(err, &ce) || fault.Classify(err) == fault.Transient) {
		t.Fatalf("Publish on 503: %v (want a transient error, not retried)", err)
	}
	if r.count["searchDocuments"] != 3 || r.count["addDocument"] != 1 {
		t.Errorf("attempts: search %d (want 3), add %d (want 1: writes are never retried)", r.count["searchDocuments"], r.count["addDocument"])
	}
}

func TestInputErrorsSendNothing(t *testing.T) {
	r := newRegion(t)
	c := r.client(t)
	ctx := context.Background()
	bad := publishRequest(testPDF(t, 10), "B")
	bad.Metadata.PatientCF = "FSEPGL01E41A145K" // wrong check letter
	hashed := publishRequest(testPDF(t, 10), "H")
	hashed.Metadata.Hash = strings.Repeat("0", 64)
	cases := []struct {
		name, field string
		run         func() error
	}{
		{"bad patient CF", "metadata.patient_cf", func() error { _, err := c.Documents.Publish(ctx, bad); return err }},
		{"wrong hash", "metadata.hash", func() error { _, err := c.Documents.Publish(ctx, hashed); return err }},
		{"no type code", "metadata.type_code", func() error {
			p := publishRequest(testPDF(t, 10), "T")
			p.Metadata.TypeCode = ""
			_, err := c.Documents.Publish(ctx, p)
			return err
		}},
		{"search bad CF", "patient", func() error { _, err := c.Documents.Search(ctx, SearchQuery{PatientCF: "nope"}); return err }},
		{"bad consent code", "consent code", func() error {
			_, err := c.Consents.Set(ctx, ConsentChange{PatientCF: patient, Values: map[ConsentCode]bool{"C9": true}})
			return err
		}},
		{"bad representative role", "on behalf of role", func() error {
			_, err := c.Consents.Set(ctx, ConsentChange{PatientCF: patient, Values: map[ConsentCode]bool{"C2": true}, OnBehalfOf: &Representative{CF: "FSELBR01C41A145S", Role: "XXX"}})
			return err
		}},
		{"bad kind", "kind", func() error {
			_, err := c.Taccuino.Items(ctx, TaccuinoQuery{PatientCF: patient, Kind: "x"})
			return err
		}},
		{"reversed range", "to", func() error {
			_, err := c.Taccuino.Items(ctx, TaccuinoQuery{PatientCF: patient, Kind: TaccuinoEventi, From: time.Now(), To: time.Now().Add(-time.Hour)})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != tc.field || ie.Fix == "" {
				t.Fatalf("err = %v, want InputError on %q with a fix", err, tc.field)
			}
		})
	}
	if len(r.ops) != 0 {
		t.Errorf("bad input reached the server: %v", r.ops)
	}
}

func TestConfigurationLocks(t *testing.T) {
	r := newRegion(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	cases := []struct {
		name, field string
		mod         func(*Config)
	}{
		{"prod without opt-in", "allow_production", func(c *Config) { c.Environment = "prod"; c.BaseURL = "" }},
		{"PROD in capitals without opt-in", "allow_production", func(c *Config) { c.Environment = "PROD"; c.BaseURL = "" }},
		{"prod with self-signed signer", "signer.cert_file", func(c *Config) {
			c.Environment, c.AllowProduction, c.BaseURL = "prod", true, ""
		}},
		{"unknown algorithm", "security.algorithm", func(c *Config) { c.Security.Algorithm = "md5" }},
		{"security disabled in prod", "security.disabled", func(c *Config) {
			c.Environment, c.AllowProduction, c.BaseURL, c.Security.Disabled = "prod", true, "", true
		}},
		{"unknown environment", "environment", func(c *Config) { c.Environment = "staging" }},
		{"unknown ASL", "asl", func(c *Config) { c.ASL = "aslxx" }},
		{"role ZZZ", "operator.role", func(c *Config) { c.Operator.Role = "ZZZ" }},
		{"test environment on the production host", "base_url", func(c *Config) {
			c.Environment, c.ASL, c.BaseURL = "test", "aslba_test", "https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181"
		}},
		{"local service URL on a production host", "service_urls.ITaccuinoService", func(c *Config) {
			c.ServiceURLs = map[string]string{"ITaccuinoService": "https://fse.rmmg.rsr.rupar.puglia.it/aslba/ITaccuinoService"}
		}},
		{"local without base URL", "base_url", func(c *Config) { c.BaseURL = "" }},
		{"missing TLS certificate in test", "tls.cert_file", func(c *Config) {
			c.Environment, c.ASL, c.BaseURL, c.TLS.CertFile, c.TLS.KeyFile = "test", "aslba_test", "", "", ""
		}},
		{"TLS certificate file missing", "tls.cert_file", func(c *Config) { c.TLS.CertFile = missing }},
		{"garbage TLS certificate", "tls.cert_file", func(c *Config) { c.TLS.CertFile = garbage }},
		{"TLS key of another certificate", "tls.key_file", func(c *Config) { c.TLS.KeyFile = r.pki.signKey }},
		{"no signing certificate", "signer.cert_file", func(c *Config) {
			c.Signer = SignerConfig{}
			c.TLS.CertFile, c.TLS.KeyFile = "", ""
		}},
		{"signer key missing", "signer.key_file", func(c *Config) { c.Signer.KeyFile = missing }},
		{"garbage signer certificate", "signer.cert_file", func(c *Config) { c.Signer.CertFile = garbage }},
		{"signer key of another certificate", "signer.key_file", func(c *Config) { c.Signer.KeyFile = r.pki.clientKy }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := r.config()
			tc.mod(&cfg)
			var opts []Option
			if tc.name == "prod with self-signed signer" {
				// CA-issued TLS material passes the transport checks; the signer is self-signed.
				s := wssectest.NewTestSigner(t, operatorCF)
				opts = append(opts, WithSigner(s.Key, s.Cert))
			}
			_, err := New(cfg, opts...)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("New = %v (%T), want *ConfigError on %s", err, err, tc.field)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "configuration "+tc.field+": ") || strings.Contains(msg, "configuration: configuration") || strings.Contains(msg, "transport configuration") {
				t.Errorf("message %q: want one \"configuration %s: \" prefix", msg, tc.field)
			}
			if ce.Fix == "" {
				t.Errorf("no fix in %q", msg)
			}
		})
	}
	t.Run("cause is kept", func(t *testing.T) {
		cfg := r.config()
		cfg.Signer.KeyFile = missing
		_, err := New(cfg)
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("New = %v: the *fs.PathError is lost", err)
		}
		cfg = r.config()
		cfg.ASL = "aslxx"
		_, err = New(cfg)
		if !strings.Contains(err.Error(), "aslba") {
			t.Fatalf("New = %v, want an error listing the valid ASLs", err)
		}
	})
	t.Run("alias warns", func(t *testing.T) {
		cfg := r.config()
		cfg.ASL = "ashta"
		c, err := New(cfg)
		if err != nil || len(c.Warnings()) == 0 || !strings.Contains(c.Endpoint("ITaccuinoService"), "/aslta/ITaccuinoService") {
			t.Fatalf("New(ashta) = %v, warnings %v", err, c.Warnings())
		}
	})
}

// TestRedirectsAreRefused: a service answering a redirect elsewhere (a test host pointing at
// a production one, say) is not followed: the second server sees nothing. (Go would follow a
// 302/303 with a GET.)
func TestRedirectsAreRefused(t *testing.T) {
	r := newRegion(t)
	var elsewhere atomic.Int64
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { elsewhere.Add(1) }))
	other.TLS = r.srv.TLS // trusted by the client: only the refusal keeps it from being reached
	other.StartTLS()
	defer other.Close()
	for _, code := range []int{http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect} {
		redir := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			http.Redirect(w, req, other.URL+req.URL.Path, code)
		}))
		redir.TLS = r.srv.TLS
		redir.StartTLS()
		c := r.client(t, func(cfg *Config) { cfg.BaseURL = redir.URL })
		if _, err := c.Consents.Status(context.Background(), patient); err == nil {
			t.Errorf("HTTP %d: Status through a redirect succeeded", code)
		}
		redir.Close()
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect target received %d requests", n)
	}
}

func TestTracesAreRedacted(t *testing.T) {
	r := newRegion(t)
	dir := filepath.Join(t.TempDir(), "traces")
	c := r.client(t, func(cfg *Config) { cfg.TraceDir = dir })
	if _, err := c.Documents.Publish(context.Background(), publishRequest(testPDF(t, 5000), "TR")); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
	if len(files) != 2 {
		t.Fatalf("trace files %v, want request and response", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(patient)) || bytes.Contains(b, []byte(operatorCF)) || bytes.Contains(b, []byte("JVBER")) {
			t.Errorf("%s holds personal data or document bytes", filepath.Base(f))
		}
		if !bytes.Contains(b, []byte("addDocument")) {
			t.Errorf("%s lost the operation", filepath.Base(f))
		}
	}
}

// recLogger records what the adapter logs.
type recLogger struct {
	mu    sync.Mutex
	lines []string
	calls []map[string]any
}

func (l *recLogger) rec(level, msg string, f map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf("%s %s %v", level, msg, f))
	l.calls = append(l.calls, f)
}
func (l *recLogger) Debug(m string, f map[string]any) { l.rec("debug", m, f) }
func (l *recLogger) Info(m string, f map[string]any)  { l.rec("info", m, f) }
func (l *recLogger) Warn(m string, f map[string]any)  { l.rec("warn", m, f) }

func TestLogsCarryCallFactsNotPatients(t *testing.T) {
	r := newRegion(t)
	log := &recLogger{}
	cfg := r.config()
	c, err := New(cfg, WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Documents.Search(ctx, SearchQuery{PatientCF: patient}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Documents.Retrieve(ctx, patient, "2.16.840.1.113883.2.9.2.160.4.4^MISSING")
	var f *fault.Fault
	if !errors.As(err, &f) || f.Code != "FSE-00404" {
		t.Fatalf("retrieve of an unknown id: %v", err)
	}
	var sawCall, sawFault bool
	for _, fields := range log.calls {
		if fields["operation"] == "searchDocuments" && fields["http_status"] == 200 && fields["message_id"] != "" && fields["duration"] != nil {
			sawCall = true
		}
		if fields["operation"] == "retrieveDocument" && fields["fault_code"] == "FSE-00404" && fields["class"] == fault.NotFound.String() {
			sawFault = true
		}
	}
	if !sawCall || !sawFault {
		t.Errorf("logs lack the call facts (call %v, fault %v):\n%s", sawCall, sawFault, strings.Join(log.lines, "\n"))
	}
	for _, l := range log.lines {
		if strings.Contains(l, patient) || strings.Contains(l, operatorCF) {
			t.Errorf("a fiscal code reached the logs: %s", l)
		}
	}
}

func TestFaultWithHTTP200KeepsItsDetail(t *testing.T) {
	// The code is only in detail/errorCode: the faultstring has none.
	body := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>` +
		`<faultcode>soap:Server</faultcode><faultstring>Asserzioni applicative obbligatorie mancanti</faultstring>` +
		`<faultactor>IDocument</faultactor><detail><fse:errorCode xmlns:fse="` + Namespace + `">FSE-00407</fse:errorCode></detail>` +
		`</soap:Fault></soap:Body></soap:Envelope>`
	for _, traced := range []bool{false, true} {
		t.Run(fmt.Sprintf("traces=%v", traced), func(t *testing.T) {
			r := newRegion(t)
			r.fail = func(op string, n int) (int, string) { return 200, body }
			c := r.client(t, func(cfg *Config) {
				if traced {
					cfg.TraceDir = t.TempDir()
				}
			})
			_, err := c.Documents.Search(context.Background(), SearchQuery{PatientCF: patient})
			var f *fault.Fault
			if !errors.As(err, &f) || f.Code != "FSE-00407" || f.Class != fault.Security || f.HTTPStatus != 200 || f.Op != "searchDocuments" {
				t.Fatalf("HTTP 200 fault: %#v", err)
			}
		})
	}
}

// TestConsentRecordedButStatusUnavailable: the write succeeded, the read-back failed: Set
// says so distinctly (RecordedError), so that nobody records the consent twice.
func TestConsentRecordedButStatusUnavailable(t *testing.T) {
	r := newRegion(t)
	c := r.client(t, func(cfg *Config) { cfg.Retries = -1 })
	r.fail = func(op string, n int) (int, string) {
		if op == "statoConsensi" {
			return 502, "bad gateway"
		}
		return 0, ""
	}
	_, err := c.Consents.Set(context.Background(), ConsentChange{PatientCF: patient, Values: map[ConsentCode]bool{"C2": true}, InformativaID: "160^1.0"})
	var rec *RecordedError
	if !errors.As(err, &rec) || !strings.Contains(err.Error(), "recorded, status unavailable") || !strings.Contains(err.Error(), "do not record them again") {
		t.Fatalf("Set = %v, want a RecordedError", err)
	}
	var ce *fault.CallError
	if !errors.As(err, &ce) {
		t.Fatalf("the read failure is not kept: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.count["comunicazioneConsensi"] != 1 {
		t.Fatalf("comunicazioneConsensi sent %d times", r.count["comunicazioneConsensi"])
	}
	// A failed write is not a RecordedError.
	r.fail = func(op string, n int) (int, string) { return 502, "bad gateway" }
	r.mu.Unlock()
	_, err = c.Consents.Set(context.Background(), ConsentChange{PatientCF: patient, Values: map[ConsentCode]bool{"C2": true}, InformativaID: "160^1.0"})
	r.mu.Lock()
	if errors.As(err, &rec) || err == nil {
		t.Fatalf("failed write: %v", err)
	}
}
