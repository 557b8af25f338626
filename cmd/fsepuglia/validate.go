package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
)

// gatewayAPI is what the commands use of the middleware client (*gateway.Client).
type gatewayAPI interface {
	Validate(ctx context.Context, req gateway.ValidateRequest) (*gateway.Result, error)
	Publish(ctx context.Context, req gateway.PublishRequest) (*gateway.Result, error)
	Replace(ctx context.Context, idDoc string, req gateway.PublishRequest) (*gateway.Result, error)
	Delete(ctx context.Context, idDoc, patientCF string) (*gateway.Result, error)
	Status(ctx context.Context, wii string) (*gateway.Status, error)
	StatusByTrace(ctx context.Context, traceID string) (*gateway.Status, error)
	BaseURL() string
}

func newAdapterGateway(cfg adapter.Config) (gatewayAPI, error) { return adapter.NewGateway(cfg) }

// gateway returns the middleware client, building it on first use.
func (a *appEnv) gateway() (gatewayAPI, error) {
	if a.gw != nil {
		return a.gw, nil
	}
	if err := checkProductionLock(a.cfg); err != nil {
		return nil, err
	}
	g, err := a.deps.newGateway(a.cfg)
	if err != nil {
		return nil, err
	}
	a.gw = g
	return g, nil
}

// docProfile is the structure profile of the configuration, for docmeta.
func docProfile(cfg adapter.Config) docmeta.Profile {
	return docmeta.Profile{StructureName: cfg.Structure.Name, StructureCode: cfg.Structure.Code, HealthcareFacilityType: cfg.Structure.FacilityType,
		PracticeSettingCode: cfg.Structure.PracticeSetting, RepositoryUniqueID: cfg.Structure.RepositoryID}
}

// gatewayDocument reads a file and derives what the middleware needs (docmeta + profile).
func (a *appEnv) gatewayDocument(path string) (*gateway.Document, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, &adapter.InputError{Field: "file", Value: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check the path"}
	}
	d, _, err := gateway.NewDocument(body, filepath.Base(path), docmeta.Options{Profile: docProfile(a.cfg)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// journal opens the middleware workflow journal in the data directory.
func (a *appEnv) journal() (*gateway.Journal, error) {
	if err := os.MkdirAll(a.opts.DataDir, 0o700); err != nil {
		return nil, &adapter.InputError{Field: "data-dir", Value: a.opts.DataDir, Msg: fmt.Sprintf("cannot create: %v", unwrapPath(err)), Fix: "pass a writable --data-dir"}
	}
	return gateway.OpenJournal(filepath.Join(a.opts.DataDir, "middleware.db"))
}

// recordValidation journals a positive VALIDATION of d.
func (a *appEnv) recordValidation(j *gateway.Journal, d *gateway.Document, res *gateway.Result) error {
	h, err := d.CDAHash()
	if err != nil {
		return err
	}
	v := gateway.Validation{UniqueID: d.Meta.UniqueID, CDAHash: h, WorkflowInstanceID: res.WorkflowInstanceID, TraceID: res.TraceID, ValidatedAt: a.deps.now().UTC()}
	if err := j.Record(v); err != nil {
		return fmt.Errorf("validated, but the journal could not record it (validate again): %w", err)
	}
	a.log.Info("document validated", map[string]any{"unique_id": redact.Text(d.Meta.UniqueID), "traceID": res.TraceID})
	return nil
}

// validation is one line of `fsepuglia validate`.
type validation struct {
	File               string            `json:"file"`
	Outcome            string            `json:"outcome"` // valid | invalid | error
	HTTPStatus         int               `json:"http_status,omitempty"`
	Activity           string            `json:"activity"`
	WorkflowInstanceID string            `json:"workflowInstanceId,omitempty"`
	TraceID            string            `json:"traceID,omitempty"`
	SpanID             string            `json:"spanID,omitempty"`
	Warnings           []gateway.Warning `json:"warnings,omitempty"`
	Problem            *gateway.Problem  `json:"problem,omitempty"`
	Error              string            `json:"error,omitempty"`
	err                error
}

// validateBatchError reports that some of several files did not validate.
type validateBatchError struct{ failed, total int }

func (e *validateBatchError) Error() string {
	return fmt.Sprintf("%d of %d document(s) did not validate (reasons above): fix them and validate again before signing", e.failed, e.total)
}

// PartialFailure marks the error as a partly failed batch (exit code 7).
func (e *validateBatchError) PartialFailure() bool { return true }

func validateCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "validate documents (PDF with cda.xml) at the FSE 2.0 regional middleware, before they are signed",
		ArgsUsage: "FILE…",
		Description: "Sends each document to the middleware's validation service (the national gateway's\n" +
			"/documents/validation) with both JWTs. VALIDATION (the default) records the document for the\n" +
			"publication that follows (within 5 days, same CDA but for legalAuthenticator); VERIFICA only checks.\n" +
			"Sign the PDF only after a positive answer (intermediate and final scenarios).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "activity", Value: gateway.ActivityValidation, Usage: "VALIDATION (kept for the publication) or VERIFICA (check only)"},
			&cli.StringFlag{Name: "mode", Value: gateway.ModeAttachment, Usage: "how the CDA is embedded: ATTACHMENT (cda.xml) or RESOURCE (XFA)"},
			&cli.StringFlag{Name: "action", Value: "CREATE", Usage: "action_id of the JWT: CREATE, or UPDATE for a document that will replace another"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("validate: give at least one FILE (see fsepuglia validate --help)")
			}
			act := strings.ToUpper(c.String("activity"))
			if act != gateway.ActivityValidation && act != gateway.ActivityVerifica {
				return &adapter.InputError{Field: "--activity", Value: c.String("activity"), Msg: "unknown activity", Fix: "use VALIDATION or VERIFICA"}
			}
			mode := strings.ToUpper(c.String("mode"))
			if mode != gateway.ModeAttachment && mode != gateway.ModeResource {
				return &adapter.InputError{Field: "--mode", Value: c.String("mode"), Msg: "unknown mode", Fix: "use ATTACHMENT or RESOURCE"}
			}
			action := strings.ToUpper(c.String("action"))
			if action != "CREATE" && action != "UPDATE" {
				return &adapter.InputError{Field: "--action", Value: c.String("action"), Msg: "unknown action", Fix: "use CREATE or UPDATE"}
			}
			g, err := a.gateway()
			if err != nil {
				return err
			}
			// VALIDATION answers are journaled for the publication that follows (CDA hash,
			// workflowInstanceId, time): it may come days later, from another process.
			var journal *gateway.Journal
			if act == gateway.ActivityValidation {
				if journal, err = a.journal(); err != nil {
					return err
				}
				defer journal.Close()
			}
			var out []validation
			failed := 0
			var firstErr error
			for _, path := range c.Args().Slice() {
				v := validation{File: redact.Text(path), Activity: act}
				d, err := a.gatewayDocument(path)
				if err == nil {
					var res *gateway.Result
					res, err = g.Validate(c.Context, gateway.ValidateRequest{Document: d, Activity: act, Mode: mode, Action: action})
					if err == nil {
						v.Outcome, v.HTTPStatus, v.WorkflowInstanceID, v.TraceID, v.SpanID, v.Warnings = "valid", res.HTTPStatus, res.WorkflowInstanceID, res.TraceID, res.SpanID, res.Warnings
						if journal != nil {
							err = a.recordValidation(journal, d, res)
						}
					}
				}
				if err != nil {
					failed++
					if firstErr == nil {
						firstErr = err
					}
					v.err = err
					v.Outcome, v.Error = "error", redact.Text(err.Error())
					var p *gateway.Problem
					if errors.As(err, &p) {
						v.Outcome, v.Problem, v.HTTPStatus, v.TraceID, v.SpanID, v.WorkflowInstanceID = "invalid", p, p.HTTPStatus, p.TraceID, p.SpanID, p.WorkflowInstanceID
						if p.Transient() {
							v.Outcome = "error"
						}
					}
				}
				out = append(out, v)
			}
			if err := a.emit(out, func(w io.Writer) { validationTable(w, out) }); err != nil {
				return err
			}
			switch {
			case failed == 0:
				return nil
			case len(out) == 1:
				return firstErr
			}
			return &validateBatchError{failed: failed, total: len(out)}
		},
	}
}

func validationTable(w io.Writer, vs []validation) {
	fmt.Fprintln(w, "FILE\tOUTCOME\tHTTP\tWORKFLOW INSTANCE ID\tTRACE ID")
	for _, v := range vs {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", v.File, v.Outcome, v.HTTPStatus, v.WorkflowInstanceID, v.TraceID)
		for _, wr := range v.Warnings {
			fmt.Fprintf(w, "  warning (%s):\t%s\n", wr.Source, wr.Text)
		}
		switch {
		case v.Problem != nil:
			fmt.Fprintf(w, "  %s\t%s %s\n", v.Problem.Type, v.Problem.Title, redact.Text(v.Problem.Detail))
		case v.Error != "":
			fmt.Fprintf(w, "  error:\t%s\n", v.Error)
		}
	}
}
