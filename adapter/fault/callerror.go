package fault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hooklift/gowsdl/soap"
)

// CallError is a call that failed without a SOAP fault: dial, TLS, reset, timeout, a
// truncated or malformed body, an HTTP error status without a fault. Err keeps the cause.
type CallError struct {
	// Op is the operation (e.g. "searchDocuments").
	Op string
	// Endpoint is the URL called.
	Endpoint string
	// Err is the cause: a *StatusError, a net/TLS/XML error, a context error …
	Err error
}

// Error implements error.
func (e *CallError) Error() string {
	s := "call"
	if e.Op != "" {
		s = e.Op
	}
	if e.Endpoint != "" {
		s += " " + e.Endpoint
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *CallError) Unwrap() error { return e.Err }

// Transient reports whether trying again later may succeed: connection refused or reset,
// dial, I/O and response-header timeouts, a truncated body, HTTP 429/502/503/504. It is
// false for TLS certificate problems (configuration), for the caller's cancellation, for
// malformed XML and for any other HTTP status. net/http reports its own timeouts as
// context.DeadlineExceeded, so a caller's expired deadline also reads as transient: a retry
// loop must stop on its own ctx.Err() (package retry does).
func (e *CallError) Transient() bool { return isTransient(e.Err) }

// StatusError is an HTTP error status whose body is not a SOAP fault. The body is kept for
// diagnostics and never printed by Error (it may be a page quoting the request).
type StatusError struct {
	StatusCode int
	Body       []byte
	// RetryAfter is the wait the server asked for with Retry-After (429, 503), 0 if none.
	RetryAfter time.Duration
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110
// 10.2.3). It returns 0 for an absent, malformed or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d without a SOAP fault (%d bytes of body)", e.StatusCode, len(e.Body))
}

// GowsdlDetail keeps the raw detail of a fault that gowsdl decodes itself (HTTP 200). Pass
// a new one to soap.Client.CallContextWithFaultDetail; FromError then reads the errorCode
// from it. Generated methods call CallContext, which drops the detail: the code then comes
// from the faultstring prefix only.
type GowsdlDetail struct {
	Raw []byte `xml:",innerxml"`
}

// ErrorString implements soap.FaultError.
func (d *GowsdlDetail) ErrorString() string { return detailText(d.Raw, "errorCode") }

// HasData implements soap.FaultError; it is false so that the SOAPFault's message stays the
// faultstring.
func (d *GowsdlDetail) HasData() bool { return false }

// FromError maps an error returned by a gowsdl-generated call (or by the http.Client under
// it) to *Fault or *CallError, recording op and endpoint. A *soap.HTTPError whose body holds
// a fault becomes *Fault; otherwise *CallError wrapping *StatusError. A *soap.SOAPFault (a
// fault sent with HTTP 200) becomes *Fault with HTTPStatus 200, with the raw detail only when
// the call was made with a *GowsdlDetail. Errors that
// already are *Fault or *CallError are returned unchanged. nil stays nil.
func FromError(err error, op, endpoint string) error {
	if err == nil {
		return nil
	}
	var f *Fault
	if errors.As(err, &f) {
		return err
	}
	var ce *CallError
	if errors.As(err, &ce) {
		return err
	}
	var he *soap.HTTPError
	if errors.As(err, &he) {
		if f, ok := Parse(he.ResponseBody, he.StatusCode); ok {
			f.Op, f.Endpoint = op, endpoint
			return f
		}
		return &CallError{Op: op, Endpoint: endpoint, Err: &StatusError{StatusCode: he.StatusCode, Body: he.ResponseBody}}
	}
	var sf *soap.SOAPFault
	if errors.As(err, &sf) {
		var detail []byte
		if d, ok := sf.Detail.(*GowsdlDetail); ok && d != nil {
			detail = d.Raw
		}
		f := build(sf.Code, sf.String, sf.Actor, detail, 200)
		f.Op, f.Endpoint = op, endpoint
		return f
	}
	return &CallError{Op: op, Endpoint: endpoint, Err: err}
}

// Classify returns the class of err: the fault's class for a *Fault, Transient for a
// transient *CallError, Unknown otherwise.
func Classify(err error) Class {
	var f *Fault
	if errors.As(err, &f) {
		return f.Class
	}
	var ce *CallError
	if errors.As(err, &ce) && ce.Transient() {
		return Transient
	}
	return Unknown
}

func isTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch se.StatusCode {
		case 429, 502, 503, 504:
			return true
		}
		return false
	}
	// Certificate and handshake refusals are configuration problems.
	var (
		ua  x509.UnknownAuthorityError
		ci  x509.CertificateInvalidError
		hn  x509.HostnameError
		cve *tls.CertificateVerificationError
		ae  tls.AlertError
		rhe tls.RecordHeaderError
	)
	if errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &hn) || errors.As(err, &cve) ||
		errors.As(err, &ae) || errors.As(err, &rhe) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsNotFound
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, target := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH,
		io.ErrUnexpectedEOF, io.EOF} {
		if errors.Is(err, target) {
			return true
		}
	}
	var sx *xml.SyntaxError
	if errors.As(err, &sx) {
		return sx.Msg == "unexpected EOF"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Op == "dial"
	}
	return false
}
