package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

var allFiles = []string{FileCACert, FileCAKey, FileServerCert, FileServerKey, FileClientCert, FileClientKey, FileOperatorCert, FileOperatorKey}

func ensure(t *testing.T, dir string, opt Options) *PKI {
	t.Helper()
	p, err := Ensure(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnsureCreatesAndReuses(t *testing.T) {
	dir := t.TempDir()
	p := ensure(t, dir, Options{})
	slices.Sort(p.Generated)
	want := slices.Clone(allFiles)
	slices.Sort(want)
	if !slices.Equal(p.Generated, want) {
		t.Fatalf("generated %v", p.Generated)
	}
	for _, f := range allFiles {
		st, err := os.Stat(filepath.Join(dir, "pki", f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, "-key.pem") && st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v", f, st.Mode().Perm())
		}
	}
	again := ensure(t, dir, Options{})
	if len(again.Generated) != 0 {
		t.Fatalf("second start regenerated %v", again.Generated)
	}
	for _, pair := range [][2]KeyPair{{p.CA, again.CA}, {p.Server, again.Server}, {p.Client, again.Client}, {p.Operator, again.Operator}} {
		if !bytes.Equal(pair[0].Cert.Raw, pair[1].Cert.Raw) || !pair[0].Key.Equal(pair[1].Key) {
			t.Fatalf("%s changed on reuse", pair[0].CertFile)
		}
	}
}

func TestEnsureRegeneratesOnlyWhatIsMissing(t *testing.T) {
	tests := []struct {
		name   string
		remove string
		want   []string
		caSame bool
		now    time.Duration
	}{
		{"server cert missing", FileServerCert, []string{FileServerCert, FileServerKey}, true, 0},
		{"operator key missing", FileOperatorKey, []string{FileOperatorCert, FileOperatorKey}, true, 0},
		{"CA key missing regenerates everything", FileCAKey, allFiles, false, 0},
		{"leaves expired after 3 years", "", []string{FileServerCert, FileServerKey, FileClientCert, FileClientKey, FileOperatorCert, FileOperatorKey}, true, 3 * 365 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first := ensure(t, dir, Options{})
			if tc.remove != "" {
				if err := os.Remove(filepath.Join(dir, "pki", tc.remove)); err != nil {
					t.Fatal(err)
				}
			}
			later := time.Now().Add(tc.now)
			p := ensure(t, dir, Options{Now: func() time.Time { return later }})
			got, want := slices.Clone(p.Generated), slices.Clone(tc.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("regenerated %v, want %v", got, want)
			}
			if bytes.Equal(first.CA.Cert.Raw, p.CA.Cert.Raw) != tc.caSame {
				t.Fatal("CA reuse not as expected")
			}
			if _, err := p.Server.Cert.Verify(x509.VerifyOptions{Roots: p.SignerRoots(), CurrentTime: later, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Fatalf("server no longer chains to the CA: %v", err)
			}
		})
	}
}

func TestCertificateContents(t *testing.T) {
	p := ensure(t, t.TempDir(), Options{})
	if err := p.Server.Cert.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if err := p.Server.Cert.VerifyHostname(ip); err != nil {
			t.Error(err)
		}
	}
	cn := p.Client.Cert.Subject.CommonName
	piva, domain, _ := strings.Cut(cn, ".")
	if !ValidPartitaIVA(piva) || domain != "example.it" {
		t.Errorf("client CN %q", cn)
	}
	if sn := p.Operator.Cert.Subject.SerialNumber; sn != "TINIT-"+DefaultOperatorCF || !ValidCF(strings.TrimPrefix(sn, "TINIT-")) {
		t.Errorf("operator serialNumber %q", sn)
	}
	for _, kp := range []KeyPair{p.CA, p.Server, p.Client, p.Operator} {
		if kp.Key.N.BitLen() != 2048 {
			t.Errorf("%s: %d-bit key", kp.CertFile, kp.Key.N.BitLen())
		}
	}
	if _, err := Ensure(t.TempDir(), Options{OperatorCF: "FSEPGL01E41A145K"}); err == nil {
		t.Error("invalid operator CF accepted")
	}
	if _, err := Ensure(t.TempDir(), Options{PartitaIVA: "01234567890"}); err == nil {
		t.Error("invalid partita IVA accepted")
	}
}

// TestOpenSSLAgrees checks the files with an independent implementation.
func TestOpenSSLAgrees(t *testing.T) {
	testenv.Tool(t, "openssl", "apt-get install openssl")
	p := ensure(t, t.TempDir(), Options{})
	for _, c := range []struct{ file, purpose string }{
		{p.Server.CertFile, "sslserver"}, {p.Client.CertFile, "sslclient"}, {p.Operator.CertFile, "smimesign"},
	} {
		out, err := exec.Command("openssl", "verify", "-purpose", c.purpose, "-CAfile", p.CA.CertFile, c.file).CombinedOutput()
		if err != nil {
			t.Errorf("openssl verify %s: %v\n%s", filepath.Base(c.file), err, out)
		}
	}
	out, err := exec.Command("openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", p.Operator.CertFile).Output()
	if err != nil || !strings.Contains(string(out), "serialNumber=TINIT-"+DefaultOperatorCF) {
		t.Errorf("openssl subject %q %v", out, err)
	}
	out, err = exec.Command("openssl", "pkey", "-in", p.Operator.KeyFile, "-check", "-noout").CombinedOutput()
	if err != nil {
		t.Errorf("openssl pkey: %v %s", err, out)
	}
}

func TestMutualTLS(t *testing.T) {
	p := ensure(t, t.TempDir(), Options{})
	other := ensure(t, t.TempDir(), Options{})
	var gotCN string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotCN = r.TLS.PeerCertificates[0].Subject.CommonName
	}))
	srv.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.TLS = p.ServerTLSConfig()
	srv.StartTLS()
	defer srv.Close()

	noCert := p.ClientTLSConfig()
	noCert.Certificates = nil
	foreign := p.ClientTLSConfig()
	foreign.Certificates = []tls.Certificate{other.Client.TLSCertificate()}
	tests := []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"client cert from the CA", p.ClientTLSConfig(), true},
		{"no client cert", noCert, false},
		{"client cert from another CA", foreign, false},
		{"client not trusting the CA", other.ClientTLSConfig(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc.cfg}, Timeout: 5 * time.Second}
			resp, err := c.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && gotCN != p.Client.Cert.Subject.CommonName {
				t.Fatalf("server saw CN %q", gotCN)
			}
		})
	}
}
