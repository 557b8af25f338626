// Package endpoint resolves the URL of an FSE service for an environment and an ASL.
//
// The three environments are "test" (one tenant, aslba_test, on the regional pre-production
// gateway), "prod" (one tenant per ASL) and "local" (the project's simulator, whose base URL
// must be given). Overrides replace the environment's base URL or a whole service URL.
//
// Decision for the test environment: the region's test gateway serves only the aslba_test
// tenant. "aslba_test" and an empty ASL resolve to it silently; "aslba" (or its alias) also
// resolves to it, with a warning saying so; any other ASL is an error in test.
package endpoint

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
)

// Environment is where calls go.
type Environment string

// The environments.
const (
	// Test is the region's pre-production gateway (tenant aslba_test).
	Test Environment = "test"
	// Prod is the production gateway, one tenant per ASL.
	Prod Environment = "prod"
	// Local is the simulator: no default base URL.
	Local Environment = "local"
)

// Environments lists the valid environments.
func Environments() []Environment { return []Environment{Test, Prod, Local} }

// Service is one of the three legacy SOAP services.
type Service string

// The services, named as in the URL path.
const (
	// DocumentService publishes, replaces, deletes, searches and retrieves documents.
	DocumentService Service = "IDocumentService"
	// ConsentService manages consents.
	ConsentService Service = "IGestoreConsensoService"
	// TaccuinoService reads the patient's notebook.
	TaccuinoService Service = "ITaccuinoService"
)

// Services lists the three services.
func Services() []Service { return []Service{DocumentService, ConsentService, TaccuinoService} }

// Default base URLs.
const (
	// TestBase is the scheme, host and port of the test gateway.
	TestBase = "https://pddasl-preprod.sanita.regione.rsr.rupar.puglia.it:8181"
	// ProdBase is the scheme, host and port of the production gateway.
	ProdBase = "https://pdd-virtasl.rmmg.rsr.rupar.puglia.it:8181"
	// TestTenant is the only tenant of the test gateway.
	TestTenant = "aslba_test"
)

// Config is what Resolve needs; its fields mirror adapter.Config.
type Config struct {
	// Environment is "test", "prod" or "local".
	Environment string
	// ASL is a canonical ASL name, an accepted alias, or "aslba_test" (test and local).
	ASL string
	// BaseURL overrides the environment's scheme://host[:port]; required for local.
	BaseURL string
	// BaseURLs overrides the base URL per environment ("test", "prod", "local"), so that one
	// configuration can carry every environment's host; BaseURL wins over it.
	BaseURLs map[string]string
	// ServiceURLs overrides whole service URLs, keyed by Service name.
	ServiceURLs map[string]string
}

// Endpoint is a resolved service URL.
type Endpoint struct {
	Environment Environment
	// Tenant is the path segment: a canonical ASL name or "aslba_test".
	Tenant string
	// ASL is the canonical ASL the tenant belongs to (aslba for aslba_test).
	ASL     string
	Service Service
	URL     string
	// Overridden is true when URL came from Config.ServiceURLs.
	Overridden bool
}

// Warning is something accepted but worth telling the user; it is returned, never logged.
type Warning struct {
	// Field is the configuration field concerned (JSON name, e.g. "asl").
	Field   string
	Message string
}

// String renders the warning as "field: message".
func (w Warning) String() string { return w.Field + ": " + w.Message }

// UnknownASLError is an ASL name that is not valid in the environment.
type UnknownASLError struct {
	Input       string
	Environment Environment
	// Valid lists the names accepted in Environment.
	Valid []string
}

// Error implements error.
func (e *UnknownASLError) Error() string {
	return fmt.Sprintf("asl: %q is not valid in environment %q; use one of: %s",
		e.Input, e.Environment, strings.Join(e.Valid, ", "))
}

// FieldError is an invalid environment, service or override, naming the field. adapter.New
// and adapter.Config.ResolveEndpoints turn it into an *adapter.ConfigError.
type FieldError struct {
	// Field is the JSON name of the configuration field (environment, base_url, service_urls.X).
	Field string
	Value string
	Msg   string
	Fix   string
}

// Error implements error.
func (e *FieldError) Error() string {
	s := fmt.Sprintf("%s: %s", e.Field, e.Msg)
	if e.Value != "" {
		s += fmt.Sprintf(" (found %q)", e.Value)
	}
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// productionDomains are the DNS names of the production network: the production gateway
// (ProdBase) and everything under its domain. A URL on one of them is a production URL
// whatever environment names it.
var productionDomains = []string{"pdd-virtasl.rmmg.rsr.rupar.puglia.it", "rmmg.rsr.rupar.puglia.it"}

// IsProductionHost reports whether host (a name or host:port, any case, trailing dot allowed)
// is a production host: the production gateway or a name in its domain. It looks at the name
// only, before any DNS lookup; an IP address is never recognised, so pointing a non-prod
// configuration at a production IP is not caught here (the production certificate chain
// would not verify against a test CA either).
func IsProductionHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	for _, d := range productionDomains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// ParseEnvironment validates an environment name.
func ParseEnvironment(s string) (Environment, error) {
	e := Environment(strings.ToLower(strings.TrimSpace(s)))
	for _, v := range Environments() {
		if e == v {
			return e, nil
		}
	}
	return "", &FieldError{Field: "environment", Value: s, Msg: "unknown environment",
		Fix: "set it to test, prod or local"}
}

// ParseService validates a service name.
func ParseService(s string) (Service, error) {
	for _, v := range Services() {
		if Service(s) == v {
			return v, nil
		}
	}
	names := make([]string, 0, 3)
	for _, v := range Services() {
		names = append(names, string(v))
	}
	return "", &FieldError{Field: "service", Value: s, Msg: "unknown service",
		Fix: "use one of " + strings.Join(names, ", ")}
}

// ResolveTenant validates cfg.Environment and cfg.ASL and returns the environment, the
// tenant (URL path segment), the canonical ASL, and warnings for aliases or test mappings.
func ResolveTenant(envName, asl string) (Environment, string, string, []Warning, error) {
	env, err := ParseEnvironment(envName)
	if err != nil {
		return "", "", "", nil, err
	}
	in := strings.ToLower(strings.TrimSpace(asl))
	var warns []Warning
	if in == TestTenant {
		if env == Prod {
			return "", "", "", nil, &UnknownASLError{Input: asl, Environment: env, Valid: validNames(env)}
		}
		return env, TestTenant, "aslba", nil, nil
	}
	if in == "" && env == Test {
		return env, TestTenant, "aslba", nil, nil
	}
	a, alias, ok := lookup(in)
	if !ok {
		return "", "", "", nil, &UnknownASLError{Input: asl, Environment: env, Valid: validNames(env)}
	}
	if alias {
		warns = append(warns, Warning{Field: "asl", Message: fmt.Sprintf(
			"%q is a variant found in the regional specification; the canonical name is %q: please use it", in, a.Name)})
	}
	if env == Test {
		if a.Name != "aslba" {
			return "", "", "", nil, &UnknownASLError{Input: asl, Environment: env, Valid: validNames(env)}
		}
		warns = append(warns, Warning{Field: "asl", Message: fmt.Sprintf(
			"the test environment has only the tenant %q: %q maps to it", TestTenant, in)})
		return env, TestTenant, a.Name, warns, nil
	}
	return env, a.Name, a.Name, warns, nil
}

// Resolve returns the endpoint of svc for cfg, with warnings for accepted aliases. Errors
// are *UnknownASLError or *FieldError.
func Resolve(cfg Config, svc Service) (Endpoint, []Warning, error) {
	if _, err := ParseService(string(svc)); err != nil {
		return Endpoint{}, nil, err
	}
	env, tenant, canonical, warns, err := ResolveTenant(cfg.Environment, cfg.ASL)
	if err != nil {
		return Endpoint{}, nil, err
	}
	if err := checkServiceKeys(cfg.ServiceURLs); err != nil {
		return Endpoint{}, nil, err
	}
	ep := Endpoint{Environment: env, Tenant: tenant, ASL: canonical, Service: svc}
	if full, ok := cfg.ServiceURLs[string(svc)]; ok && full != "" {
		u, err := checkURL(env, "service_urls."+string(svc), full, false)
		if err != nil {
			return Endpoint{}, nil, err
		}
		ep.URL, ep.Overridden = u.String(), true
		return ep, warns, nil
	}
	base, field := cfg.BaseURL, "base_url"
	if base == "" && cfg.BaseURLs[string(env)] != "" {
		base, field = cfg.BaseURLs[string(env)], "base_urls."+string(env)
	}
	if base == "" {
		switch env {
		case Test:
			base = TestBase
		case Prod:
			base = ProdBase
		case Local:
			return Endpoint{}, nil, &FieldError{Field: "base_url", Msg: "the local environment has no default base URL",
				Fix: "set base_url to the simulator's address, e.g. https://127.0.0.1:8443"}
		}
	}
	u, err := checkURL(env, field, base, true)
	if err != nil {
		return Endpoint{}, nil, err
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/" + tenant + "/" + string(svc)
	ep.URL = u.String()
	return ep, warns, nil
}

// ResolveAll resolves the three services; warnings are reported once.
func ResolveAll(cfg Config) (map[Service]Endpoint, []Warning, error) {
	out := make(map[Service]Endpoint, 3)
	var warns []Warning
	for i, s := range Services() {
		ep, w, err := Resolve(cfg, s)
		if err != nil {
			return nil, nil, err
		}
		if i == 0 {
			warns = w
		}
		out[s] = ep
	}
	return out, warns, nil
}

func checkServiceKeys(m map[string]string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := ParseService(k); err != nil {
			ce := err.(*FieldError)
			ce.Field = "service_urls"
			return ce
		}
	}
	return nil
}

// checkURL parses an override. https is required except in local (the simulator, wherever
// it runs), where http is allowed. A URL may carry a path but no credentials, query or fragment.
func checkURL(env Environment, field, raw string, base bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, &FieldError{Field: field, Value: raw, Msg: "not a URL: " + err.Error(), Fix: "write it as https://host:port"}
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, &FieldError{Field: field, Value: raw, Msg: "not an absolute http(s) URL", Fix: "write it as https://host:port"}
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, &FieldError{Field: field, Value: raw, Msg: "credentials, query or fragment are not allowed", Fix: "keep only scheme, host, port and path"}
	}
	if env != Prod && IsProductionHost(u.Hostname()) {
		return nil, &FieldError{Field: field, Value: raw, Msg: fmt.Sprintf("%s is a production host but the environment is %q", u.Hostname(), env),
			Fix: `production hosts need "environment": "prod" and "allow_production": true; for tests use the test host or the simulator`}
	}
	if u.Scheme == "http" && env != Local {
		return nil, &FieldError{Field: field, Value: raw, Msg: "plain http is allowed only in the local environment",
			Fix: "use https (mutual TLS is required by the region)"}
	}
	if base && u.Path == "/" {
		u.Path = ""
	}
	return u, nil
}

func validNames(env Environment) []string {
	switch env {
	case Test:
		return []string{TestTenant, "aslba"}
	case Local:
		return append(ASLNames(), TestTenant)
	default:
		return ASLNames()
	}
}
