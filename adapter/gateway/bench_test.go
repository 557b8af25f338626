package gateway_test

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware/mwtest"
)

// BenchmarkPublish20MB measures the client side of one publication of a 20 MB PDF: the two
// JWTs, the multipart body streamed around the document's bytes (never copied), the answer.
// The server reads and discards the body.
func BenchmarkPublish20MB(b *testing.B) {
	e := mwtest.Start(b, middleware.Options{}, gateway.Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(202)
		_, _ = io.WriteString(w, `{"traceID":"0123456789abcdef","spanID":"0123456789abcdef","workflowInstanceId":"w"}`)
	}))
	defer srv.Close()
	c, err := gateway.New(gateway.Config{BaseURL: srv.URL + "/v1"}, e.Identity, gateway.Options{HTTPClient: srv.Client(), Key: e.PKI.Client.Key,
		Chain: []*x509.Certificate{e.PKI.Client.Cert}, Environment: "local"})
	if err != nil {
		b.Fatal(err)
	}
	data := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes(), Sign: true, PadTo: 20 << 20}.Bytes()
	d, _, err := gateway.NewDocument(data, "big.pdf", docmeta.Options{Profile: mwtest.Profile})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Publish(ctx, gateway.PublishRequest{Document: d, WorkflowInstanceID: "w"}); err != nil {
			b.Fatal(err)
		}
	}
}
