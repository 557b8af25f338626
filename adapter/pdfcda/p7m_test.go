package pdfcda_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

func derSignedData(t *testing.T, content []byte) []byte {
	t.Helper()
	return pdfcdatest.P7M(content)
}

func TestP7M(t *testing.T) {
	pdf := pdfcdatest.PDF{Attachment: lab, Sign: true}.Bytes()
	cases := []struct {
		name  string
		data  []byte
		inner pdfcda.Format
		err   error
	}{
		{"DER around CDA XML", derSignedData(t, lab), pdfcda.FormatXML, nil},
		{"DER around signed PDF", derSignedData(t, pdf), pdfcda.FormatPDF, nil},
		{"detached", derSignedData(t, nil), "", pdfcda.ErrNotP7M},
		{"truncated", derSignedData(t, lab)[:200], "", pdfcda.ErrNotP7M},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := pdfcda.Read(tc.data, pdfcda.Limits{})
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if doc.Format != pdfcda.FormatP7M || doc.Inner != tc.inner || !bytes.Equal(doc.CDA, lab) {
				t.Fatalf("format %s/%s, CDA %d bytes", doc.Format, doc.Inner, len(doc.CDA))
			}
		})
	}
}

// TestP7MOpenSSL unwraps envelopes made by openssl: DER, and BER with indefinite lengths
// and a chunked OCTET STRING (-stream), as some signing tools write them.
func TestP7MOpenSSL(t *testing.T) {
	openssl := testenv.Tool(t, "openssl", "apt-get install openssl")
	dir := t.TempDir()
	key, cert, in := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem"), filepath.Join(dir, "cda.xml")
	big := pdfcdatest.CDA{BodyPadding: 5000}.Bytes() // > 1 chunk in streaming BER
	if err := os.WriteFile(in, big, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=test-only", "-days", "1")
	for _, mode := range []string{"der", "ber-stream"} {
		t.Run(mode, func(t *testing.T) {
			out := filepath.Join(dir, mode+".p7m")
			args := []string{"cms", "-sign", "-nodetach", "-binary", "-in", in, "-signer", cert, "-inkey", key, "-outform", "DER", "-out", out}
			if mode == "ber-stream" {
				args = append(args, "-stream")
			}
			run(args...)
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pdfcda.P7MContent(data)
			if err != nil {
				t.Fatalf("P7MContent: %v", err)
			}
			if !bytes.Equal(got, big) {
				t.Fatalf("content %d bytes, want %d", len(got), len(big))
			}
		})
	}
}
