// Command fsepuglia talks to the FSE (electronic health record) of Regione Puglia through its
// legacy SOAP services: publish, replace, delete, search and retrieve documents, read and
// record consents, read the Taccuino. See CONFIG.md, OUTPUT.md and EXITCODES.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first Ctrl-C stops the batch cleanly (the outbox resumes it); after that the
		// default behaviour is back, so a second Ctrl-C kills the process.
		<-ctx.Done()
		stop()
	}()
	stopProfiles := startProfiles()
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	stopProfiles()
	os.Exit(code)
}
