package main

import (
	"context"
	"errors"
	"net"
	"net/url"
)

// remoteKind is what went wrong on the way to or at the region.
type remoteKind int

const (
	remoteNone      remoteKind = iota
	remoteFault                // the region answered with a SOAP fault
	remoteConsent              // a fault refusing the consultation for consent (FSE-00451)
	remoteTransport            // the call did not complete: network, TLS, timeout, HTTP status
)

// faultInfo is what the CLI needs of a SOAP fault. adapter/fault is not committed yet: when
// it lands, classifyRemote uses errors.As on *fault.Fault (Class ConsentMissing → consent,
// Duplicate, NotFound, Transient) and *fault.CallError (transport). Until then a fault is
// recognised by these small interfaces, which fakes in tests implement.
type faultInfo interface {
	error
	FaultCode() string // "FSE-00451"
}

// transportInfo marks an error as a transport failure.
type transportInfo interface {
	error
	TransportFailure() bool
}

// faultCodeOf returns the FSE fault code carried by err, or "".
func faultCodeOf(err error) string {
	var fi faultInfo
	if errors.As(err, &fi) {
		return fi.FaultCode()
	}
	return ""
}

// classifyRemote says whether err is a remote fault, a consent refusal or a transport failure.
func classifyRemote(err error) remoteKind {
	switch code := faultCodeOf(err); {
	case code == "FSE-00451":
		return remoteConsent
	case code != "":
		return remoteFault
	}
	var ti transportInfo
	if errors.As(err, &ti) && ti.TransportFailure() {
		return remoteTransport
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return remoteTransport
	}
	return remoteNone
}

// isDuplicate reports a fault saying the uniqueId is already published (FSE-00409).
func isDuplicate(err error) bool { return faultCodeOf(err) == "FSE-00409" }

// isNotFound reports a fault saying the document does not exist (FSE-00404).
func isNotFound(err error) bool { return faultCodeOf(err) == "FSE-00404" }

// isRetryable reports a failure that may succeed later: FSE-00503 or a transport failure.
func isRetryable(err error) bool {
	return faultCodeOf(err) == "FSE-00503" || classifyRemote(err) == remoteTransport
}
