// Package boltgroup commits the bbolt updates of concurrent callers in shared transactions
// (group commit) without adding a delay.
//
// bbolt has one writer at a time and each commit costs two fdatasync calls. [bolt.DB.Batch]
// groups callers, but it waits up to MaxBatchDelay (10 ms by default) before committing,
// which a lone caller pays in full. A [Committer] commits at once when nobody else is
// committing; callers that arrive while a commit is under way queue up, and when it ends the
// first of them commits the whole queue in one transaction. Under load the queue is whatever
// arrived during one commit; alone, a caller waits for nothing.
//
// As with Batch, a function that returns an error is not committed: the transaction is
// rolled back, the others run again without it, and the failing one runs again alone in its
// own transaction, whose result is the one its caller gets (its error may have depended on
// what another function of the group wrote). So a function may run more than once and must
// keep no state outside the transaction that a second run would get wrong.
package boltgroup

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Committer runs Update calls in shared transactions. Its zero value is not usable: set DB.
// It is safe for concurrent use.
type Committer struct {
	// DB is the database the transactions are made on.
	DB *bolt.DB
	// BeforeCommit, when set, is called before each group transaction (tests hold a commit
	// with it).
	BeforeCommit func()
	// AfterCommit, when set, is called after each group transaction, committed or not,
	// before its callers return.
	AfterCommit func()

	mu      sync.Mutex
	leading bool // a caller is committing
	queue   []*call
	commits uint64
}

type call struct {
	fn   func(*bolt.Tx) error
	done chan error    // the call's result
	lead chan struct{} // closed when this caller is to commit the queue
}

// errSolo tells a caller whose function failed inside a group to run it alone.
var errSolo = errors.New("boltgroup: run alone")

// Update runs fn in a read-write transaction, shared with the functions of the callers that
// queued during the previous commit, and returns once that transaction is committed (durable,
// unless the database was opened with NoSync). It returns fn's error (fn's changes are then
// not committed) or the commit's error, which fails every function of the group.
func (c *Committer) Update(fn func(*bolt.Tx) error) error {
	k := &call{fn: fn, done: make(chan error, 1), lead: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, k)
	if c.leading {
		c.mu.Unlock()
		select {
		case err := <-k.done:
			return c.result(fn, err)
		case <-k.lead:
		}
		c.mu.Lock()
	}
	c.leading = true
	group := c.queue
	c.queue = nil
	c.mu.Unlock()

	c.run(group)

	c.mu.Lock()
	if len(c.queue) > 0 {
		close(c.queue[0].lead) // its caller commits what queued meanwhile
	} else {
		c.leading = false
	}
	c.mu.Unlock()
	return c.result(fn, <-k.done)
}

// result runs fn alone when its group said so.
func (c *Committer) result(fn func(*bolt.Tx) error, err error) error {
	if err == errSolo {
		return c.DB.Update(fn)
	}
	return err
}

// run commits group, dropping (to run alone) any function that fails, and answers each call.
func (c *Committer) run(group []*call) {
	for len(group) > 0 {
		failed := -1
		if c.BeforeCommit != nil {
			c.BeforeCommit()
		}
		err := c.DB.Update(func(tx *bolt.Tx) error {
			for i, k := range group {
				if err := safely(k.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if c.AfterCommit != nil {
			c.AfterCommit()
		}
		if failed >= 0 {
			group[failed].done <- errSolo
			group = append(group[:failed:failed], group[failed+1:]...)
			continue
		}
		c.mu.Lock()
		c.commits++
		c.mu.Unlock()
		for _, k := range group {
			k.done <- err
		}
		return
	}
}

// safely calls fn, turning a panic into an error (the caller then runs fn alone, in its own
// goroutine, where the panic surfaces).
func safely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("boltgroup: panic: %v", p)
		}
	}()
	return fn(tx)
}

// Waiting returns the number of callers queued behind the commit in progress.
func (c *Committer) Waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// Commits returns the number of group transactions committed so far (one per group, however
// many functions it held; the solo runs of failed functions are not counted).
func (c *Committer) Commits() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commits
}
