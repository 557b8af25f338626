package transport

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goodCN = "01234567897.example.it"

func codes(fs []Finding, sev Severity) map[string]bool {
	out := map[string]bool{}
	for _, f := range fs {
		if f.Severity == sev {
			out[f.Code] = true
		}
	}
	return out
}

func TestCheckCertificateCases(t *testing.T) {
	ca := newCA(t, "Test CA")
	type tc struct {
		name   string
		cfg    func(t *testing.T) Config
		errors []string // expected Error codes, exactly
		warns  []string // expected Warning codes (subset)
		field  string   // field of the first error
	}
	pair := func(env string, o leafOpts, selfSigned bool) func(t *testing.T) Config {
		return func(t *testing.T) Config {
			issuer := ca
			if selfSigned {
				issuer = nil
			}
			c, k := issue(t, issuer, o)
			cf, kf := writePair(t, c, k)
			return Config{Environment: env, AllowProduction: true, CertFile: cf, KeyFile: kf, Now: func() time.Time { return now }}
		}
	}
	tests := []tc{
		{name: "valid in test", cfg: pair("test", leafOpts{cn: goodCN}, false)},
		{name: "valid in prod", cfg: pair("prod", leafOpts{cn: goodCN}, false)},
		{name: "expired", cfg: pair("test", leafOpts{cn: goodCN, notBefore: now.AddDate(-2, 0, 0), notAfter: now.AddDate(0, 0, -1)}, false),
			errors: []string{CodeExpired}, field: "tls.cert_file"},
		{name: "not yet valid", cfg: pair("test", leafOpts{cn: goodCN, notBefore: now.Add(time.Hour)}, false),
			errors: []string{CodeNotYetValid}, field: "tls.cert_file"},
		{name: "expires soon", cfg: pair("test", leafOpts{cn: goodCN, notAfter: now.Add(10 * 24 * time.Hour)}, false),
			warns: []string{CodeExpiresSoon}},
		{name: "wrong CN (a person's name)", cfg: pair("test", leafOpts{cn: "Mario Rossi"}, false),
			errors: []string{CodeCNFormat}, field: "tls.cert_file"},
		{name: "wrong CN (10 digits)", cfg: pair("prod", leafOpts{cn: "0123456789.example.it"}, false),
			errors: []string{CodeCNFormat}, field: "tls.cert_file"},
		{name: "wrong CN (no domain)", cfg: pair("prod", leafOpts{cn: "01234567897"}, false),
			errors: []string{CodeCNFormat}, field: "tls.cert_file"},
		{name: "wrong CN is only a warning in local", cfg: pair("local", leafOpts{cn: "localhost"}, false),
			warns: []string{CodeCNFormat}},
		{name: "bad VAT check digit", cfg: pair("prod", leafOpts{cn: "01234567890.example.it"}, false),
			errors: []string{CodeVATCheckDigit}, field: "tls.cert_file"},
		{name: "non-.it domain warns", cfg: pair("test", leafOpts{cn: "01234567897.example.com"}, false),
			warns: []string{CodeCNDomain}},
		{name: "self-signed in prod", cfg: pair("prod", leafOpts{cn: goodCN}, true),
			errors: []string{CodeSelfSigned}, field: "tls.cert_file"},
		{name: "self-signed in test warns", cfg: pair("test", leafOpts{cn: goodCN}, true),
			warns: []string{CodeSelfSigned}},
		{name: "server-only EKU warns", cfg: pair("test", leafOpts{cn: goodCN, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, false),
			warns: []string{CodeExtKeyUsage}},
		{name: "key mismatch", cfg: func(t *testing.T) Config {
			c, _ := issue(t, ca, leafOpts{cn: goodCN})
			_, other := issue(t, ca, leafOpts{cn: goodCN})
			cf, kf := writePair(t, c, other)
			return Config{Environment: "test", CertFile: cf, KeyFile: kf, Now: func() time.Time { return now }}
		}, errors: []string{CodeKeyMismatch}, field: "tls.key_file"},
		{name: "prod without opt-in", cfg: func(t *testing.T) Config {
			cfg := pair("prod", leafOpts{cn: goodCN}, false)(t)
			cfg.AllowProduction = false
			return cfg
		}, errors: []string{CodeProdOptIn}, field: "allow_production"},
		{name: "prod with InsecureSkipVerify", cfg: func(t *testing.T) Config {
			cfg := pair("prod", leafOpts{cn: goodCN}, false)(t)
			cfg.InsecureSkipVerify = true
			return cfg
		}, errors: []string{CodeInsecure}, field: "insecure_skip_verify"},
		{name: "test with InsecureSkipVerify warns", cfg: func(t *testing.T) Config {
			cfg := pair("test", leafOpts{cn: goodCN}, false)(t)
			cfg.InsecureSkipVerify = true
			return cfg
		}, warns: []string{CodeInsecure}},
		{name: "no certificate in test", cfg: func(t *testing.T) Config { return Config{Environment: "test"} },
			errors: []string{CodeCertMissing}, field: "tls.cert_file"},
		{name: "no certificate in local is fine", cfg: func(t *testing.T) Config { return Config{Environment: "local"} }},
		{name: "unknown environment", cfg: func(t *testing.T) Config { return Config{Environment: "staging"} },
			errors: []string{CodeEnvironment, CodeCertMissing}, field: "environment"},
		{name: "both PEM and PKCS#12", cfg: func(t *testing.T) Config {
			cfg := pair("test", leafOpts{cn: goodCN}, false)(t)
			cfg.PKCS12File = "x.p12"
			return cfg
		}, errors: []string{CodeCertAmbiguous}, field: "tls.pkcs12_file"},
		{name: "missing cert file", cfg: func(t *testing.T) Config {
			return Config{Environment: "test", CertFile: filepath.Join(t.TempDir(), "nope.crt"), KeyFile: "k"}
		}, errors: []string{CodeCertLoad}, field: "tls.cert_file"},
		{name: "PKCS#12 valid", cfg: func(t *testing.T) Config {
			c, k := issue(t, ca, leafOpts{cn: goodCN})
			return Config{Environment: "prod", AllowProduction: true, PKCS12File: writeP12(t, c, k, []*x509.Certificate{ca.cert}, "s3cret"),
				KeyPassword: "s3cret", Now: func() time.Time { return now }}
		}},
		{name: "PKCS#12 wrong password", cfg: func(t *testing.T) Config {
			c, k := issue(t, ca, leafOpts{cn: goodCN})
			return Config{Environment: "test", PKCS12File: writeP12(t, c, k, nil, "s3cret"), KeyPassword: "wrong"}
		}, errors: []string{CodeCertLoad}, field: "tls.pkcs12_file"},
		{name: "PKCS#12 self-signed in prod", cfg: func(t *testing.T) Config {
			c, k := issue(t, nil, leafOpts{cn: goodCN})
			return Config{Environment: "prod", AllowProduction: true, PKCS12File: writeP12(t, c, k, nil, "pw"), KeyPassword: "pw",
				Now: func() time.Time { return now }}
		}, errors: []string{CodeSelfSigned}, field: "tls.pkcs12_file"},
		{name: "CA file without certificates", cfg: func(t *testing.T) Config {
			cfg := pair("test", leafOpts{cn: goodCN}, false)(t)
			cfg.CAFile = filepath.Join(t.TempDir(), "empty.pem")
			if err := os.WriteFile(cfg.CAFile, []byte("not pem"), 0o600); err != nil {
				t.Fatal(err)
			}
			return cfg
		}, errors: []string{CodeCAFile}, field: "tls.ca_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg(t)
			_, fs := Check(cfg)
			gotErr := codes(fs, Error)
			if len(gotErr) != len(tc.errors) {
				t.Errorf("errors %v, want %v (findings %v)", gotErr, tc.errors, fs)
			}
			for _, c := range tc.errors {
				if !gotErr[c] {
					t.Errorf("missing error %s; findings %v", c, fs)
				}
			}
			gotWarn := codes(fs, Warning)
			for _, c := range tc.warns {
				if !gotWarn[c] {
					t.Errorf("missing warning %s; findings %v", c, fs)
				}
			}
			client, _, err := New(cfg)
			if len(tc.errors) == 0 {
				if err != nil || client == nil {
					t.Fatalf("New refused a valid configuration: %v", err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || client != nil {
				t.Fatalf("New = %v, %v; want *CheckError", client, err)
			}
			if ce.Findings[0].Field != tc.field {
				t.Errorf("first error field %q, want %q", ce.Findings[0].Field, tc.field)
			}
			for _, f := range ce.Findings {
				if f.Fix == "" || !strings.Contains(err.Error(), f.Field) {
					t.Errorf("error finding without fix or field in message: %+v / %v", f, err)
				}
				if !ce.Has(f.Code) {
					t.Errorf("Has(%s) = false", f.Code)
				}
			}
		})
	}
}

func TestPKCS12LoadsChain(t *testing.T) {
	ca := newCA(t, "Test CA")
	c, k := issue(t, ca, leafOpts{cn: goodCN})
	cfg := Config{PKCS12File: writeP12(t, c, k, []*x509.Certificate{ca.cert}, "pw"), KeyPassword: "pw"}
	got, err := LoadCertificate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Certificate) != 2 || !got.Leaf.Equal(c) {
		t.Fatalf("chain of %d, leaf %v", len(got.Certificate), got.Leaf.Subject)
	}
	if !keyMatches(c.PublicKey, got.PrivateKey) {
		t.Fatal("key from PKCS#12 does not match")
	}
	cfg.KeyPassword = "bad"
	_, err = LoadCertificate(cfg)
	var le *LoadError
	if !errors.As(err, &le) || le.Field != "tls.pkcs12_file" || strings.Contains(err.Error(), "bad") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestEncryptedPEMKeyRefused(t *testing.T) {
	ca := newCA(t, "Test CA")
	c, _ := issue(t, ca, leafOpts{cn: goodCN})
	dir := t.TempDir()
	cf := writePEM(t, dir, "c.pem", "CERTIFICATE", c.Raw)
	kf := writePEM(t, dir, "k.pem", "ENCRYPTED PRIVATE KEY", []byte{1, 2, 3})
	_, err := LoadCertificate(Config{CertFile: cf, KeyFile: kf})
	var le *LoadError
	if !errors.As(err, &le) || le.Field != "tls.key_file" || !strings.Contains(err.Error(), "PKCS#12") {
		t.Fatalf("got %v", err)
	}
}
