package adapter

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestDocFilter: the document's base64 goes to the sink decoded, the rest of the answer
// passes unchanged, whatever the prefixes, line breaks in the base64 and read sizes.
func TestDocFilter(t *testing.T) {
	content := testPDF(t, 200_003)
	b64 := base64.StdEncoding.EncodeToString(content)
	wrapped := ""
	for i := 0; i < len(b64); i += 76 {
		wrapped += b64[i:min(i+76, len(b64))] + "\r\n"
	}
	for name, tc := range map[string]struct{ pre, text, post string }{
		"default ns": {`<?xml version="1.0"?><soap:Envelope xmlns:soap="s"><soap:Body><retrieveDocumentResponse xmlns="n"><document><document>`, b64,
			`</document><documentName>Referto</documentName></document><metadata><title>a &gt; b</title></metadata></retrieveDocumentResponse></soap:Body></soap:Envelope>`},
		"prefixed, wrapped": {`<S:Envelope xmlns:S="s"><S:Body><ns2:retrieveDocumentResponse xmlns:ns2="n"><ns2:document xmlns:x="y"><ns2:document>`, wrapped,
			`</ns2:document></ns2:document></ns2:retrieveDocumentResponse></S:Body></S:Envelope>`},
	} {
		for _, one := range []bool{false, true} {
			var src io.Reader = strings.NewReader(tc.pre + tc.text + tc.post)
			if one {
				src = iotest.OneByteReader(src)
			}
			var got bytes.Buffer
			sink := &docSink{w: &got}
			rest, err := io.ReadAll(&docFilter{src: io.NopCloser(src), sink: sink})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !sink.found || !bytes.Equal(got.Bytes(), content) || sink.n != int64(len(content)) {
				t.Errorf("%s (one byte reads %v): document not decoded (found %v, %d bytes)", name, one, sink.found, got.Len())
			}
			if string(rest) != tc.pre+tc.post {
				t.Errorf("%s: the rest changed:\n%s", name, rest)
			}
		}
	}
	// Not base64, or cut short: an error, never a silently wrong file.
	for _, bad := range []string{"<document><document>AB&amp;CD</document></document>", "<document><document>QUJD", "<document><document>QUJDR</document></document>"} {
		_, err := io.ReadAll(&docFilter{src: io.NopCloser(strings.NewReader(bad)), sink: &docSink{w: io.Discard}})
		if err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestRetrieveTo retrieves through the whole stack into a writer: the bytes published,
// the metadata, and no Body held.
func TestRetrieveTo(t *testing.T) {
	r := newRegion(t)
	c := r.client(t)
	ctx := context.Background()
	req := publishRequest(make([]byte, 300_000), "RETR1")
	if _, err := c.Documents.Publish(ctx, req); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	d, err := c.Documents.RetrieveTo(ctx, patient, req.Metadata.UniqueID, &got)
	if err != nil {
		t.Fatalf("RetrieveTo: %v", err)
	}
	if !bytes.Equal(got.Bytes(), req.Body) || d.Body != nil || d.Metadata.UniqueID != req.Metadata.UniqueID {
		t.Errorf("RetrieveTo: %d bytes (want %d), body held %v, id %q", got.Len(), len(req.Body), d.Body != nil, d.Metadata.UniqueID)
	}
	if _, err := c.Documents.RetrieveTo(ctx, patient, "2.16.840.1.113883.2.9.2.160.4.4^NONE", io.Discard); err == nil {
		t.Error("an unknown document was retrieved")
	}
}
