package adapter

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter/endpoint"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
)

// InputError is bad input caught before anything is sent: it names the field, what was found
// and how to fix it.
type InputError struct {
	Field string
	Value string // already redacted where it is personal data
	Msg   string
	Fix   string
}

// Error implements error.
func (e *InputError) Error() string {
	s := fmt.Sprintf("%s: %s", e.Field, e.Msg)
	if e.Value != "" {
		s += fmt.Sprintf(" (found %q)", e.Value)
	}
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// ConfigError is a configuration mistake: an unknown environment or ASL, a missing, unreadable
// or mismatched certificate, production without the opt-in, a self-signed certificate or
// disabled security in production. It is the only configuration error type of the library:
// New and Config.ResolveEndpoints return it for every such mistake, nothing has been sent,
// and Err (when set) is the cause found by package endpoint or transport.
type ConfigError struct {
	// Field is the configuration field, as its JSON name in Config (tls.cert_file,
	// signer.key_file, environment, asl, allow_production, security.disabled …).
	Field string
	// Msg says what is wrong.
	Msg string
	// Fix says what to do.
	Fix string
	// Err is the underlying error, if any (*endpoint.UnknownASLError, *transport.CheckError,
	// *transport.LoadError, an *fs.PathError …).
	Err error
}

// Error implements error: "configuration <field>: <msg>; <fix>".
func (e *ConfigError) Error() string {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	s := "configuration"
	if e.Field != "" {
		s += " " + e.Field
	}
	s += ": " + msg
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// asConfigError turns the configuration errors of packages endpoint and transport into a
// *ConfigError naming the field (prefix renames "tls." fields when the signer was loaded).
// Other errors are returned as they are.
func asConfigError(err error, prefix string) error {
	if err == nil {
		return nil
	}
	var (
		ce *ConfigError
		ua *endpoint.UnknownASLError
		fe *endpoint.FieldError
		ck *transport.CheckError
		le *transport.LoadError
	)
	switch {
	case errors.As(err, &ce):
		return err
	case errors.As(err, &ua):
		return &ConfigError{Field: "asl", Msg: fmt.Sprintf("%q is not valid in environment %q", ua.Input, ua.Environment),
			Fix: "use one of: " + strings.Join(ua.Valid, ", ") + " (see fsepuglia endpoints --all)", Err: err}
	case errors.As(err, &fe):
		msg := fe.Msg
		if fe.Value != "" {
			msg += fmt.Sprintf(" (found %q)", fe.Value)
		}
		return &ConfigError{Field: fe.Field, Msg: msg, Fix: fe.Fix, Err: err}
	case errors.As(err, &ck) && len(ck.Findings) > 0:
		f := ck.Findings[0]
		msg := f.Message
		for _, o := range ck.Findings[1:] {
			msg += "; also " + o.Field + ": " + o.Message
		}
		return &ConfigError{Field: f.Field, Msg: msg, Fix: f.Fix, Err: err}
	case errors.As(err, &le):
		field := le.Field
		if prefix != "" {
			field = prefix + "." + strings.TrimPrefix(field, "tls.")
		}
		cause := le.Err
		var pe *fs.PathError
		if errors.As(cause, &pe) {
			cause = pe.Err // the path is said once
		}
		return &ConfigError{Field: field, Msg: fmt.Sprintf("cannot use %s: %v", le.Path, cause),
			Fix: "check the path, the file format (PEM or PKCS#12) and the password", Err: err}
	}
	return err
}
