package wiretest

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fsepuglia/fsepuglia/generated/consenso"
	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/fsepuglia/fsepuglia/generated/taccuino"
	"github.com/hooklift/gowsdl/soap"
)

// faultEnvelope is the observed fault shape (wsdl/FAULTS.md). It is written
// with explicit prefixes: gowsdl's soap.SOAPFault would put faultcode & co.
// in the envelope namespace, and SOAP 1.1 wants them unqualified.
type faultEnvelope struct {
	XMLName xml.Name `xml:"soap:Envelope"`
	XmlnsS  string   `xml:"xmlns:soap,attr"`
	Fault   struct {
		Code   string `xml:"faultcode"`
		String string `xml:"faultstring"`
		Actor  string `xml:"faultactor"`
		Detail struct {
			ErrorCode    any
			ErrorMessage any
		} `xml:"detail"`
	} `xml:"soap:Body>soap:Fault"`
}

// errorCode wraps a generated ErrorCode value under its element name.
type errorCode[T ~string] struct {
	XMLName xml.Name `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/ errorCode"`
	Value   T        `xml:",chardata"`
}

// errorMessage wraps a generated ErrorMessage value under its element name (observed beside
// errorCode, it-fse-support #2717).
type errorMessage[T ~string] struct {
	XMLName xml.Name `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/ errorMessage"`
	Value   T        `xml:",chardata"`
}

// TestFaultGoldens locks one fault per portType, validates its detail with
// xmllint against the service XSD (element errorCode), and shows what the
// generated client returns for it: gowsdl v0.5.0 turns the HTTP 500 into a
// *soap.HTTPError carrying the envelope, never a *soap.SOAPFault.
func TestFaultGoldens(t *testing.T) {
	tests := []struct {
		portType, xsd, code, text string
		detail, message           any
		call                      func(c *soap.Client) error
	}{
		{"IDocument", "IDocument.xsd", "soap:Client", "FSE-00404 - Documento non trovato",
			errorCode[document.ErrorCode]{Value: "FSE-00404"}, errorMessage[document.ErrorMessage]{Value: "Documento non trovato"},
			func(c *soap.Client) error {
				_, err := document.NewIDocument(c).RetrieveDocumentContext(context.Background(), &document.RetrieveDocument{UniqueId: docUID})
				return err
			}},
		{"IGestoreConsenso", "IGestoreConsenso.xsd", "soap:Client", "FSE-00400 - Richiesta non valida: paziente",
			errorCode[consenso.ErrorCode]{Value: "FSE-00400"}, errorMessage[consenso.ErrorMessage]{Value: "Richiesta non valida: paziente"},
			func(c *soap.Client) error {
				_, err := consenso.NewIGestoreConsenso(c).RecuperoInformativaContext(context.Background(), &consenso.RecuperoInformativa{})
				return err
			}},
		{"ITaccuino", "ITaccuino.xsd", "soap:Server", "FSE-00503 - Servizio temporaneamente non disponibile",
			errorCode[taccuino.ErrorCode]{Value: "FSE-00503"}, errorMessage[taccuino.ErrorMessage]{Value: "Servizio temporaneamente non disponibile"},
			func(c *soap.Client) error {
				_, err := taccuino.NewITaccuino(c).GetEventiContext(context.Background(), &taccuino.GetEventi{})
				return err
			}},
	}
	for _, tc := range tests {
		t.Run(tc.portType, func(t *testing.T) {
			var env faultEnvelope
			env.XmlnsS = soap.XmlNsSoapEnv
			env.Fault.Code, env.Fault.String, env.Fault.Actor = tc.code, tc.text, tc.portType
			env.Fault.Detail.ErrorCode = tc.detail
			env.Fault.Detail.ErrorMessage = tc.message
			b, err := xml.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.portType+".fault.xml", b)

			detail, err := faultDetail(b)
			if err != nil {
				t.Fatal(err)
			}
			// Each child of detail is a global element of the schema (errorCode, errorMessage).
			for _, el := range bytes.SplitAfter(detail, []byte("</errorCode>")) {
				if len(el) > 0 {
					validate(t, tc.xsd, el)
				}
			}

			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/xml; charset=utf-8")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write(b)
			}))
			defer srv.Close()
			err = tc.call(client(srv))
			var he *soap.HTTPError
			if !errors.As(err, &he) || he.StatusCode != http.StatusInternalServerError || !bytes.Equal(he.ResponseBody, b) {
				t.Fatalf("client returned %T %v, want *soap.HTTPError 500 with the fault envelope", err, err)
			}
		})
	}
}

// faultDetail returns the raw children of soap:Fault/detail.
func faultDetail(env []byte) ([]byte, error) {
	i := bytes.Index(env, []byte("<detail>"))
	j := bytes.Index(env, []byte("</detail>"))
	if i < 0 || j < i {
		return nil, errors.New("no detail in fault")
	}
	return env[i+len("<detail>") : j], nil
}
