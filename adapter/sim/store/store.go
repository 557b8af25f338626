package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/internal/boltgroup"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names. Keys are documented in DESIGN.md.
var (
	bDocs       = []byte("docs")        // uniqueId -> JSON DocumentMeta
	bByCreated  = []byte("by_created")  // desc(creation) | uniqueId -> nil
	bByPatient  = []byte("by_patient")  // patientCF | 0 | desc(creation) | uniqueId -> nil
	bConsents   = []byte("consents")    // patientCF -> JSON ConsentState
	bConsentLog = []byte("consent_log") // patientCF (nested bucket) -> seq -> JSON ConsentEvent
	bReplay     = []byte("replay")      // earlier versions' replay cache (read once, then deleted): messageID -> expiry
	bReplayExp  = []byte("replay_exp")  // earlier versions' expiry index (deleted on Open)
	bTaccuino   = []byte("taccuino")    // patientCF|0|kind|0|desc(date)|seq -> JSON TaccuinoItem
	bMarkers    = []byte("markers")     // one-shot initialisation markers
)

// Options tune a Store. The zero value is valid.
type Options struct {
	// Now is the clock; nil means time.Now. Tests freeze it.
	Now func() time.Time
	// NoSync skips fsync of blobs, of the bbolt file and of the replay log. Only for
	// benchmarks and throwaway data.
	NoSync bool
	// ReplayCapacity bounds the replay cache's live entries (two per verified message);
	// DefaultReplayCapacity when zero. A full cache refuses new entries (ErrReplayFull).
	ReplayCapacity int
	// ReplayFlushInterval is how often the replay entries recorded since the last flush are
	// appended to replay.log and synced; DefaultReplayFlushInterval when zero. It is what a
	// crash may lose (DESIGN.md).
	ReplayFlushInterval time.Duration
}

// Store is the simulator's persistent state in one data directory. It is safe for
// concurrent use and is meant to be opened once per directory (bbolt holds an exclusive
// file lock, a second Open of the same directory waits for it, up to a one-second timeout).
type Store struct {
	db    *bolt.DB
	dir   string
	blobs string
	now   func() time.Time
	sync  bool

	replay *replayCache
	closed atomic.Bool
	group  boltgroup.Committer // publications and deletions: group commit
}

// Open opens (creating it if needed) the store in dir: dir/sim.db and dir/blobs/.
func Open(dir string, opt Options) (*Store, error) {
	blobs := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(filepath.Join(blobs, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, "sim.db"), 0o600, &bolt.Options{Timeout: time.Second, NoSync: opt.NoSync})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", filepath.Join(dir, "sim.db"), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bDocs, bByCreated, bByPatient, bConsents, bConsentLog, bTaccuino, bMarkers} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: create buckets: %w", err)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	// Leftover temporary blobs from a crash are garbage: nothing references them.
	if ents, err := os.ReadDir(filepath.Join(blobs, "tmp")); err == nil {
		for _, e := range ents {
			_ = os.Remove(filepath.Join(blobs, "tmp", e.Name()))
		}
	}
	replay, err := openReplay(dir, db, opt, now)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	st := &Store{db: db, dir: dir, blobs: blobs, now: now, sync: !opt.NoSync, replay: replay}
	st.group.DB = db
	return st, nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Close writes the replay entries not yet flushed and closes the database. Readers
// returned by Get stay readable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return s.db.Close() // bbolt's own answer to a second Close
	}
	rerr := s.replay.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	if rerr != nil {
		return fmt.Errorf("store: close: %w", rerr)
	}
	return nil
}

// view and update map bbolt's closed-database error to ErrClosed.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func (s *Store) update(fn func(*bolt.Tx) error) error {
	err := s.db.Update(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// groupUpdate is update in a transaction shared with the callers that arrive during the
// previous commit (boltgroup). fn may run more than once: it must keep no state outside the
// transaction.
func (s *Store) groupUpdate(fn func(*bolt.Tx) error) error {
	err := s.group.Update(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// descTime encodes t so that byte order is newest first.
func descTime(t time.Time) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ^(uint64(t.UnixNano()) ^ 1<<63))
	return b[:]
}

func join(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var sep = []byte{0}
