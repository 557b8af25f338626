package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// doctorCert writes a self-signed client certificate and its key (PEM) into dir.
func doctorCert(t *testing.T, dir, cn string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Struttura di prova"}},
		NotBefore:    notBefore, NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+"-key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// editConfig writes a copy of the JSON config at path with edit applied.
func editConfig(t *testing.T, path string, edit func(m map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, _ := json.Marshal(m)
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runDoctor runs `fsepuglia --output json doctor` with cfgPath and the clock now.
func runDoctor(t *testing.T, cfgPath string, now func() time.Time, extra ...string) (doctorOutput, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	d := defaultDeps()
	d.getenv = func(string) string { return "" }
	d.now = now
	args := append([]string{"fsepuglia", "--config", cfgPath, "--data-dir", t.TempDir(), "--output", "json", "doctor", "--timeout", "3s"}, extra...)
	code := runWith(context.Background(), args, &out, &errOut, d)
	var got doctorOutput
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("doctor JSON: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	return got, errOut.String(), code
}

func (o doctorOutput) find(check, severity string) (doctorFinding, bool) {
	for _, f := range o.Findings {
		if f.Check == check && f.Severity == severity {
			return f, true
		}
	}
	return doctorFinding{}, false
}

// closedPort returns a 127.0.0.1 port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestDoctor runs doctor against the simulator with its own configuration and with broken
// variants of it: each case names the finding that must appear and the exit code.
func TestDoctor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	simCfg := startSim(t)
	dir := t.TempDir()
	now := time.Now()
	expiredCert, expiredKey := doctorCert(t, dir, "01234567897.example.it", now.AddDate(-2, 0, 0), now.AddDate(0, 0, -1))
	wrongCNCert, wrongCNKey := doctorCert(t, dir, "localhost", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	badVATCert, badVATKey := doctorCert(t, dir, "01234567890.example.it", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	strangerCert, strangerKey := doctorCert(t, dir, "12345678903.example.it", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	withCert := func(c, k string) func(map[string]any) {
		return func(m map[string]any) {
			tlsm := m["tls"].(map[string]any)
			tlsm["cert_file"], tlsm["key_file"] = c, k
		}
	}
	// In "local" the CN rules are warnings; "test" (the regional test host, here pointed at
	// the simulator with base_url) makes them errors.
	inTest := func(edit func(map[string]any)) func(map[string]any) {
		return func(m map[string]any) {
			edit(m)
			m["environment"], m["asl"] = "test", "aslba_test"
			// The simulator's config names its URL for "local" only (base_urls.local).
			if urls, ok := m["base_urls"].(map[string]any); ok && m["base_url"] == nil {
				m["base_url"] = urls["local"]
			}
		}
	}

	for _, tc := range []struct {
		name     string
		edit     func(map[string]any)
		now      func() time.Time
		code     int
		check    string // a finding that must be present…
		severity string // …with this severity
		absent   string // a check that must not run
	}{
		{name: "simulator, all OK", code: exitOK, check: checkConnect, severity: "info"},
		{name: "clock compared", code: exitOK, check: checkClock, severity: "info"},
		{name: "clock 5 minutes ahead", now: func() time.Time { return time.Now().Add(5 * time.Minute) }, code: exitOK, check: checkClock, severity: "warning"},
		{name: "expired certificate", edit: withCert(expiredCert, expiredKey), code: exitInput, check: "cert-expired", severity: "error"},
		{name: "CN not PartitaIva.Dominio.it", edit: inTest(withCert(wrongCNCert, wrongCNKey)), code: exitInput, check: "cn-format", severity: "error"},
		{name: "CN not PartitaIva.Dominio.it, local: a warning", edit: withCert(wrongCNCert, wrongCNKey), code: exitTransport, check: "cn-format", severity: "warning"},
		{name: "simulator as the test host, all OK", edit: inTest(func(map[string]any) {}), code: exitOK, check: checkConnect, severity: "info"},
		{name: "wrong VAT check digit", edit: inTest(withCert(badVATCert, badVATKey)), code: exitInput, check: "vat-check-digit", severity: "error"},
		{name: "certificate the server does not trust", edit: withCert(strangerCert, strangerKey), code: exitTransport, check: checkConnect, severity: "error"},
		{name: "closed port", edit: func(m map[string]any) { m["base_url"] = "https://" + closedPort(t) }, code: exitTransport, check: checkConnect, severity: "error"},
		{name: "unknown ASL", edit: func(m map[string]any) { m["asl"] = "aslxx" }, code: exitInput, check: checkEndpoint, severity: "error", absent: checkDNS},
		{name: "invalid operator CF", edit: func(m map[string]any) { m["operator"].(map[string]any)["cf"] = "TSTOPR80A01A662X" }, code: exitInput, check: checkOperator, severity: "error"},
		{name: "signer belongs to the operator", code: exitOK, check: checkSignerCF, severity: "info"},
		{name: "operator is not the signer (E000231)", edit: func(m map[string]any) { m["operator"].(map[string]any)["cf"] = "FSELBR01C41A145S" }, code: exitInput, check: checkSignerCF, severity: "error"},
		{name: "expired signing certificate", edit: func(m map[string]any) { m["signer"] = map[string]any{"cert_file": expiredCert, "key_file": expiredKey} }, code: exitInput, check: checkSigner, severity: "error"},
		{name: "prod locked: nothing contacted", edit: func(m map[string]any) { m["environment"] = "prod"; delete(m, "base_url") }, code: exitInput, check: checkProduction, severity: "error", absent: checkDNS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := simCfg
			if tc.edit != nil {
				cfg = editConfig(t, simCfg, tc.edit)
			}
			clock := tc.now
			if clock == nil {
				clock = time.Now
			}
			got, errOut, code := runDoctor(t, cfg, clock)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%+v\n%s", code, tc.code, got, errOut)
			}
			f, ok := got.find(tc.check, tc.severity)
			if !ok {
				t.Fatalf("no %s finding %q in %+v", tc.severity, tc.check, got.Findings)
			}
			if f.Severity != "info" && f.Fix == "" {
				t.Errorf("finding %s has no fix", f.Check)
			}
			if tc.absent != "" {
				for _, f := range got.Findings {
					if f.Check == tc.absent {
						t.Errorf("check %s ran: %+v", tc.absent, f)
					}
				}
			}
			if (tc.code == exitOK) != (got.Errors == 0) {
				t.Errorf("errors = %d with exit %d", got.Errors, code)
			}
		})
	}
}

// TestDoctorTable checks the human output's columns and the totals line.
func TestDoctorTable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	cfg := editConfig(t, startSim(t), func(m map[string]any) { m["base_url"] = "https://" + closedPort(t) })
	var out, errOut bytes.Buffer
	d := defaultDeps()
	d.getenv = func(string) string { return "" }
	code := runWith(context.Background(), []string{"fsepuglia", "--config", cfg, "--data-dir", t.TempDir(), "doctor", "--timeout", "2s"}, &out, &errOut, d)
	if code != exitTransport {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	for _, want := range []string{"SEVERITY", "CHECK", "FIX", "error     tls-connect", "connection refused", "1 error(s), 0 warning(s)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDoctorTimeout points doctor at a port that accepts connections and never answers:
// the TLS check gives up after --timeout and says so (exit 6).
func TestDoctorTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var held []net.Conn
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	cfg := editConfig(t, startSim(t), func(m map[string]any) { m["base_url"] = "https://" + l.Addr().String() })
	got, errOut, code := runDoctor(t, cfg, time.Now, "--timeout", "300ms")
	if code != exitTransport {
		t.Fatalf("exit %d, want %d\n%+v\n%s", code, exitTransport, got, errOut)
	}
	f, ok := got.find(checkConnect, "error")
	if !ok || !strings.Contains(f.Fix, "--timeout") {
		t.Fatalf("no timeout finding: %+v", got.Findings)
	}
}
