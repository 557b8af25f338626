package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/endpoint"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/urfave/cli/v2"
)

// maxClockSkew is the clock difference above which doctor warns: the region refuses a
// WS-Security Timestamp that is too far from its own clock.
const maxClockSkew = 60 * time.Second

// Checks of doctor that are not transport.Check's (those keep their transport.Code* names).
const (
	checkConfig     = "config"
	checkProduction = "production-lock"
	checkOperator   = "operator-cf"
	checkEndpoint   = "endpoint"
	checkDNS        = "dns"
	checkConnect    = "tls-connect"
	checkClock      = "clock-skew"
	checkSigner     = "signer"
	checkSignerCF   = "signer-cf"
)

// doctorFinding is one line of `doctor` (OUTPUT.md shape: severity, check, field, message, fix).
type doctorFinding struct {
	Severity string `json:"severity"` // info, warning, error
	Check    string `json:"check"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
	// exit is the exit code an error finding stands for (exitInput or exitTransport).
	exit int
}

// doctorOutput is the JSON of `doctor`.
type doctorOutput struct {
	Findings []doctorFinding `json:"findings"`
	Errors   int             `json:"errors"`
	Warnings int             `json:"warnings"`
}

func doctorCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check the setup before the first call: certificates, endpoints, DNS, TLS, clock, production lock",
		Description: "Sends no SOAP message. For each configured host it resolves the name, connects with the\n" +
			"client certificate and compares the server's Date header with the local clock.\n" +
			"Exit 0 without error findings, 3 when the configuration or a certificate is wrong,\n" +
			"6 when only the network checks fail.",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "bound of each network check (DNS, connection with TLS handshake and first response)"},
		},
		Action: func(c *cli.Context) error { return a.doctor(c.Context, c.Duration("timeout")) },
	}
}

func (a *appEnv) doctor(ctx context.Context, timeout time.Duration) error {
	if timeout <= 0 {
		return &adapter.InputError{Field: "--timeout", Value: timeout.String(), Msg: "must be positive", Fix: "use e.g. 5s"}
	}
	fs := a.doctorFindings(ctx, timeout)
	out := doctorOutput{Findings: fs}
	code := exitOK
	for _, f := range fs {
		switch f.Severity {
		case "error":
			out.Errors++
			if code != exitInput {
				code = f.exit // a configuration error outranks a network one: fix it first
			}
		case "warning":
			out.Warnings++
		}
	}
	if err := a.emit(out, func(w io.Writer) {
		fmt.Fprintln(w, "SEVERITY\tCHECK\tFIELD\tMESSAGE\tFIX")
		for _, f := range out.Findings {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Check, f.Field, f.Message, f.Fix)
		}
		fmt.Fprintf(w, "%d error(s), %d warning(s)\n", out.Errors, out.Warnings)
	}); err != nil {
		return err
	}
	if code != exitOK {
		return cli.Exit(fmt.Sprintf("doctor: %d error(s) found, see the FIX column", out.Errors), code)
	}
	return nil
}

func finding(sev transport.Severity, check, field, msg, fix string, exit int) doctorFinding {
	return doctorFinding{Severity: sev.String(), Check: check, Field: field, Message: msg, Fix: fix, exit: exit}
}

// doctorFindings runs every check in order: configuration first, network last (only when
// the configuration lets anything be contacted).
func (a *appEnv) doctorFindings(ctx context.Context, timeout time.Duration) []doctorFinding {
	cfg := a.cfg
	env := strings.ToLower(strings.TrimSpace(cfg.Environment))
	var fs []doctorFinding

	// Where the configuration came from (a first run has none: say where it was looked for).
	switch {
	case a.opts.ConfigFound:
		fs = append(fs, finding(transport.Info, checkConfig, "config",
			fmt.Sprintf("configuration read from %s (%s)", a.opts.ConfigPath, a.opts.ConfigFrom), "", 0))
	case env == "":
		fs = append(fs, finding(transport.Error, checkConfig, "config",
			fmt.Sprintf("no config file at %s (--config and FSEPUGLIA_CONFIG are not set) and no environment from --env or FSEPUGLIA_ENV", a.opts.ConfigPath),
			"to try fsepuglia without the region run `fsepuglia sim` and pass the client config it prints with --config; to configure the regional services see `fsepuglia help config`", exitInput))
	}

	// Production lock.
	locked := env == "prod" && !cfg.AllowProduction
	switch {
	case locked:
		fs = append(fs, finding(transport.Error, checkProduction, "allow_production",
			"environment prod without the explicit opt-in: nothing would be sent (network checks skipped)",
			`set "allow_production": true in the config file or FSEPUGLIA_ALLOW_PRODUCTION=1 once you mean to reach production`, exitInput))
	case env == "prod":
		fs = append(fs, finding(transport.Warning, checkProduction, "allow_production",
			"production is unlocked: calls reach real patients' records", "unset allow_production when you are not working on production", 0))
	default:
		fs = append(fs, finding(transport.Info, checkProduction, "environment",
			fmt.Sprintf("environment %q: production hosts cannot be reached with this configuration", cfg.Environment), "", 0))
	}

	// Certificates and CA bundle.
	tcfg := transport.Config{Environment: env, AllowProduction: cfg.AllowProduction,
		CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, PKCS12File: cfg.TLS.PKCS12File,
		KeyPassword: cfg.TLS.KeyPassword, CAFile: cfg.TLS.CAFile, Now: a.deps.now}
	mat, tfs := transport.Check(tcfg)
	for _, f := range tfs {
		if f.Code == transport.CodeProdOptIn {
			continue // reported above
		}
		fs = append(fs, finding(f.Severity, f.Code, f.Field, f.Message, f.Fix, exitInput))
	}

	// Operator.
	if cfg.Operator.CF == "" {
		fs = append(fs, finding(transport.Error, checkOperator, "operator.cf", "no operator codice fiscale",
			"set operator.cf (or FSEPUGLIA_OPERATOR_CF): the region checks it against the signing certificate", exitInput))
	} else if err := codicefiscale.Validate(codicefiscale.Normalize(cfg.Operator.CF)); err != nil {
		fs = append(fs, finding(transport.Error, checkOperator, "operator.cf", fmt.Sprintf("invalid operator codice fiscale: %v", err),
			"fix operator.cf", exitInput))
	} else {
		fs = append(fs, finding(transport.Info, checkOperator, "operator.cf", "operator codice fiscale well formed", "", 0))
	}

	fs = append(fs, a.checkSigner()...)

	// Endpoints.
	eps, warns, err := endpoint.ResolveAll(cfg.Endpoints())
	if err != nil {
		fs = append(fs, finding(transport.Error, checkEndpoint, "environment", err.Error(),
			"see fsepuglia endpoints --all for the environments and ASLs", exitInput))
		return fs
	}
	for _, w := range warns {
		fs = append(fs, finding(transport.Warning, checkEndpoint, w.Field, w.String(), "use the canonical name", 0))
	}
	svcs := make([]string, 0, len(eps))
	for s := range eps {
		svcs = append(svcs, string(s))
	}
	sort.Strings(svcs)
	hosts := map[string]string{} // scheme://host:port -> first service URL on it
	var order []string
	for _, s := range svcs {
		ep := eps[endpoint.Service(s)]
		fs = append(fs, finding(transport.Info, checkEndpoint, "service_urls."+s, ep.URL, "", 0))
		u, err := url.Parse(ep.URL)
		if err != nil {
			fs = append(fs, finding(transport.Error, checkEndpoint, "service_urls."+s, fmt.Sprintf("unparsable URL: %v", err), "fix the URL", exitInput))
			continue
		}
		key := u.Scheme + "://" + u.Host
		if _, ok := hosts[key]; !ok {
			hosts[key] = ep.URL
			order = append(order, key)
		}
	}
	// The FSE 2.0 middleware: configuration, JWT certificate and claims; its host joins the
	// network checks.
	mfs, mwBase := a.middlewareFindings()
	fs = append(fs, mfs...)
	if h := middlewareHost(mwBase); h != "" {
		if _, ok := hosts[h]; !ok {
			hosts[h] = mwBase + "/status"
			order = append(order, h)
		}
	}
	if locked {
		return fs
	}

	// Network: each host once.
	var tlsCfg *tls.Config
	if mat != nil {
		tlsCfg = &tls.Config{RootCAs: mat.RootCAs, MinVersion: tls.VersionTLS12}
		if mat.Certificate != nil {
			tlsCfg.Certificates = []tls.Certificate{*mat.Certificate}
		}
	}
	for _, h := range order {
		fs = append(fs, a.checkHost(ctx, h, hosts[h], tlsCfg, timeout)...)
	}
	return fs
}

// checkHost resolves the host, then makes one plain GET to a service URL over a fresh
// connection (TLS with the client certificate), and reads the server's Date header.
func (a *appEnv) checkHost(ctx context.Context, base, serviceURL string, tlsCfg *tls.Config, timeout time.Duration) []doctorFinding {
	u, _ := url.Parse(base)
	host := u.Hostname()
	var fs []doctorFinding

	dctx, cancel := context.WithTimeout(ctx, timeout)
	addrs, err := net.DefaultResolver.LookupHost(dctx, host)
	cancel()
	if err != nil {
		return append(fs, finding(transport.Error, checkDNS, "base_url", fmt.Sprintf("%s does not resolve: %v", host, err),
			"check the VPN to RUPAR and the DNS servers, or set base_url to a reachable host", exitTransport))
	}
	fs = append(fs, finding(transport.Info, checkDNS, "base_url", fmt.Sprintf("%s resolves to %s", host, strings.Join(addrs, ", ")), "", 0))

	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: timeout}).DialContext,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: timeout,
		DisableKeepAlives:   true,
		Proxy:               nil,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, serviceURL, nil)
	if err != nil {
		return append(fs, finding(transport.Error, checkConnect, "base_url", err.Error(), "fix the URL", exitInput))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return append(fs, finding(transport.Error, checkConnect, "base_url", fmt.Sprintf("%s: %v", u.Host, connectCause(err)), connectFix(err), exitTransport))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	msg := fmt.Sprintf("%s answered HTTP %d", u.Host, resp.StatusCode)
	if st := resp.TLS; st != nil {
		msg += fmt.Sprintf(" over %s with the client certificate", tls.VersionName(st.Version))
		if len(st.PeerCertificates) > 0 {
			pc := st.PeerCertificates[0]
			msg += fmt.Sprintf("; server certificate %q issued by %q, valid until %s", pc.Subject.CommonName, pc.Issuer.CommonName, pc.NotAfter.Format("2006-01-02"))
		}
	} else {
		msg += " over plain HTTP (no TLS: only the local simulator should be reached this way)"
	}
	fs = append(fs, finding(transport.Info, checkConnect, "base_url", msg, "", 0))

	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return append(fs, finding(transport.Warning, checkClock, "", fmt.Sprintf("%s sent no usable Date header: the clock cannot be compared", u.Host),
			"make sure the system clock is synchronised (NTP)", 0))
	}
	skew := a.deps.now().Sub(date).Round(time.Second)
	abs := skew
	if abs < 0 {
		abs = -abs
	}
	// Date has a one-second resolution: only a difference above the bound counts.
	if abs > maxClockSkew {
		return append(fs, finding(transport.Warning, checkClock, "", fmt.Sprintf("local clock differs from %s's by %s: the WS-Security Timestamp would be refused", u.Host, skew),
			"synchronise the system clock (NTP, timedatectl set-ntp true)", 0))
	}
	return append(fs, finding(transport.Info, checkClock, "", fmt.Sprintf("local clock differs from %s's by %s (Date header, 1 s resolution; the bound is %s)", u.Host, skew, maxClockSkew), "", 0))
}

// connectCause shortens the error of a failed GET to its cause (no repeated URL).
func connectCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// connectFix says what to do about a failed connection.
func connectFix(err error) string {
	var (
		ce  *tls.CertificateVerificationError
		ae  tls.AlertError
		ne  net.Error
		rhe tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &ce):
		return "the server's certificate is not trusted: set tls.ca_file to the region's CA bundle (CA_PREPROD in test)"
	case errors.As(err, &ae), strings.Contains(err.Error(), "remote error"):
		return "the server refused the TLS handshake: check that tls.cert_file is the certificate registered with the region"
	case errors.As(err, &rhe):
		return "the server does not speak TLS on this port: check the scheme and port of base_url"
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer in time: check the VPN to RUPAR and firewalls, or raise --timeout"
	}
	return "check the VPN to RUPAR, base_url and that the port is open"
}

// checkSigner loads the certificate that signs WS-Security and SAML (signer, or the TLS
// one) and checks its validity and that its codice fiscale is the operator's: the region
// answers E000231 otherwise.
func (a *appEnv) checkSigner() []doctorFinding {
	cfg := a.cfg
	sc := transport.Config{CertFile: cfg.Signer.CertFile, KeyFile: cfg.Signer.KeyFile, PKCS12File: cfg.Signer.PKCS12File, KeyPassword: cfg.Signer.KeyPassword}
	field := "signer.cert_file"
	if sc.CertFile == "" && sc.PKCS12File == "" {
		sc = transport.Config{CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, PKCS12File: cfg.TLS.PKCS12File, KeyPassword: cfg.TLS.KeyPassword}
		field = "tls.cert_file"
	}
	if sc.CertFile == "" && sc.PKCS12File == "" {
		return []doctorFinding{finding(transport.Error, checkSigner, "signer.cert_file", "no certificate to sign WS-Security and SAML",
			"set signer.cert_file and signer.key_file (the operator's CNS certificate) or tls.cert_file for both", exitInput)}
	}
	tc, err := transport.LoadCertificate(sc)
	if err != nil {
		return []doctorFinding{finding(transport.Error, checkSigner, field, fmt.Sprintf("signing certificate: %v", err), "check the file and its password", exitInput)}
	}
	leaf := tc.Leaf
	if leaf == nil {
		return []doctorFinding{finding(transport.Error, checkSigner, field, "signing certificate: no certificate in the file", "check the file", exitInput)}
	}
	var fs []doctorFinding
	if _, ok := tc.PrivateKey.(crypto.Signer); !ok {
		fs = append(fs, finding(transport.Error, checkSigner, field, "the signing key cannot sign", "use an RSA private key", exitInput))
	}
	now := a.deps.now()
	switch {
	case now.After(leaf.NotAfter):
		fs = append(fs, finding(transport.Error, checkSigner, field, fmt.Sprintf("signing certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly)),
			"renew the operator's certificate", exitInput))
	case now.Before(leaf.NotBefore):
		fs = append(fs, finding(transport.Error, checkSigner, field, fmt.Sprintf("signing certificate not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339)),
			"check the system clock", exitInput))
	default:
		fs = append(fs, finding(transport.Info, checkSigner, field, fmt.Sprintf("signing certificate valid until %s", leaf.NotAfter.UTC().Format(time.DateOnly)), "", 0))
	}
	certCF := wssec.CFFromCertificate(leaf)
	op := codicefiscale.Normalize(cfg.Operator.CF)
	switch {
	case certCF == "":
		fs = append(fs, finding(transport.Warning, checkSignerCF, field, "the signing certificate carries no codice fiscale: the region compares it with the operator's (E000231)",
			"sign with the operator's CNS certificate (subject serialNumber TINIT-<CF>)", 0))
	case op != "" && certCF != op:
		fs = append(fs, finding(transport.Error, checkSignerCF, "operator.cf", "the codice fiscale in the signing certificate is not the operator's: the region would answer E000231",
			"set operator.cf to the certificate holder's code, or sign with the operator's own certificate", exitInput))
	case op != "":
		fs = append(fs, finding(transport.Info, checkSignerCF, "operator.cf", "the signing certificate belongs to the operator", "", 0))
	}
	return fs
}
