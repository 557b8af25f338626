// Package boltq is the embedded store of adapter/queue, the default of `fsepuglia serve`: one
// bbolt file (0600) in the data directory, nothing to install, one process at a time (a
// second one gets queue.ErrLocked-like errors from Open). Claims, leases and fencing tokens
// work as in pgqueue, so queue.Work applies the same rules: a claim left by a killed process
// is claimed again once its lease has run out, and reconciled as in doubt before any resend.
package boltq

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/queue"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("boltq: the queue file is in use by another process")

var (
	bucketItems  = []byte("items")  // key -> Item JSON
	bucketBodies = []byte("bodies") // key -> document bytes (until done)
	bucketOpen   = []byte("open")   // seq (8 bytes, big endian) -> key, for items not done or failed
)

// Store is a queue.Store in one bbolt file.
type Store struct {
	db  *bolt.DB
	now func() time.Time
}

var _ queue.Store = (*Store)(nil)

// Open opens (creating if needed) the queue file at path.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("queue %s: %w (another fsepuglia serve or publish --queue has it open)", path, ErrLocked)
		}
		return nil, fmt.Errorf("queue %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketItems, bucketBodies, bucketOpen} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("queue %s: %w", path, err)
	}
	return &Store{db: db, now: func() time.Time { return time.Now().UTC() }}, nil
}

// Close implements queue.Store.
func (s *Store) Close() error { return s.db.Close() }

func seqKey(seq int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	return b[:]
}

func get(tx *bolt.Tx, key string) (queue.Item, bool, error) {
	raw := tx.Bucket(bucketItems).Get([]byte(key))
	if raw == nil {
		return queue.Item{}, false, nil
	}
	var it queue.Item
	if err := json.Unmarshal(raw, &it); err != nil {
		return queue.Item{}, false, fmt.Errorf("boltq: item %s: %w", key, err)
	}
	return it, true, nil
}

func put(tx *bolt.Tx, it queue.Item) error {
	raw, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("boltq: item %s: %w", it.Key, err)
	}
	if err := tx.Bucket(bucketItems).Put([]byte(it.Key), raw); err != nil {
		return err
	}
	open := tx.Bucket(bucketOpen)
	if it.State == queue.Done || it.State == queue.Failed {
		return open.Delete(seqKey(it.Seq))
	}
	return open.Put(seqKey(it.Seq), []byte(it.Key))
}

// Enqueue implements queue.Store.
func (s *Store) Enqueue(_ context.Context, entries []queue.Entry) (queue.EnqueueResult, error) {
	for i, e := range entries {
		if e.SHA256 == "" || e.UniqueID == "" {
			return queue.EnqueueResult{}, fmt.Errorf("boltq: entry %d (%s): sha256 and unique id are required", i, e.Path)
		}
	}
	var res queue.EnqueueResult
	err := s.db.Update(func(tx *bolt.Tx) error {
		res = queue.EnqueueResult{Keys: make([]string, 0, len(entries))}
		now := s.now()
		for _, e := range entries {
			key := queue.Key(e.SHA256, e.UniqueID)
			res.Keys = append(res.Keys, key)
			it, ok, err := get(tx, key)
			if err != nil {
				return err
			}
			switch {
			case ok && it.State != queue.Failed:
				res.Existing++
				continue
			case ok:
				it.Entry = e
				it.State, it.Reason, it.FaultClass, it.FaultCode, it.Retryable, it.Answered, it.NextAt, it.Updated = queue.Queued, "", "", "", false, false, now, now
				res.Requeued++
			default:
				seq, err := tx.Bucket(bucketItems).NextSequence()
				if err != nil {
					return err
				}
				it = queue.Item{Entry: e, Key: key, Seq: int64(seq), State: queue.Queued, NextAt: now, Enqueued: now, Updated: now}
				res.Added++
			}
			if err := tx.Bucket(bucketBodies).Put([]byte(key), e.Body); err != nil {
				return err
			}
			it.Body = nil
			if err := put(tx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return queue.EnqueueResult{}, err
	}
	return res, nil
}

// Get implements queue.Store.
func (s *Store) Get(_ context.Context, key string) (queue.Item, error) {
	var it queue.Item
	err := s.db.View(func(tx *bolt.Tx) error {
		var ok bool
		var err error
		it, ok, err = get(tx, key)
		if err == nil && !ok {
			err = fmt.Errorf("%s: %w", key, queue.ErrNotFound)
		}
		return err
	})
	return it, err
}

// List implements queue.Store.
func (s *Store) List(_ context.Context, f queue.Filter) ([]queue.Item, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	var items []queue.Item
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
			var it queue.Item
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("boltq: item %s: %w", k, err)
			}
			if it.Seq > f.After && (len(f.States) == 0 || slices.Contains(f.States, it.State)) {
				items = append(items, it)
			}
			return nil
		})
	})
	slices.SortFunc(items, func(a, b queue.Item) int { return int(a.Seq - b.Seq) })
	if len(items) > limit {
		items = items[:limit]
	}
	return items, err
}

// Counts implements queue.Store. A sending item whose lease ran out counts as in doubt.
func (s *Store) Counts(_ context.Context) (map[queue.State]int, error) {
	out := map[queue.State]int{}
	now := s.now()
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
			var it struct {
				State      queue.State `json:"state"`
				LeaseUntil time.Time   `json:"lease_until"`
			}
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("boltq: item %s: %w", k, err)
			}
			if it.State == queue.Sending && it.LeaseUntil.Before(now) {
				it.State = queue.InDoubt
			}
			out[it.State]++
			return nil
		})
	})
	return out, err
}

// Retry implements queue.Store.
func (s *Store) Retry(_ context.Context, key string) (queue.Item, error) {
	var it queue.Item
	err := s.db.Update(func(tx *bolt.Tx) error {
		var ok bool
		var err error
		if it, ok, err = get(tx, key); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%s: %w", key, queue.ErrNotFound)
		}
		switch it.State {
		case queue.Sending:
			return fmt.Errorf("%s: %w", key, queue.ErrBusy)
		case queue.Done:
			return nil
		case queue.Failed:
			it.State = queue.Queued
		}
		it.Retryable, it.NextAt, it.Updated = true, s.now(), s.now()
		return put(tx, it)
	})
	return it, err
}

// Forget implements queue.Store.
func (s *Store) Forget(_ context.Context, key string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		it, ok, err := get(tx, key)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: %w", key, queue.ErrNotFound)
		}
		if it.State == queue.Sending && !it.LeaseUntil.Before(s.now()) {
			return fmt.Errorf("%s: %w", key, queue.ErrBusy)
		}
		return remove(tx, it)
	})
}

func remove(tx *bolt.Tx, it queue.Item) error {
	return errors.Join(tx.Bucket(bucketItems).Delete([]byte(it.Key)), tx.Bucket(bucketBodies).Delete([]byte(it.Key)),
		tx.Bucket(bucketOpen).Delete(seqKey(it.Seq)))
}

// ForgetDone implements queue.Store.
func (s *Store) ForgetDone(_ context.Context, before time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		var del []queue.Item
		err := tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
			var it queue.Item
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			if it.State == queue.Done && it.Updated.Before(before) {
				del = append(del, it)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range del {
			if err := remove(tx, it); err != nil {
				return err
			}
		}
		n = len(del)
		return nil
	})
	return n, err
}

func runnable(it queue.Item, now time.Time) bool {
	switch it.State {
	case queue.Queued:
		return !it.NextAt.After(now)
	case queue.InDoubt:
		return it.Retryable && !it.NextAt.After(now)
	case queue.Sending:
		return it.LeaseUntil.Before(now)
	}
	return false
}

// Claim implements queue.Store: the first runnable item in enqueue order, in one transaction.
func (s *Store) Claim(_ context.Context, owner string, lease time.Duration) (queue.Item, bool, error) {
	var it queue.Item
	var ok bool
	// Batch: concurrent claims and settles share one commit (one fsync) instead of one each.
	err := s.db.Batch(func(tx *bolt.Tx) error {
		it, ok = queue.Item{}, false
		now := s.now()
		c := tx.Bucket(bucketOpen).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			cand, found, err := get(tx, string(v))
			if err != nil {
				return err
			}
			if !found || !runnable(cand, now) {
				continue
			}
			cand.State, cand.Owner, cand.Token, cand.Attempts = queue.Sending, owner, cand.Token+1, cand.Attempts+1
			cand.LeaseUntil, cand.Updated = now.Add(lease), now
			if err := put(tx, cand); err != nil {
				return err
			}
			cand.Body = bytes.Clone(tx.Bucket(bucketBodies).Get([]byte(cand.Key)))
			it, ok = cand, true
			return nil
		}
		return nil
	})
	if err != nil {
		return queue.Item{}, false, fmt.Errorf("boltq: claim: %w", err)
	}
	return it, ok, nil
}

// update applies fn to the item if it is still claimed with it.Token.
func (s *Store) update(it queue.Item, fn func(cur *queue.Item)) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		cur, ok, err := get(tx, it.Key)
		if err != nil {
			return err
		}
		if !ok || cur.Token != it.Token || cur.State != queue.Sending {
			return fmt.Errorf("%s: %w", it.UniqueID, queue.ErrLeaseLost)
		}
		fn(&cur)
		cur.Updated = s.now()
		if cur.State == queue.Done {
			if err := tx.Bucket(bucketBodies).Delete([]byte(cur.Key)); err != nil {
				return err
			}
		}
		return put(tx, cur)
	})
}

// Extend implements queue.Store.
func (s *Store) Extend(_ context.Context, it queue.Item, lease time.Duration) error {
	return s.update(it, func(cur *queue.Item) { cur.LeaseUntil = s.now().Add(lease) })
}

// Settle implements queue.Store.
func (s *Store) Settle(_ context.Context, it queue.Item) error {
	return s.update(it, func(cur *queue.Item) {
		cur.State, cur.Outcome, cur.Reason, cur.FaultClass, cur.FaultCode = it.State, it.Outcome, it.Reason, it.FaultClass, it.FaultCode
		cur.Retryable, cur.Answered, cur.Route, cur.WorkflowID, cur.NextAt = it.Retryable, it.Answered, it.Route, it.WorkflowID, it.NextAt
		cur.LeaseUntil, cur.Owner = time.Time{}, ""
	})
}

// Release implements queue.Store.
func (s *Store) Release(_ context.Context, it queue.Item, prev queue.State) error {
	return s.update(it, func(cur *queue.Item) {
		cur.State, cur.Attempts, cur.LeaseUntil, cur.Owner, cur.NextAt = prev, cur.Attempts-1, time.Time{}, "", s.now()
		if prev == queue.InDoubt {
			cur.Retryable = true
		}
	})
}
