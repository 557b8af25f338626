package adapter

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/endpoint"
	"github.com/fsepuglia/fsepuglia/adapter/retry"
	"github.com/fsepuglia/fsepuglia/adapter/trace"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
)

// Client talks to one environment and ASL. It is safe for concurrent use and meant to be
// reused: it owns one *http.Client whose connections are kept alive between calls.
type Client struct {
	cfg     Config
	log     Logger
	now     func() time.Time
	http    *http.Client
	signer  crypto.Signer
	cert    *x509.Certificate
	alg     wssec.Algorithm
	profile wssec.Profile
	nameID  string // the Puglia assertion's NameID: the structure's (TLS) certificate CN
	issuer  string // the Puglia assertion's Issuer: the application's product code
	// assertions reuses a Puglia assertion for the same attributes within its validity.
	assertions wssec.AssertionCache
	// presign prepares the next Puglia signature while a call waits for the network.
	presign   wssec.Presigner
	trace     *trace.Dir
	endpoints map[endpoint.Service]endpoint.Endpoint
	timeout   time.Duration
	retry     retry.Policy
	warnings  []string

	// Documents publishes, replaces, deletes, searches and retrieves documents.
	Documents *DocumentService
	// Consents reads and records consents and fetches the privacy notice.
	Consents *ConsentService
	// Taccuino reads the patient's notebook.
	Taccuino *TaccuinoService
}

// Option customises a Client beyond what Config holds.
type Option func(*Client)

// WithLogger sends the client's structured logs to l.
func WithLogger(l Logger) Option { return func(c *Client) { c.log = l } }

// WithClock freezes or shifts the clock used for Timestamps and assertions (tests).
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithSigner signs messages with any crypto.Signer (a smart card, an HSM) and its certificate
// instead of Config.Signer's files.
func WithSigner(s crypto.Signer, cert *x509.Certificate) Option {
	return func(c *Client) { c.signer, c.cert = s, cert }
}

// WithHTTPClient replaces the transport built from Config.TLS (tests, proxies). The client
// must do its own TLS verification: it is refused in prod.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// DocumentService is the IDocumentService of the client's ASL.
type DocumentService struct{ c *Client }

// ConsentService is the IGestoreConsensoService of the client's ASL.
type ConsentService struct{ c *Client }

// TaccuinoService is the ITaccuinoService of the client's ASL.
type TaccuinoService struct{ c *Client }

// New validates cfg and builds a Client. Every configuration mistake (unknown environment or
// ASL, production without the opt-in, a missing, unreadable or mismatched certificate or key,
// a self-signed certificate or disabled security in production) fails here, before anything
// is sent, as a *ConfigError naming the field.
func New(cfg Config, opts ...Option) (*Client, error) {
	c := &Client{cfg: cfg, log: nopLogger{}, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	env := strings.ToLower(strings.TrimSpace(cfg.Environment))
	if cfg.Timeout < 0 {
		return nil, &ConfigError{Field: "timeout", Msg: fmt.Sprintf("negative (%s)", time.Duration(cfg.Timeout)), Fix: "give a positive duration such as 60s (0 means the default, 60s)"}
	}
	if cfg.Security.TimestampTTL < 0 {
		return nil, &ConfigError{Field: "security.timestamp_ttl", Msg: fmt.Sprintf("negative (%s)", time.Duration(cfg.Security.TimestampTTL)), Fix: "give a positive duration such as 5m (0 means the default)"}
	}
	if env == "prod" && !cfg.AllowProduction {
		return nil, &ConfigError{Field: "allow_production", Msg: "environment prod needs the explicit production opt-in",
			Fix: "set allow_production: true in the configuration (or FSEPUGLIA_ALLOW_PRODUCTION=1) once you mean to reach the production hosts"}
	}
	eps, warns, err := cfg.ResolveEndpoints()
	if err != nil {
		return nil, err
	}
	c.endpoints = eps
	for _, w := range warns {
		c.warnings = append(c.warnings, w.String())
		c.log.Warn(w.String(), map[string]any{"field": w.Field})
	}

	tcfg := transport.Config{Environment: env, AllowProduction: cfg.AllowProduction,
		CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, PKCS12File: cfg.TLS.PKCS12File,
		KeyPassword: cfg.TLS.KeyPassword, CAFile: cfg.TLS.CAFile, MaxConnsPerHost: cfg.MaxConnsPerHost, Now: c.now}
	if c.http == nil {
		hc, fs, err := transport.New(tcfg)
		if err != nil {
			return nil, asConfigError(err, "")
		}
		for _, f := range fs {
			if f.Severity == transport.Warning {
				c.warnings = append(c.warnings, f.String())
				c.log.Warn(f.Message, map[string]any{"field": f.Field})
			}
		}
		// The services never redirect: following one could lead a test configuration to
		// a production host (or anywhere) without the checks above.
		hc.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("redirect to %s refused: the FSE services do not redirect", req.URL.Redacted())
		}
		c.http = hc
	} else if env == "prod" {
		return nil, &ConfigError{Field: "http client", Msg: "a custom HTTP client is refused in prod",
			Fix: "let the adapter build its transport from the tls configuration"}
	}

	if !cfg.Security.Disabled {
		if c.signer == nil {
			sc := transport.Config{CertFile: cfg.Signer.CertFile, KeyFile: cfg.Signer.KeyFile,
				PKCS12File: cfg.Signer.PKCS12File, KeyPassword: cfg.Signer.KeyPassword}
			field := "signer"
			if sc.CertFile == "" && sc.PKCS12File == "" {
				sc.CertFile, sc.KeyFile, sc.PKCS12File, sc.KeyPassword = cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.PKCS12File, cfg.TLS.KeyPassword
				field = "tls"
			}
			if sc.CertFile == "" && sc.PKCS12File == "" {
				return nil, &ConfigError{Field: "signer.cert_file", Msg: "no signing certificate",
					Fix: "set signer.cert_file and signer.key_file (or signer.pkcs12_file), or tls.cert_file for both"}
			}
			tc, err := transport.LoadCertificate(sc)
			if err != nil {
				return nil, asConfigError(err, field)
			}
			keyField := field + ".key_file"
			if sc.PKCS12File != "" {
				keyField = field + ".pkcs12_file"
			}
			key, ok := tc.PrivateKey.(crypto.Signer)
			if !ok || tc.Leaf == nil {
				return nil, &ConfigError{Field: keyField, Msg: "the key cannot sign", Fix: "use an RSA private key"}
			}
			if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(tc.Leaf.PublicKey) {
				return nil, &ConfigError{Field: keyField, Msg: "the private key does not match the signing certificate",
					Fix: "use the key generated together with this certificate"}
			}
			c.signer, c.cert = key, tc.Leaf
		}
		if env == "prod" && transport.IsSelfSigned(c.cert) {
			return nil, &ConfigError{Field: "signer.cert_file", Msg: "self-signed signing certificates are refused in prod",
				Fix: "use the operator's CNS certificate or one issued by an AgID-recognised CA"}
		}
		if c.profile, err = wssec.ParseProfile(cfg.Security.Profile); err != nil {
			return nil, &ConfigError{Field: "security.profile", Msg: fmt.Sprintf("unknown profile %q", cfg.Security.Profile),
				Fix: "use puglia (default, the observed layout) or national"}
		}
		switch strings.ToLower(cfg.Security.Algorithm) {
		case "":
			c.alg = wssec.AlgorithmDefault
		case "rsa-sha256":
			c.alg = wssec.RSASHA256
		case "rsa-sha1":
			c.alg = wssec.RSASHA1
		default:
			return nil, &ConfigError{Field: "security.algorithm", Msg: fmt.Sprintf("unknown algorithm %q", cfg.Security.Algorithm), Fix: "use rsa-sha1 or rsa-sha256 (empty: the profile's)"}
		}
		// The Puglia assertion's NameID is the structure's certificate CN ("<partita
		// IVA>.<domain>", #2501): the TLS client certificate, else the signer's.
		c.nameID = c.cert.Subject.CommonName
		if cfg.TLS.CertFile != "" || cfg.TLS.PKCS12File != "" {
			if tc, err := transport.LoadCertificate(transport.Config{CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
				PKCS12File: cfg.TLS.PKCS12File, KeyPassword: cfg.TLS.KeyPassword}); err == nil && tc.Leaf != nil {
				c.nameID = tc.Leaf.Subject.CommonName
			}
		}
		// Its Issuer is the application's product code (NIGR in #2511).
		c.issuer = strings.TrimSpace(cfg.Application.ID)
		if c.issuer == "" {
			c.issuer = "FSEPUGLIA"
		}
	} else if env == "prod" {
		return nil, &ConfigError{Field: "security.disabled", Msg: "WS-Security cannot be disabled in prod", Fix: "remove security.disabled"}
	}
	if cfg.Operator.Role != "" && !saml.KnownRole(cfg.Operator.Role) {
		return nil, &ConfigError{Field: "operator.role", Msg: fmt.Sprintf("%q is not a subject role", cfg.Operator.Role),
			Fix: "use one of " + strings.Join(saml.SubjectRoles, ", ") + " (or the regional code the region gave you, e.g. RIS000044)"}
	}
	if cfg.Operator.CF != "" {
		if _, err := checkCF("operator.cf", cfg.Operator.CF); err != nil {
			return nil, err
		}
	}

	c.trace = traceDir(cfg)
	c.timeout = time.Duration(cfg.Timeout)
	if c.timeout <= 0 {
		c.timeout = 60 * time.Second
	}
	c.retry = retry.FromRetries(cfg.Retries)
	c.retry.MinWait, c.retry.MaxWait = 200*time.Millisecond, 2*time.Second
	c.Documents = &DocumentService{c}
	c.Consents = &ConsentService{c}
	c.Taccuino = &TaccuinoService{c}
	return c, nil
}

// Warnings are what New accepted but the user should hear about (an ASL alias, a self-signed
// certificate in test). The CLI prints them.
func (c *Client) Warnings() []string { return c.warnings }

// Endpoint returns the resolved URL of a service (IDocumentService …).
func (c *Client) Endpoint(service string) string { return c.endpoints[endpoint.Service(service)].URL }

// SignatureStats counts the client's message signatures (profile puglia): signed on the
// call's path, prepared ahead while an earlier call waited for the network, used, and
// discarded unused (stale, or left at Close). Each RSA operation is in exactly one of Inline
// and Prepared; each message sent carried one of Inline or Used.
func (c *Client) SignatureStats() wssec.PresignStats { return c.presign.Stats() }

// Close stops preparing signatures ahead (waiting for the one or two in flight) and
// releases idle connections. The Client still works afterwards, signing each message inline.
func (c *Client) Close() {
	c.presign.Close()
	c.http.CloseIdleConnections()
}
