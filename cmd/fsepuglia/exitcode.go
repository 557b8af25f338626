package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/endpoint"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/urfave/cli/v2"
)

// Exit codes of fsepuglia (the table is in EXITCODES.md; keep both in step).
const (
	exitOK        = 0
	exitInternal  = 1
	exitUsage     = 2
	exitInput     = 3
	exitFault     = 4
	exitConsent   = 5
	exitTransport = 6
	exitPartial   = 7
)

// usageError is a command line that cannot be understood: unknown flag, missing argument.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// batchError reports a batch in which some items failed, were left in doubt or unfinished,
// or were invalid and left out (--skip-invalid).
type batchError struct {
	failed, interrupted, inDoubt, invalid int
}

func (e *batchError) Error() string {
	var parts []string
	if e.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed (see the reasons above; retryable ones are sent again by `fsepuglia publish --resume`)", e.failed))
	}
	if e.inDoubt > 0 {
		parts = append(parts, fmt.Sprintf("%d in doubt: they may have reached the region and are checked before any resend; see `fsepuglia outbox list`", e.inDoubt))
	}
	if e.interrupted > 0 {
		parts = append(parts, fmt.Sprintf("%d interrupted before being sent: `fsepuglia publish --resume` finishes them", e.interrupted))
	}
	if e.invalid > 0 {
		parts = append(parts, fmt.Sprintf("%d invalid, left out and untouched: fix them and publish them again", e.invalid))
	}
	return "batch not complete: " + strings.Join(parts, "; ")
}

// partialFailure is a batch error other than publish's batchError (validate of several files).
type partialFailure interface {
	error
	PartialFailure() bool
}

// exitCode maps an error returned by a command to the process exit code. It is the only
// place that decides exit codes.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var (
		ue  *usageError
		ie  *adapter.InputError
		cfe *codicefiscale.Error
		be  *batchError
		ce  *docmeta.CheckError
		cg  *adapter.ConfigError
		ua  *endpoint.UnknownASLError
		ec  *endpoint.FieldError
		gc  *gateway.ClaimError
		gf  *gateway.FieldError
		gg  *gateway.ConfigError
		gw  *gateway.WorkflowError
		pf  partialFailure
	)
	var xc cli.ExitCoder
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &xc):
		return xc.ExitCode() // a command that chose its code with cli.Exit
	case errors.As(err, &be), errors.As(err, &pf) && pf.PartialFailure():
		return exitPartial
	case errors.As(err, &cg), errors.As(err, &ie), errors.As(err, &cfe), errors.As(err, &ce), errors.As(err, &ua), errors.As(err, &ec),
		errors.As(err, &gc), errors.As(err, &gf), errors.As(err, &gg), errors.As(err, &gw):
		return exitInput
	}
	switch classifyRemote(err) {
	case remoteConsent:
		return exitConsent
	case remoteFault:
		return exitFault
	case remoteTransport:
		return exitTransport
	}
	return exitInternal
}
