package adapter

import (
	"context"
	"testing"
	"time"
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
