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
	CodeProdOptIn        = "prod-opt-in-missing"
	CodeInsecure         = "insecure-skip-verify"
	CodeEnvironment      = "environment"
	CodeCertMissing      = "cert-missing"
	CodeCertAmbiguous    = "cert-ambiguous"
	CodeCertLoad         = "cert-load"
	CodeKeyMismatch      = "key-mismatch"
	CodeExpired          = "cert-expired"
	CodeNotYetValid      = "cert-not-yet-valid"
	CodeExpiresSoon      = "cert-expires-soon"
	CodeCNFormat         = "cn-format"
	CodeVATCheckDigit    = "vat-check-digit"
	CodeCNDomain         = "cn-domain"
	CodeSelfSigned       = "self-signed"
	CodeExtKeyUsage      = "ext-key-usage"
	CodeWeakKey          = "weak-key"
	CodeCAFile           = "ca-file"
	CodeSystemRoots      = "system-roots"
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
