package wiretest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hooklift/gowsdl/soap"
)

var update = flag.Bool("update", false, "rewrite the golden envelopes in fixtures/envelopes")

const (
	fseNS       = "http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/"
	envelopeDir = "../../fixtures/envelopes"
	wsdlDir     = "../../wsdl"
)

// captured is what the client sent.
type captured struct {
	body       []byte
	soapAction string
	ctype      string
}

// server answers every request with resp and records the request.
func server(t *testing.T, resp []byte) (*httptest.Server, func() captured) {
	t.Helper()
	var mu sync.Mutex
	var got captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = captured{body: b, soapAction: r.Header.Get("SOAPAction"), ctype: r.Header.Get("Content-Type")}
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(resp)
	}))
	t.Cleanup(srv.Close)
	return srv, func() captured {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

// client is a gowsdl soap.Client on the test server, sharing its http.Client.
func client(srv *httptest.Server) *soap.Client {
	return soap.NewClient(srv.URL, soap.WithHTTPClient(srv.Client()))
}

// responseEnvelope marshals a SOAP 1.1 envelope around payload with gowsdl's own envelope type.
func responseEnvelope(t testing.TB, payload any) []byte {
	t.Helper()
	env := soap.SOAPEnvelope{XmlNS: soap.XmlNsSoapEnv, Body: soap.SOAPBody{Content: payload}}
	b, err := xml.Marshal(env)
	if err != nil {
		t.Fatalf("marshal response envelope: %v", err)
	}
	return b
}

// bodyPayload returns the raw bytes of the single child element of soap:Body.
func bodyPayload(envelope []byte) ([]byte, error) {
	d := xml.NewDecoder(bytes.NewReader(envelope))
	depth := 0
	inBody := false
	var start int64
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("no payload in soap:Body: %w", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && tok.Name.Space == soap.XmlNsSoapEnv && tok.Name.Local == "Body" {
				inBody = true
			}
			if depth == 3 && inBody {
				start = off
			}
		case xml.EndElement:
			if depth == 3 && inBody {
				return envelope[start:d.InputOffset()], nil
			}
			if depth == 2 && inBody {
				return nil, errors.New("empty soap:Body")
			}
			depth--
		}
	}
}

// validate checks payload against the service XSD with xmllint (an
// independent validator). The payload carries its own namespace declarations.
func validate(t *testing.T, xsd string, payload []byte) {
	t.Helper()
	xmllint := checker(t, "xmllint", "apt-get install libxml2-utils")
	f := filepath.Join(t.TempDir(), "payload.xml")
	if err := os.WriteFile(f, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join(wsdlDir, xsd), f).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint --schema %s rejects the payload: %v\n%s\npayload:\n%s", xsd, err, out, payload)
	}
}

// golden compares got with fixtures/envelopes/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(envelopeDir, name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s missing (run go test ./generated/wiretest -update): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden\n got: %s\nwant: %s", name, got, want)
	}
}

// wantAction is the SOAPAction header SOAP 1.1 requires: the quoted action URI.
func wantAction(op string) string { return `"` + fseNS + op + `"` }

// checkNoUnqualified fails when an element of payload is outside the service namespace
// (our schemas are elementFormDefault="qualified").
func checkQualified(t *testing.T, payload []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(payload))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Space != fseNS {
			t.Errorf("element %q in namespace %q, want %q", se.Name.Local, se.Name.Space, fseNS)
		}
	}
}

func has(b []byte, s string) bool { return strings.Contains(string(b), s) }

// checker returns the path of an independent checker; when it is absent the test is
// skipped, or fails under FSEPUGLIA_REQUIRE_CHECKERS=1 (as CI runs). It is
// adapter/internal/testenv.Tool for this package, which Go's internal rule keeps from
// importing that one.
func checker(t testing.TB, name, hint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		missingChecker(t, name+" not installed", hint)
	}
	return path
}

// missingChecker is adapter/internal/testenv.Missing for this package.
func missingChecker(t testing.TB, what, hint string) {
	t.Helper()
	msg := fmt.Sprintf("independent check skipped: %s (%s)", what, hint)
	if os.Getenv("FSEPUGLIA_REQUIRE_CHECKERS") == "1" {
		t.Fatalf("%s; FSEPUGLIA_REQUIRE_CHECKERS=1 makes this a failure", msg)
	}
	t.Skip(msg)
}
