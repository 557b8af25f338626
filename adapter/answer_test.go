package adapter

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/fault"
)

// TestEveryAnswerDecodedBySoapdec: each operation's answer is decoded once by soapdec
// (answersDecoded moves by one per call, as counted at the region), and the results are
// those the API promises (the round-trip test checks the values in detail).
func TestEveryAnswerDecodedBySoapdec(t *testing.T) {
	r := newRegion(t)
	c := r.client(t)
	ctx := context.Background()
	req := publishRequest(testPDF(t, 50_000), "ANS1")
	calls := []struct {
		name string
		do   func() error
	}{
		{"addDocument", func() error { _, err := c.Documents.Publish(ctx, req); return err }},
		{"searchDocuments", func() error {
			res, err := c.Documents.Search(ctx, SearchQuery{PatientCF: patient})
			if err == nil && (res.Total != 1 || res.Documents[0].UniqueID != req.Metadata.UniqueID) {
				t.Errorf("Search = %+v", res)
			}
			return err
		}},
		{"retrieveDocument", func() error {
			d, err := c.Documents.Retrieve(ctx, patient, req.Metadata.UniqueID)
			if err == nil && !bytes.Equal(d.Body, req.Body) {
				t.Errorf("Retrieve: %d bytes, want the %d published", len(d.Body), len(req.Body))
			}
			return err
		}},
		{"retrieveDocument", func() error {
			var w bytes.Buffer
			_, err := c.Documents.RetrieveTo(ctx, patient, req.Metadata.UniqueID, &w)
			if err == nil && !bytes.Equal(w.Bytes(), req.Body) {
				t.Errorf("RetrieveTo: %d bytes, want the %d published", w.Len(), len(req.Body))
			}
			return err
		}},
		{"statoConsensi", func() error { _, err := c.Consents.Status(ctx, patient); return err }},
		{"recuperoInformativa", func() error { _, err := c.Consents.Informativa(ctx); return err }},
		{"comunicazioneConsensi,statoConsensi", func() error {
			_, err := c.Consents.Set(ctx, ConsentChange{PatientCF: patient, Values: map[ConsentCode]bool{"C2": true}, InformativaID: "160^1.0"})
			return err
		}},
		{"getTaccuino", func() error { _, err := c.Taccuino.Summary(ctx, patient); return err }},
	}
	for _, k := range TaccuinoKinds {
		calls = append(calls, struct {
			name string
			do   func() error
		}{"", func() error {
			p, err := c.Taccuino.Items(ctx, TaccuinoQuery{PatientCF: patient, Kind: k, From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
			if err == nil && len(p.Items) != 1 {
				t.Errorf("Items(%s) = %+v", k, p)
			}
			return err
		}})
	}
	calls = append(calls, struct {
		name string
		do   func() error
	}{"replaceDocument,deleteDocument", func() error {
		rep, err := c.Documents.Replace(ctx, req.Metadata.UniqueID, publishRequest(testPDF(t, 1000), "ANS2"))
		if err != nil {
			return err
		}
		return c.Documents.Delete(ctx, patient, rep.UniqueID)
	}})
	for _, call := range calls {
		r.mu.Lock()
		before := len(r.ops)
		r.mu.Unlock()
		n0 := answersDecoded.Load()
		if err := call.do(); err != nil {
			t.Fatalf("%s: %v", call.name, err)
		}
		r.mu.Lock()
		sent := r.ops[before:]
		r.mu.Unlock()
		if got := answersDecoded.Load() - n0; got != int64(len(sent)) || len(sent) == 0 {
			t.Errorf("%v: %d answers decoded by soapdec for %d calls", sent, got, len(sent))
		}
	}
	if got := r.handshakes.Load(); got != 1 {
		t.Errorf("%d TLS connections, want 1 (answers read to their end, connection kept)", got)
	}
}

// TestLargeAnswerLeftToGowsdl: an answer over maxDecoded is decoded by gowsdl as before
// (streaming), with the same result.
func TestLargeAnswerLeftToGowsdl(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes a 3.5 MB document")
	}
	r := newRegion(t)
	c := r.client(t)
	ctx := context.Background()
	req := publishRequest(testPDF(t, 3_500_000), "BIG1")
	if _, err := c.Documents.Publish(ctx, req); err != nil {
		t.Fatal(err)
	}
	n0 := answersDecoded.Load()
	d, err := c.Documents.Retrieve(ctx, patient, req.Metadata.UniqueID)
	if err != nil || !bytes.Equal(d.Body, req.Body) || d.Metadata.UniqueID != req.Metadata.UniqueID {
		t.Fatalf("Retrieve: %v", err)
	}
	if got := answersDecoded.Load() - n0; got != 0 {
		t.Errorf("a %d-byte answer was decoded by soapdec", len(req.Body)*4/3)
	}
}

// TestBrokenAnswers: a truncated answer stays a transient error (retried for reads, as with
// encoding/xml); an empty one too; a DTD is refused; nothing is taken for a result.
func TestBrokenAnswers(t *testing.T) {
	good := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><statoConsensiResponse xmlns="` + Namespace +
		`"><esito>SUCCESSO</esito></statoConsensiResponse></soap:Body></soap:Envelope>`
	cases := []struct {
		name, body string
		transient  bool
	}{
		{"truncated", good[:len(good)/2], true},
		{"empty", "", true},
		{"doctype", `<!DOCTYPE x [<!ENTITY e "x">]>` + good, false},
		{"wrong element", strings.Replace(good, "statoConsensiResponse", "getTaccuinoResponse", 2), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRegion(t)
			r.fail = func(op string, n int) (int, string) { return 200, tc.body }
			c := r.client(t, func(cfg *Config) { cfg.Retries = 0 })
			_, err := c.Consents.Status(context.Background(), patient)
			if err == nil {
				t.Fatal("no error")
			}
			if got := fault.Classify(err) == fault.Transient; got != tc.transient {
				t.Errorf("transient = %v, want %v: %v", got, tc.transient, err)
			}
			var se *xml.SyntaxError
			if tc.name == "truncated" && !errors.As(err, &se) {
				t.Errorf("truncated: %T %v", err, err)
			}
		})
	}
}

// TestAnswerCapped: an answer larger than maxAnswer is refused, whether announced by its
// Content-Length or not, instead of being held in memory.
func TestAnswerCapped(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes a 3.5 MB document")
	}
	old := maxAnswer
	maxAnswer = 4_500_000
	defer func() { maxAnswer = old }()
	r := newRegion(t)
	c := r.client(t)
	ctx := context.Background()
	req := publishRequest(testPDF(t, 3_500_000), "CAP1")
	if _, err := c.Documents.Publish(ctx, req); err != nil {
		t.Fatal(err)
	}
	_, err := c.Documents.Retrieve(ctx, patient, req.Metadata.UniqueID)
	if err == nil || !strings.Contains(err.Error(), "answer larger than") || fault.Classify(err) == fault.Transient {
		t.Fatalf("a %d-byte answer over a %d-byte cap: %v", len(req.Body)*4/3, maxAnswer, err)
	}
	// RetrieveTo takes the document out of the answer as it arrives: not capped.
	var w bytes.Buffer
	if _, err := c.Documents.RetrieveTo(ctx, patient, req.Metadata.UniqueID, &w); err != nil || !bytes.Equal(w.Bytes(), req.Body) {
		t.Fatalf("RetrieveTo: %v (%d bytes)", err, w.Len())
	}
}
