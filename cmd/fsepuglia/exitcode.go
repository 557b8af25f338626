package main

import (
	"errors"
	"fmt"

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

// batchError reports a batch in which some items failed or were left unfinished.
type batchError struct {
	failed, interrupted int
}

func (e *batchError) Error() string {
	switch {
	case e.interrupted > 0 && e.failed > 0:
		return fmt.Sprintf("%d item(s) failed and %d were interrupted; fix the failed ones (see the reasons above) and run `fsepuglia publish --resume`", e.failed, e.interrupted)
	case e.interrupted > 0:
		return fmt.Sprintf("%d item(s) were interrupted before being sent; run `fsepuglia publish --resume` to finish the batch", e.interrupted)
	}
	return fmt.Sprintf("%d item(s) failed (see the reasons above); retryable ones are sent again by `fsepuglia publish --resume`", e.failed)
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
