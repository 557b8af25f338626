// Package outbox is a durable queue for batch publication. A batch is first enqueued, every
// file in one transaction, then items are sent with bounded concurrency and each state change
// is committed (pending → sending → done | failed | in-doubt; commits are grouped without
// reordering them, see DESIGN.md: an item is durably sending before its request leaves, and
// reported done only once that is durable). A run killed at any point
// resumes on the next Run without losing an item or sending one twice: an item that was ever
// marked sending may have reached the region, and it is reconciled with Sender.Lookup before
// it is sent again, and not before its last attempt can no longer arrive
// (Options.InDoubtAfter). An item the region will not show (Lookup refused, e.g. no
// consultation consent) stays in doubt until a later Run can look it up or the user settles
// it (Retry, Remove); it is never sent again on a guess.
//
// Runs may overlap within one process: each item is claimed by exactly one Run (an in-process
// claim, then its committed state is read again), so an item is never processed twice at once;
// a second process is kept out by the database lock (ErrLocked).
//
// The outbox knows nothing of SOAP: it calls a Sender, which package adapter/batch implements
// on top of adapter.Client and tests implement with fakes.
package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/internal/boltgroup"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// State is the state of an item.
type State string

// The item states.
const (
	// Pending items have not been sent, or are to be sent again.
	Pending State = "pending"
	// Sending items are being sent; found at the start of a Run, their Run died while
	// sending (they are in doubt).
	Sending State = "sending"
	// Done items are on the region (Outcome says how).
	Done State = "done"
	// Failed items failed; Retryable ones are sent again by the next Run.
	Failed State = "failed"
	// InDoubt items may have reached the region and could not be checked (the send was
	// interrupted, or Lookup was refused or failed): the next Run looks them up again before
	// anything else; Retry lets one be sent although the lookup is refused.
	InDoubt State = "in-doubt"
)

// Outcome says how an item reached Done.
type Outcome string

// The outcomes of a done item.
const (
	// Sent: this outbox sent the document and the region accepted it.
	Sent Outcome = "sent"
	// AlreadyPresent: the region already held the document with the same hash (an in-doubt
	// item reconciled, or a duplicate fault confirmed by Lookup).
	AlreadyPresent Outcome = "already-present"
)

// ErrDuplicate is what a Sender's Send error must match (errors.Is) when the region answers
// that the uniqueId is already published (FSE-00409). The outbox then calls Lookup and counts
// the item as done only if the region's copy has the same hash.
var ErrDuplicate = errors.New("outbox: uniqueId already published")

// ErrLookupRefused is what a Sender's Lookup error must match (errors.Is) when the region
// answers but refuses to show the document (e.g. consultation refused for consent). An
// in-doubt item is then sent anyway: the region refuses a second copy of a uniqueId
// (ErrDuplicate), so the send cannot publish it twice; a duplicate whose hash cannot be
// confirmed fails without retry, with a reason that says so.
var ErrLookupRefused = errors.New("outbox: the region refuses to show the document")

// ErrLocked is returned by Open when another process holds the outbox open.
var ErrLocked = errors.New("outbox: database is in use by another process")

// Entry is a file to enqueue.
type Entry struct {
	// Path is the file's path as given by the user (kept for reporting and to read the
	// body when the item is sent).
	Path string `json:"path"`
	// SHA256 is the hex SHA-256 of the file's bytes.
	SHA256 string `json:"sha256"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// UniqueID is the document uniqueId the file is published under.
	UniqueID string `json:"unique_id"`
	// Metadata is the document's metadata as the caller encoded it (the CLI stores an
	// adapter.Metadata as JSON); the outbox keeps it opaque.
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// Item is an enqueued entry with its state.
type Item struct {
	Entry
	// Key identifies the item: SHA256 and UniqueID.
	Key string `json:"key"`
	// Seq is the enqueue order; items are sent in this order (up to the concurrency).
	Seq uint64 `json:"seq"`
	// State is the item's current state.
	State State `json:"state"`
	// Outcome is set when State is Done.
	Outcome Outcome `json:"outcome,omitempty"`
	// Reason is why the item failed (State Failed).
	Reason string `json:"reason,omitempty"`
	// Retryable says whether a failed item is sent again by the next Run.
	Retryable bool `json:"retryable,omitempty"`
	// Attempts counts how many times the item was marked sending. An item with Attempts > 0
	// may have reached the region and is reconciled with Lookup before any new send.
	Attempts int `json:"attempts"`
	// LastAttempt is when the item was last marked sending.
	LastAttempt time.Time `json:"last_attempt,omitempty"`
	// Answered says that the region answered the last attempt (a fault, an HTTP status):
	// it cannot arrive later, so a lookup needs no wait (Options.InDoubtAfter).
	Answered bool `json:"answered,omitempty"`
	// ResendConfirmed is set by Retry on an item in doubt: the user accepts that it is sent
	// again when the region refuses to show whether it holds it (a copy it holds is refused
	// as a duplicate). Cleared once the item is done.
	ResendConfirmed bool `json:"resend_confirmed,omitempty"`
	// Attrs are the caller's own facts about the item (e.g. a validation hash or a
	// workflow instance id), kept as they are; set them with Update.
	Attrs map[string]string `json:"attrs,omitempty"`
	// Enqueued and Updated are the times of enqueue and of the last state change.
	Enqueued time.Time `json:"enqueued"`
	Updated  time.Time `json:"updated"`
}

// IsInDoubt reports whether the item may have reached the region without this outbox
// knowing: in doubt, or found sending (its Run died).
func (it Item) IsInDoubt() bool { return it.State == InDoubt || it.State == Sending }

// Sender sends items to the region and looks them up there. Implementations must be safe for
// concurrent use.
type Sender interface {
	// Send publishes the item. An answer that the uniqueId already exists must match
	// ErrDuplicate with errors.Is.
	Send(ctx context.Context, it Item) error
	// Lookup asks the region whether it holds it.UniqueID, and if so whether its hash equals
	// it.SHA256.
	Lookup(ctx context.Context, it Item) (found bool, sameHash bool, err error)
}

// Key returns the identity of an entry: the same file under the same uniqueId is one item.
func Key(sha256Hex, uniqueID string) string { return sha256Hex + "|" + uniqueID }

var (
	bucketItems = []byte("items")
	// bucketSeq indexes the items in enqueue order: 8-byte big-endian Seq -> item key. Runs
	// and listings walk it in chunks instead of loading every item (DESIGN.md, memory).
	bucketSeq = []byte("seq")
)

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// keyIndexed, in bucketSeq (sorted after every 8-byte key), holds the items bucket's sequence
// as of the last item indexed.
var keyIndexed = []byte("\xff\xffindexed")

// chunk is how many items a walk reads per read transaction.
const chunk = 64

// A transaction that reads several items releases the mapped pages (release) after each one:
// each page fault on the map also maps the cached pages around it (the kernel's fault-around:
// 64 KiB, or the whole large folio the page is in on recent kernels), and reading one item
// touches its path from the root (depth 4 for 10,000 items). Measured through
// /proc/self/pagemap in a 10,000-document batch (issue 13): one item read maps 190-380 KB;
// releasing every 8 items left a median of 572 KB mapped at each release (2.5 MB at most),
// every item 380 KB (2.0 MB at most), and the batch's peak RSS went down by ≈ 0.7 MB.

// Outbox is a durable queue in one bbolt file. It is safe for concurrent use within one
// process; a second process opening the same file gets ErrLocked.
type Outbox struct {
	db  *bolt.DB
	now func() time.Time

	mu     sync.Mutex
	claims map[string]bool // items being processed by a Run of this process

	// group commits the workers' state changes (commitGroup); tests count its commits and
	// hold one with its BeforeCommit.
	group boltgroup.Committer

	// afterSend, when set (tests), runs after a successful or failed Send and before its
	// state is committed; a non-nil error aborts the item without committing anything.
	afterSend func(it Item) error
}

// Open opens (creating if needed) the outbox at path. It waits at most one second for
// another process's lock and then returns an error matching ErrLocked.
func Open(path string) (*Outbox, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("outbox %s: %w (wait for the other fsepuglia to finish)", path, ErrLocked)
		}
		return nil, fmt.Errorf("outbox %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		items, err := tx.CreateBucketIfNotExists(bucketItems)
		if err != nil {
			return err
		}
		defer release(tx)
		if idx := tx.Bucket(bucketSeq); idx != nil {
			// A version of fsepuglia without the index may have added items since (it
			// advances the items' sequence without indexing them): then the index is built
			// again, or the items it lacks would never be sent.
			if bytes.Equal(idx.Get(keyIndexed), seqKey(items.Sequence())) {
				return nil
			}
			if err := tx.DeleteBucket(bucketSeq); err != nil {
				return err
			}
		}
		// An outbox written before the enqueue-order index: build it.
		idx, err := tx.CreateBucket(bucketSeq)
		if err != nil {
			return err
		}
		err = items.ForEach(func(k, v []byte) error {
			release(tx)
			var it Item
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("outbox: item %s: %w", k, err)
			}
			return idx.Put(seqKey(it.Seq), k)
		})
		if err != nil {
			return err
		}
		return idx.Put(keyIndexed, seqKey(items.Sequence()))
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox %s: %w", path, err)
	}
	o := &Outbox{db: db, now: time.Now, claims: map[string]bool{}}
	o.group.DB, o.group.AfterCommit = db, o.releaseAll
	return o, nil
}

// Close closes the database file.
func (o *Outbox) Close() error { return o.db.Close() }

// EnqueueResult counts what Enqueue did.
type EnqueueResult struct {
	// Added items are new.
	Added int
	// Requeued items had failed and are pending again (their metadata refreshed).
	Requeued int
	// Existing items were already pending, in doubt or done and are left as they are.
	Existing int
	// AlreadyDone is the subset of Existing that is done.
	AlreadyDone int
}

// Enqueue records entries in one transaction: either all are recorded or none. An entry whose
// key is already present is not duplicated; if that item had failed it becomes pending again
// with the entry's metadata.
func (o *Outbox) Enqueue(entries []Entry) (EnqueueResult, error) {
	var res EnqueueResult
	for i, e := range entries {
		if e.SHA256 == "" || e.UniqueID == "" {
			return res, fmt.Errorf("outbox: entry %d (%s): sha256 and unique id are required", i, e.Path)
		}
	}
	now := o.now().UTC()
	err := o.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		res = EnqueueResult{}
		for _, e := range entries {
			release(tx)
			key := Key(e.SHA256, e.UniqueID)
			if raw := b.Get([]byte(key)); raw != nil {
				var it Item
				if err := json.Unmarshal(raw, &it); err != nil {
					return fmt.Errorf("outbox: item %s: %w", key, err)
				}
				if it.State != Failed {
					res.Existing++
					if it.State == Done {
						res.AlreadyDone++
					}
					continue
				}
				it.Entry, it.State, it.Reason, it.Retryable, it.Updated = e, Pending, "", false, now
				if err := put(b, it); err != nil {
					return err
				}
				res.Requeued++
				continue
			}
			seq, err := b.NextSequence()
			if err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
			it := Item{Entry: e, Key: key, Seq: seq, State: Pending, Enqueued: now, Updated: now}
			if err := put(b, it); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSeq).Put(seqKey(seq), []byte(key)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSeq).Put(keyIndexed, seqKey(seq)); err != nil {
				return err
			}
			res.Added++
		}
		return nil
	})
	o.releaseAll()
	if err != nil {
		return EnqueueResult{}, err
	}
	return res, nil
}

func put(b *bolt.Bucket, it Item) error {
	raw, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("outbox: item %s: %w", it.Key, err)
	}
	return b.Put([]byte(it.Key), raw)
}

// Items returns every item in enqueue order.
func (o *Outbox) Items() ([]Item, error) {
	var items []Item
	err := o.Walk(func(it Item) error {
		items = append(items, it)
		return nil
	})
	return items, err
}

// Walk calls fn for every item in enqueue order, reading them a few at a time (fn runs outside
// any transaction: it may call the outbox). Memory does not grow with the outbox: the pages
// read are also dropped from the process's resident set after each chunk (release). An
// error from fn stops the walk and is returned.
func (o *Outbox) Walk(fn func(Item) error) error {
	var after []byte
	buf := make([]Item, 0, chunk)
	for {
		buf = buf[:0]
		more := false
		err := o.db.View(func(tx *bolt.Tx) error {
			defer release(tx)
			items := tx.Bucket(bucketItems)
			c := tx.Bucket(bucketSeq).Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for n := 0; k != nil && n < chunk; k, v = c.Next() {
				n++
				release(tx)
				after = bytes.Clone(k)
				if len(k) != 8 {
					continue // keyIndexed
				}
				raw := items.Get(v)
				if raw == nil {
					continue // removed meanwhile
				}
				var it Item
				if err := json.Unmarshal(raw, &it); err != nil {
					return fmt.Errorf("outbox: item %s: %w", v, err)
				}
				buf = append(buf, it)
			}
			more = k != nil
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range buf {
			if err := fn(it); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

// releaseAll drops the mapped pages that the last write transaction read, its commit
// included (a commit reads the old page of every node it rewrites).
func (o *Outbox) releaseAll() {
	_ = o.db.View(func(tx *bolt.Tx) error {
		release(tx)
		return nil
	})
}

// Fetch reads the items with keys (found false for a key the outbox does not hold) in one
// read transaction and calls fn for each, in the order of keys, outside it.
func (o *Outbox) Fetch(keys []string, fn func(key string, it Item, found bool) error) error {
	items := make([]Item, len(keys))
	found := make([]bool, len(keys))
	err := o.db.View(func(tx *bolt.Tx) error {
		defer release(tx)
		b := tx.Bucket(bucketItems)
		for i, k := range keys {
			release(tx)
			raw := b.Get([]byte(k))
			if raw == nil {
				continue
			}
			if err := json.Unmarshal(raw, &items[i]); err != nil {
				return fmt.Errorf("outbox: item %s: %w", k, err)
			}
			found[i] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, k := range keys {
		if err := fn(k, items[i], found[i]); err != nil {
			return err
		}
	}
	return nil
}

// Get returns the item with key.
func (o *Outbox) Get(key string) (Item, bool, error) {
	var it Item
	var ok bool
	err := o.db.View(func(tx *bolt.Tx) error {
		defer release(tx) // a Run gets every item: its pages would add up
		raw := tx.Bucket(bucketItems).Get([]byte(key))
		if raw == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(raw, &it)
	})
	return it, ok, err
}

// Unfinished counts items that the next Run would process.
func (o *Outbox) Unfinished() (int, error) {
	n := 0
	err := o.Walk(func(it Item) error {
		if runnable(it) {
			n++
		}
		return nil
	})
	return n, err
}

func runnable(it Item) bool {
	switch it.State {
	case Pending, Sending, InDoubt:
		return true
	case Failed:
		return it.Retryable
	}
	return false
}

// Options tune a Run.
type Options struct {
	// Concurrency bounds the items in flight; 0 or less means 4.
	Concurrency int
	// Retryable classifies a Send or Lookup error; nil means every error except ErrDuplicate
	// and context cancellation is permanent. A retryable failure is sent again by the next Run.
	Retryable func(error) bool
	// OnChange, when set, is called after each committed state change (from several
	// goroutines at once: it must be safe for concurrent use).
	OnChange func(Item)
	// Keys, when non-empty, limits the run to these items.
	Keys []string
	// InDoubtAfter is how long after an attempt started it can no longer reach the region
	// (the Sender's call timeout). An item that may have reached the region is looked up
	// only once that much time has passed since its last attempt: looked up sooner, a
	// request still on its way would be missed and the item sent twice. The Run waits for
	// it (other items go on meanwhile). 0 means no wait (tests, or a Sender that cannot
	// leave a request behind).
	InDoubtAfter time.Duration
	// Answered classifies a failed Send: true when the error is the region's answer (a
	// fault, an HTTP status), so the attempt cannot reach the region later. nil means
	// never: every failed attempt is waited for.
	Answered func(error) bool
	// Drain is how long sends already in flight may go on after ctx ends: they complete
	// and are committed instead of being left in doubt, while no new item starts. 0 means
	// they are cancelled with ctx.
	Drain time.Duration
}

// Summary counts the items processed by a Run.
type Summary struct {
	// Sent items were sent and accepted.
	Sent int `json:"sent"`
	// AlreadyPresent items were found on the region with the same hash.
	AlreadyPresent int `json:"already_present"`
	// Failed items failed in this run (see Item.Reason).
	Failed int `json:"failed"`
	// Interrupted items were not started (or not yet looked up) because the context ended;
	// they are pending as before.
	Interrupted int `json:"interrupted"`
	// InDoubt items may have reached the region and could not be checked: their send was
	// interrupted, or the region refused or failed the lookup. The next Run looks them up.
	InDoubt int `json:"in_doubt"`
}

// Run processes every pending, in-doubt and retryable failed item (or only opts.Keys) with at
// most opts.Concurrency in flight, committing each state change. It returns when every item
// is done, failed or in doubt, or when ctx ends (then with ctx's error; the outbox resumes
// next time). Items claimed by another Run of this process are left to it. A database error
// stops the run and is returned.
//
// Commits are grouped (DESIGN.md): an item's final state is committed in the same
// transaction as the next item's "sending" when the worker has that next item at hand, and
// workers committing at the same time share one transaction. Each item is still marked
// sending, durably, before its request leaves, and its final state is durable before
// OnChange reports it.
func (o *Outbox) Run(ctx context.Context, s Sender, opts Options) (Summary, error) {
	n := opts.Concurrency
	if n <= 0 {
		n = 4
	}
	want := map[string]bool{}
	for _, k := range opts.Keys {
		want[k] = true
	}
	ready := func(it Item) time.Time {
		if it.Attempts == 0 || it.Answered || opts.InDoubtAfter <= 0 {
			return time.Time{}
		}
		return it.LastAttempt.Add(opts.InDoubtAfter)
	}

	var (
		mu      sync.Mutex
		sum     Summary
		firstDB error
	)
	count := func(res result, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			if firstDB == nil {
				firstDB = err
			}
		case res == resSent:
			sum.Sent++
		case res == resPresent:
			sum.AlreadyPresent++
		case res == resFailed:
			sum.Failed++
		case res == resInterrupted:
			sum.Interrupted++
		case res == resInDoubt:
			sum.InDoubt++
		}
	}
	jobs := make(chan Item)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.work(ctx, s, opts, jobs, count)
		}()
	}
	// The feeder walks the outbox in enqueue order (a chunk at a time: nothing per item is
	// kept) and hands over the items that need no wait; those that may have reached the
	// region and must wait for their last attempt (InDoubtAfter) are kept aside, by key, and
	// handed over last, in the order they become checkable.
	stopped := false
	feed := func(it Item) {
		if !stopped {
			mu.Lock()
			stopped = firstDB != nil
			mu.Unlock()
		}
		if !stopped {
			if wait := time.Until(ready(it)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
			if ctx.Err() == nil {
				select {
				case jobs <- it:
					return
				case <-ctx.Done():
				}
			}
			stopped = true
		}
		if ctx.Err() == nil {
			return // stopped by a database error: not counted
		}
		mu.Lock()
		if it.IsInDoubt() {
			sum.InDoubt++
		} else {
			sum.Interrupted++
		}
		mu.Unlock()
	}
	type later struct {
		key   string
		ready time.Time
	}
	var waiting []later
	take := func(it Item) error {
		if !runnable(it) || len(want) > 0 && !want[it.Key] {
			return nil
		}
		if r := ready(it); time.Until(r) > 0 && !stopped {
			waiting = append(waiting, later{it.Key, r})
			return nil
		}
		feed(it)
		return nil
	}
	var err error
	if len(opts.Keys) > 0 {
		var its []Item
		err = o.Fetch(opts.Keys, func(_ string, it Item, found bool) error {
			if found {
				its = append(its, it)
			}
			return nil
		})
		sort.Slice(its, func(i, j int) bool { return its[i].Seq < its[j].Seq })
		for _, it := range its {
			take(it)
		}
	} else {
		err = o.Walk(take)
	}
	sort.SliceStable(waiting, func(i, j int) bool { return waiting[i].ready.Before(waiting[j].ready) })
	for _, w := range waiting {
		if err != nil {
			break
		}
		it, ok, gerr := o.Get(w.key)
		if gerr != nil {
			err = gerr
			break
		}
		if ok && runnable(it) {
			feed(it)
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		count(0, err)
	}
	if firstDB != nil {
		return sum, firstDB
	}
	return sum, ctx.Err()
}

// outcome is what processing an item decided: a state to commit (or none) and the result to
// count once it is committed.
type outcome struct {
	it     Item
	res    result
	commit bool // it holds a new state; false: nothing changed (not started)
}

// work is one worker of a Run. An item's final state is carried, uncommitted, while the
// worker takes its next item, and committed in the same transaction as that item's
// "sending"; it is committed on its own when no next item is at hand at once (the feeder
// waits for an in-doubt item, or the run ends) or when the next item is decided without a
// send. The item stays claimed until its final state is committed.
func (o *Outbox) work(ctx context.Context, s Sender, opts Options, jobs <-chan Item, count func(result, error)) {
	var carry []outcome
	done := func(err error) {
		for _, c := range carry {
			o.unclaim(c.it.Key)
			if err == nil {
				count(c.res, nil)
			}
		}
		if err != nil {
			count(0, err)
		}
		carry = carry[:0]
	}
	flush := func() {
		if len(carry) == 0 {
			return
		}
		its := make([]Item, len(carry))
		for i, c := range carry {
			its[i] = c.it
		}
		done(o.save(opts, its...))
	}
	defer flush()
	for {
		var it Item
		var ok bool
		if len(carry) > 0 {
			select {
			case it, ok = <-jobs:
			default:
				flush()
				it, ok = <-jobs
			}
		} else {
			it, ok = <-jobs
		}
		if !ok {
			return
		}
		if !o.claim(it.Key) {
			continue // another Run of this process has it
		}
		fresh, found, err := o.Get(it.Key)
		if err != nil || !found || !runnable(fresh) {
			o.unclaim(it.Key) // finished (or removed) by another Run meanwhile
			if err != nil {
				count(0, err)
			}
			continue
		}
		out, carried, err := o.process(ctx, s, opts, fresh, carry)
		if carried {
			done(err) // committed with this item's "sending" (or lost with it)
		}
		if err != nil {
			o.unclaim(fresh.Key)
			if !errors.Is(err, errAborted) && !carried {
				count(0, err)
			}
			continue
		}
		if !out.commit {
			o.unclaim(fresh.Key)
			count(out.res, nil)
		} else {
			carry = append(carry, out)
		}
		if !carried {
			flush() // decided without a send: commit now
		}
	}
}

func (o *Outbox) claim(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.claims[key] {
		return false
	}
	o.claims[key] = true
	return true
}

func (o *Outbox) unclaim(key string) {
	o.mu.Lock()
	delete(o.claims, key)
	o.mu.Unlock()
}

type result int

const (
	resNone result = iota // not processed here
	resSent
	resPresent
	resFailed
	resInterrupted
	resInDoubt
)

var errAborted = errors.New("outbox: aborted before commit")

// process decides what becomes of a claimed item: its final state (returned, not
// committed: the caller carries it) or nothing. The only commit it makes is the item's
// "sending", before the request leaves, together with carry (carried then reports true).
func (o *Outbox) process(ctx context.Context, s Sender, opts Options, it Item, carry []outcome) (outcome, bool, error) {
	if ctx.Err() != nil {
		if it.IsInDoubt() {
			return outcome{res: resInDoubt}, false, nil
		}
		return outcome{res: resInterrupted}, false, nil
	}
	retryable := func(err error) bool {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return true
		}
		return opts.Retryable != nil && opts.Retryable(err)
	}
	// An item that may have reached the region is reconciled before anything is sent.
	if it.Attempts > 0 {
		found, same, err := s.Lookup(ctx, it)
		switch {
		case err != nil && errors.Is(err, ErrLookupRefused) && it.ResendConfirmed:
			// The user confirmed a resend (Retry): a copy the region holds is refused as a duplicate.
		case err != nil && errors.Is(err, ErrLookupRefused):
			return doubt(it, fmt.Sprintf("may have reached the region, which refuses to show it (%v): "+
				"it is not sent again on a guess; once consultation is allowed the next run checks it, or settle it yourself (retry to send it again, forget if it is there)", err)), false, nil
		case err != nil:
			if ctx.Err() != nil {
				return outcome{res: resInDoubt}, false, nil
			}
			return doubt(it, fmt.Sprintf("may have reached the region; checking failed (%v): the next run checks it again", err)), false, nil
		case found && same:
			return finish(it, AlreadyPresent), false, nil
		case found:
			return fail(it, "the region holds a different document under this unique id", false), false, nil
		}
	}
	it.State, it.Attempts, it.Reason, it.Retryable, it.Answered = Sending, it.Attempts+1, "", false, false
	it.LastAttempt = o.now().UTC()
	group := make([]Item, 0, len(carry)+1)
	for _, c := range carry {
		group = append(group, c.it)
	}
	if err := o.save(opts, append(group, it)...); err != nil {
		return outcome{}, true, err
	}
	sendCtx := ctx
	if opts.Drain > 0 {
		// In flight: let the call finish (bounded by Drain) rather than leave it in doubt.
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(ctx, func() {
			t := time.AfterFunc(opts.Drain, cancel)
			context.AfterFunc(sendCtx, func() { t.Stop() })
		})
		defer stop()
		defer cancel()
	}
	sendErr := s.Send(sendCtx, it)
	if o.afterSend != nil {
		if err := o.afterSend(it); err != nil {
			return outcome{}, true, errAborted
		}
	}
	if sendErr == nil {
		return finish(it, Sent), true, nil
	}
	if errors.Is(sendErr, ErrDuplicate) {
		found, same, err := s.Lookup(sendCtx, it)
		switch {
		case err != nil && errors.Is(err, ErrLookupRefused) && it.Attempts > 1:
			return doubt(it, fmt.Sprintf("the region already holds this unique id, most likely from an earlier attempt of this outbox, "+
				"and refuses to show it to compare hashes (%v): check it with retrieve once consultation is allowed, then forget it", err)), true, nil
		case err != nil && errors.Is(err, ErrLookupRefused):
			return fail(it, fmt.Sprintf("unique id already published, and the region refuses to show it to compare hashes: %v; check it with retrieve once consultation is allowed", err), false), true, nil
		case err != nil:
			return fail(it, fmt.Sprintf("unique id already published, and checking its hash failed: %v", err), retryable(err)), true, nil
		case found && same:
			return finish(it, AlreadyPresent), true, nil
		case found:
			return fail(it, "unique id already published with a different document: give this file a new unique id, or use replace", false), true, nil
		default:
			// The region contradicts itself (duplicate, yet not found): try again later.
			return fail(it, "the region answered that the unique id is already published but does not find it", true), true, nil
		}
	}
	if sendCtx.Err() != nil && errors.Is(sendErr, sendCtx.Err()) {
		// Cut off in flight: it may have reached the region. The next run checks it.
		return doubt(it, "interrupted while being sent: it may have reached the region; the next run checks it before sending it again"), true, nil
	}
	it.Answered = opts.Answered != nil && opts.Answered(sendErr)
	return fail(it, sendErr.Error(), retryable(sendErr)), true, nil
}

func doubt(it Item, reason string) outcome {
	it.State, it.Reason, it.Retryable = InDoubt, reason, false
	return outcome{it: it, res: resInDoubt, commit: true}
}

func finish(it Item, out Outcome) outcome {
	it.State, it.Outcome, it.Reason, it.Retryable, it.ResendConfirmed = Done, out, "", false, false
	res := resSent
	if out == AlreadyPresent {
		res = resPresent
	}
	return outcome{it: it, res: res, commit: true}
}

func fail(it Item, reason string, retryable bool) outcome {
	it.State, it.Reason, it.Retryable = Failed, reason, retryable
	return outcome{it: it, res: resFailed, commit: true}
}

// save commits items (stamped Updated now) in one transaction, shared with the other
// workers committing at the same time (commitGroup), then reports each to OnChange in order.
func (o *Outbox) save(opts Options, items ...Item) error {
	now := o.now().UTC()
	for i := range items {
		items[i].Updated = now
	}
	if err := o.commitGroup(items); err != nil {
		return err
	}
	if opts.OnChange != nil {
		for _, it := range items {
			opts.OnChange(it)
		}
	}
	return nil
}

// commitGroup commits items durably, in one transaction with whatever other callers queued
// meanwhile (group commit, no added delay: adapter/internal/boltgroup): the first caller
// commits; callers arriving during its commit queue up, and when it is done the first of them
// commits the whole queue in one transaction. Each caller returns once its own items are
// committed (or the commit failed). After each commit the mapped pages it read are released.
func (o *Outbox) commitGroup(items []Item) error {
	err := o.group.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		for _, it := range items {
			if err := put(b, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox: committing %d item(s): %w", len(items), err)
	}
	return nil
}

// Forget removes done items enqueued before t and returns how many it removed. It works a
// chunk at a time (one transaction per chunk of removed items), so memory does not grow with
// the outbox.
func (o *Outbox) Forget(before time.Time) (int, error) {
	n := 0
	var after []byte
	for {
		removed, more := 0, false
		err := o.db.Update(func(tx *bolt.Tx) error {
			b, idx := tx.Bucket(bucketItems), tx.Bucket(bucketSeq)
			var del []Item
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(del) < chunk*4; k, v = c.Next() {
				release(tx)
				after = bytes.Clone(k)
				var it Item
				if err := json.Unmarshal(v, &it); err != nil {
					return fmt.Errorf("outbox: item %s: %w", k, err)
				}
				if it.State == Done && it.Enqueued.Before(before) {
					del = append(del, Item{Key: it.Key, Seq: it.Seq})
				}
			}
			more = k != nil
			for _, it := range del {
				if err := b.Delete([]byte(it.Key)); err != nil {
					return err
				}
				if err := idx.Delete(seqKey(it.Seq)); err != nil {
					return err
				}
			}
			removed = len(del)
			return nil
		})
		o.releaseAll()
		if err != nil {
			return n, err
		}
		n += removed
		if !more {
			return n, nil
		}
	}
}

// ErrNotFound is returned by Update, Retry and Remove for a key the outbox does not hold.
var ErrNotFound = errors.New("outbox: no such item")

// ErrBusy is returned by Update, Retry and Remove for an item a Run of this process is
// processing.
var ErrBusy = errors.New("outbox: the item is being processed")

// Update applies fn to the item with key inside one transaction and commits what fn leaves
// (fn returning an error commits nothing). The key, sequence and enqueue time cannot be
// changed. It is how callers record their own facts (Item.Attrs) or settle an item.
func (o *Outbox) Update(key string, fn func(*Item) error) (Item, error) {
	o.mu.Lock()
	busy := o.claims[key]
	o.mu.Unlock()
	if busy {
		return Item{}, fmt.Errorf("%s: %w", key, ErrBusy)
	}
	var out Item
	err := o.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		raw := b.Get([]byte(key))
		if raw == nil {
			return fmt.Errorf("%s: %w", key, ErrNotFound)
		}
		var it Item
		if err := json.Unmarshal(raw, &it); err != nil {
			return fmt.Errorf("outbox: item %s: %w", key, err)
		}
		k, seq, enq := it.Key, it.Seq, it.Enqueued
		if err := fn(&it); err != nil {
			return err
		}
		it.Key, it.Seq, it.Enqueued, it.Updated = k, seq, enq, o.now().UTC()
		out = it
		return put(b, it)
	})
	return out, err
}

// Retry makes a failed or in-doubt item pending again, so that the next Run takes it. An item
// that may have reached the region is still looked up first; Retry also confirms that it may
// be sent when the region refuses the lookup (Item.ResendConfirmed). A done item is refused.
func (o *Outbox) Retry(key string) (Item, error) {
	return o.Update(key, func(it *Item) error {
		switch it.State {
		case Done:
			return fmt.Errorf("outbox: %s is done (%s): nothing to retry", it.UniqueID, it.Outcome)
		case Pending:
			return nil
		}
		it.ResendConfirmed = it.ResendConfirmed || it.IsInDoubt() || it.Attempts > 0
		it.State, it.Reason, it.Retryable = Pending, "", false
		return nil
	})
}

// Remove deletes the items with keys from the outbox, whatever their state (the user has
// settled them: e.g. an in-doubt item found on the region by other means). It returns the
// removed items; a missing key is an error matching ErrNotFound and removes nothing.
func (o *Outbox) Remove(keys ...string) ([]Item, error) {
	o.mu.Lock()
	for _, k := range keys {
		if o.claims[k] {
			o.mu.Unlock()
			return nil, fmt.Errorf("%s: %w", k, ErrBusy)
		}
	}
	o.mu.Unlock()
	var out []Item
	err := o.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		out = out[:0]
		for _, k := range keys {
			raw := b.Get([]byte(k))
			if raw == nil {
				return fmt.Errorf("%s: %w", k, ErrNotFound)
			}
			var it Item
			if err := json.Unmarshal(raw, &it); err != nil {
				return fmt.Errorf("outbox: item %s: %w", k, err)
			}
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSeq).Delete(seqKey(it.Seq)); err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
