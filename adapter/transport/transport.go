// Package transport builds the one *http.Client that every call to the FSE services shares:
// kept-alive connections, TLS 1.2 or later, the structure's client certificate for mutual
// TLS, the system roots plus an extra CA bundle (the test host's CA is private), and the
// checks that stop a wrong certificate or an unintended production call before anything is
// sent. Per-call deadlines come from the request's context: the client has no global timeout.
package transport

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Config is what New needs; its fields mirror adapter.Config and adapter.TLSConfig.
type Config struct {
	// Environment is "test", "prod" or "local".
	Environment string
	// AllowProduction is the second lock: Environment "prod" is refused unless it is true.
	AllowProduction bool

	// CertFile and KeyFile are a PEM client certificate (chain) and its key; KeyFile may be
	// empty when CertFile holds both.
	CertFile, KeyFile string
	// PKCS12File is a .p12/.pfx alternative to CertFile+KeyFile.
	PKCS12File string
	// KeyPassword decrypts PKCS12File. The caller obtains it (prompt, environment, file):
	// never from a command-line flag.
	KeyPassword string
	// CAFile is a PEM bundle appended to the system roots to verify the server.
	CAFile string
	// InsecureSkipVerify disables server verification: refused in prod, a warning elsewhere.
	InsecureSkipVerify bool

	// MaxConnsPerHost bounds connections to one host and sizes the idle pool; 0 means 8.
	// Set it to the CLI's concurrency so every worker keeps its connection alive.
	MaxConnsPerHost int
	// DialTimeout bounds the TCP connect; 0 means 15s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake; 0 means 15s.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers once the request (however
	// large) has been written; 0 means 120s, negative means none.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes idle connections; 0 means 90s.
	IdleConnTimeout time.Duration

	// Now is the clock for certificate validity; nil means time.Now.
	Now func() time.Time
}

// Material is what Check loaded: the client certificate (nil when none) and the roots.
type Material struct {
	Certificate *tls.Certificate
	RootCAs     *x509.CertPool
}

// Check runs every configuration and certificate check without building anything, for
// `fsepuglia doctor` and for New. It never fails: problems are findings.
func Check(cfg Config) (*Material, []Finding) {
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	var fs []Finding
	m := &Material{}
	env := strings.ToLower(strings.TrimSpace(cfg.Environment))
	switch env {
	case "prod":
		if !cfg.AllowProduction {
			fs = append(fs, Finding{Severity: Error, Code: CodeProdOptIn, Field: "allow_production",
				Message: "environment is prod but allow_production is not set: production needs both locks",
				Fix:     "set \"allow_production\": true in the configuration, in addition to \"environment\": \"prod\""})
		}
		if cfg.InsecureSkipVerify {
			fs = append(fs, Finding{Severity: Error, Code: CodeInsecure, Field: "insecure_skip_verify",
				Message: "server certificate verification cannot be disabled in prod",
				Fix:     "remove insecure_skip_verify; add the server's CA with tls.ca_file if it is private"})
		}
	case "test", "local":
		if cfg.InsecureSkipVerify {
			fs = append(fs, Finding{Severity: Warning, Code: CodeInsecure, Field: "insecure_skip_verify",
				Message: "server certificate verification is disabled: anyone on the path can read the traffic",
				Fix:     "remove insecure_skip_verify and set tls.ca_file to the server's CA bundle"})
		}
	default:
		fs = append(fs, Finding{Severity: Error, Code: CodeEnvironment, Field: "environment",
			Message: fmt.Sprintf("unknown environment %q", cfg.Environment), Fix: "set environment to test, prod or local"})
	}

	// Client certificate.
	hasPEM, hasP12 := cfg.CertFile != "" || cfg.KeyFile != "", cfg.PKCS12File != ""
	switch {
	case hasPEM && hasP12:
		fs = append(fs, Finding{Severity: Error, Code: CodeCertAmbiguous, Field: "tls.pkcs12_file",
			Message: "both a PEM pair and a PKCS#12 file are configured", Fix: "keep only one of tls.cert_file+tls.key_file and tls.pkcs12_file"})
	case !hasPEM && !hasP12:
		sev, fix := Error, "set tls.cert_file and tls.key_file, or tls.pkcs12_file, to the structure's certificate"
		if env == "local" {
			sev, fix = Info, ""
		}
		fs = append(fs, Finding{Severity: sev, Code: CodeCertMissing, Field: "tls.cert_file",
			Message: "no client certificate configured: mutual TLS is required by the regional gateways", Fix: fix})
	default:
		c, err := LoadCertificate(cfg)
		if err != nil {
			var le *LoadError
			field := "tls.cert_file"
			if errors.As(err, &le) {
				field = le.Field
			}
			fs = append(fs, Finding{Severity: Error, Code: CodeCertLoad, Field: field, Message: err.Error(),
				Fix: "check the path, the file format (PEM or PKCS#12) and the password"})
		} else {
			field := "tls.cert_file"
			if hasP12 {
				field = "tls.pkcs12_file"
			}
			fs = append(fs, CheckCertificate(c, env, field, now())...)
			m.Certificate = &c
		}
	}

	// Roots.
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
		fs = append(fs, Finding{Severity: Warning, Code: CodeSystemRoots, Field: "tls.ca_file",
			Message: "system roots unavailable; only tls.ca_file will be trusted", Fix: "install the system CA bundle (ca-certificates)"})
	}
	if cfg.CAFile != "" {
		n, err := appendPEM(roots, cfg.CAFile)
		switch {
		case err != nil:
			fs = append(fs, Finding{Severity: Error, Code: CodeCAFile, Field: "tls.ca_file", Message: err.Error(),
				Fix: "point tls.ca_file to a readable PEM bundle"})
		case n == 0:
			fs = append(fs, Finding{Severity: Error, Code: CodeCAFile, Field: "tls.ca_file",
				Message: "no PEM certificate found in " + cfg.CAFile, Fix: "point tls.ca_file to a PEM bundle (-----BEGIN CERTIFICATE-----)"})
		}
	} else if env == "test" {
		fs = append(fs, Finding{Severity: Warning, Code: CodeCAFile, Field: "tls.ca_file",
			Message: "the test gateway's certificate is issued by a private CA (CN=CA_PREPROD), not in the system roots",
			Fix:     "set tls.ca_file to the CA bundle the region provides"})
	}
	m.RootCAs = roots
	return m, fs
}

func appendPEM(pool *x509.CertPool, path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return n, fmt.Errorf("%s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	return n, nil
}

// New runs Check and, when no finding is an Error, builds the shared client. It returns the
// findings (warnings and infos) either way; the error is a *CheckError listing the errors.
// The client is safe for concurrent use and meant to be shared by every call.
func New(cfg Config) (*http.Client, []Finding, error) {
	m, fs := Check(cfg)
	if errs := hasErrors(fs); len(errs) > 0 {
		return nil, fs, &CheckError{Findings: errs}
	}
	tlsCfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    m.RootCAs,
		// Some legacy gateways ask for the client certificate through a renegotiation.
		Renegotiation:      tls.RenegotiateOnceAsClient,
		InsecureSkipVerify: cfg.InsecureSkipVerify && strings.ToLower(strings.TrimSpace(cfg.Environment)) != "prod",
	}
	if m.Certificate != nil {
		tlsCfg.Certificates = []tls.Certificate{*m.Certificate}
	}
	conns := cfg.MaxConnsPerHost
	if conns <= 0 {
		conns = 8
	}
	dialer := &net.Dialer{Timeout: orDefault(cfg.DialTimeout, 15*time.Second), KeepAlive: 30 * time.Second}
	rht := orDefault(cfg.ResponseHeaderTimeout, 120*time.Second)
	if rht < 0 {
		rht = 0
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   orDefault(cfg.TLSHandshakeTimeout, 15*time.Second),
		ResponseHeaderTimeout: rht,
		IdleConnTimeout:       orDefault(cfg.IdleConnTimeout, 90*time.Second),
		MaxIdleConns:          conns * 3, // three services on the same host
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		ForceAttemptHTTP2:     false,
		// A non-nil empty map disables HTTP/2: the gateways speak HTTP/1.1.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	return &http.Client{Transport: KeepAlive(tr)}, fs, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// KeepAlive wraps rt so that connections survive gowsdl: gowsdl v0.5.0 marks every request
// "Connection: close" and may close a response body before reading it to the end, both of
// which make net/http open a new connection (and do a new TLS handshake) per call. The
// wrapper clears the close flag on a copy of the request and drains up to 256 KiB of any
// unread body on Close.
func KeepAlive(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return keepAlive{rt}
}

type keepAlive struct{ rt http.RoundTripper }

func (k keepAlive) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Close || strings.EqualFold(req.Header.Get("Connection"), "close") {
		r2 := req.Clone(req.Context())
		r2.Close = false
		r2.Header.Del("Connection")
		req = r2
	}
	resp, err := k.rt.RoundTrip(req)
	if err != nil || resp.Body == nil || resp.Body == http.NoBody {
		return resp, err
	}
	resp.Body = &drainOnClose{ReadCloser: resp.Body}
	return resp, nil
}

// CloseIdleConnections forwards to the wrapped transport.
func (k keepAlive) CloseIdleConnections() {
	if c, ok := k.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

const drainLimit = 256 << 10

type drainOnClose struct{ io.ReadCloser }

func (d *drainOnClose) Close() error {
	_, _ = io.CopyN(io.Discard, d.ReadCloser, drainLimit)
	return d.ReadCloser.Close()
}
