package transport

import (
	"fmt"
	"strings"
)

// Severity ranks a Finding.
type Severity int

// Severities, from least to most serious.
const (
	// Info is worth knowing.
	Info Severity = iota
	// Warning is accepted but should be fixed (e.g. a self-signed certificate in test).
	Warning
	// Error stops New: nothing is sent.
	Error
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// Finding codes, stable for callers and tests.
const (
	// CodeProdOptIn: environment prod without allow_production.
	CodeProdOptIn = "prod-opt-in-missing"
	// CodeInsecure: insecure_skip_verify set (error in prod, warning elsewhere).
	CodeInsecure = "insecure-skip-verify"
	// CodeEnvironment: unknown environment.
	CodeEnvironment = "environment"
	// CodeCertMissing: no client certificate configured.
	CodeCertMissing = "cert-missing"
	// CodeCertAmbiguous: both a PEM pair and a PKCS#12 file configured.
	CodeCertAmbiguous = "cert-ambiguous"
	// CodeCertLoad: a certificate or key file could not be read or decoded.
	CodeCertLoad = "cert-load"
	// CodeKeyMismatch: the private key does not belong to the certificate.
	CodeKeyMismatch = "key-mismatch"
	// CodeExpired: the certificate's NotAfter is past.
	CodeExpired = "cert-expired"
	// CodeNotYetValid: the certificate's NotBefore is in the future.
	CodeNotYetValid = "cert-not-yet-valid"
	// CodeExpiresSoon: the certificate expires within 30 days.
	CodeExpiresSoon = "cert-expires-soon"
	// CodeCNFormat: the CN is not PartitaIva.Dominio.it.
	CodeCNFormat = "cn-format"
	// CodeVATCheckDigit: the partita IVA in the CN has a wrong check digit.
	CodeVATCheckDigit = "vat-check-digit"
	// CodeCNDomain: the CN's domain does not end in .it.
	CodeCNDomain = "cn-domain"
	// CodeSelfSigned: a self-signed client certificate (error in prod, warning in test).
	CodeSelfSigned = "self-signed"
	// CodeExtKeyUsage: the certificate's extended key usage lacks clientAuth.
	CodeExtKeyUsage = "ext-key-usage"
	// CodeWeakKey: an RSA key shorter than 2048 bits.
	CodeWeakKey = "weak-key"
	// CodeCAFile: the CA bundle is unreadable, empty, or missing in test.
	CodeCAFile = "ca-file"
	// CodeSystemRoots: the system roots could not be loaded.
	CodeSystemRoots = "system-roots"
	// CodeCertificateValid: the certificate passed every check (Info).
	CodeCertificateValid = "cert-ok"
)

// Finding is one result of the configuration and certificate checks (for `fsepuglia doctor`).
type Finding struct {
	Severity Severity
	// Code identifies the check (one of the Code* constants).
	Code string
	// Field is the configuration field concerned, as its JSON name in adapter.Config
	// (environment, allow_production, tls.cert_file, tls.pkcs12_file, tls.ca_file …).
	Field   string
	Message string
	// Fix says what to do; empty for Info.
	Fix string
}

// String renders the finding on one line.
func (f Finding) String() string {
	s := fmt.Sprintf("%s %s: %s", f.Severity, f.Field, f.Message)
	if f.Fix != "" {
		s += "; fix: " + f.Fix
	}
	return s
}

// CheckError is returned by New when a check found errors. Findings holds only the errors.
type CheckError struct {
	Findings []Finding
}

// Error implements error, listing every failed check with its field and fix.
func (e *CheckError) Error() string {
	parts := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		parts[i] = f.Field + ": " + f.Message
		if f.Fix != "" {
			parts[i] += " (fix: " + f.Fix + ")"
		}
	}
	return "transport configuration refused: " + strings.Join(parts, "; ")
}

// Has reports whether a finding with code is among the errors.
func (e *CheckError) Has(code string) bool {
	for _, f := range e.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

func hasErrors(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == Error {
			out = append(out, f)
		}
	}
	return out
}
