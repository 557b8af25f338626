package fault

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hooklift/gowsdl/soap"
)

type pingRequest struct {
	XMLName xml.Name `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/ searchDocuments"`
	Q       string   `xml:"q"`
}

type pingResponse struct {
	XMLName xml.Name `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/ searchDocumentsResponse"`
	Esito   string   `xml:"esito"`
}

// call makes one call through gowsdl's own soap.Client, as generated code does, and maps
// its error.
func call(ctx context.Context, url string, hc *http.Client) error {
	opts := []soap.Option{}
	if hc != nil {
		opts = append(opts, soap.WithHTTPClient(hc))
	}
	c := soap.NewClient(url, opts...)
	var resp pingResponse
	err := c.CallContext(ctx, "searchDocuments", &pingRequest{Q: "x"}, &resp)
	return FromError(err, "searchDocuments", url)
}

func TestFromErrorThroughGowsdl(t *testing.T) {
	type want struct {
		fault     bool
		code      string
		class     Class
		status    int
		transient bool
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    want
	}{
		{"fault with HTTP 500", body(500, readFixture(t, "idocument_00407_gateway.xml")),
			want{fault: true, code: "FSE-00407", class: Security, status: 500}},
		{"fault with HTTP 200", body(200, readFixture(t, "consent_00400_http200.xml")),
			want{fault: true, code: "FSE-00400", class: Validation, status: 200}},
		{"fault with HTTP 503", body(503, readFixture(t, "taccuino_00503_transient.xml")),
			want{fault: true, code: "FSE-00503", class: Transient, status: 503, transient: true}},
		{"415 without code", body(415, readFixture(t, "idocument_00415_notpdf.xml")),
			want{fault: true, class: Validation, status: 415}},
		{"502 html", body(502, readFixture(t, "notfault_gateway_502.html")), want{status: 502, transient: true}},
		{"504 empty", body(504, nil), want{status: 504, transient: true}},
		{"503 empty", body(503, nil), want{status: 503, transient: true}},
		{"404 html", body(404, []byte("<html>not found</html>")), want{status: 404}},
		{"500 html", body(500, []byte("<html>boom</html>")), want{status: 500}},
		{"200 truncated", body(200, readFixture(t, "notfault_truncated.xml")), want{transient: true}},
		{"200 malformed", body(200, []byte("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body></wrong>")), want{}},
		{"connection cut mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			w.Header().Set("Content-Length", "5000")
			w.WriteHeader(200)
			_, _ = w.Write(readFixture(t, "notfault_success.xml")[:100])
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("no hijacker")
				return
			}
			conn, _, _ := hj.Hijack()
			conn.Close()
		}, want{transient: true}},
		{"connection reset before answer", func(w http.ResponseWriter, r *http.Request) {
			hj := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST instead of FIN
			}
			conn.Close()
		}, want{transient: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			err := call(context.Background(), srv.URL, srv.Client())
			if err == nil {
				t.Fatal("no error")
			}
			var f *Fault
			var ce *CallError
			isFault, isCall := errors.As(err, &f), errors.As(err, &ce)
			if isFault != tc.want.fault || isCall == tc.want.fault {
				t.Fatalf("fault=%v call=%v (%T %v), want fault=%v", isFault, isCall, err, err, tc.want.fault)
			}
			if isFault {
				if f.Code != tc.want.code || f.Class != tc.want.class || f.HTTPStatus != tc.want.status {
					t.Errorf("fault %q %v %d, want %q %v %d", f.Code, f.Class, f.HTTPStatus, tc.want.code, tc.want.class, tc.want.status)
				}
				if f.Op != "searchDocuments" || f.Endpoint != srv.URL {
					t.Errorf("op/endpoint not recorded: %q %q", f.Op, f.Endpoint)
				}
				if f.Transient() != tc.want.transient {
					t.Errorf("Transient() = %v, want %v", f.Transient(), tc.want.transient)
				}
				return
			}
			if ce.Op != "searchDocuments" || ce.Endpoint != srv.URL {
				t.Errorf("op/endpoint not recorded: %q %q", ce.Op, ce.Endpoint)
			}
			if ce.Transient() != tc.want.transient {
				t.Errorf("Transient() = %v, want %v (cause %T: %v)", ce.Transient(), tc.want.transient, ce.Err, ce.Err)
			}
			var se *StatusError
			if gotStatus := errors.As(err, &se); gotStatus != (tc.want.status != 0) {
				t.Errorf("StatusError present = %v, want status %d", gotStatus, tc.want.status)
			} else if gotStatus && se.StatusCode != tc.want.status {
				t.Errorf("status %d, want %d", se.StatusCode, tc.want.status)
			}
			if wantClass := map[bool]Class{true: Transient, false: Unknown}[tc.want.transient]; Classify(err) != wantClass {
				t.Errorf("Classify = %v, want %v", Classify(err), wantClass)
			}
		})
	}
}

func body(status int, b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}
}

func TestFromErrorTransportFailures(t *testing.T) {
	// A closed port: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/aslba/IDocumentService"
	ln.Close()

	tlsSrv := httptest.NewTLSServer(body(200, readFixture(t, "notfault_success.xml")))
	defer tlsSrv.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name      string
		ctx       context.Context
		url       string
		hc        *http.Client
		transient bool
	}{
		{"connection refused", context.Background(), refused, http.DefaultClient, true},
		{"unknown server CA", context.Background(), tlsSrv.URL, &http.Client{}, false},
		{"caller cancelled", cancelled, slow.URL, slow.Client(), false},
		{"response header timeout", context.Background(), slow.URL,
			&http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 50_000_000}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := call(tc.ctx, tc.url, tc.hc)
			var ce *CallError
			if !errors.As(err, &ce) {
				t.Fatalf("got %T %v, want *CallError", err, err)
			}
			if ce.Transient() != tc.transient {
				t.Errorf("Transient() = %v, want %v (cause %T: %v)", ce.Transient(), tc.transient, ce.Err, ce.Err)
			}
		})
	}
}

func TestFromErrorPassThrough(t *testing.T) {
	if FromError(nil, "op", "u") != nil {
		t.Error("nil must stay nil")
	}
	f := &Fault{Code: "FSE-00404", Class: NotFound}
	wrapped := fmt.Errorf("wrapped: %w", f)
	if got := FromError(wrapped, "op", "u"); got != wrapped {
		t.Errorf("an error already holding a *Fault must be returned unchanged, got %v", got)
	}
	ce := &CallError{Op: "a", Err: errors.New("x")}
	if got := FromError(ce, "op", "u"); got != ce {
		t.Errorf("a *CallError must be returned unchanged")
	}
	plain := errors.New("plain")
	got := FromError(plain, "op", "u")
	var c *CallError
	if !errors.As(got, &c) || !errors.Is(got, plain) || c.Transient() {
		t.Errorf("plain error must become a non-transient *CallError wrapping it, got %#v", got)
	}
	// A gowsdl SOAPFault built by hand (what CallContext returns on HTTP 200).
	sf := &soap.SOAPFault{Code: "soap:Client", String: "FSE-00451 - consenso mancante", Actor: "IGestoreConsenso"}
	var out *Fault
	if !errors.As(FromError(sf, "getDocumenti", "u"), &out) || out.Code != "FSE-00451" || out.Class != ConsentMissing ||
		out.HTTPStatus != 200 || !out.IsClientFault() {
		t.Errorf("SOAPFault not mapped: %#v", out)
	}
}

// TestHTTP200FaultDetail shows what a fault sent with HTTP 200 keeps: through the generated
// CallContext the detail is dropped (the code comes only from the faultstring); through
// CallContextWithFaultDetail and a *GowsdlDetail the errorCode in detail is read.
func TestHTTP200FaultDetail(t *testing.T) {
	srv := httptest.NewServer(body(200, readFixture(t, "wssec_000231_sist.xml")))
	defer srv.Close()
	c := soap.NewClient(srv.URL, soap.WithHTTPClient(srv.Client()))
	var resp pingResponse

	err := FromError(c.CallContext(context.Background(), "x", &pingRequest{}, &resp), "op", srv.URL)
	var f *Fault
	if !errors.As(err, &f) || f.Code != "" || f.Class != Unknown || f.Detail != nil {
		t.Fatalf("without detail capture: %#v", err)
	}

	err = FromError(c.CallContextWithFaultDetail(context.Background(), "x", &pingRequest{}, &resp, &GowsdlDetail{}), "op", srv.URL)
	if !errors.As(err, &f) || f.Code != "E000231" || f.Class != Security || f.HTTPStatus != 200 || len(f.Detail) == 0 {
		t.Fatalf("with detail capture: %#v", err)
	}
}
