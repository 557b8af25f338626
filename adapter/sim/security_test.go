package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/wssectest"
	"github.com/fsepuglia/fsepuglia/generated/consenso"
	"github.com/fsepuglia/fsepuglia/generated/document"
)

func searchReq(patient string) *document.SearchDocuments {
	return &document.SearchDocuments{PatientId: patient, Limit: 10}
}

// otherCF is a second identity, different from the PKI's operator and from patA: the
// published test identity FSELBR01C41A145S (fixtures use only published identities).
func otherCF(t *testing.T) string {
	t.Helper()
	const cf = "FSELBR01C41A145S"
	if err := codicefiscale.Validate(cf); err != nil {
		t.Fatal(err)
	}
	return cf
}

func TestSecurity(t *testing.T) {
	h := startSim(t, nil)
	h.consent(patA, "C2", true, "C3", true)
	stranger := wssectest.NewTestSigner(t, h.operatorCF())
	tests := []struct {
		name   string
		mod    func(*wssec.Params)
		tamper func(t *testing.T, env string) string
		want   string
	}{
		{name: "valid", want: ""},
		{name: "expired Timestamp", want: CodeSecurity, mod: func(p *wssec.Params) {
			p.Clock = func() time.Time { return time.Now().Add(-time.Hour) }
		}},
		{name: "Timestamp from the future", want: CodeSecurity, mod: func(p *wssec.Params) {
			p.Clock = func() time.Time { return time.Now().Add(time.Hour) }
		}},
		{name: "untrusted signer", want: CodeSecurity, mod: func(p *wssec.Params) { p.Signer = stranger }},
		{name: "body tampered after signing", want: CodeSecurity,
			mod: func(p *wssec.Params) { p.SignBody = true },
			tamper: func(t *testing.T, env string) string {
				return replaceOnce(t, env, ">10</limit>", ">11</limit>")
			}},
		// Puglia profile: the message signature covers the assertion.
		{name: "assertion tampered", want: CodeSecurity,
			tamper: func(t *testing.T, env string) string {
				return replaceOnce(t, env, `xsi:type="xs:string">ASLBA<`, `xsi:type="xs:string">ASLBT<`)
			}},
		// National profile: the assertion's own signature.
		{name: "national profile", want: "", mod: func(p *wssec.Params) {
			p.Profile, p.Attributes.PurposeOfUse, p.Attributes.Action = wssec.ProfileNational, "TREATMENT", "READ"
		}},
		{name: "national profile, assertion tampered", want: CodeAssertion,
			mod: func(p *wssec.Params) {
				p.Profile, p.Attributes.PurposeOfUse, p.Attributes.Action = wssec.ProfileNational, "TREATMENT", "READ"
			},
			tamper: func(t *testing.T, env string) string {
				return replaceOnce(t, env, "<saml:AttributeValue>TREATMENT<", "<saml:AttributeValue>EMERGENCY<")
			}},
		{name: "assertions missing", want: CodeAssertion, mod: func(p *wssec.Params) { p.Attributes = nil }},
		{name: "assertion action-id of another kind of operation", want: CodeAssertion, mod: func(p *wssec.Params) {
			p.Attributes.Action = "DELETE"
		}},
		{name: "certificate CF differs from operator CF", want: CodeCFMismatch, mod: func(p *wssec.Params) {
			p.Attributes.OperatorCF = otherCF(t)
		}},
		{name: "wsa:Action of another operation", want: CodeInvalid, mod: func(p *wssec.Params) {
			p.Action = NS + "retrieveDocument"
		}},
		{name: "wsa:To another service", want: CodeInvalid, mod: func(p *wssec.Params) {
			p.To = h.srv.ServiceURL("aslba", ServiceTaccuino)
		}},
		{name: "assertion about another patient", want: CodeAssertion, mod: func(p *wssec.Params) {
			p.Attributes.PatientCF = patB
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := h.secure(ServiceDocument, "searchDocuments", patA, searchReq(patA), tc.mod)
			if tc.tamper != nil {
				env = []byte(tc.tamper(t, string(env)))
			}
			_, body := h.post(ServiceDocument, "searchDocuments", env)
			if got := faultCode(body); got != tc.want {
				t.Fatalf("fault %q (%s), want %q", got, faultStringOf(body), tc.want)
			}
			if tc.want != "" && tc.want != CodeCFMismatch && !strings.Contains(string(body), "<RelatesTo ") {
				t.Errorf("fault without RelatesTo:\n%s", body)
			}
			if tc.want == CodeCFMismatch {
				// #2501's shape: To anonymous, an empty Action, env:E000231, no actor, no detail.
				for _, want := range []string{`<Action xmlns="http://www.w3.org/2005/08/addressing"/>`, "<faultcode>env:E000231</faultcode>",
					"<faultstring>Il codice fiscale della smart card non corrisponde a quello dell'operatore.</faultstring>"} {
					if !strings.Contains(string(body), want) {
						t.Errorf("E000231 answer lacks %s:\n%s", want, body)
					}
				}
				if strings.Contains(string(body), "faultactor") || strings.Contains(string(body), "detail") {
					t.Errorf("E000231 answer has an actor or a detail:\n%s", body)
				}
			}
		})
	}

	t.Run("unsigned message", func(t *testing.T) {
		_, body := h.post(ServiceDocument, "searchDocuments", marshalEnvelope(t, searchReq(patA)))
		if got := faultCode(body); got != CodeSecurity && got != CodeInvalid {
			t.Fatalf("fault %q, want %s (no WS-Security) or %s (no WS-Addressing)", got, CodeSecurity, CodeInvalid)
		}
	})
	t.Run("replayed MessageID", func(t *testing.T) {
		env := h.secure(ServiceDocument, "searchDocuments", patA, searchReq(patA), nil)
		if _, body := h.post(ServiceDocument, "searchDocuments", env); faultCode(body) != "" {
			t.Fatalf("first send: %s", faultStringOf(body))
		}
		_, body := h.post(ServiceDocument, "searchDocuments", env)
		if got := faultCode(body); got != CodeReplay {
			t.Fatalf("replay: fault %q, want %s", got, CodeReplay)
		}
		// The replay cache survives a restart.
		h.restart()
		_, body = h.post(ServiceDocument, "searchDocuments", env)
		if got := faultCode(body); got != CodeReplay {
			t.Fatalf("replay after restart: fault %q, want %s", got, CodeReplay)
		}
	})
	t.Run("fault shape", func(t *testing.T) {
		status, body := h.post(ServiceConsenso, "statoConsensi", marshalEnvelope(t, &consenso.StatoConsensi{Paziente: &consenso.PazienteType{CodiceFiscale: patA}}))
		f := parseFault(body)
		if status != http.StatusInternalServerError || f == nil {
			t.Fatalf("HTTP %d %s", status, body)
		}
		if f.Body.Fault.Actor != "IGestoreConsenso" || f.Body.Fault.Code != "a:Client" ||
			!strings.HasPrefix(f.Body.Fault.String, f.Body.Fault.Detail.ErrorCode+" - ") {
			t.Fatalf("fault %+v", *f.Body.Fault)
		}
		// #2331's header: the fault Action, a MessageID urn:uuid:, To anonymous; errorMessage in the detail.
		for _, want := range []string{"<?xml version='1.0' encoding='UTF-8'?>",
			`<Action xmlns="http://www.w3.org/2005/08/addressing">` + NS + `IGestoreConsenso/statoConsensi/Fault/SOAPFaultException</Action>`,
			`<MessageID xmlns="http://www.w3.org/2005/08/addressing">urn:uuid:`,
			`<To xmlns="http://www.w3.org/2005/08/addressing">http://www.w3.org/2005/08/addressing/anonymous</To>`,
			`<fse:errorMessage xmlns:fse="` + NS + `">`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("fault lacks %s:\n%s", want, body)
			}
		}
	})
	t.Run("log has no fiscal codes", func(t *testing.T) {
		logs := h.log.all()
		for _, cf := range []string{patA, patB, h.operatorCF(), otherCF(t)} {
			if strings.Contains(logs, cf) {
				t.Fatalf("log holds a fiscal code:\n%s", logs)
			}
		}
		if !strings.Contains(logs, "searchDocuments -> FSE-00401") {
			t.Fatalf("log lacks the request lines:\n%s", logs)
		}
	})
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("%q occurs %d times", old, strings.Count(s, old))
	}
	return strings.Replace(s, old, new, 1)
}

func TestTLSRequiresClientCertificate(t *testing.T) {
	h := startSim(t, nil)
	cfg := h.srv.Data().PKI.ClientTLSConfig()
	cfg.Certificates = nil
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	env := h.secure(ServiceDocument, "searchDocuments", patA, searchReq(patA), nil)
	resp, err := c.Post(h.srv.ServiceURL("aslba", ServiceDocument), "text/xml", strings.NewReader(string(env)))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("request without a client certificate got HTTP %d", resp.StatusCode)
	}
	// A client certificate from another CA is refused as well.
	other := wssectest.NewCA(t).Issue(t, otherCF(t))
	cfg2 := h.srv.Data().PKI.ClientTLSConfig()
	cfg2.Certificates = []tls.Certificate{{Certificate: [][]byte{other.Cert.Raw}, PrivateKey: other.Key}}
	c2 := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg2}, Timeout: 10 * time.Second}
	resp, err = c2.Post(h.srv.ServiceURL("aslba", ServiceDocument), "text/xml", strings.NewReader(string(env)))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("request with a foreign client certificate got HTTP %d", resp.StatusCode)
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8080", "example.com:80"} {
		t.Run(addr, func(t *testing.T) {
			_, err := Start(context.Background(), Options{DataDir: t.TempDir(), Addr: addr})
			if !errors.Is(err, ErrNotLoopback) {
				t.Fatalf("Start(%q) = %v, want ErrNotLoopback", addr, err)
			}
		})
	}
}

func TestRelaxed(t *testing.T) {
	h := startSim(t, func(o *Options) { o.Relaxed = true; o.PlainHTTP = true })
	if !strings.HasPrefix(h.srv.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %s", h.srv.URL())
	}
	h.client = &http.Client{Timeout: 10 * time.Second}
	h.consent(patA, "C2", true)
	rich := &consenso.RichiedenteType{CodiceFiscale: consenso.CodiceFiscaleType(otherCF(t)), Ruolo: "AAS", Struttura: "999999"}
	paz := &consenso.PazienteType{CodiceFiscale: patA}
	tests := []struct {
		name, service, op string
		req               any
		want              string
	}{
		// IDocumentService carries no requester block (as observed for addDocument).
		{"search without WS-Security", ServiceDocument, "searchDocuments", &document.SearchDocuments{PatientId: patA}, ""},
		{"patientId not a CF", ServiceDocument, "searchDocuments", &document.SearchDocuments{PatientId: "FSEPGL01E41A145K"}, CodeInvalid},
		{"consent richiedente given", ServiceConsenso, "statoConsensi", &consenso.StatoConsensi{Richiedente: rich, Paziente: paz}, ""},
		{"consent richiedente missing", ServiceConsenso, "statoConsensi", &consenso.StatoConsensi{Paziente: paz}, CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, body := h.post(tc.service, tc.op, marshalEnvelope(t, tc.req))
			if got := faultCode(body); got != tc.want {
				t.Fatalf("fault %q (%s), want %q", got, faultStringOf(body), tc.want)
			}
		})
	}
	t.Run("signed messages are still verified", func(t *testing.T) {
		env := h.secure(ServiceDocument, "searchDocuments", patA, searchReq(patA), func(p *wssec.Params) {
			p.Clock = func() time.Time { return time.Now().Add(-time.Hour) }
		})
		_, body := h.post(ServiceDocument, "searchDocuments", env)
		if got := faultCode(body); got != CodeSecurity {
			t.Fatalf("fault %q, want %s", got, CodeSecurity)
		}
	})
}
