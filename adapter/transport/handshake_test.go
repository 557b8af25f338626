package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"
)

type echoRequest struct {
	XMLName xml.Name `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE searchDocuments"`
	Q       string   `xml:"q"`
}

type echoResponse struct {
	XMLName xml.Name `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE searchDocumentsResponse"`
	CN      string   `xml:"cn"`
}

// mtlsServer is an httptest TLS server that requires a client certificate issued by ca and
// counts TLS handshakes (GetConfigForClient runs once per ClientHello) and TCP connections.
type mtlsServer struct {
	*httptest.Server
	handshakes, conns atomic.Int64
	caFile            string
}

func newMTLSServer(t testing.TB, ca *testCA) *mtlsServer {
	t.Helper()
	srvCert, srvKey := issue(t, ca, leafOpts{cn: "127.0.0.1", ips: []net.IP{net.IPv4(127, 0, 0, 1)},
		eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, notBefore: time.Now().Add(-time.Hour), notAfter: time.Now().Add(time.Hour)})
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	s := &mtlsServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		cn := ""
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		// A trailing newline after the envelope: gowsdl's decoder stops before it, so without
		// draining the connection could not be reused.
		_, _ = io.WriteString(w, `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>`+
			`<fse:searchDocumentsResponse xmlns:fse="http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE"><cn>`+cn+
			`</cn></fse:searchDocumentsResponse></soap:Body></soap:Envelope>`+"\n\n")
	}))
	base := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey, Leaf: srvCert}},
	}
	s.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		s.handshakes.Add(1)
		return base, nil
	}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	s.caFile = writePEM(t, t.TempDir(), "ca.pem", "CERTIFICATE", ca.cert.Raw)
	return s
}

func callGowsdl(ctx context.Context, url string, hc *http.Client) (string, error) {
	c := soap.NewClient(url, soap.WithHTTPClient(hc))
	var resp echoResponse
	err := c.CallContext(ctx, "searchDocuments", &echoRequest{Q: "x"}, &resp)
	return resp.CN, err
}

// TestSharedClientOneHandshake shows that N sequential gowsdl calls through the client built
// by New cost one TCP connection and one TLS handshake, with the client certificate seen by
// a server that requires and verifies it; and, as a control, that the same calls through a
// plain transport (what gowsdl does by itself) cost N handshakes.
func TestSharedClientOneHandshake(t *testing.T) {
	const n = 6
	ca := newCA(t, "Test CA_PREPROD")
	srv := newMTLSServer(t, ca)
	c, k := issue(t, ca, leafOpts{cn: goodCN, notBefore: time.Now().Add(-time.Hour)})
	cf, kf := writePair(t, c, k)
	hc, findings, err := New(Config{Environment: "test", CertFile: cf, KeyFile: kf, CAFile: srv.caFile, MaxConnsPerHost: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Severity != Info {
			t.Errorf("unexpected finding %v", f)
		}
	}
	for i := 0; i < n; i++ {
		cn, err := callGowsdl(context.Background(), srv.URL+"/aslba_test/IDocumentService", hc)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if cn != goodCN {
			t.Fatalf("server saw client CN %q, want %q", cn, goodCN)
		}
	}
	if h, cs := srv.handshakes.Load(), srv.conns.Load(); h != 1 || cs != 1 {
		t.Errorf("shared client: %d handshakes and %d connections for %d calls, want 1 and 1", h, cs, n)
	}

	// Control: the same TLS settings without the KeepAlive wrapper.
	srv.handshakes.Store(0)
	srv.conns.Store(0)
	plain := hc.Transport.(keepAlive).rt.(*http.Transport).Clone()
	for i := 0; i < n; i++ {
		if _, err := callGowsdl(context.Background(), srv.URL+"/aslba_test/IDocumentService", &http.Client{Transport: plain}); err != nil {
			t.Fatalf("control call %d: %v", i, err)
		}
	}
	if h := srv.handshakes.Load(); h != n {
		t.Errorf("control without KeepAlive: %d handshakes, want %d (the counter or gowsdl changed)", h, n)
	}
}

// TestConcurrentCallsReuseBoundedPool runs rounds of concurrent calls: connections never
// exceed MaxConnsPerHost, and later rounds reuse the idle ones (no new handshakes).
func TestConcurrentCallsReuseBoundedPool(t *testing.T) {
	const workers, rounds, pool = 8, 3, 3
	ca := newCA(t, "Test CA_PREPROD")
	srv := newMTLSServer(t, ca)
	c, k := issue(t, ca, leafOpts{cn: goodCN, notBefore: time.Now().Add(-time.Hour)})
	cf, kf := writePair(t, c, k)
	hc, _, err := New(Config{Environment: "test", CertFile: cf, KeyFile: kf, CAFile: srv.caFile, MaxConnsPerHost: pool})
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := callGowsdl(context.Background(), srv.URL+"/aslba_test/ITaccuinoService", hc); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	if cs, h := srv.conns.Load(), srv.handshakes.Load(); cs > pool || h > pool || cs < 1 {
		t.Errorf("%d connections and %d handshakes for %d calls, want at most %d", cs, h, workers*rounds, pool)
	}
}

// TestServerRefusesWithoutClientCert checks that the test server really enforces mutual
// TLS, so the test above proves something.
func TestServerRefusesWithoutClientCert(t *testing.T) {
	ca := newCA(t, "Test CA_PREPROD")
	srv := newMTLSServer(t, ca)
	hc, _, err := New(Config{Environment: "local", CAFile: srv.caFile})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := callGowsdl(context.Background(), srv.URL+"/aslba_test/IDocumentService", hc); err == nil {
		t.Fatal("call without a client certificate succeeded")
	}
	// And without the CA bundle the server is not trusted.
	c, k := issue(t, ca, leafOpts{cn: goodCN, notBefore: time.Now().Add(-time.Hour)})
	cf, kf := writePair(t, c, k)
	hc, _, err = New(Config{Environment: "test", CertFile: cf, KeyFile: kf})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := callGowsdl(context.Background(), srv.URL+"/aslba_test/IDocumentService", hc); err == nil {
		t.Fatal("server with a private CA trusted without tls.ca_file")
	}
}

func TestTLSSettings(t *testing.T) {
	hc, _, err := New(Config{Environment: "local", MaxConnsPerHost: 5})
	if err != nil {
		t.Fatal(err)
	}
	if hc.Timeout != 0 {
		t.Errorf("global timeout %v would cut large uploads", hc.Timeout)
	}
	tr := hc.Transport.(keepAlive).rt.(*http.Transport)
	if tr.TLSClientConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %x", tr.TLSClientConfig.MinVersion)
	}
	if tr.MaxIdleConnsPerHost != 5 || tr.MaxConnsPerHost != 5 {
		t.Errorf("pool %d/%d, want 5/5", tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost)
	}
	if tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("InsecureSkipVerify on by default")
	}
}

// TestTLS11Refused checks the TLS 1.2 minimum against a server that offers at most 1.1.
func TestTLS11Refused(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	hc, _, err := New(Config{Environment: "local", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("TLS 1.1 server accepted")
	}
}

// BenchmarkCall measures one gowsdl call over mutual TLS through the shared client (one
// handshake for the whole run) and through a plain transport (a handshake per call).
func BenchmarkCall(b *testing.B) {
	ca := newCA(b, "Test CA_PREPROD")
	srv := newMTLSServer(b, ca)
	c, k := issue(b, ca, leafOpts{cn: goodCN, notBefore: time.Now().Add(-time.Hour)})
	cf, kf := writePair(b, c, k)
	hc, _, err := New(Config{Environment: "test", CertFile: cf, KeyFile: kf, CAFile: srv.caFile})
	if err != nil {
		b.Fatal(err)
	}
	url := srv.URL + "/aslba_test/IDocumentService"
	b.Run("shared", func(b *testing.B) {
		for b.Loop() {
			if _, err := callGowsdl(context.Background(), url, hc); err != nil {
				b.Fatal(err)
			}
		}
	})
	plain := &http.Client{Transport: hc.Transport.(keepAlive).rt.(*http.Transport).Clone()}
	b.Run("handshake-per-call", func(b *testing.B) {
		for b.Loop() {
			if _, err := callGowsdl(context.Background(), url, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
}
