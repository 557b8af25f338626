package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/fsepuglia/fsepuglia/adapter/batch"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

// routedMeta is what the outbox keeps of an item: its metadata and the route decided when it
// was recorded (adapter/outbox keeps the metadata opaque; the legacy sender reads the
// adapter.Metadata fields and ignores the others).
type routedMeta struct {
	docmeta.Metadata
	// Route is gateway.ViaLegacy ("" in items recorded before routing existed) or
	// gateway.ViaMiddleware.
	Route string `json:"route,omitempty"`
	// RouteReason says why, for the output.
	RouteReason string `json:"route_reason,omitempty"`
	// WorkflowInstanceID is the validation's, for a middleware publication and its Status
	// lookup.
	WorkflowInstanceID string `json:"workflow_instance_id,omitempty"`
}

func decodeRoute(raw json.RawMessage) routedMeta {
	var m routedMeta
	_ = json.Unmarshal(raw, &m)
	if m.Route == "" {
		m.Route = gateway.ViaLegacy
	}
	return m
}

// router decides, document by document, the route of a publication (scenario and supported
// types, gateway.RouteFor) and enforces the workflow before anything is recorded: in the
// intermediate and final scenarios a supported document must have been validated by the
// middleware, with the same CDA (legalAuthenticator aside), less than 5 days ago; in the
// final scenario it goes to the middleware, signed.
type router struct {
	a       *appEnv
	journal *gateway.Journal
	gwOnce  sync.Once
	gw      gatewayAPI
	gwErr   error
	used    bool // some item goes through the middleware
}

func (a *appEnv) newRouter() (*router, error) {
	r := &router{a: a}
	sc, err := gateway.ParseScenario(a.cfg.Gateway.Scenario)
	if err != nil {
		return nil, err
	}
	if sc != gateway.ScenarioCurrent {
		if r.journal, err = a.journal(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *router) close() {
	if r.journal != nil {
		r.journal.Close()
	}
}

func (r *router) document(path string, body []byte) (*gateway.Document, error) {
	d, _, err := gateway.NewDocument(body, filepath.Base(path), docmeta.Options{Profile: docProfile(r.a.cfg)})
	return d, err
}

// metadata returns the outbox metadata of doc with its route, or why it may not be published.
func (r *router) metadata(doc *loadedDoc) (json.RawMessage, gateway.Route, error) {
	rt, err := gateway.RouteFor(r.a.cfg.Gateway, doc.meta.TypeCode)
	if err != nil {
		return nil, rt, err
	}
	m := routedMeta{Metadata: doc.meta, Route: rt.Via, RouteReason: rt.Reason}
	if rt.ValidateFirst {
		// The file is checked without reading it into memory (unless serve holds it).
		var d *gateway.Document
		var err error
		if doc.body != nil {
			d, err = r.document(doc.path, doc.body)
		} else {
			d, _, err = gateway.NewDocumentFile(doc.path, docmeta.Options{Profile: docProfile(r.a.cfg)})
		}
		if err != nil {
			return nil, rt, fmt.Errorf("%s: %w", doc.path, err)
		}
		v, err := r.journal.Get(doc.meta.UniqueID)
		if err != nil {
			return nil, rt, err
		}
		if err := gateway.CheckPublishable(v, d, r.a.deps.now()); err != nil {
			return nil, rt, fmt.Errorf("%s (%s): %w", doc.path, rt.Reason, err)
		}
		if rt.Via == gateway.ViaMiddleware {
			if msg := padesProblem(doc, d.Signed); msg != "" && r.a.cfg.Signatures.RequirePDF() {
				return nil, rt, &gateway.FieldError{Field: "file", Value: filepath.Base(doc.path), Msg: msg + ": the middleware refuses it (/msg/sign-error)", Fix: "sign the validated PDF (fsepuglia sign --pdf) after its last change, then publish"}
			}
			m.WorkflowInstanceID = v.WorkflowInstanceID
			r.used = true
		}
	}
	raw, err := json.Marshal(m)
	return raw, rt, err
}

func (r *router) gateway() (gatewayAPI, error) {
	r.gwOnce.Do(func() { r.gw, r.gwErr = r.a.gateway() })
	return r.gw, r.gwErr
}

// routedSender sends each item the way it was routed: legacy IDocumentService, or the
// middleware (the publication of the validated, signed PDF, workflowInstanceId attached).
type routedSender struct {
	r      *router
	legacy outbox.Sender
}

func (r *router) sender(legacy outbox.Sender) outbox.Sender {
	return &routedSender{r: r, legacy: legacy}
}

// Send implements outbox.Sender. The workflow is checked again at send time: a resumed
// batch may come after the 5 days or find the file changed.
func (s *routedSender) Send(ctx context.Context, it outbox.Item) error {
	m := decodeRoute(it.Metadata)
	if m.Route != gateway.ViaMiddleware {
		return s.legacy.Send(ctx, it)
	}
	req, err := batch.Request(it) // the file, checked against the recorded hash
	if err != nil {
		return err
	}
	d, err := s.r.document(it.Path, req.Body)
	if err != nil {
		return err
	}
	v, err := s.r.journal.Get(it.UniqueID)
	if err != nil {
		return err
	}
	if err := gateway.CheckPublishable(v, d, s.r.a.deps.now()); err != nil {
		return err
	}
	g, err := s.r.gateway()
	if err != nil {
		return err
	}
	if _, err := g.Publish(ctx, gateway.PublishRequest{Document: d, WorkflowInstanceID: v.WorkflowInstanceID}); err != nil {
		var p *gateway.Problem
		if errors.As(err, &p) && p.Class() == gateway.ClassConflict {
			return fmt.Errorf("%w: %w", outbox.ErrDuplicate, err)
		}
		return err
	}
	return nil
}

// Lookup implements outbox.Sender: a middleware item is reconciled with Status on its
// workflowInstanceId (a PUBLICATION SUCCESS event for its uniqueId means it was published:
// the workflow binds the validated CDA); an unknown workflow means it was not.
func (s *routedSender) Lookup(ctx context.Context, it outbox.Item) (bool, bool, error) {
	m := decodeRoute(it.Metadata)
	if m.Route != gateway.ViaMiddleware {
		return s.legacy.Lookup(ctx, it)
	}
	g, err := s.r.gateway()
	if err != nil {
		return false, false, err
	}
	st, err := g.Status(ctx, m.WorkflowInstanceID)
	if err != nil {
		var p *gateway.Problem
		if errors.As(err, &p) && p.Class() == gateway.ClassNotFound {
			return false, false, nil
		}
		return false, false, err
	}
	for _, e := range st.Events {
		if e.EventType == "PUBLICATION" && e.EventStatus == "SUCCESS" && (e.DocumentID == "" || e.DocumentID == it.UniqueID) {
			return true, true, nil
		}
	}
	return false, false, nil
}

// padesProblem says why the PDF would fail the gateway's signature check at publication
// (no PAdES signature, or none that verifies over the whole file), "" when it passes.
// The file is read as it is hashed (pades.VerifyAt), unless doc holds it in memory.
func padesProblem(doc *loadedDoc, signed bool) string {
	if !signed {
		return "not PAdES-signed"
	}
	var sigs []pades.Signature
	var err error
	if doc.body != nil {
		sigs, err = pades.Verify(doc.body, sign.VerifyOptions{})
	} else if f, oerr := os.Open(doc.path); oerr != nil {
		err = oerr
	} else {
		sigs, err = pades.VerifyAt(f, doc.size, sign.VerifyOptions{})
		f.Close()
	}
	if err != nil {
		return "its signature cannot be read (" + err.Error() + ")"
	}
	if pades.Intact(sigs) {
		return ""
	}
	last := sigs[len(sigs)-1]
	if len(last.Problems) > 0 {
		return "its PAdES signature does not verify over the whole file: " + last.Problems[0]
	}
	return "its PAdES signature does not verify over the whole file"
}
