package adapter

import (
	"context"
	"testing"
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
