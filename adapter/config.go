package adapter

import (
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/endpoint"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
)

// Config is everything a Client needs. It is plain data with JSON tags so that the CLI can
// read it from a file, overlay FSEPUGLIA_* environment variables and flags, and so that the
// simulator can write a ready-to-use one. Secrets (key passwords) are never serialised.
type Config struct {
	// Environment is "test", "prod" or "local" (the simulator).
	Environment string `json:"environment"`
	// ASL is the canonical ASL name (aslba aslbt aslbr aslle aslfg aslta; aslba_test in test).
	ASL string `json:"asl"`
	// AllowProduction is the second lock for Environment "prod": both must be set before
	// anything is sent to a production host.
	AllowProduction bool `json:"allow_production,omitempty"`
	// BaseURL overrides the environment's base URL (scheme://host:port), e.g. when the region
	// moves a host or for the simulator.
	BaseURL string `json:"base_url,omitempty"`
	// BaseURLs overrides the base URL per environment ("test", "prod", "local"), so that one
	// file can hold every environment's host; BaseURL wins over it.
	BaseURLs map[string]string `json:"base_urls,omitempty"`
	// ServiceURLs overrides the full URL of a service, keyed by service name
	// (IDocumentService, IGestoreConsensoService, ITaccuinoService).
	ServiceURLs map[string]string `json:"service_urls,omitempty"`

	// TLS holds the client certificate and the extra CA bundle for mutual TLS.
	TLS TLSConfig `json:"tls"`
	// Signer holds the key and certificate that sign WS-Security and SAML; empty means the
	// TLS client certificate and key.
	Signer SignerConfig `json:"signer,omitempty"`
	// Security tunes message security (algorithms, Timestamp lifetime).
	Security SecurityConfig `json:"security,omitempty"`
	// Signatures says which unsigned documents publication refuses before sending.
	Signatures SignaturePolicy `json:"signatures,omitempty"`

	// Operator is the person on whose behalf calls are made (SAML subject).
	Operator Operator `json:"operator"`
	// Structure is the health structure that calls (SAML locality, author institution).
	Structure Structure `json:"structure"`
	// Application identifies the calling software (SAML SubjectApplication*).
	Application Application `json:"application,omitempty"`

	// Timeout bounds each call when the caller's context has no deadline; 0 means 60s.
	Timeout Duration `json:"timeout,omitempty"`
	// Retries is the maximum number of extra attempts for transient failures of read
	// operations; 0 means the default (2), -1 disables retries.
	Retries int `json:"retries,omitempty"`
	// MaxConnsPerHost bounds concurrent connections to one host; 0 means 8.
	MaxConnsPerHost int `json:"max_conns_per_host,omitempty"`

	// TraceDir, when set, keeps each request and response envelope, one file per message,
	// for support tickets. Redacted unless TraceRaw is true.
	TraceDir string `json:"trace_dir,omitempty"`
	// TraceRaw keeps traces unredacted (health data: only when a support ticket needs it).
	TraceRaw bool `json:"trace_raw,omitempty"`

	// Gateway configures the FSE 2.0 regional middleware (the national gateway's REST API):
	// its URL, the JWTs' audience and certificate, the scenario and the supported types.
	Gateway gateway.Config `json:"gateway,omitzero"`
}

// TLSConfig names the files of the client certificate (a PEM pair or a PKCS#12 file) and the
// extra CA bundle that the regional test host needs (its CA is private).
type TLSConfig struct {
	// CertFile and KeyFile are a PEM certificate (chain) and its private key.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// PKCS12File is a .p12/.pfx alternative to CertFile+KeyFile.
	PKCS12File string `json:"pkcs12_file,omitempty"`
	// KeyPassword decrypts PKCS12File; never written to a file, never taken from a flag.
	KeyPassword string `json:"-"`
	// CAFile is a PEM bundle added to the system roots to verify the server.
	CAFile string `json:"ca_file,omitempty"`
}

// SignerConfig names the key and certificate that sign messages. A smart card can replace it
// through Options.Signer (any crypto.Signer).
type SignerConfig struct {
	CertFile   string `json:"cert_file,omitempty"`
	KeyFile    string `json:"key_file,omitempty"`
	PKCS12File string `json:"pkcs12_file,omitempty"`
	// KeyPassword decrypts PKCS12File; never serialised.
	KeyPassword string `json:"-"`
}

// SecurityConfig tunes WS-Security.
type SecurityConfig struct {
	// Profile is the layout of message security: "puglia" (default: what public traffic of
	// the real service shows, one assertion in the Header, one SHA-1 signature) or
	// "national" (two signed assertions in wsse:Security, the national INI vocabulary), for
	// whoever the region tells otherwise (wsdl/PROVENANCE.md, adapter/wssec).
	Profile string `json:"profile,omitempty"`
	// Algorithm is "rsa-sha1" or "rsa-sha256"; empty means the profile's (rsa-sha1 for
	// puglia, as the PDD's policy says; rsa-sha256 for national).
	Algorithm string `json:"algorithm,omitempty"`
	// TimestampTTL is the lifetime of wsu:Timestamp; 0 means 5 minutes.
	TimestampTTL Duration `json:"timestamp_ttl,omitempty"`
	// SignBody also signs the SOAP Body (costs a parse of the whole envelope).
	SignBody bool `json:"sign_body,omitempty"`
	// Disabled sends no WS-Security at all: only for a simulator in relaxed mode.
	Disabled bool `json:"disabled,omitempty"`
}

// Operator is the person on whose behalf a call is made.
type Operator struct {
	// CF is the operator's codice fiscale (must match the signing certificate's CF).
	CF string `json:"cf"`
	// Role is the national subject role (AAS, APR, PSS, INF, FAR, DRS, ASS, TUT, ING, OGC, OPI …).
	Role string `json:"role"`
}

// Structure is the health structure that calls.
type Structure struct {
	// Code is the structure's code (e.g. its HSP/STS code).
	Code string `json:"code"`
	// Name is the structure's name.
	Name string `json:"name"`
	// RepositoryID is the repository uniqueId (2.16.840.1.113883.2.9.2.160.4.5.…).
	RepositoryID string `json:"repository_id,omitempty"`
	// FacilityType is the healthcareFacilityTypeCode (Ospedale, Prevenzione, Territorio …).
	FacilityType string `json:"facility_type,omitempty"`
	// PracticeSetting is the practiceSettingCode (AD_PSC001 … AD_PSC999).
	PracticeSetting string `json:"practice_setting,omitempty"`
}

// Application identifies the calling software.
type Application struct {
	ID      string `json:"id,omitempty"`
	Vendor  string `json:"vendor,omitempty"`
	Version string `json:"version,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("30s") in JSON.
type Duration time.Duration

// ResolveEndpoints resolves the URLs of the three services for c, with warnings for accepted
// aliases. It loads no credential and makes no network call (not even DNS); New calls it
// first. Errors are *ConfigError.
func (c Config) ResolveEndpoints() (map[endpoint.Service]endpoint.Endpoint, []endpoint.Warning, error) {
	eps, warns, err := endpoint.ResolveAll(c.Endpoints())
	if err != nil {
		return nil, nil, asConfigError(err, "")
	}
	return eps, warns, nil
}

// Endpoints returns what endpoint resolution needs from c.
func (c Config) Endpoints() endpoint.Config {
	return endpoint.Config{Environment: c.Environment, ASL: c.ASL, BaseURL: c.BaseURL, BaseURLs: c.BaseURLs, ServiceURLs: c.ServiceURLs}
}

// SignaturePolicy is what publication refuses before anything is sent, as the region
// refuses it: the legacy IDocumentService wants the CDA signed (an enveloped XAdES
// signature, FSE-10001 otherwise), the national gateway a PAdES signature that verifies at
// publication (/msg/sign-error).
type SignaturePolicy struct {
	// CDA is "require" (refuse a CDA without a valid XML signature) or "allow". Empty means
	// require, except against the simulator (environment local), whose FSE-10001 rule is
	// off unless it is started with it.
	CDA string `json:"cda,omitempty"`
	// PDF is "require" (gateway publication refuses a PDF without a valid PAdES signature
	// covering the whole file) or "allow". Empty means require.
	PDF string `json:"pdf,omitempty"`
}

// RequireCDA reports whether legacy publication in environment env refuses an unsigned CDA.
func (p SignaturePolicy) RequireCDA(env string) bool {
	switch p.CDA {
	case "require":
		return true
	case "allow":
		return false
	}
	return env != "local"
}

// RequirePDF reports whether gateway publication refuses a PDF without a valid PAdES.
func (p SignaturePolicy) RequirePDF() bool { return p.PDF != "allow" }
