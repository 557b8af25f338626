//go:build pkcs11

package sign_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
)

// softhsmModule is the SoftHSM2 PKCS#11 library ($FSEPUGLIA_PKCS11_MODULE overrides).
func softhsmModule(t *testing.T) string {
	if m := os.Getenv("FSEPUGLIA_PKCS11_MODULE"); m != "" {
		return m
	}
	for _, m := range []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"} {
		if _, err := os.Stat(m); err == nil {
			return m
		}
	}
	testenv.Missing(t, "SoftHSM2 PKCS#11 module not found", "apt-get install softhsm2")
	return ""
}

// token initialises a SoftHSM2 token in a temporary directory holding the leaves given
// (private key, public key and certificate under one CKA_ID and label each).
func token(t *testing.T, module string, leaves map[string]*signtest.Leaf) {
	softhsm := testenv.Tool(t, "softhsm2-util", "apt-get install softhsm2")
	p11tool := testenv.Tool(t, "pkcs11-tool", "apt-get install opensc")
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
	}
	run(softhsm, "--init-token", "--free", "--label", "fsepuglia", "--pin", "1234", "--so-pin", "5678")
	i := 1
	for label, l := range leaves {
		id := string(rune('0'+i)) + "0"
		i++
		kder, err := x509.MarshalPKCS8PrivateKey(l.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(dir, label+".key.pem")
		certFile := filepath.Join(dir, label+".der")
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
		os.WriteFile(certFile, l.Certificate().Raw, 0o600)
		run(softhsm, "--import", keyFile, "--token", "fsepuglia", "--label", label, "--id", id, "--pin", "1234")
		run(p11tool, "--module", module, "--token-label", "fsepuglia", "--login", "--pin", "1234",
			"--write-object", certFile, "--type", "cert", "--id", id, "--label", label)
	}
}

// TestPKCS11SoftHSM: signers on a SoftHSM2 token (RSA and ECDSA, chosen by label, or the
// only signature certificate when none is named) make XAdES and PAdES signatures that
// verify, the PAdES one also for pdfsig.
func TestPKCS11SoftHSM(t *testing.T) {
	module := softhsmModule(t)
	ca, err := signtest.NewCA("pkcs11 test CA")
	if err != nil {
		t.Fatal(err)
	}
	rsaLeaf, err := ca.Issue(signtest.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ecLeaf, err := ca.Issue(signtest.LeafOptions{Key: signtest.ECDSAP256, CN: "FIRMA EC"})
	if err != nil {
		t.Fatal(err)
	}
	token(t, module, map[string]*signtest.Leaf{"firma-rsa": rsaLeaf, "firma-ec": ecLeaf})

	for _, label := range []string{"firma-rsa", "firma-ec"} {
		t.Run(label, func(t *testing.T) {
			s, closer, err := sign.OpenPKCS11(sign.PKCS11Config{Module: module, TokenLabel: "fsepuglia", PIN: "1234", KeyLabel: label})
			if err != nil {
				t.Fatal(err)
			}
			defer closer.Close()
			want := rsaLeaf
			if label == "firma-ec" {
				want = ecLeaf
			}
			if !s.Certificate().Equal(want.Certificate()) {
				t.Fatalf("certificate %v", s.Certificate().Subject)
			}
			cda, err := xades.Sign(pdfcdatest.CDA{}.Bytes(), s, xades.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r, err := xades.Verify(cda, sign.VerifyOptions{Roots: ca.Pool()}); err != nil || !r.Trusted {
				t.Fatalf("XAdES from the token: %v %+v", err, r)
			}
			pdf, err := pades.SignBytes(pdfcdatest.PDF{Attachment: cda}.Bytes(), s, pades.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sigs, err := pades.Verify(pdf, sign.VerifyOptions{Roots: ca.Pool()})
			if err != nil || !sigs[0].Trusted || !sigs[0].CoversWholeFile {
				t.Fatalf("PAdES from the token: %v %+v", err, sigs)
			}
			pdfsig := testenv.Tool(t, "pdfsig", "apt-get install poppler-utils")
			f := filepath.Join(t.TempDir(), "signed.pdf")
			os.WriteFile(f, pdf, 0o600)
			out, _ := exec.Command(pdfsig, "-nocert", f).CombinedOutput()
			if !bytes.Contains(out, []byte("Signature is Valid.")) {
				t.Fatalf("pdfsig:\n%s", out)
			}
		})
	}
	// Two key pairs, one PIN wrong, no label: clear errors.
	if _, _, err := sign.OpenPKCS11(sign.PKCS11Config{Module: module, TokenLabel: "fsepuglia", PIN: "0000", KeyLabel: "firma-rsa"}); err == nil {
		t.Fatal("wrong PIN accepted")
	}
	if _, _, err := sign.OpenPKCS11(sign.PKCS11Config{Module: module, TokenLabel: "fsepuglia", PIN: "1234", KeyLabel: "nessuna"}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown label: %v", err)
	}
	if _, _, err := sign.OpenPKCS11(sign.PKCS11Config{Module: module, TokenLabel: "fsepuglia", PIN: "1234"}); err == nil || !strings.Contains(err.Error(), "choose one") {
		t.Fatalf("two signature keys, none named: %v", err)
	}
}
