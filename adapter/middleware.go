package adapter

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
)

// NewGateway builds the client of the FSE 2.0 regional middleware from the same
// configuration as New: mutual TLS with cfg.TLS on a transport of its own (adapter/transport),
// the JWTs signed with cfg.Gateway's certificate or, by default, the TLS one (Puglia's model:
// one certificate, CN PartitaIva.Dominio.it, for both), the operator, structure and
// application of cfg. Configuration mistakes are *ConfigError.
func NewGateway(cfg Config) (*gateway.Client, error) {
	env := strings.ToLower(strings.TrimSpace(cfg.Environment))
	if env == "prod" && !cfg.AllowProduction {
		return nil, &ConfigError{Field: "allow_production", Msg: "environment prod needs the explicit production opt-in",
			Fix: "set allow_production: true in the configuration (or FSEPUGLIA_ALLOW_PRODUCTION=1) once you mean to reach the production hosts"}
	}
	hc, _, err := transport.New(transport.Config{Environment: env, AllowProduction: cfg.AllowProduction,
		CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, PKCS12File: cfg.TLS.PKCS12File,
		KeyPassword: cfg.TLS.KeyPassword, CAFile: cfg.TLS.CAFile, MaxConnsPerHost: cfg.MaxConnsPerHost})
	if err != nil {
		return nil, &ConfigError{Field: "tls", Msg: "mutual TLS for the middleware", Err: err, Fix: "fix the tls section (fsepuglia doctor lists the problems)"}
	}
	key, chain, field, err := GatewaySigner(cfg)
	if err != nil {
		return nil, err
	}
	if env == "prod" && transport.IsSelfSigned(chain[0]) {
		return nil, &ConfigError{Field: field, Msg: "self-signed JWT certificates are refused in prod", Fix: "use the certificate the region registered"}
	}
	g := cfg.Gateway
	c, err := gateway.New(g, gateway.Identity{OperatorCF: cfg.Operator.CF, Role: cfg.Operator.Role, StructureName: cfg.Structure.Name,
		StructureCode: cfg.Structure.Code, ApplicationID: cfg.Application.ID, ApplicationVendor: cfg.Application.Vendor,
		ApplicationVersion: cfg.Application.Version},
		gateway.Options{HTTPClient: hc, Key: key, Chain: chain, Environment: env, Timeout: time.Duration(cfg.Timeout),
			TraceDir: cfg.TraceDir, TraceRaw: cfg.TraceRaw})
	if err != nil {
		if ge, ok := err.(*gateway.ConfigError); ok {
			return nil, &ConfigError{Field: ge.Field, Msg: ge.Msg, Fix: ge.Fix}
		}
		return nil, err
	}
	return c, nil
}

// GatewaySigner loads the key and certificate chain that sign the middleware's JWTs:
// gateway.jwt_cert_file/jwt_key_file (or jwt_pkcs12_file), else the TLS client certificate.
// field names the configuration it came from.
func GatewaySigner(cfg Config) (crypto.Signer, []*x509.Certificate, string, error) {
	g := cfg.Gateway
	sc := transport.Config{CertFile: g.JWTCertFile, KeyFile: g.JWTKeyFile, PKCS12File: g.JWTPKCS12File, KeyPassword: cfg.TLS.KeyPassword}
	field := "gateway.jwt_cert_file"
	if sc.CertFile == "" && sc.PKCS12File == "" {
		sc = transport.Config{CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, PKCS12File: cfg.TLS.PKCS12File, KeyPassword: cfg.TLS.KeyPassword}
		field = "tls.cert_file"
	}
	if sc.CertFile == "" && sc.PKCS12File == "" {
		return nil, nil, field, &ConfigError{Field: "gateway.jwt_cert_file", Msg: "no certificate to sign the middleware's JWTs",
			Fix: "set tls.cert_file/key_file (the structure's certificate signs the JWTs too) or gateway.jwt_cert_file/jwt_key_file"}
	}
	tc, err := transport.LoadCertificate(sc)
	if err != nil {
		return nil, nil, field, &ConfigError{Field: field, Err: err, Fix: "check the path, the format (PEM or PKCS#12) and the password"}
	}
	key, ok := tc.PrivateKey.(crypto.Signer)
	if !ok || tc.Leaf == nil {
		return nil, nil, field, &ConfigError{Field: field, Msg: "the key cannot sign", Fix: "use an RSA private key"}
	}
	chain := []*x509.Certificate{tc.Leaf}
	for _, der := range tc.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			chain = append(chain, c)
		}
	}
	if _, isRSA := key.Public().(*rsa.PublicKey); !isRSA {
		return nil, nil, field, &ConfigError{Field: field, Msg: "the JWTs are RS256: the key must be RSA", Fix: "use the structure's RSA certificate"}
	}
	return key, chain, field, nil
}
