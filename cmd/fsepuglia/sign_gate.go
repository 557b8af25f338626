package main

import (
	"fmt"
	"os"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
)

// requireValidation enforces the FSE 2.0 order (seed 000 §4.1.2: sign only after a positive
// validation) before a PDF is signed: in the intermediate and final scenarios a document of a
// supported type must have been validated by the middleware (fsepuglia validate), with the
// same CDA, less than 5 days ago. PDFs that are not FSE documents (no readable cda.xml) and
// the current scenario are not gated.
func (a *appEnv) requireValidation(path string) error {
	sc, err := gateway.ParseScenario(a.cfg.Gateway.Scenario)
	if err != nil || sc == gateway.ScenarioCurrent {
		return err
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil // the signer reports it
	}
	r := &router{a: a}
	d, err := r.document(path, body)
	if err != nil {
		return nil // not an FSE document: nothing to validate
	}
	rt, err := gateway.RouteFor(a.cfg.Gateway, d.Meta.TypeCode)
	if err != nil || !rt.ValidateFirst {
		return err
	}
	j, err := a.journal()
	if err != nil {
		return err
	}
	defer j.Close()
	v, err := j.Get(d.Meta.UniqueID)
	if err != nil {
		return err
	}
	if err := gateway.CheckPublishable(v, d, a.deps.now()); err != nil {
		return fmt.Errorf("not signed: in the %s scenario a document is signed only after the middleware validated it: %w", sc, err)
	}
	return nil
}
