package sim

import (
	"bytes"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	fsefault "github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/wssectest"
	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/fsepuglia/fsepuglia/wsdl"
)

// TestObservedRequestShapes replays the addDocument requests of #2501 and #2511
// (fixtures/observed, byte-shaped like the threads: S: prefix, pretty-printed, the
// assertion directly in the Header, #2511's saml:ID, SHA-1, #X509-1), signed with the
// simulator's test operator: the simulator accepts them and publishes the document; the
// same request naming an operator whose CF is not the smart card's gets #2501's E000231
// answer, which the client decodes as a security fault.
func TestObservedRequestShapes(t *testing.T) {
	h := startSim(t, nil)
	for _, tc := range []struct{ file, patient string }{
		{"2501_addDocument.request.xml", patA},
		{"2511_addDocument.request.xml", patB},
	} {
		t.Run(tc.file, func(t *testing.T) {
			tmpl, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "observed", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			uid := strings.TrimSuffix(tc.file, ".request.xml")
			pdf := pdfFor(tc.patient, uid)
			vars := func() map[string]string {
				return map[string]string{
					"TO": h.srv.ServiceURL("aslba_test", ServiceDocument), "MESSAGE_ID": wssec.NewMessageID(),
					"ISSUER": "FSEPUGLIA", "NAME_ID": "01234567890.fsepuglia.example.it", "OPERATOR_CF": h.operatorCF(),
					"STRUCTURE": StructureCode, "PDF_BASE64": base64.StdEncoding.EncodeToString(pdf),
				}
			}
			env, err := wssectest.Replay(tmpl, h.signer, time.Now(), vars())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(env, []byte("\n")) || !bytes.HasPrefix(env, []byte("<S:Envelope")) {
				t.Fatalf("the replay lost the trace's shape:\n%.300s", env)
			}
			status, body := h.postURL(h.srv.ServiceURL("aslba_test", ServiceDocument), "addDocument", env)
			if status != 200 || faultCode(body) != "" {
				t.Fatalf("HTTP %d, fault %q %s", status, faultCode(body), faultStringOf(body))
			}
			var resp document.AddDocumentResponse
			decodeBody(t, body, &resp)
			m, err := h.srv.Data().Store.Meta(uidRoot + uid)
			if err != nil || resp.Result == nil || resp.Result.UniqueId != uidRoot+uid || m.PatientCF != tc.patient || m.PublishedBy != StructureCode {
				t.Fatalf("result %+v, stored %+v, %v", resp.Result, m, err)
			}

			// The same shape naming an operator other than the smart card's CF: #2501's answer.
			v := vars()
			v["OPERATOR_CF"] = otherCF(t)
			env, err = wssectest.Replay(tmpl, h.signer, time.Now(), v)
			if err != nil {
				t.Fatal(err)
			}
			status, body = h.postURL(h.srv.ServiceURL("aslba_test", ServiceDocument), "addDocument", env)
			f, ok := fsefault.Parse(body, status)
			if !ok || f.Code != "E000231" || f.Class != fsefault.Security || f.Actor != "" || len(f.Detail) != 0 {
				t.Fatalf("HTTP %d: %+v\n%s", status, f, body)
			}
		})
	}
}

// TestOperationsTableMatchesContracts: the contracts' table (wsdl.Operations), the WSDLs the
// simulator serves and the simulator's handlers name the same operations, each under the
// same service, with the Action the WSDL declares.
func TestOperationsTableMatchesContracts(t *testing.T) {
	table := map[string]string{}
	for _, o := range wsdl.Operations {
		if _, dup := table[o.Name]; dup {
			t.Errorf("%s twice in the table", o.Name)
		}
		table[o.Name] = o.Service
		if h, ok := operations[o.Service][o.Name]; !ok || h == nil {
			t.Errorf("%s/%s has no simulator handler", o.Service, o.Name)
		}
	}
	for svc, ops := range operations {
		for op := range ops {
			if table[op] != svc {
				t.Errorf("handler %s/%s is not in the table (table says %q)", svc, op, table[op])
			}
		}
		b, err := fs.ReadFile(wsdl.FS, svc+".wsdl")
		if err != nil {
			t.Fatal(err)
		}
		inputs := regexp.MustCompile(`<wsdl:operation name="(\w+)">\s*<wsdl:input [^>]*wsam:Action="([^"]+)"`).FindAllStringSubmatch(string(b), -1)
		faults := regexp.MustCompile(`<wsdl:fault name="FseFault" message="tns:FseFault" wsam:Action="([^"]+)"`).FindAllStringSubmatch(string(b), -1)
		if len(inputs) != len(ops) || len(faults) != len(ops) {
			t.Errorf("%s.wsdl: %d input and %d fault Actions for %d operations", svc, len(inputs), len(faults), len(ops))
		}
		for _, m := range inputs {
			o, ok := wsdl.Lookup(m[1])
			if !ok || o.Service != svc || o.Action() != m[2] {
				t.Errorf("%s.wsdl declares %s with Action %s; the table has %+v", svc, m[1], m[2], o)
			}
		}
		for _, m := range faults {
			found := false
			for _, o := range wsdl.Operations {
				found = found || (o.Service == svc && o.FaultAction() == m[1])
			}
			if !found {
				t.Errorf("%s.wsdl's fault Action %s is no operation's FaultAction", svc, m[1])
			}
		}
	}
}

// TestRefusalShape: a publication the middleware refuses comes back as #2717 says, in
// #2331's envelope: the operation's fault Action, a fresh urn:uuid MessageID, To anonymous,
// RelatesTo the request's MessageID; FSE-00000 in the detail, the problem+json in the
// faultstring.
func TestRefusalShape(t *testing.T) {
	h := startSim(t, nil)
	id := wssec.NewMessageID()
	code, body := h.call(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: docFor([]byte("not a pdf"))},
		func(p *wssec.Params) { p.MessageID = id })
	if code != CodeGeneric {
		t.Fatalf("fault %q", code)
	}
	for _, want := range []string{
		`<Action xmlns="http://www.w3.org/2005/08/addressing">` + NS + `IDocument/addDocument/Fault/SOAPFaultException</Action>`,
		`<MessageID xmlns="http://www.w3.org/2005/08/addressing">urn:uuid:`,
		`<RelatesTo xmlns="http://www.w3.org/2005/08/addressing">` + id + `</RelatesTo>`,
		`<faultcode xmlns:a="http://schemas.xmlsoap.org/soap/envelope/">a:Server</faultcode>`,
		`<faultstring>Error during middleware call: Validation and publication service returned error: {`,
		`"type": "/msg/document-type"`, `"status": 415`, `"workflowInstanceId": "UNKNOWN_WORKFLOW_ID"`,
		`<faultactor>IDocument</faultactor>`,
		`<fse:errorCode xmlns:fse="` + NS + `">FSE-00000</fse:errorCode>`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("refusal lacks %s:\n%s", want, body)
		}
	}
}
