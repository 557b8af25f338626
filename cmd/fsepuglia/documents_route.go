package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
)

// middlewareResultOutput is the JSON of `replace` and `delete` when they go through the
// FSE 2.0 middleware (OUTPUT.md).
type middlewareResultOutput struct {
	Route              string            `json:"route"`
	OldID              string            `json:"old_id,omitempty"`
	UniqueID           string            `json:"unique_id"`
	HTTPStatus         int               `json:"http_status"`
	WorkflowInstanceID string            `json:"workflowInstanceId"`
	TraceID            string            `json:"traceID"`
	Warnings           []gateway.Warning `json:"warnings,omitempty"`
}

// viaFlag forces the route of delete, whose document type is not known here.
var viaFlag = &cli.StringFlag{Name: "via", Usage: "legacy or middleware (default: the route the outbox recorded for this document, else legacy)"}

func (a *appEnv) emitMiddleware(out middlewareResultOutput) error {
	return a.emit(out, func(w io.Writer) {
		fmt.Fprintln(w, "ROUTE\tUNIQUE ID\tHTTP\tWORKFLOW INSTANCE ID\tTRACE ID")
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", out.Route, out.UniqueID, out.HTTPStatus, out.WorkflowInstanceID, out.TraceID)
		for _, wr := range out.Warnings {
			fmt.Fprintf(w, "  warning (%s):\t%s\n", wr.Source, wr.Text)
		}
	})
}

// routedReplace sends a replace through the middleware when the scenario and the document's
// type say so (handled true), after the workflow checks of publish: the new version must have
// been validated (fsepuglia validate --action UPDATE), with the same CDA, within 5 days, and
// be signed. In the intermediate scenario only the checks apply; the replace stays legacy.
func (a *appEnv) routedReplace(ctx context.Context, oldID string, doc *loadedDoc) (bool, error) {
	rt, err := gateway.RouteFor(a.cfg.Gateway, doc.meta.TypeCode)
	if err != nil || !rt.ValidateFirst {
		return false, err
	}
	r, err := a.newRouter()
	if err != nil {
		return false, err
	}
	defer r.close()
	raw, _, err := r.metadata(doc)
	if err != nil {
		return false, err
	}
	if rt.Via != gateway.ViaMiddleware {
		return false, nil
	}
	m := decodeRoute(raw)
	body, err := doc.bytes()
	if err != nil {
		return false, err
	}
	d, err := r.document(doc.path, body)
	if err != nil {
		return false, err
	}
	g, err := a.gateway()
	if err != nil {
		return true, err
	}
	a.log.Info("replace via the middleware", map[string]any{"old_id": redact.Text(oldID), "unique_id": redact.Text(doc.meta.UniqueID)})
	res, err := g.Replace(ctx, oldID, gateway.PublishRequest{Document: d, WorkflowInstanceID: m.WorkflowInstanceID})
	if err != nil {
		return true, fmt.Errorf("replace %s with %s through the middleware: %w", oldID, doc.path, err)
	}
	return true, a.emitMiddleware(middlewareResultOutput{Route: gateway.ViaMiddleware, OldID: oldID, UniqueID: doc.meta.UniqueID, HTTPStatus: res.HTTPStatus,
		WorkflowInstanceID: res.WorkflowInstanceID, TraceID: res.TraceID, Warnings: res.Warnings})
}

// routedDelete deletes through the middleware when --via middleware, or when the outbox
// recorded that the document was published there (handled true).
func (a *appEnv) routedDelete(c *cli.Context, cf, id string) (bool, error) {
	via := c.String("via")
	switch via {
	case "", gateway.ViaLegacy, gateway.ViaMiddleware:
	default:
		return false, &adapter.InputError{Field: "--via", Value: via, Msg: "unknown route", Fix: "use legacy or middleware"}
	}
	if via == "" {
		via = a.recordedRoute(id)
	}
	if via != gateway.ViaMiddleware {
		return false, nil
	}
	g, err := a.gateway()
	if err != nil {
		return true, err
	}
	a.log.Info("delete via the middleware", map[string]any{"unique_id": redact.Text(id), "patient": redact.CF(cf)})
	res, err := g.Delete(c.Context, id, cf)
	if err != nil {
		return true, fmt.Errorf("delete %s through the middleware: %w", id, err)
	}
	return true, a.emitMiddleware(middlewareResultOutput{Route: gateway.ViaMiddleware, UniqueID: id, HTTPStatus: res.HTTPStatus,
		WorkflowInstanceID: res.WorkflowInstanceID, TraceID: res.TraceID, Warnings: res.Warnings})
}

// recordedRoute returns the route the outbox recorded for a published uniqueId ("" when
// unknown or the outbox cannot be read).
func (a *appEnv) recordedRoute(id string) string {
	path, err := a.outboxPath()
	if err != nil {
		return ""
	}
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	ob, err := outbox.Open(path)
	if err != nil {
		return ""
	}
	defer ob.Close()
	items, err := ob.Items()
	if err != nil {
		return ""
	}
	for _, it := range items {
		if it.UniqueID == id && it.State == outbox.Done {
			return decodeRoute(it.Metadata).Route
		}
	}
	return ""
}
