package wiretest

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/generated/document"
)

type blobDoc struct {
	XMLName xml.Name              `xml:"doc"`
	Blob    document.Base64Binary `xml:"blob"`
}

// wrap inserts sep every n characters, as line-wrapping SOAP stacks do.
func wrap(s string, n int, sep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += n {
		b.WriteString(s[i:min(i+n, len(s))])
		b.WriteString(sep)
	}
	return b.String()
}

func TestBase64BinaryDecode(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	sizes := []int{0, 1, 2, 3, 4, 47, 48*1024 - 1, 48 * 1024, 48*1024 + 1, 200_000}
	for _, size := range sizes {
		data := make([]byte, size)
		rnd.Read(data)
		enc := base64.StdEncoding.EncodeToString(data)
		for _, form := range []struct{ name, text string }{
			{"plain", enc},
			{"wrapped76crlf", wrap(enc, 76, "\r\n")},
			{"wrapped64lf+indent", wrap(enc, 64, "\n\t  ")},
			{"cdata", "<![CDATA[" + enc + "]]>"},
		} {
			t.Run(fmt.Sprintf("%s/%d", form.name, size), func(t *testing.T) {
				var d blobDoc
				if err := xml.Unmarshal([]byte("<doc><blob>"+form.text+"</blob></doc>"), &d); err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
				if !bytes.Equal(d.Blob, data) {
					t.Fatalf("size %d: decoded %d bytes, want %d", size, len(d.Blob), len(data))
				}
			})
		}
	}
}

func TestBase64BinaryErrors(t *testing.T) {
	for _, tc := range []struct{ name, blob string }{
		{"not base64", "%%%%"},
		{"truncated", "QUJD" + "QU"},
		{"child element", "QUJD<x/>"},
		{"raw bytes as gowsdl would send them", "%PDF-1.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d blobDoc
			if err := xml.Unmarshal([]byte("<doc><blob>"+tc.blob+"</blob></doc>"), &d); err == nil {
				t.Fatalf("accepted %q as base64 (decoded %q)", tc.blob, d.Blob)
			}
		})
	}
}

func TestBase64BinaryEncode(t *testing.T) {
	rnd := rand.New(rand.NewSource(2))
	for _, size := range []int{0, 1, 48 * 1024, 48*1024 + 5, 150_001} {
		data := make([]byte, size)
		rnd.Read(data)
		got, err := xml.Marshal(blobDoc{Blob: data})
		if err != nil {
			t.Fatal(err)
		}
		want := "<doc><blob>" + base64.StdEncoding.EncodeToString(data) + "</blob></doc>"
		if string(got) != want {
			t.Errorf("size %d: marshalled %d bytes, want %d", size, len(got), len(want))
		}
	}
}
