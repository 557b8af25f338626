package wssec_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/hooklift/gowsdl/soap"
)

// securingTransport is the shape of the adapter's hook: it sees the envelope gowsdl
// serialised and sends the secured one without copying the Body.
type securingTransport struct {
	base   http.RoundTripper
	params func(r *http.Request) wssec.Params
}

func (t securingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	env, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	body, n, err := wssec.SecureReader(env, t.params(r))
	if err != nil {
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.Body, r2.ContentLength = io.NopCloser(body), n
	r2.GetBody = nil
	return t.base.RoundTrip(r2)
}

type addDocument struct {
	XMLName xml.Name `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/ addDocument"`
	Name    string   `xml:"documentName"`
	File    string   `xml:"file"`
}

type addDocumentResponse struct {
	XMLName xml.Name `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/ addDocumentResponse"`
	Esito   string   `xml:"esito"`
}

// TestGowsdlClient runs the real gowsdl v0.5.0 soap.Client through the hook against an
// httptest server that verifies every request.
func TestGowsdlClient(t *testing.T) {
	s := testSigner(t)
	var got *wssec.Message
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env, _ := io.ReadAll(r.Body)
		m, err := wssec.Verify(env, pinned(s, time.Now()))
		if err != nil {
			t.Errorf("server: %v\n%s", err, env)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if !bytes.Contains(env, []byte("<file>JVBERi0xLjcK</file>")) {
			t.Error("server: body not carried")
		}
		got = m
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><addDocumentResponse xmlns="`+fseNS+`"><esito>OK</esito></addDocumentResponse></soap:Body></soap:Envelope>`)
	}))
	defer srv.Close()

	hc := &http.Client{Transport: securingTransport{base: http.DefaultTransport, params: func(r *http.Request) wssec.Params {
		p := pugliaParams(s, wssec.AlgorithmDefault, false)
		p.To, p.Action, p.Clock, p.MessageID = r.URL.String(), r.Header.Get("SOAPAction"), nil, ""
		return p
	}}}
	c := soap.NewClient(srv.URL, soap.WithHTTPClient(hc))
	var resp addDocumentResponse
	if err := c.Call(action, &addDocument{Name: "referto.pdf", File: "JVBERi0xLjcK"}, &resp); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if resp.Esito != "OK" {
		t.Errorf("esito = %q", resp.Esito)
	}
	if got == nil || got.Action != action || got.To != srv.URL || got.Attributes.PatientCF != patientCF {
		t.Errorf("server saw %+v", got)
	}
}
