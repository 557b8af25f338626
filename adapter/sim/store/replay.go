package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// pruneBatch bounds how many expired entries one SeenMessageID call removes, so a call
// never does unbounded work; expired entries are ignored anyway.
const pruneBatch = 256

// SeenMessageID records a WS-Addressing MessageID until expires and reports whether it was
// already recorded and not yet expired (a replay). Each call also prunes expired entries.
func (s *Store) SeenMessageID(id string, expires time.Time) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("store: empty MessageID: %w", ErrInvalid)
	}
	now := s.now()
	seen := false
	err := s.update(func(tx *bolt.Tx) error {
		b, ix := tx.Bucket(bReplay), tx.Bucket(bReplayExp)
		if _, err := prune(b, ix, now, pruneBatch); err != nil {
			return err
		}
		if v := b.Get([]byte(id)); len(v) == 8 {
			exp := time.Unix(0, int64(binary.BigEndian.Uint64(v)^1<<63))
			if now.Before(exp) {
				seen = true
				return nil
			}
			if err := ix.Delete(join(v, []byte(id))); err != nil {
				return err
			}
		}
		e := ascTime(expires)
		if err := b.Put([]byte(id), e); err != nil {
			return err
		}
		return ix.Put(join(e, []byte(id)), []byte{})
	})
	if err != nil {
		return false, fmt.Errorf("store: replay cache: %w", err)
	}
	return seen, nil
}

// PruneMessageIDs removes every expired MessageID and returns how many were removed.
func (s *Store) PruneMessageIDs() (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		b, ix := tx.Bucket(bReplay), tx.Bucket(bReplayExp)
		var err error
		n, err = prune(b, ix, s.now(), -1)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune replay cache: %w", err)
	}
	return n, nil
}

// ReplayEntries returns how many MessageIDs are held (expired ones not yet pruned included).
func (s *Store) ReplayEntries() (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bReplay).Stats().KeyN
		return nil
	})
	return n, err
}

func prune(b, ix *bolt.Bucket, now time.Time, limit int) (int, error) {
	cut := ascTime(now)
	c := ix.Cursor()
	var dead [][]byte
	for k, _ := c.First(); len(k) >= 8 && bytes.Compare(k[:8], cut) <= 0; k, _ = c.Next() {
		if limit >= 0 && len(dead) >= limit {
			break
		}
		dead = append(dead, append([]byte(nil), k...))
	}
	for _, k := range dead {
		if err := ix.Delete(k); err != nil {
			return 0, err
		}
		if err := b.Delete(k[8:]); err != nil {
			return 0, err
		}
	}
	return len(dead), nil
}
