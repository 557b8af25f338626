// Package queue is the durable work queue of `fsepuglia serve`: documents are enqueued once,
// claimed by workers with a lease, and settled (done, failed, in doubt) with a compare-and-set
// on the claim, so that several workers, and several processes on one PostgreSQL, share the
// work without a document ever being transmitted twice.
//
// The rules are those of the CLI's outbox (adapter/outbox): an item is marked sending, with
// its attempt counted, in a committed transaction before it is sent; an item that was ever
// claimed before may have reached the region, so it is reconciled with Sender.Lookup before
// any new send; a claim whose lease has run out (its process crashed) is such an item. The
// rules live once, in Work; a Store only keeps the items (boltq: embedded bbolt file, the
// default; pgqueue: PostgreSQL for several instances).
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// State is the state of an item.
type State string

// The item states.
const (
	// Queued items wait for a worker (from NextAt on).
	Queued State = "queued"
	// Sending items are claimed by a worker until LeaseUntil; past it they are in doubt and
	// are claimed again, then reconciled before any send.
	Sending State = "sending"
	// InDoubt items may have reached the region: they are reconciled (Lookup) before any
	// resend. A retryable one is taken again from NextAt on; one that is not waits for an
	// operator (Retry or Forget).
	InDoubt State = "in-doubt"
	// Done items are published (Outcome says how).
	Done State = "done"
	// Failed items failed; a retryable one is not in this state (it is Queued again).
	Failed State = "failed"
)

// States lists every state, in the order of the life of an item.
var States = []State{Queued, Sending, InDoubt, Done, Failed}

// Outcome says how an item reached Done.
type Outcome string

// The outcomes of a done item.
const (
	// Sent: this queue sent the document and the region accepted it.
	Sent Outcome = "sent"
	// AlreadyPresent: the region already held the document with the same hash.
	AlreadyPresent Outcome = "already-present"
)

// Errors of a Store and of Work.
var (
	// ErrNotFound: no item with this key.
	ErrNotFound = errors.New("queue: no such item")
	// ErrBusy: the item is being sent; retry or forget it once it is settled.
	ErrBusy = errors.New("queue: the item is being sent")
	// ErrLeaseLost: the claim was taken over (its lease ran out) and cannot be settled.
	ErrLeaseLost = errors.New("queue: the claim's lease was lost")
	// ErrDuplicate is what a Sender's Send error must match when the region answers that the
	// uniqueId is already published.
	ErrDuplicate = errors.New("queue: uniqueId already published")
	// ErrLookupRefused is what a Sender's Lookup error must match when the region refuses to
	// show the document (consent): sending is then still safe, the region refusing a second
	// copy of a uniqueId with ErrDuplicate.
	ErrLookupRefused = errors.New("queue: the region refuses to show the document")
)

// Entry is a document to enqueue.
type Entry struct {
	// UniqueID is the document uniqueId it is published under.
	UniqueID string `json:"unique_id"`
	// SHA256 is the hex SHA-256 of the document's bytes.
	SHA256 string `json:"sha256"`
	// Size is the document's size in bytes.
	Size int64 `json:"size"`
	// Path is where the document came from (a file name, for reporting; Body is what is sent).
	Path string `json:"path,omitempty"`
	// Source says who enqueued it ("api", "watch", "cli").
	Source string `json:"source,omitempty"`
	// Metadata is the document's metadata as the caller encoded it (serve stores an
	// adapter.Metadata as JSON); the queue keeps it opaque. It holds the patient's CF.
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// Body is the document. Stores keep it until the item is done; Claim returns it.
	Body []byte `json:"-"`
}

// Item is an enqueued entry with its state.
type Item struct {
	Entry
	// Key identifies the item: Key(SHA256, UniqueID).
	Key string `json:"key"`
	// Seq is the enqueue order.
	Seq int64 `json:"seq"`
	// State is the item's state.
	State State `json:"state"`
	// Outcome is set when State is Done.
	Outcome Outcome `json:"outcome,omitempty"`
	// Reason says why an item failed or is in doubt (no personal data).
	Reason string `json:"reason,omitempty"`
	// FaultClass is the class of the last failure (adapter/fault classes, or "transport").
	FaultClass string `json:"fault_class,omitempty"`
	// FaultCode is the region's code of the last failure (FSE-NNNNN), when it answered one.
	FaultCode string `json:"fault_code,omitempty"`
	// Retryable says whether a failed or in-doubt item is taken again by the workers.
	Retryable bool `json:"retryable,omitempty"`
	// Answered says that the region answered the last attempt with a refusal (a transient
	// fault, HTTP 429/503): it holds nothing from it, so the next attempt needs no lookup.
	Answered bool `json:"answered,omitempty"`
	// Attempts counts the claims. An item claimed before may have reached the region.
	Attempts int `json:"attempts"`
	// Route is where the document was sent: "legacy" (IDocumentService) or "middleware".
	Route string `json:"route,omitempty"`
	// WorkflowID is the middleware's workflowInstanceId, when the route gives one.
	WorkflowID string `json:"workflow_instance_id,omitempty"`
	// NextAt is when a queued or retryable in-doubt item may be claimed.
	NextAt time.Time `json:"next_at"`
	// LeaseUntil is when a sending item's claim runs out.
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	// Owner names the worker holding the claim (instance id).
	Owner string `json:"owner,omitempty"`
	// Token is the claim's fencing token: a settle is committed only with the current one.
	Token int64 `json:"token"`
	// Enqueued and Updated are the times of enqueue and of the last change.
	Enqueued time.Time `json:"enqueued"`
	Updated  time.Time `json:"updated"`
}

// Key returns the identity of an entry: the same bytes under the same uniqueId are one item.
func Key(sha256Hex, uniqueID string) string { return sha256Hex + "|" + uniqueID }

// EnqueueResult counts what Enqueue did.
type EnqueueResult struct {
	// Added items are new.
	Added int `json:"added"`
	// Requeued items had failed and are queued again.
	Requeued int `json:"requeued"`
	// Existing items were already queued, in flight, in doubt or done, and are left as they are.
	Existing int `json:"existing"`
	// Keys are the items' keys, in the order of the entries.
	Keys []string `json:"keys"`
}

// Filter selects items for List.
type Filter struct {
	// States keeps items in one of these states; empty means all.
	States []State
	// Limit caps the answer; 0 means 1000.
	Limit int
	// After starts after this Seq (paging).
	After int64
}

// Store keeps the items. Implementations are safe for concurrent use; Work brings the rules.
type Store interface {
	// Enqueue records entries in one transaction; an entry already present is not
	// duplicated, a failed one is queued again.
	Enqueue(ctx context.Context, entries []Entry) (EnqueueResult, error)
	// Get returns the item with key (without Body).
	Get(ctx context.Context, key string) (Item, error)
	// List returns items in enqueue order (without Body).
	List(ctx context.Context, f Filter) ([]Item, error)
	// Counts returns the number of items per state.
	Counts(ctx context.Context) (map[State]int, error)
	// Retry queues a failed or in-doubt item again now (an in-doubt item stays in doubt, so
	// that it is reconciled first). ErrBusy for an item being sent.
	Retry(ctx context.Context, key string) (Item, error)
	// Forget removes an item that is not being sent.
	Forget(ctx context.Context, key string) error
	// ForgetDone removes done items updated before t.
	ForgetDone(ctx context.Context, before time.Time) (int, error)
	// Claim takes the next runnable item (queued or retryable in doubt from NextAt on, or
	// sending with its lease run out) for owner: in one transaction it becomes Sending with
	// Attempts+1, a new Token and LeaseUntil = now+lease. ok is false when none is runnable.
	Claim(ctx context.Context, owner string, lease time.Duration) (it Item, ok bool, err error)
	// Extend moves the claim's lease to now+lease; ErrLeaseLost when the token is no longer current.
	Extend(ctx context.Context, it Item, lease time.Duration) error
	// Settle commits the item's new state (State, Outcome, Reason, FaultClass, FaultCode,
	// Retryable, Answered, Route, WorkflowID, NextAt) if it.Token is still the current claim, and
	// releases the claim; ErrLeaseLost otherwise. A done item's body is dropped.
	Settle(ctx context.Context, it Item) error
	// Release gives a claimed item back untouched by a send (shutdown before sending): it
	// returns to its earlier state with Attempts restored.
	Release(ctx context.Context, it Item, prev State) error
	// Close releases the store.
	Close() error
}
