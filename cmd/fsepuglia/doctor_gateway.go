package main

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
)

// Checks of doctor about the FSE 2.0 middleware.
const (
	checkMiddleware = "middleware"
	checkScenario   = "scenario"
	checkJWTCert    = "jwt-cert"
	checkJWTClaims  = "jwt-claims"
)

// middlewareFindings checks the middleware configuration: scenario, URL, the certificate
// that signs the JWTs and the identity claims. It returns the findings and the middleware's
// base URL for the network checks ("" when none, or in the current scenario). Without a middleware scenario (current)
// problems are warnings: nothing is sent there.
func (a *appEnv) middlewareFindings() ([]doctorFinding, string) {
	cfg := a.cfg
	env := strings.ToLower(strings.TrimSpace(cfg.Environment))
	var fs []doctorFinding
	sc, err := gateway.ParseScenario(cfg.Gateway.Scenario)
	if err != nil {
		return append(fs, finding(transport.Error, checkScenario, "gateway.scenario", err.Error(), "use current, intermediate or final", exitInput)), ""
	}
	sev, code := transport.Error, exitInput
	if sc == gateway.ScenarioCurrent {
		sev, code = transport.Warning, 0
	}
	fs = append(fs, finding(transport.Info, checkScenario, "gateway.scenario",
		fmt.Sprintf("scenario %s; %d document type(s) routed through the middleware", sc, len(cfg.Gateway.Supported())), "", 0))

	base, overridden, err := gateway.ResolveBaseURL(cfg.Gateway, env)
	if err != nil {
		var ge *gateway.ConfigError
		msg := err.Error()
		fix := "set gateway.base_url"
		if errors.As(err, &ge) {
			msg, fix = ge.Msg, ge.Fix
		}
		fs = append(fs, finding(sev, checkMiddleware, "gateway.base_url", msg, fix, code))
	} else {
		how := "default of the environment"
		if overridden {
			how = "configured"
		}
		fs = append(fs, finding(transport.Info, checkMiddleware, "gateway.base_url", base+" ("+how+")", "", 0))
		fs = append(fs, finding(transport.Info, checkMiddleware, "gateway.audience", "JWT aud "+gateway.AudienceFor(cfg.Gateway, env)+
			" (the public threads show the rule unsettled: ask the region which aud its GovWay wants)", "", 0))
	}

	// The certificate that signs the JWTs.
	_, chain, field, err := adapter.GatewaySigner(cfg)
	if err != nil {
		fs = append(fs, finding(sev, checkJWTCert, field, err.Error(), "set tls.cert_file/key_file or gateway.jwt_cert_file/jwt_key_file", code))
	} else {
		leaf := chain[0]
		now := a.deps.now()
		switch {
		case now.After(leaf.NotAfter) || now.Before(leaf.NotBefore):
			fs = append(fs, finding(sev, checkJWTCert, field, fmt.Sprintf("JWT certificate not valid now (valid %s to %s)",
				leaf.NotBefore.UTC().Format(time.DateOnly), leaf.NotAfter.UTC().Format(time.DateOnly)), "renew the certificate", code))
		case env == "prod" && transport.IsSelfSigned(leaf):
			fs = append(fs, finding(transport.Error, checkJWTCert, field, "self-signed JWT certificates are refused in prod", "use the certificate the region registered", exitInput))
		default:
			msg := fmt.Sprintf("JWTs signed RS256 by %q (iss integrity:/auth:%s), valid until %s", leaf.Subject.CommonName, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly))
			f := finding(transport.Info, checkJWTCert, field, msg, "", 0)
			if piva, _, ok := strings.Cut(leaf.Subject.CommonName, "."); !ok || !transport.ValidPartitaIVA(piva) {
				f = finding(transport.Warning, checkJWTCert, field, msg+"; the CN is not PartitaIva.Dominio.it as the region asks", "use the structure's certificate", 0)
			}
			fs = append(fs, f)
		}
	}

	// Identity claims the gateway requires.
	var bad []string
	if cfg.Application.ID == "" || cfg.Application.Vendor == "" || cfg.Application.Version == "" {
		bad = append(bad, "application.id/vendor/version (subject_application_*) are required: the accredited triplet")
	}
	if !slices.Contains(gateway.SubjectRoles, cfg.Operator.Role) {
		bad = append(bad, fmt.Sprintf("operator.role %q is not a subject_role of the gateway (%s)", cfg.Operator.Role, strings.Join(gateway.SubjectRoles, " ")))
	}
	loc := cfg.Gateway.Locality
	if loc == "" {
		loc = gateway.XON(cfg.Structure.Name, cfg.Structure.Code)
	}
	if !gateway.LocalityPattern.MatchString(loc) || cfg.Structure.Code == "" && cfg.Gateway.Locality == "" {
		bad = append(bad, "locality (XON) needs structure.name and structure.code, or gateway.locality")
	}
	if len(bad) > 0 {
		fs = append(fs, finding(sev, checkJWTClaims, "application", strings.Join(bad, "; "), "complete the configuration", code))
	} else {
		fs = append(fs, finding(transport.Info, checkJWTClaims, "application", "subject_application_*, subject_role and locality claims well formed", "", 0))
	}
	if sc == gateway.ScenarioCurrent {
		return fs, "" // nothing is sent to the middleware: its host is not contacted
	}
	return fs, base
}

// middlewareHost returns scheme://host of a middleware base URL.
func middlewareHost(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
