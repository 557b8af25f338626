package cades

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
)

// TestVerifyOpenSSLP7M: .p7m envelopes made by openssl (DER and streamed BER) around a
// signed PDF verify, their content is what pdfcda reads, and a changed byte is refused.
func TestVerifyOpenSSLP7M(t *testing.T) {
	openssl := testenv.Tool(t, "openssl", "apt-get install openssl")
	ca, err := signtest.NewCA("cades CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(signtest.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cert, key, _ := leaf.PEM()
	doc := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes()}.Bytes()
	in, cf, kf := w("doc.pdf", doc), w("c.pem", cert), w("k.pem", key)
	for _, stream := range []bool{false, true} {
		out := filepath.Join(dir, "doc.pdf.p7m")
		args := []string{"cms", "-sign", "-binary", "-nodetach", "-in", in, "-signer", cf, "-inkey", kf, "-md", "sha256", "-outform", "DER", "-out", out}
		if stream {
			args = append(args, "-stream")
		}
		if b, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl: %v\n%s", err, b)
		}
		p7m, _ := os.ReadFile(out)
		r, content, err := Verify(p7m, sign.VerifyOptions{Roots: ca.Pool()})
		if err != nil || !r.Valid || !r.Trusted || !bytes.Equal(content, doc) || r.SignerCF != signtest.OperatorCF {
			t.Fatalf("stream=%v: %v %+v", stream, err, r)
		}
		if d, err := pdfcda.Read(p7m, pdfcda.Limits{}); err != nil || d.Format != pdfcda.FormatP7M || d.CDA == nil {
			t.Fatalf("pdfcda reads the envelope: %v", err)
		}
		changed := bytes.Replace(p7m, []byte("Documento di prova"), []byte("Documento di pr0va"), 1)
		var ie *sign.InvalidError
		if r, _, err := Verify(changed, sign.VerifyOptions{}); !errors.As(err, &ie) || r.Valid {
			t.Fatalf("changed: %v", err)
		}
	}
	// The shape-only envelope of the fixtures carries no signer.
	if _, _, err := Verify(pdfcdatest.P7M(doc), sign.VerifyOptions{}); err == nil {
		t.Fatal("an envelope without signer verified")
	}
}
