package retry_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/fsepuglia/fsepuglia/adapter/endpoint"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/retry"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
)

type searchRequest struct {
	XMLName xml.Name `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE searchDocuments"`
}

type searchResponse struct {
	XMLName xml.Name `xml:"http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE searchDocumentsResponse"`
	Count   int      `xml:"count"`
}

// Example shows how the adapter's client composes the four packages: endpoint resolves the
// URL, transport builds the shared client, gowsdl sends, fault maps the error, retry repeats
// the read while the service answers FSE-00503.
func Example() {
	var hits atomic.Int32
	sim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		env := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>%s</soap:Body></soap:Envelope>`
		if hits.Add(1) < 3 {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, env, `<soap:Fault><faultcode>soap:Server</faultcode><faultstring>FSE-00503 - Servizio temporaneamente non disponibile</faultstring>`+
				`<faultactor>IDocument</faultactor></soap:Fault>`)
			return
		}
		fmt.Fprintf(w, env, `<fse:searchDocumentsResponse xmlns:fse="http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE"><count>2</count></fse:searchDocumentsResponse>`)
	}))
	defer sim.Close()

	ep, _, err := endpoint.Resolve(endpoint.Config{Environment: "local", ASL: "aslba", BaseURL: sim.URL}, endpoint.DocumentService)
	if err != nil {
		fmt.Println(err)
		return
	}
	hc, _, err := transport.New(transport.Config{Environment: "local"})
	if err != nil {
		fmt.Println(err)
		return
	}
	policy := retry.FromRetries(2)
	policy.MinWait, policy.MaxWait = time.Millisecond, 2*time.Millisecond
	policy.OnRetry = func(attempt int, err error, _ time.Duration) {
		fmt.Printf("attempt %d: %s\n", attempt, fault.Classify(err))
	}
	var resp searchResponse
	err = policy.Do(context.Background(), retry.Read, func(ctx context.Context) error {
		c := soap.NewClient(ep.URL, soap.WithHTTPClient(hc)) // one small soap.Client per call
		return fault.FromError(c.CallContext(ctx, "searchDocuments", &searchRequest{}, &resp), "searchDocuments", ep.URL)
	})
	var f *fault.Fault
	fmt.Println(err, errors.As(err, &f), resp.Count)
	// Output:
	// attempt 1: transient
	// attempt 2: transient
	// <nil> false 2
}
