package inject

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

func TestParseSpec(t *testing.T) {
	good, err := ParseSpec("addDocument:latency=200ms,rate=0.2,kinds=reset|503")
	if err != nil {
		t.Fatal(err)
	}
	if good.Operation != "addDocument" || good.Latency != 200*time.Millisecond || good.Rate != 0.2 ||
		len(good.Kinds) != 2 || good.Kinds[0] != KindReset || good.Kinds[1] != Kind503 {
		t.Fatalf("parsed %+v", good)
	}
	if r, err := ParseSpec("*:rate=1,code=FSE-00000"); err != nil || r.Operation != "*" || r.FaultCode != "FSE-00000" {
		t.Fatalf("wildcard: %+v %v", r, err)
	}
	tests := []struct {
		spec, part, msg string
	}{
		{"addDocument", "addDocument", "missing ':'"},
		{"add Document:rate=1", "add Document", "operation"},
		{"addDocument:", "", "no settings"},
		{"addDocument:latency=fast", "latency=fast", "duration"},
		{"addDocument:latency=-1s", "latency=-1s", "non-negative"},
		{"addDocument:rate=1.5", "rate=1.5", "between 0 and 1"},
		{"addDocument:rate=0.2,kinds=reset|boom", "kinds=reset|boom", `"boom"`},
		{"addDocument:rate=0.2,color=red", "color=red", "unknown key color"},
		{"addDocument:rate=0.2,rate=0.3", "rate=0.3", "twice"},
		{"addDocument:rate", "rate", "key=value"},
		{"addDocument:code=503", "code=503", "FSE-00503"},
		{"addDocument:kinds=reset,code=FSE-00000", "kinds=reset,code=FSE-00000", "only to kind fault"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := ParseSpec(tc.spec)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want *SpecError", err)
			}
			if se.Part != tc.part || !strings.Contains(se.Msg, tc.msg) || !strings.Contains(err.Error(), tc.part) {
				t.Fatalf("part %q msg %q; want part %q msg containing %q", se.Part, se.Msg, tc.part, tc.msg)
			}
		})
	}
	if _, err := ParseSpecs([]string{"a:rate=1", "b:rate=1", "a:rate=0"}); err == nil {
		t.Fatal("same operation twice accepted")
	}
	rules, err := ParseSpecs([]string{"a:rate=1;b:latency=1s", "c:kinds=503"})
	if err != nil || len(rules) != 3 || rules[1].Operation != "b" || rules[1].Latency != time.Second || rules[2].Kinds[0] != Kind503 {
		t.Fatalf("multi-rule value: %+v %v", rules, err)
	}
}

type soapFault struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Fault   struct {
		Code   string `xml:"faultcode"`
		String string `xml:"faultstring"`
		Actor  string `xml:"faultactor"`
		Detail struct {
			ErrorCode string `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/ errorCode"`
		} `xml:"detail"`
	} `xml:"Body>Fault"`
}

func xmllintOK(t *testing.T, body []byte) (bool, bool) {
	t.Helper()
	xmllint := testenv.Tool(t, "xmllint", "apt-get install libxml2-utils")
	cmd := exec.Command(xmllint, "--noout", "-")
	cmd.Stdin = bytes.NewReader(body)
	return cmd.Run() == nil, true
}

func server(t *testing.T, cfg Config) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte("<ok>" + string(body) + "</ok>"))
	})
	in, err := New(cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(in)
	srv.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits
}

func post(url, action, body string) (*http.Response, error) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if action != "" {
		req.Header.Set("SOAPAction", action)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	return c.Do(req)
}

func TestKindsOverHTTP(t *testing.T) {
	const action = `"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/addDocument"`
	tests := []struct {
		name  string
		rule  Rule
		check func(t *testing.T, resp *http.Response, err error)
	}{
		{"fault default code", Rule{Operation: "addDocument", Rate: 1}, func(t *testing.T, resp *http.Response, err error) {
			if err != nil || resp.StatusCode != 500 {
				t.Fatalf("%v %v", resp, err)
			}
			body, _ := io.ReadAll(resp.Body)
			var f soapFault
			if err := xml.Unmarshal(body, &f); err != nil {
				t.Fatalf("fault not decodable: %v\n%s", err, body)
			}
			if f.Fault.Code != "a:Server" || f.Fault.String != "FSE-00503 - Servizio temporaneamente non disponibile" ||
				f.Fault.Actor != "IDocument" || f.Fault.Detail.ErrorCode != "FSE-00503" {
				t.Fatalf("fault %+v", f.Fault)
			}
			if ok, ran := xmllintOK(t, body); ran && !ok {
				t.Fatal("xmllint: fault is not well-formed")
			}
		}},
		{"fault given client code", Rule{Operation: "addDocument", Rate: 1, FaultCode: "FSE-00415"}, func(t *testing.T, resp *http.Response, err error) {
			if err != nil {
				t.Fatal(err)
			}
			var f soapFault
			body, _ := io.ReadAll(resp.Body)
			if err := xml.Unmarshal(body, &f); err != nil || f.Fault.Code != "a:Client" || f.Fault.Detail.ErrorCode != "FSE-00415" ||
				!strings.HasPrefix(f.Fault.String, "FSE-00415 - Il documento non è pdf") {
				t.Fatalf("fault %+v %v", f.Fault, err)
			}
		}},
		{"503", Rule{Operation: "addDocument", Rate: 1, Kinds: []Kind{Kind503}}, func(t *testing.T, resp *http.Response, err error) {
			if err != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("%v %v", resp, err)
			}
		}},
		{"reset", Rule{Operation: "addDocument", Rate: 1, Kinds: []Kind{KindReset}}, func(t *testing.T, resp *http.Response, err error) {
			if err == nil {
				t.Fatalf("got a response: %v", resp.Status)
			}
			// A plain close would show as EOF; only an RST gives ECONNRESET (or EPIPE on write).
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("want a reset, got %v", err)
			}
		}},
		{"truncate", Rule{Operation: "addDocument", Rate: 1, Kinds: []Kind{KindTruncate}}, func(t *testing.T, resp *http.Response, err error) {
			if err != nil {
				t.Fatalf("headers should arrive: %v", err)
			}
			if resp.ContentLength <= 0 {
				t.Fatalf("content length %d", resp.ContentLength)
			}
			body, err := io.ReadAll(resp.Body)
			if !errors.Is(err, io.ErrUnexpectedEOF) || int64(len(body)) >= resp.ContentLength {
				t.Fatalf("read %d of %d, err %v", len(body), resp.ContentLength, err)
			}
		}},
		{"malformed", Rule{Operation: "addDocument", Rate: 1, Kinds: []Kind{KindMalformed}}, func(t *testing.T, resp *http.Response, err error) {
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%v %v", resp, err)
			}
			body, _ := io.ReadAll(resp.Body)
			d := xml.NewDecoder(bytes.NewReader(body))
			var xerr error
			for xerr == nil {
				_, xerr = d.Token()
			}
			if xerr == io.EOF {
				t.Fatal("encoding/xml parsed the malformed body")
			}
			if ok, ran := xmllintOK(t, body); ran && ok {
				t.Fatal("xmllint accepted the malformed body")
			}
		}},
		{"rate 0 passes through", Rule{Operation: "addDocument", Rate: 0, Kinds: []Kind{KindReset}}, func(t *testing.T, resp *http.Response, err error) {
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%v %v", resp, err)
			}
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "<ok>payload</ok>" {
				t.Fatalf("body %q", body)
			}
		}},
		{"other operation untouched", Rule{Operation: "deleteDocument", Rate: 1, Kinds: []Kind{KindReset}}, func(t *testing.T, resp *http.Response, err error) {
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%v %v", resp, err)
			}
		}},
		{"wildcard applies", Rule{Operation: AnyOperation, Rate: 1, Kinds: []Kind{Kind503}}, func(t *testing.T, resp *http.Response, err error) {
			if err != nil || resp.StatusCode != 503 {
				t.Fatalf("%v %v", resp, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := server(t, Config{Rules: []Rule{tc.rule}})
			resp, err := post(srv.URL+"/aslba_test/IDocumentService", action, "payload")
			if resp != nil {
				defer resp.Body.Close()
			}
			tc.check(t, resp, err)
		})
	}
}

func TestLatency(t *testing.T) {
	srv, hits := server(t, Config{Rules: []Rule{{Operation: "addDocument", Latency: 150 * time.Millisecond}}})
	start := time.Now()
	resp, err := post(srv.URL, "addDocument", "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("answered after %v, before the configured latency", el)
	}
	// A client giving up during the latency never reaches the next handler. (net/http only
	// notices a client gone once the request body is consumed, hence the empty body.)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
	req.Header.Set("SOAPAction", "addDocument")
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("expected a timeout")
	}
	time.Sleep(200 * time.Millisecond)
	if hits.Load() != 1 {
		t.Fatalf("next handler ran %d times, want 1", hits.Load())
	}
}

func TestOperationExtraction(t *testing.T) {
	env := `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><a:Action xmlns:a="http://www.w3.org/2005/08/addressing">x</a:Action></soap:Header><soap:Body><fse:searchDocument xmlns:fse="urn:x"><a/></fse:searchDocument></soap:Body></soap:Envelope>`
	tests := []struct {
		name, action, ct, body, want string
	}{
		{"quoted URL action", `"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/addDocument"`, "", "", "addDocument"},
		{"bare action", "getRilevazioni", "", "", "getRilevazioni"},
		{"fragment action", `"urn:svc#statoConsensi"`, "", "", "statoConsensi"},
		{"soap 1.2 content type", "", `application/soap+xml; charset=utf-8; action="urn:x/retrieveDocument"`, "", "retrieveDocument"},
		{"body fallback", `""`, "", env, "searchDocument"},
		{"nothing", "", "", "not xml", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.action != "" {
				r.Header.Set("SOAPAction", tc.action)
			}
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			if got := OperationFromRequest(r); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
			if rest, _ := io.ReadAll(r.Body); string(rest) != tc.body {
				t.Fatal("body not restored for the next handler")
			}
		})
	}
	for path, want := range map[string]string{"/aslba_test/IGestoreConsensoService": "IGestoreConsenso", "/x/ITaccuinoService": "ITaccuino", "/x/IDocumentService": "IDocument"} {
		if got := ActorFromPath(httptest.NewRequest(http.MethodPost, path, nil)); got != want {
			t.Errorf("%s: %s", path, got)
		}
	}
}

func TestDeterministic(t *testing.T) {
	rule := Rule{Operation: "addDocument", Rate: 0.3, Kinds: []Kind{KindFault, Kind503}, FaultCode: "FSE-00503"}
	other := Rule{Operation: "getTaccuino", Rate: 0.5, Kinds: []Kind{KindReset}}
	seq := func(seed uint64, interleave bool) []Kind {
		in, err := New(Config{Seed: seed, Rules: []Rule{rule, other}}, http.NotFoundHandler())
		if err != nil {
			t.Fatal(err)
		}
		var out []Kind
		for i := 0; i < 1000; i++ {
			if interleave && i%3 == 0 {
				in.decide("getTaccuino", other)
			}
			out = append(out, in.decide("addDocument", rule))
		}
		return out
	}
	a, b, c, d := seq(42, false), seq(42, true), seq(7, false), seq(42, false)
	if !equal(a, d) {
		t.Fatal("same seed gave different sequences")
	}
	if !equal(a, b) {
		t.Fatal("another operation's traffic changed this operation's sequence")
	}
	if equal(a, c) {
		t.Fatal("different seeds gave the same sequence")
	}
	failed, byKind := 0, map[Kind]int{}
	for _, k := range a {
		if k != "" {
			failed++
			byKind[k]++
		}
	}
	if failed < 240 || failed > 360 || byKind[KindFault] == 0 || byKind[Kind503] == 0 {
		t.Fatalf("rate 0.3 over 1000 gave %d failures %v", failed, byKind)
	}
}

func equal(a, b []Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
	}{
		{"rate above 1", []Rule{{Operation: "a", Rate: 2}}},
		{"unknown kind", []Rule{{Operation: "a", Rate: 1, Kinds: []Kind{"boom"}}}},
		{"duplicate", []Rule{{Operation: "a"}, {Operation: "a"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(Config{Rules: tc.rules}, http.NotFoundHandler()); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestFaultMatchesClientFixture compares the injected fault with the fault fixture the
// client's parser is tested against (written independently, in fixtures/faults).
func TestFaultMatchesClientFixture(t *testing.T) {
	want, err := os.ReadFile("../../../fixtures/faults/taccuino_00503_transient.xml")
	if err != nil {
		t.Skipf("client fault fixture not available: %v", err)
	}
	var a, b soapFault
	if err := xml.Unmarshal(want, &a); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(FaultEnvelope("FSE-00503", "ITaccuino"), &b); err != nil {
		t.Fatal(err)
	}
	if a.Fault != b.Fault {
		t.Fatalf("injected fault %+v differs from the client fixture %+v", b.Fault, a.Fault)
	}
}

// TestResetOverTLS: the reset reaches the TCP connection under TLS.
func TestResetOverTLS(t *testing.T) {
	in, err := New(Config{Rules: []Rule{{Operation: AnyOperation, Rate: 1, Kinds: []Kind{KindReset}}}}, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(in)
	srv.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.StartTLS()
	defer srv.Close()
	c := srv.Client()
	c.Timeout = 5 * time.Second
	resp, err := c.Post(srv.URL, "text/xml", strings.NewReader("x"))
	if err == nil {
		resp.Body.Close()
		t.Fatal("got a response")
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("want a reset, got %v", err)
	}
}
