package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
)

// signFixture writes a CDA, a base PDF and a PKCS#12 signer in dir.
func signFixture(t *testing.T, h *harness, dir string) (cdaPath, basePath, p12Path string, ca *signtest.CA) {
	t.Helper()
	ca, err := signtest.NewCA("cli test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(signtest.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p12, err := leaf.PKCS12("segreto")
	if err != nil {
		t.Fatal(err)
	}
	cdaPath, basePath, p12Path = filepath.Join(dir, "referto.xml"), filepath.Join(dir, "base.pdf"), filepath.Join(dir, "operatore.p12")
	for p, b := range map[string][]byte{cdaPath: pdfcdatest.CDA{}.Bytes(), basePath: pdfcdatest.PDF{PDFA: 3}.Bytes(), p12Path: p12} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h.env["FSEPUGLIA_SIGNER_KEY_PASSWORD"] = "segreto"
	return cdaPath, basePath, p12Path, ca
}

// TestSignInjectSign walks the producer's steps with the CLI: sign the CDA, inject it,
// sign the PDF; each output verifies (adapter/pades and adapter/xades, whose tests check
// them against pdfsig, openssl, xmlsec1 and xadesjs).
func TestSignInjectSign(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	cdaPath, basePath, p12, ca := signFixture(t, h, dir)

	out, errOut, code := h.run("sign", "--cda", cdaPath, "--pkcs12", p12, "--format", "json")
	if code != 0 {
		t.Fatalf("sign --cda: %d %s", code, errOut)
	}
	var so signOutput
	if err := json.Unmarshal([]byte(out), &so); err != nil || so.Format != sign.FormatXAdES || so.Output != filepath.Join(dir, "referto.signed.xml") || so.SignerCF != signtest.OperatorCF {
		t.Fatalf("sign output %v %+v", err, so)
	}
	signedCDA, _ := os.ReadFile(so.Output)
	if r, err := xades.Verify(signedCDA, sign.VerifyOptions{Roots: ca.Pool()}); err != nil || !r.Trusted {
		t.Fatalf("signed CDA: %v", err)
	}

	injected := filepath.Join(dir, "referto.pdf")
	out, errOut, code = h.run("inject", so.Output, "--pdf", basePath, "-o", injected)
	if code != 0 || !strings.Contains(out, "cda.xml associated (/AF)") || strings.Contains(errOut, "warning: the CDA") {
		t.Fatalf("inject: %d\n%s\n%s", code, out, errOut)
	}
	data, _ := os.ReadFile(injected)
	if d, err := pdfcda.Read(data, pdfcda.Limits{}); err != nil || !bytes.Equal(d.CDA, signedCDA) {
		t.Fatalf("injected PDF: %v", err)
	}

	final := filepath.Join(dir, "referto.firmato.pdf")
	if _, errOut, code = h.run("sign", "--pdf", injected, "-o", final, "--pkcs12", p12, "--reason", "Referto"); code != 0 {
		t.Fatalf("sign --pdf: %d %s", code, errOut)
	}
	signed, _ := os.ReadFile(final)
	sigs, err := pades.Verify(signed, sign.VerifyOptions{Roots: ca.Pool()})
	if err != nil || !pades.Intact(sigs) || !sigs[0].Trusted {
		t.Fatalf("signed PDF: %v %+v", err, sigs)
	}
	if !bytes.Equal(signed[:len(data)], data) {
		t.Fatal("sign --pdf changed the input's bytes")
	}
}

func TestSignInjectRefuse(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	cdaPath, basePath, p12, _ := signFixture(t, h, dir)
	truncated := filepath.Join(dir, "rotto.xml")
	cda, _ := os.ReadFile(cdaPath)
	os.WriteFile(truncated, cda[:len(cda)*9/10], 0o600)
	exists := filepath.Join(dir, "exists.pdf")
	os.WriteFile(exists, []byte("x"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"sign needs one input", []string{"sign", "--pkcs12", p12}, exitUsage, "exactly one of --cda"},
		{"sign both inputs", []string{"sign", "--cda", cdaPath, "--pdf", basePath, "--pkcs12", p12}, exitUsage, "exactly one of --cda"},
		{"no key", []string{"sign", "--cda", cdaPath}, exitInput, "--pkcs12: no signing key"},
		{"missing p12", []string{"sign", "--cda", cdaPath, "--pkcs12", filepath.Join(dir, "nope.p12")}, exitInput, "--pkcs12"},
		{"truncated CDA", []string{"sign", "--cda", truncated, "--pkcs12", p12}, exitInput, "not well-formed"},
		{"output exists", []string{"sign", "--pdf", basePath, "-o", exists, "--pkcs12", p12}, exitInput, "file exists"},
		{"not a PDF", []string{"sign", "--pdf", cdaPath, "--pkcs12", p12, "-o", filepath.Join(dir, "x.pdf")}, exitInput, "--pdf"},
		{"smart card in a build without pkcs11", []string{"sign", "--cda", cdaPath, "--pkcs11-module", "/usr/lib/softhsm/libsofthsm2.so"}, exitInput, "-tags pkcs11"},
		{"inject without --pdf", []string{"inject", cdaPath, "-o", filepath.Join(dir, "y.pdf")}, exitInput, "--pdf: missing"},
		{"inject truncated CDA", []string{"inject", truncated, "--pdf", basePath, "-o", filepath.Join(dir, "z.pdf")}, exitInput, "not well-formed"},
		{"inject twice", []string{"inject", cdaPath, "--pdf", filepath.Join("..", "..", "fixtures", "documents", "lab-unsigned.pdf"), "-o", filepath.Join(dir, "w.pdf")}, exitInput, "already embeds cda.xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := h.run(tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d (want %d), stderr:\n%s", code, tc.code, errOut)
			}
		})
	}
	// Nothing half-written is left behind by the failures.
	left, _ := filepath.Glob(filepath.Join(dir, ".fsepuglia-*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	// An unsigned CDA injects, with a warning naming FSE-10001.
	if _, errOut, code := h.run("inject", cdaPath, "--pdf", basePath, "-o", filepath.Join(dir, "u.pdf")); code != 0 || !strings.Contains(errOut, "FSE-10001") {
		t.Fatalf("unsigned CDA: %d %s", code, errOut)
	}
}
