package sim

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
	"github.com/fsepuglia/fsepuglia/adapter/sim/pki"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/fsepuglia/fsepuglia/wsdl"
	"github.com/hooklift/gowsdl/soap"
)

const (
	patA = pdfcdatest.PatientCF  // FSEPGL01E41A145J
	patB = pdfcdatest.PatientCF2 // FSELBR01C41A145S
	patC = pdfcdatest.TestCF     // PROVAX00X00X000Y
)

var (
	pkiOnce     sync.Once
	pkiTemplate string
	pkiErr      error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pkiTemplate != "" {
		_ = os.RemoveAll(pkiTemplate)
	}
	os.Exit(code)
}

// dataDir returns a fresh data directory holding a copy of one development PKI generated
// once per test binary (RSA key generation is the slow part of Start).
func dataDir(t testing.TB) string {
	t.Helper()
	pkiOnce.Do(func() {
		pkiTemplate, pkiErr = os.MkdirTemp("", "simpki-")
		if pkiErr == nil {
			_, pkiErr = pki.Ensure(pkiTemplate, pki.Options{})
		}
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	dir := t.TempDir()
	src := filepath.Join(pkiTemplate, "pki")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "pki"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "pki", e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type testLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLogger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (l *testLogger) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// harness is a running simulator with a mutual-TLS client and the PKI's operator signer.
type harness struct {
	t      testing.TB
	srv    *Server
	dir    string
	client *http.Client
	signer wssec.Signer
	log    *testLogger
	opt    Options
}

func startSim(t testing.TB, mod func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, log: &testLogger{}}
	h.opt = Options{DataDir: dataDir(t), Logger: h.log, RequireSignedCDA: true}
	if mod != nil {
		mod(&h.opt)
	}
	h.dir = h.opt.DataDir
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	srv, err := Start(context.Background(), h.opt)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = srv.Close() })
	h.srv = srv
	p := srv.Data().PKI
	h.signer = wssec.Signer{Key: p.Operator.Key, Cert: p.Operator.Cert}
	tr := &http.Transport{TLSClientConfig: p.ClientTLSConfig()}
	h.t.Cleanup(tr.CloseIdleConnections)
	h.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// restart closes the server and starts it again on the same data directory.
func (h *harness) restart() {
	h.t.Helper()
	if err := h.srv.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.opt.Addr = ""
	h.start()
}

func (h *harness) operatorCF() string {
	cf, err := pki.OperatorCF(h.signer.Cert)
	if err != nil {
		h.t.Fatal(err)
	}
	return cf
}

// attrs are assertions for the simulator's operator and structure about patient, in the
// observed Puglia vocabulary (purposeofuse C; action-id C, R, U, D).
func (h *harness) attrs(patient, action string) *saml.Attributes {
	return &saml.Attributes{OperatorCF: h.operatorCF(), Role: OperatorRole, StructureName: StructureName,
		StructureCode: StructureCode, Organization: "ASLBA", PurposeOfUse: "C", Action: action, PatientCF: patient, Consent: true}
}

func marshalEnvelope(t testing.TB, req any) []byte {
	t.Helper()
	b, err := xml.Marshal(soap.SOAPEnvelope{XmlNS: soap.XmlNsSoapEnv, Body: soap.SOAPBody{Content: req}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// params are the default security parameters of a call; mod may change them.
func (h *harness) params(service, op, patient string, mod func(*wssec.Params)) wssec.Params {
	p := wssec.Params{Signer: h.signer, To: h.srv.ServiceURL("aslba", service), Action: NS + op,
		Attributes: h.attrs(patient, wsdl.MustLookup(op).Puglia.ActionID),
		Issuer:     "FSEPUGLIA", NameID: "01234567890.simulatore.fsepuglia.it"}
	if mod != nil {
		mod(&p)
	}
	return p
}

// secure returns a signed envelope for req.
func (h *harness) secure(service, op, patient string, req any, mod func(*wssec.Params)) []byte {
	h.t.Helper()
	env, err := wssec.Secure(marshalEnvelope(h.t, req), h.params(service, op, patient, mod))
	if err != nil {
		h.t.Fatal(err)
	}
	return env
}

// post sends an envelope to a service of the aslba tenant and returns the status and body.
func (h *harness) post(service, op string, env []byte) (int, []byte) {
	h.t.Helper()
	return h.postURL(h.srv.ServiceURL("aslba", service), op, env)
}

func (h *harness) postURL(url, op string, env []byte) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(env))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+NS+op+`"`)
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// call secures req, posts it and returns the fault code ("" on success) and the body.
func (h *harness) call(service, op, patient string, req any, mod func(*wssec.Params)) (string, []byte) {
	h.t.Helper()
	status, body := h.post(service, op, h.secure(service, op, patient, req, mod))
	code := faultCode(body)
	if code != "" && status != http.StatusInternalServerError {
		h.t.Fatalf("%s: fault %s with HTTP %d, want 500", op, code, status)
	}
	if code == "" && status != http.StatusOK {
		h.t.Fatalf("%s: HTTP %d without a fault: %.300s", op, status, body)
	}
	return code, body
}

// mustOK is call expecting success, decoding the response into resp.
func (h *harness) mustOK(service, op, patient string, req, resp any) {
	h.t.Helper()
	code, body := h.call(service, op, patient, req, nil)
	if code != "" {
		h.t.Fatalf("%s: fault %s: %s", op, code, faultStringOf(body))
	}
	decodeBody(h.t, body, resp)
}

type faultEnv struct {
	Body struct {
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
			Actor  string `xml:"faultactor"`
			Detail struct {
				ErrorCode string `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/ errorCode"`
			} `xml:"detail"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

func parseFault(body []byte) *faultEnv {
	var f faultEnv
	if err := xml.Unmarshal(body, &f); err != nil || f.Body.Fault == nil {
		return nil
	}
	return &f
}

// faultCode is detail/errorCode, or the faultcode's local name for the security fault
// (env:E000231, which has no detail).
func faultCode(body []byte) string {
	if f := parseFault(body); f != nil {
		if c := f.Body.Fault.Detail.ErrorCode; c != "" {
			return c
		}
		if _, local, ok := strings.Cut(f.Body.Fault.Code, ":"); ok && strings.HasPrefix(local, "E") {
			return local
		}
	}
	return ""
}

func faultStringOf(body []byte) string {
	if f := parseFault(body); f != nil {
		return f.Body.Fault.String
	}
	return ""
}

// decodeBody unmarshals the first element of soap:Body into v.
func decodeBody(t testing.TB, body []byte, v any) {
	t.Helper()
	_, el, err := bodyElement(body)
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	if err := xml.Unmarshal(el, v); err != nil {
		t.Fatalf("response: %v", err)
	}
}

// pdfFor is a minimal FSE document: a PDF embedding a lab-report CDA for patient whose id
// extension is idExt (or the extension of idExt when it is a whole root^extension uniqueId).
func pdfFor(patient, idExt string) []byte {
	return pdfAt(patient, idExt, recent, "N")
}

// pdfAt is pdfFor with the CDA's effectiveTime (the publication's creationTime) and
// confidentialityCode.
func pdfAt(patient, idExt string, created time.Time, confidentiality string) []byte {
	return pdfSized(patient, idExt, created, confidentiality, 0)
}

// pdfSized is pdfAt padded to at least size bytes.
func pdfSized(patient, idExt string, created time.Time, confidentiality string, size int) []byte {
	if _, ext, ok := strings.Cut(idExt, "^"); ok {
		idExt = ext
	}
	return pdfcdatest.PDF{Attachment: signedCDA(pdfcdatest.CDA{PatientCF: patient, IDExtension: idExt,
		EffectiveTime: created.UTC().Format("20060102150405") + "+0000", Confidential: confidentiality}.Bytes()), PadTo: size}.Bytes()
}

var cdaSigner struct {
	once   sync.Once
	leaf   *signtest.Leaf
	err    error
	mu     sync.Mutex
	signed map[string][]byte // the same CDA gets the same signed bytes (duplicate tests)
}

// signedCDA signs cda with an enveloped XAdES signature (adapter/xades) by a throwaway test
// signer: the region wants the CDA signed (FSE-10001, #1005).
func signedCDA(cda []byte) []byte {
	cdaSigner.once.Do(func() {
		ca, err := signtest.NewCA("fsepuglia sim test CA")
		if err != nil {
			cdaSigner.err = err
			return
		}
		cdaSigner.leaf, cdaSigner.err = ca.Issue(signtest.LeafOptions{Key: signtest.ECDSAP256})
	})
	if cdaSigner.err != nil {
		panic(cdaSigner.err)
	}
	cdaSigner.mu.Lock()
	defer cdaSigner.mu.Unlock()
	if b, ok := cdaSigner.signed[string(cda)]; ok {
		return b
	}
	b, err := xades.Sign(cda, cdaSigner.leaf, xades.SignOptions{})
	if err != nil {
		panic(err)
	}
	if cdaSigner.signed == nil {
		cdaSigner.signed = map[string][]byte{}
	}
	cdaSigner.signed[string(cda)] = b
	return b
}

// docFor is the document element of addDocument as observed: the file, a title, the status.
func docFor(content []byte) *document.DocumentType {
	return &document.DocumentType{Document: content, DocumentName: "Referto di laboratorio", Status: document.DocumentStatusTypeApproved}
}

// publish adds a document and fails the test on a fault.
// confidentiality is the CDA's confidentialityCode ("" for N; V makes the simulator obscure
// the document, P99).
func (h *harness) publish(patient, uid string, created time.Time, confidentiality string) {
	h.t.Helper()
	if confidentiality == "" {
		confidentiality = "N"
	}
	d := docFor(pdfAt(patient, uid, created, confidentiality))
	var resp document.AddDocumentResponse
	h.mustOK(ServiceDocument, "addDocument", patient, &document.AddDocument{Document: d}, &resp)
	if resp.Result == nil || resp.Result.UniqueId != uid {
		h.t.Fatalf("addDocument result %+v, want uniqueId %s", resp.Result, uid)
	}
}

// consent sets consent values directly in the store (the wire path is tested on its own).
func (h *harness) consent(patient string, kv ...any) {
	h.t.Helper()
	var ch []store.ConsentChange
	for i := 0; i+1 < len(kv); i += 2 {
		ch = append(ch, store.ConsentChange{Code: kv[i].(string), Value: kv[i+1].(bool)})
	}
	if _, err := h.srv.Data().Store.RecordConsents(patient, ch, store.ConsentActor{OperatorCF: h.operatorCF(), Role: "OGC"}, time.Now()); err != nil {
		h.t.Fatal(err)
	}
}

type wssecParams = wssec.Params

// pdfcdatestPadded is a valid FSE document of at least size bytes.
func pdfcdatestPadded(patient, idExt string, size int) []byte {
	return pdfcdatest.PDF{Attachment: signedCDA(pdfcdatest.CDA{PatientCF: patient, IDExtension: idExt}.Bytes()), PadTo: size}.Bytes()
}

// bodyElement returns the name and the raw bytes of the first element inside soap:Body of a
// response (the simulator itself parses requests once, with parseRequest).
func bodyElement(env []byte) (xml.Name, []byte, error) {
	d := xml.NewDecoder(bytes.NewReader(env))
	depth := 0
	inBody := false
	for {
		start := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return xml.Name{}, nil, errors.New("no soap:Body element")
			}
			return xml.Name{}, nil, errors.New("XML not well-formed")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1:
				if t.Name.Space != wssec.NSSOAP11 || t.Name.Local != "Envelope" {
					return xml.Name{}, nil, errors.New("root is not a SOAP 1.1 Envelope")
				}
			case depth == 2 && t.Name.Space == wssec.NSSOAP11 && t.Name.Local == "Body":
				inBody = true
			case depth == 3 && inBody:
				if err := d.Skip(); err != nil {
					return xml.Name{}, nil, errors.New("XML not well-formed")
				}
				return t.Name, env[start:d.InputOffset()], nil
			}
		case xml.EndElement:
			depth--
			if inBody && depth == 1 {
				return xml.Name{}, nil, errors.New("empty soap:Body")
			}
		}
	}
}
