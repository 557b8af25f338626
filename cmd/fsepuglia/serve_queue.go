package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/adapter/queue"
	"github.com/fsepuglia/fsepuglia/adapter/queue/boltq"
	"github.com/fsepuglia/fsepuglia/adapter/queue/pgqueue"
)

// queueSpec describes a --queue value.
type queueSpec struct {
	kind string // "embedded" or "postgres"
	path string // bbolt file (embedded)
	dsn  string // PostgreSQL DSN
}

// String names the queue without credentials (logs, readiness).
func (q queueSpec) String() string {
	if q.kind == "postgres" {
		return "postgres " + redactDSN(q.dsn)
	}
	return "embedded " + q.path
}

// redactDSN hides the password of a postgres:// URL.
func redactDSN(dsn string) string {
	i := strings.Index(dsn, "://")
	if i < 0 {
		return dsn
	}
	rest := dsn[i+3:]
	at := strings.Index(rest, "@")
	if at < 0 {
		return dsn
	}
	if c := strings.Index(rest[:at], ":"); c >= 0 {
		return dsn[:i+3] + rest[:c] + ":xxxxx" + rest[at:]
	}
	return dsn
}

// parseQueue reads --queue: empty means the embedded queue in the data directory
// (<data-dir>/queue.db); a path or bolt://PATH an embedded queue there; postgres://… or
// postgresql://… (or a libpq key=value string) PostgreSQL.
func (a *appEnv) parseQueue(v string) (queueSpec, error) {
	switch {
	case v == "":
		if err := os.MkdirAll(a.opts.DataDir, 0o700); err != nil {
			return queueSpec{}, &adapter.InputError{Field: "data-dir", Value: a.opts.DataDir, Msg: fmt.Sprintf("cannot create: %v", unwrapPath(err)), Fix: "pass a writable --data-dir"}
		}
		return queueSpec{kind: "embedded", path: filepath.Join(a.opts.DataDir, "queue.db")}, nil
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"), strings.Contains(v, "dbname="):
		return queueSpec{kind: "postgres", dsn: v}, nil
	case strings.HasPrefix(v, "bolt://"):
		v = strings.TrimPrefix(v, "bolt://")
	case strings.Contains(v, "://"):
		return queueSpec{}, &adapter.InputError{Field: "--queue", Value: redactDSN(v), Msg: "unknown queue URL scheme",
			Fix: "use postgres://user@host/db for PostgreSQL, or a file path (bolt://PATH) for the embedded queue"}
	}
	if err := os.MkdirAll(filepath.Dir(v), 0o700); err != nil {
		return queueSpec{}, &adapter.InputError{Field: "--queue", Value: v, Msg: fmt.Sprintf("cannot create its directory: %v", unwrapPath(err)), Fix: "give a writable path"}
	}
	return queueSpec{kind: "embedded", path: v}, nil
}

// openQueue opens the store a queueSpec names.
func openQueue(ctx context.Context, q queueSpec) (queue.Store, error) {
	if q.kind == "postgres" {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		st, err := pgqueue.Open(ctx, q.dsn)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", q, err)
		}
		return st, nil
	}
	return boltq.Open(q.path)
}

// queueSender sends queue items with the current backend (it changes when certificates are
// reloaded).
type queueSender struct {
	backend func() *backend
	router  *router
}

func itemMetadata(it queue.Item) (adapter.Metadata, error) {
	var meta adapter.Metadata
	if err := json.Unmarshal(it.Metadata, &meta); err != nil {
		return meta, fmt.Errorf("metadata of %s in the queue: %w", it.UniqueID, err)
	}
	return meta, nil
}

// Send implements queue.Sender: the route recorded at enqueue (publish's router): legacy
// IDocumentService, or the FSE 2.0 middleware with the validation's workflowInstanceId.
func (s *queueSender) Send(ctx context.Context, it queue.Item) (queue.Result, error) {
	meta, err := itemMetadata(it)
	if err != nil {
		return queue.Result{}, err
	}
	body := it.Body
	if rm := decodeRoute(it.Metadata); rm.Route == gateway.ViaMiddleware {
		return s.sendMiddleware(ctx, it, body)
	}
	if len(body) == 0 && it.Path != "" {
		if body, err = os.ReadFile(it.Path); err != nil {
			return queue.Result{}, fmt.Errorf("%s: %w", it.Path, unwrapPath(err))
		}
	}
	h := sha256.Sum256(body)
	if hex.EncodeToString(h[:]) != it.SHA256 {
		return queue.Result{}, fmt.Errorf("the document of %s does not match its recorded SHA-256", it.UniqueID)
	}
	res := queue.Result{Route: "legacy"}
	if _, err := s.backend().docs.Publish(ctx, adapter.PublishRequest{Metadata: meta, Body: body, DocumentName: meta.DocumentName}); err != nil {
		if isDuplicate(err) {
			return res, fmt.Errorf("%w: %w", queue.ErrDuplicate, err)
		}
		return res, err
	}
	return res, nil
}

// sendMiddleware publishes a validated, signed document through the middleware; the
// workflow is checked again at send time (5 days, same CDA), as publish does.
func (s *queueSender) sendMiddleware(ctx context.Context, it queue.Item, body []byte) (queue.Result, error) {
	d, err := s.router.document(it.Path, body)
	if err != nil {
		return queue.Result{}, err
	}
	v, err := s.router.journal.Get(it.UniqueID)
	if err != nil {
		return queue.Result{}, err
	}
	res := queue.Result{Route: gateway.ViaMiddleware, WorkflowID: v.WorkflowInstanceID}
	if err := gateway.CheckPublishable(v, d, time.Now()); err != nil {
		return res, err
	}
	g, err := s.router.gateway()
	if err != nil {
		return res, err
	}
	if _, err := g.Publish(ctx, gateway.PublishRequest{Document: d, WorkflowInstanceID: v.WorkflowInstanceID}); err != nil {
		var p *gateway.Problem
		if errors.As(err, &p) && p.Class() == gateway.ClassConflict {
			return res, fmt.Errorf("%w: %w", queue.ErrDuplicate, err)
		}
		return res, err
	}
	return res, nil
}

// Lookup implements queue.Sender: for the legacy route retrieve, then compare hashes; for the
// middleware route the workflow's status (publish's routedSender.Lookup).
func (s *queueSender) Lookup(ctx context.Context, it queue.Item) (bool, bool, error) {
	if rm := decodeRoute(it.Metadata); rm.Route == gateway.ViaMiddleware {
		found, same, err := (&routedSender{r: s.router}).Lookup(ctx, outbox.Item{Entry: outbox.Entry{UniqueID: it.UniqueID, SHA256: it.SHA256, Metadata: it.Metadata}})
		return found, same, err
	}
	meta, err := itemMetadata(it)
	if err != nil {
		return false, false, err
	}
	doc, err := s.backend().docs.Retrieve(ctx, meta.PatientCF, it.UniqueID)
	if err != nil {
		switch {
		case isNotFound(err):
			return false, false, nil
		case classifyRemote(err) == remoteConsent:
			return false, false, fmt.Errorf("%w: %w", queue.ErrLookupRefused, err)
		}
		return false, false, err
	}
	if len(doc.Body) > 0 {
		h := sha256.Sum256(doc.Body)
		return true, hex.EncodeToString(h[:]) == it.SHA256, nil
	}
	return true, strings.EqualFold(doc.Metadata.Hash, it.SHA256), nil
}

// classifyQueueError tells the queue's workers what an error of a call means: a fault the
// region answered (its class; transient ones are retried), a failure on the way (retried, and
// the item is in doubt), or a local problem (permanent: fix it and retry).
func classifyQueueError(err error) queue.Class {
	var gp *gateway.Problem
	if errors.As(err, &gp) {
		st := gp.HTTPStatus
		if st == 0 {
			st = gp.Status
		}
		// A problem the middleware answered; a transient one at the door (429, 503) means the
		// document did not go in, other transient ones (502, 504, mw/io_error) leave it in doubt.
		return queue.Class{Retryable: gp.Transient(), Answered: !gp.Transient() || st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable,
			Name: "middleware-" + string(gp.Class()), Code: gp.Type}
	}
	if code, class, ok := faultOf(err); ok {
		return queue.Class{Retryable: class == fault.Transient, Answered: true, Name: class.String(), Code: code}
	}
	if classifyRemote(err) == remoteTransport {
		c := queue.Class{Retryable: true, Name: "transport"}
		var se *fault.StatusError
		if errors.As(err, &se) {
			c.Name, c.RetryAfter = fmt.Sprintf("http-%d", se.StatusCode), se.RetryAfter
			// 429 and 503 are a refusal at the door: the document did not go in.
			c.Answered = se.StatusCode == http.StatusTooManyRequests || se.StatusCode == http.StatusServiceUnavailable
		}
		return c
	}
	return queue.Class{Name: "local"}
}
