package sim

import (
	"fmt"
	"testing"

	"github.com/fsepuglia/fsepuglia/generated/document"
)

// BenchmarkAddDocument measures a signed publication over mutual TLS, end to end: request
// marshalling and WS-Security on the client side, then verification, PDF/CDA checks and
// storage on the server (fsync on).
func BenchmarkAddDocument(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20, 20 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			h := startSim(b, func(o *Options) { o.Core.NoSeed = true })
			b.SetBytes(int64(len(pdfcdatestPadded(patA, "size", size))))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// The uniqueId is the CDA's id: each publication needs its own document.
				b.StopTimer()
				content := pdfcdatestPadded(patA, fmt.Sprintf("bench.%d", i), size)
				b.StartTimer()
				code, body := h.call(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: docFor(content)}, nil)
				if code != "" {
					b.Fatalf("fault %s: %s", code, faultStringOf(body))
				}
			}
		})
	}
}

// BenchmarkSearchDocuments measures a signed search returning 10 of 200 documents.
func BenchmarkSearchDocuments(b *testing.B) {
	h := startSim(b, func(o *Options) { o.Core.NoSeed = true; o.Core.Store.NoSync = true })
	h.consent(patA, "C2", true, "C3", true)
	for i := 0; i < 200; i++ {
		d := docFor(pdfFor(patA, fmt.Sprintf("s.%d", i)))
		if code, body := h.call(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: d}, nil); code != "" {
			b.Fatalf("fault %s: %s", code, faultStringOf(body))
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var r document.SearchDocumentsResponse
		h.mustOK(ServiceDocument, "searchDocuments", patA, &document.SearchDocuments{PatientId: patA, Limit: 10}, &r)
		if r.Total != 200 || len(r.Metadata) != 10 {
			b.Fatalf("total %d, %d results", r.Total, len(r.Metadata))
		}
	}
}
