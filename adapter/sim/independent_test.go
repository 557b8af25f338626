package sim

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/sim/informativa"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
	"github.com/fsepuglia/fsepuglia/adapter/sim/seed"
	"github.com/fsepuglia/fsepuglia/generated/consenso"
	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/fsepuglia/fsepuglia/generated/taccuino"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

// TestResponsesValidateAgainstXSD checks every operation's answer with xmllint against the
// contract's XSD (an independent validator), and a fault's detail against FSECommon.xsd.
func TestResponsesValidateAgainstXSD(t *testing.T) {
	xmllint := testenv.Tool(t, "xmllint", "apt-get install libxml2-utils")
	h := startSim(t, nil)
	h.consent(patA, "C2", true, "C3", true)
	uid, uid2 := uidRoot+"xsd.1", uidRoot+"xsd.2"
	pz := &consenso.PazienteType{CodiceFiscale: patA}
	filtro := &taccuino.FiltroTaccuinoType{CodiceFiscalePaziente: seed.PatientB, Limit: 3}
	calls := []struct {
		service, op, xsd string
		req              any
	}{
		{ServiceDocument, "addDocument", "IDocument.xsd", &document.AddDocument{Document: docFor(pdfFor(patA, uid))}},
		{ServiceDocument, "searchDocuments", "IDocument.xsd", &document.SearchDocuments{PatientId: patA}},
		{ServiceDocument, "retrieveDocument", "IDocument.xsd", &document.RetrieveDocument{UniqueId: uid}},
		{ServiceDocument, "replaceDocument", "IDocument.xsd", &document.ReplaceDocument{ReplacedUniqueId: uid, Document: docFor(pdfFor(patA, uid2))}},
		{ServiceDocument, "deleteDocument", "IDocument.xsd", &document.DeleteDocument{UniqueId: uid2, PatientId: patA}},
		{ServiceConsenso, "comunicazioneConsensi", "IGestoreConsenso.xsd", &consenso.ComunicazioneConsensi{Paziente: pz,
			IdInformativa: informativa.DefaultID, Consenso: []*consenso.ConsensoType{{Codice: "C5", Valore: true}}}},
		{ServiceConsenso, "statoConsensi", "IGestoreConsenso.xsd", &consenso.StatoConsensi{Paziente: pz}},
		{ServiceConsenso, "recuperoInformativa", "IGestoreConsenso.xsd", &consenso.RecuperoInformativa{}},
		{ServiceTaccuino, "getTaccuino", "ITaccuino.xsd", &taccuino.GetTaccuino{Filtro: filtro}},
		{ServiceTaccuino, "getRilevazioni", "ITaccuino.xsd", &taccuino.GetRilevazioni{Filtro: filtro}},
		{ServiceTaccuino, "getFarmaci", "ITaccuino.xsd", &taccuino.GetFarmaci{Filtro: filtro}},
		{ServiceTaccuino, "getEventi", "ITaccuino.xsd", &taccuino.GetEventi{Filtro: filtro}},
		{ServiceTaccuino, "getSintomi", "ITaccuino.xsd", &taccuino.GetSintomi{Filtro: filtro}},
		{ServiceTaccuino, "getDocumentiPersonali", "ITaccuino.xsd", &taccuino.GetDocumentiPersonali{Filtro: filtro}},
	}
	root := filepath.Join("..", "..", "wsdl")
	for _, c := range calls {
		t.Run(c.op, func(t *testing.T) {
			patient := patA
			if c.service == ServiceTaccuino {
				patient = seed.PatientB
			}
			if c.op == "recuperoInformativa" {
				patient = ""
			}
			code, body := h.call(c.service, c.op, patient, c.req, nil)
			if code != "" {
				t.Fatalf("fault %s: %s", code, faultStringOf(body))
			}
			_, payload, err := bodyElement(body)
			if err != nil {
				t.Fatal(err)
			}
			xmllintValidate(t, xmllint, filepath.Join(root, c.xsd), payload)
		})
	}
	t.Run("fault detail", func(t *testing.T) {
		_, body := h.post(ServiceDocument, "searchDocuments", marshalEnvelope(t, searchReq(patA)))
		i := bytes.Index(body, []byte("<fse:errorCode"))
		j := bytes.Index(body, []byte("</fse:errorCode>"))
		if i < 0 || j < i {
			t.Fatalf("no errorCode in %s", body)
		}
		xmllintValidate(t, xmllint, filepath.Join(root, "FSECommon.xsd"), body[i:j+len("</fse:errorCode>")])
	})
}

func xmllintValidate(t *testing.T, xmllint, xsd string, payload []byte) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "payload.xml")
	if err := os.WriteFile(f, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, f).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint --schema %s rejects the response: %v\n%s", filepath.Base(xsd), err, out)
	}
}

// TestFaultEnvelopeMatchesInject keeps the simulator's faults in the shape of the project's
// reference fault (inject.FaultEnvelope), which the client's parser is tested on: same code,
// text, actor and detail; the simulator adds the WS-Addressing header of #2331.
func TestFaultEnvelopeMatchesInject(t *testing.T) {
	for _, code := range []string{CodeGeneric, CodeCFMismatch, CodeInvalid, CodeSecurity, CodeReplay, CodeNotFound,
		CodeAssertion, CodeDuplicate, CodeInconsistent, CodeConsent, CodeUnavailable, CodeUnsignedCDA} {
		t.Run(code, func(t *testing.T) {
			for _, actor := range []string{"IDocument", "IGestoreConsenso", "ITaccuino"} {
				if got, want := FaultEnvelope(code, "", actor), inject.FaultEnvelope(code, actor); !bytes.Equal(got, want) {
					t.Fatalf("got\n%s\nwant\n%s", got, want)
				}
			}
			f := parseFault(FaultEnvelope(code, "a <detail> & more", "IDocument"))
			if f == nil || f.Body.Fault.String != inject.FaultString(code)+": a <detail> & more" {
				t.Fatalf("detail not carried: %+v", f)
			}
		})
	}
}

// TestRealSamples publishes the ministry's PAdES-signed sample PDFs (../shared/samples,
// skipped when absent) under a published test identity. Their CDAs carry no XML signature,
// so the region refuses them with FSE-10001 (#1005); with the rule off, each gets past the
// PDF and cda.xml checks and is refused only because its CDA patient is not the
// assertion's (FSE-00407).
func TestRealSamples(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "samples", "signed-pdf")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	if len(files) == 0 {
		t.Skipf("no sample PDFs in %s", dir)
	}
	for _, tc := range []struct {
		acceptUnsigned bool
		code, text     string
	}{{false, CodeUnsignedCDA, "Il documento CDA non e' firmato digitalmente"}, {true, CodeAssertion, "resource-id differs"}} {
		h := startSim(t, func(o *Options) { o.RequireSignedCDA = !tc.acceptUnsigned })
		for i, f := range files {
			t.Run(fmt.Sprintf("%s/unsigned-accepted=%v", filepath.Base(f), tc.acceptUnsigned), func(t *testing.T) {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				code, body := h.call(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: docFor(b)}, nil)
				if code != tc.code || !bytes.Contains([]byte(faultStringOf(body)), []byte(tc.text)) {
					t.Fatalf("sample %d: fault %q %q, want %s", i, code, faultStringOf(body), tc.code)
				}
			})
		}
	}
}
