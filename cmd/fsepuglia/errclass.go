package main

import (
	"context"
	"errors"
	"net"
	"net/url"

	"github.com/fsepuglia/fsepuglia/adapter/batch"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
)

// remoteKind is what went wrong on the way to or at the region.
type remoteKind int

const (
	remoteNone      remoteKind = iota
	remoteFault                // the region answered with a SOAP fault
	remoteConsent              // a fault refusing the consultation for consent (FSE-00451)
	remoteTransport            // the call did not complete: network, TLS, timeout, HTTP status
)

// faultInfo is a fault-like error that is not a *fault.Fault (test fakes, wrappers): it
// carries an FSE code.
type faultInfo interface {
	error
	FaultCode() string // "FSE-00451"
}

// transportInfo marks an error as a transport failure when it is not a *fault.CallError.
type transportInfo interface {
	error
	TransportFailure() bool
}

// faultOf returns the fault carried by err: its code and class (from the project's code
// table when err is not a *fault.Fault).
func faultOf(err error) (code string, class fault.Class, ok bool) {
	var f *fault.Fault
	if errors.As(err, &f) {
		return f.Code, f.Class, true
	}
	var fi faultInfo
	if errors.As(err, &fi) {
		return fi.FaultCode(), fault.ClassOf(fi.FaultCode()), true
	}
	return "", fault.Unknown, false
}

// classifyRemote says whether err is a remote fault, a consent refusal or a transport failure.
// A middleware problem (RFC 7807) is a fault, or a transport failure when its class is
// transient (mw/io_error, 502/503/504, 429).
func classifyRemote(err error) remoteKind {
	var gp *gateway.Problem
	if errors.As(err, &gp) {
		if gp.Transient() {
			return remoteTransport
		}
		return remoteFault
	}
	if _, class, ok := faultOf(err); ok {
		if class == fault.ConsentMissing {
			return remoteConsent
		}
		return remoteFault
	}
	var ce *fault.CallError
	if errors.As(err, &ce) {
		return remoteTransport
	}
	var ti transportInfo
	if errors.As(err, &ti) && ti.TransportFailure() {
		return remoteTransport
	}
	// Not net.Error: syscall.Errno implements it, so a missing file (ENOENT inside an
	// *fs.PathError) would pass for a network failure.
	var ue *url.Error
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &ue) || errors.As(err, &oe) || errors.As(err, &de) || errors.Is(err, context.DeadlineExceeded) {
		return remoteTransport
	}
	return remoteNone
}

// isDuplicate reports a fault saying the uniqueId is already published (FSE-00409).
func isDuplicate(err error) bool { return batch.IsClass(err, fault.Duplicate) }

// isNotFound reports a fault saying the document does not exist (FSE-00404).
func isNotFound(err error) bool { return batch.IsClass(err, fault.NotFound) }
