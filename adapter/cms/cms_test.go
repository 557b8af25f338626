package cms

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
)

func setup(t *testing.T) (*signtest.CA, []*signtest.Leaf) {
	t.Helper()
	ca, err := signtest.NewCA("cms test CA")
	if err != nil {
		t.Fatal(err)
	}
	var leaves []*signtest.Leaf
	for _, k := range []signtest.KeyType{signtest.RSA2048, signtest.ECDSAP256} {
		l, err := ca.Issue(signtest.LeafOptions{Key: k})
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, l)
	}
	return ca, leaves
}

func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSignDetachedVerify(t *testing.T) {
	ca, leaves := setup(t)
	content := bytes.Repeat([]byte("contenuto firmato "), 1000)
	d := sha256.Sum256(content)
	for _, l := range leaves {
		der, err := SignDetached(d[:], crypto.SHA256, l, SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(append(der, make([]byte, 100)...)) // zero padding as in a PDF /Contents
		if err != nil {
			t.Fatal(err)
		}
		if p.Content != nil || p.DigestAlgorithm() != crypto.SHA256 {
			t.Fatalf("content %v digest %v", p.Content != nil, p.DigestAlgorithm())
		}
		r := p.Verify(d[:], sign.FormatPAdES, time.Time{}, sign.VerifyOptions{Roots: ca.Pool()})
		if !r.Valid || !r.Trusted || r.SignerCF != signtest.OperatorCF {
			t.Fatalf("%+v", r)
		}
		other := sha256.Sum256(append(content, '!'))
		if r := p.Verify(other[:], sign.FormatPAdES, time.Time{}, sign.VerifyOptions{}); r.Valid || !strings.Contains(r.Problems[0], "message digest mismatch") {
			t.Fatalf("changed content: %+v", r)
		}
	}
}

// TestOpenSSL: openssl cms verifies our detached signatures (RSA and ECDSA) with the CA
// trusted, and we verify what openssl signs: detached, attached, and attached streamed (BER,
// indefinite lengths and chunked content, as signing tools write .p7m files).
func TestOpenSSL(t *testing.T) {
	openssl := testenv.Tool(t, "openssl", "apt-get install openssl")
	ca, leaves := setup(t)
	dir := t.TempDir()
	content := bytes.Repeat([]byte("referto firmato CAdES "), 5000)
	contentFile := write(t, dir, "content.bin", content)
	caFile := write(t, dir, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}))
	d := sha256.Sum256(content)
	for i, l := range leaves {
		der, err := SignDetached(d[:], crypto.SHA256, l, SignOptions{SigningTime: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		sigFile := write(t, dir, "sig.der", der)
		out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigFile, "-content", contentFile,
			"-CAfile", caFile, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl cms -verify refused our signature: %v\n%s", err, out)
		}
		tampered := write(t, dir, "tampered.bin", append(append([]byte{}, content...), 'x'))
		if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigFile, "-content", tampered,
			"-CAfile", caFile, "-purpose", "any", "-out", os.DevNull).CombinedOutput(); err == nil {
			t.Fatalf("openssl accepted a tampered content: %s", out)
		}

		cert, key, err := l.PEM()
		if err != nil {
			t.Fatal(err)
		}
		certFile, keyFile := write(t, dir, "c.pem", cert), write(t, dir, "k.pem", key)
		for _, mode := range []struct {
			name     string
			args     []string
			attached bool
		}{
			{"detached", nil, false},
			{"attached", []string{"-nodetach"}, true},
			{"attached BER", []string{"-nodetach", "-stream"}, true},
		} {
			t.Run(mode.name+"/"+[]string{"RSA", "ECDSA"}[i], func(t *testing.T) {
				outFile := filepath.Join(dir, "openssl.p7m")
				args := append([]string{"cms", "-sign", "-binary", "-in", contentFile, "-signer", certFile, "-inkey", keyFile, "-md", "sha256", "-outform", "DER", "-out", outFile}, mode.args...)
				if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
					t.Fatalf("openssl cms -sign: %v\n%s", err, out)
				}
				raw, err := os.ReadFile(outFile)
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(mode.name, "BER") && raw[1] != 0x80 {
					t.Fatalf("openssl -stream did not write an indefinite length (%x): the BER case is not exercised", raw[:4])
				}
				p, err := Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				if mode.attached != (p.Content != nil) || (mode.attached && !bytes.Equal(p.Content, content)) {
					t.Fatalf("content: attached %v, got %d bytes", mode.attached, len(p.Content))
				}
				r := p.Verify(d[:], sign.FormatCAdES, time.Time{}, sign.VerifyOptions{Roots: ca.Pool()})
				if !r.Valid || !r.Trusted || r.SigningTime.IsZero() {
					t.Fatalf("%+v", r)
				}
			})
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("not asn1"), {0x30, 0x80, 0x06}, {0x30, 0x03, 0x02, 0x01, 0x01}} {
		if _, err := Parse(b); err == nil {
			t.Fatalf("Parse(%x) accepted", b)
		}
	}
}
