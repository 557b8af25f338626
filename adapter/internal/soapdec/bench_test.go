package soapdec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fsepuglia/fsepuglia/generated/document"
)

// BenchmarkSearchAnswer decodes the simulator's searchDocuments answer with 50 documents
// (fixtures/answers/search50.response.xml, 107 KB) with encoding/xml as gowsdl does, and with
// soapdec: compare the two lines of one run.
func BenchmarkSearchAnswer(b *testing.B) {
	doc, err := os.ReadFile(filepath.Join(moduleRoot(b), "fixtures/answers/search50.response.xml"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encoding-xml", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			var out document.SearchDocumentsResponse
			if _, err := stdDecode(doc, &out); err != nil || len(out.Metadata) != 50 {
				b.Fatal(err)
			}
		}
	})
	// As the adapter calls it: the answer read into a string (a strings.Builder, no copy).
	s := string(doc)
	b.Run("soapdec", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			var out document.SearchDocumentsResponse
			if _, err := DecodeString(s, &out, DefaultLimits); err != nil || len(out.Metadata) != 50 {
				b.Fatal(err)
			}
		}
	})
}
