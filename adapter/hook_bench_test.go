package adapter

import (
	"context"
	"encoding/xml"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/generated/document"
)

// BenchmarkPublish20MB measures one 20 MB publication through the whole client stack (gowsdl
// marshalling, the securing hook, mutual TLS) against the fake region; B/op shows how many
// copies of the document the client makes (the fake region's decoding is included).
func BenchmarkPublish20MB(b *testing.B) {
	r := newRegion(b)
	c, err := New(r.config())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	body := make([]byte, 20<<20)
	copy(body, "%PDF-1.7\n")
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r.mu.Lock()
		clear(r.docs)
		r.mu.Unlock()
		if _, err := c.Documents.Publish(context.Background(), publishRequest(body, "BENCH")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignedSearch measures a signed search (profile puglia) against the fake region
// made to take 3 ms per call (standing for the region's work and the network, which cost the
// client no CPU), with the signature on the call's path (inline: the Presigner closed) and
// prepared in the background while the previous call waits (presigned). The difference per
// call is what the RSA operation cost on the critical path; both do one RSA operation per
// message (the fake region verifies each).
func BenchmarkSignedSearch(b *testing.B) {
	for _, mode := range []string{"inline", "presigned"} {
		b.Run(mode, func(b *testing.B) {
			r := newRegion(b)
			r.fail = func(string, int) (int, string) { time.Sleep(3 * time.Millisecond); return 0, "" }
			c, err := New(r.config())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if mode == "inline" {
				c.presign.Close()
			}
			ctx := context.Background()
			q := SearchQuery{PatientCF: patient}
			for b.Loop() {
				if _, err := c.Documents.Search(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			st := c.SignatureStats()
			b.ReportMetric(float64(st.Used)/float64(st.Used+st.Inline), "prepared/msg")
		})
	}
}

// BenchmarkCallOverhead measures the client's own work per signed call (profile puglia,
// mutual TLS, kept-alive connection) with nothing else in the way: the fake region answers
// a canned answer (captured from a real call) without verifying or decoding the request,
// and the search answer has no documents, so decoding is small. search: a searchDocuments;
// publish105KB: an addDocument of a 105 KiB document given in memory. inline: the
// signature on the call's path (the Presigner closed); presigned: prepared ahead (here
// there is no network wait to hide it in, so the two differ only by what the machine's
// second core absorbs).
func BenchmarkCallOverhead(b *testing.B) {
	body := make([]byte, 105<<10)
	copy(body, "%PDF-1.7\n")
	for _, op := range []string{"search", "publish105KB"} {
		for _, mode := range []string{"inline", "presigned"} {
			b.Run(op+"/"+mode, func(b *testing.B) {
				r := newRegion(b)
				c, err := New(r.config())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				ctx := context.Background()
				pub := publishRequest(body, "OVH") // the canned answer does not mind the same document
				call := func() error {
					if op == "search" {
						_, err := c.Documents.Search(ctx, SearchQuery{PatientCF: "FSELBR01C41A145S"})
						return err
					}
					_, err := c.Documents.Publish(ctx, pub)
					return err
				}
				var resp any = &document.SearchDocumentsResponse{}
				if op != "search" {
					resp = &document.AddDocumentResponse{Result: &document.PublicationResultType{UniqueId: "u", RepositoryUniqueId: "r", Status: "Approved"}}
				}
				out, err := xml.Marshal(resp)
				if err != nil {
					b.Fatal(err)
				}
				canned := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + string(out) + `</soap:Body></soap:Envelope>`
				r.fail = func(string, int) (int, string) { return 200, canned }
				if mode == "inline" {
					c.presign.Close()
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := call(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
