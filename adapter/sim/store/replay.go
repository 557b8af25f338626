package store

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The replay cache (DESIGN.md "Replay cache") is held in memory, sharded, and persisted by
// appending the entries recorded since the last flush to <dir>/replay.log once per
// ReplayFlushInterval (one write and one fsync per flush, none per request).

// ErrReplayFull is returned (wrapped) by SeenMessageID when the cache holds
// Options.ReplayCapacity entries that have not expired: the message can be neither accepted
// (it could not be recognised if replayed) nor called a replay.
var ErrReplayFull = errors.New("store: replay cache full")

// Defaults of the replay-cache options.
const (
	DefaultReplayCapacity      = 1 << 21 // about 60 MB of entries at most
	DefaultReplayFlushInterval = time.Second
)

const (
	replayShards  = 32
	replayLogName = "replay.log"
	replayMagic   = "FSERPL1\n"
	replayRecord  = 8 + replayKeyLen // expiry (unix nanoseconds, big-endian) | key
	replayKeyLen  = 16
	sweepEvery    = time.Second
)

// replayKey is the cache's fixed-size key: the first 16 bytes of the SHA-256 of the id.
type replayKey [replayKeyLen]byte

type replayShard struct {
	mu sync.Mutex
	m  map[replayKey]int64 // key -> expiry, unix nanoseconds
}

// replayCache is the in-memory cache and its log.
type replayCache struct {
	shards   [replayShards]replayShard
	n        atomic.Int64 // entries held, all shards
	capacity int64
	now      func() time.Time

	sweepMu   sync.Mutex
	lastSweep atomic.Int64 // unix nanoseconds of the last sweep
	soonest   atomic.Int64 // earliest expiry held (approximate: may be earlier than the truth)

	// Requests only append to pending (pendMu, held for an append): the write and fsync of a
	// flush happen under fileMu, so no request waits for the disk.
	pendMu  sync.Mutex
	pending []byte // records not yet written
	closed  bool   // under pendMu: no more records

	fileMu  sync.Mutex // guards log and logged
	log     *os.File
	logPath string
	logged  int64 // records in the log file
	sync    bool

	stop chan struct{}
	done chan struct{}
}

func keyOf(id string) replayKey {
	sum := sha256.Sum256([]byte(id))
	var k replayKey
	copy(k[:], sum[:])
	return k
}

func (k replayKey) shard() int { return int(k[0]) % replayShards }

// openReplay loads <dir>/replay.log (and the entries of the bbolt buckets older versions
// used, which it then empties), keeps the live entries, rewrites the log with them only, and
// starts the flusher.
func openReplay(dir string, db *bolt.DB, opt Options, now func() time.Time) (*replayCache, error) {
	c := &replayCache{capacity: int64(opt.ReplayCapacity), now: now, logPath: filepath.Join(dir, replayLogName),
		sync: !opt.NoSync, stop: make(chan struct{}), done: make(chan struct{})}
	if c.capacity <= 0 {
		c.capacity = DefaultReplayCapacity
	}
	for i := range c.shards {
		c.shards[i].m = map[replayKey]int64{}
	}
	t := now().UnixNano()
	c.soonest.Store(1<<63 - 1)
	add := func(k replayKey, exp int64) {
		if exp <= t {
			return
		}
		sh := &c.shards[k.shard()]
		if old, ok := sh.m[k]; !ok {
			c.n.Add(1)
		} else if old > exp {
			return
		}
		sh.m[k] = exp
		if exp < c.soonest.Load() {
			c.soonest.Store(exp)
		}
	}
	if err := readReplayLog(c.logPath, add); err != nil {
		return nil, err
	}
	// Entries of the bbolt buckets of earlier versions (replay: id -> ascending expiry).
	err := db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bReplay); b != nil {
			if err := b.ForEach(func(k, v []byte) error {
				if len(v) == 8 {
					add(keyOf(string(k)), int64(binary.BigEndian.Uint64(v)^1<<63))
				}
				return nil
			}); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bReplay, bReplayExp} {
			if tx.Bucket(name) != nil {
				if err := tx.DeleteBucket(name); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: replay cache: earlier entries: %w", err)
	}
	if err := c.rewrite(); err != nil {
		return nil, err
	}
	every := opt.ReplayFlushInterval
	if every <= 0 {
		every = DefaultReplayFlushInterval
	}
	go c.flusher(every)
	return c, nil
}

// readReplayLog calls add for every whole record of the log; a torn last record (a crash
// in the middle of a write) is ignored.
func readReplayLog(path string, add func(replayKey, int64)) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: replay log: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	magic := make([]byte, len(replayMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != replayMagic {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil // created but never written whole
		}
		return fmt.Errorf("store: %s is not a replay log", path)
	}
	var rec [replayRecord]byte
	for {
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			return fmt.Errorf("store: replay log: %w", err)
		}
		var k replayKey
		copy(k[:], rec[8:])
		add(k, int64(binary.BigEndian.Uint64(rec[:8])))
	}
}

// rewrite replaces the log by one holding the live entries only (temporary file, fsync,
// rename, directory fsync), and keeps it open for appending. The caller holds fileMu (or is
// Open).
func (c *replayCache) rewrite() error {
	tmp := c.logPath + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("store: replay log: %w", err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	_, _ = w.WriteString(replayMagic)
	var n int64
	var rec [replayRecord]byte
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, exp := range sh.m {
			binary.BigEndian.PutUint64(rec[:8], uint64(exp))
			copy(rec[8:], k[:])
			_, _ = w.Write(rec[:])
			n++
		}
		sh.mu.Unlock()
	}
	err = w.Flush()
	if err == nil && c.sync {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, c.logPath)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("store: replay log: %w", err)
	}
	if c.sync {
		if d, err := os.Open(filepath.Dir(c.logPath)); err == nil {
			_ = d.Sync()
			_ = d.Close()
		}
	}
	if c.log != nil {
		_ = c.log.Close()
	}
	c.log, c.logged = f, n
	return nil
}

func (c *replayCache) flusher(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			_ = c.flush()
		}
	}
}

// flush appends the pending records to the log (one write, one fsync) and compacts the log
// when it holds more than twice the live entries.
func (c *replayCache) flush() error {
	c.fileMu.Lock()
	defer c.fileMu.Unlock()
	if c.log == nil {
		return ErrClosed
	}
	c.pendMu.Lock()
	buf := c.pending
	c.pending = nil
	c.pendMu.Unlock()
	if len(buf) > 0 {
		if _, err := c.log.Write(buf); err != nil {
			return fmt.Errorf("store: replay log: %w", err)
		}
		if c.sync {
			if err := c.log.Sync(); err != nil {
				return fmt.Errorf("store: replay log: %w", err)
			}
		}
		c.logged += int64(len(buf) / replayRecord)
	}
	if live := c.n.Load(); c.logged > 2*live+4096 {
		return c.rewrite()
	}
	return nil
}

// close stops the flusher and writes what is pending.
func (c *replayCache) close() error {
	close(c.stop)
	<-c.done
	c.pendMu.Lock()
	c.closed = true
	c.pendMu.Unlock()
	err := c.flush()
	c.fileMu.Lock()
	defer c.fileMu.Unlock()
	if c.log != nil {
		if cerr := c.log.Close(); err == nil {
			err = cerr
		}
		c.log = nil
	}
	return err
}

// sweep removes the expired entries of every shard and returns how many.
func (c *replayCache) sweep(now int64) int {
	c.sweepMu.Lock()
	defer c.sweepMu.Unlock()
	removed := 0
	soonest := int64(1<<63 - 1)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, exp := range sh.m {
			if exp <= now {
				delete(sh.m, k)
				removed++
			} else if exp < soonest {
				soonest = exp
			}
		}
		sh.mu.Unlock()
	}
	c.n.Add(int64(-removed))
	c.soonest.Store(soonest)
	c.lastSweep.Store(now)
	return removed
}

// seen is SeenMessageID's work: a live entry is a replay; otherwise the entry is recorded.
func (c *replayCache) seen(id string, expires time.Time) (bool, error) {
	now := c.now().UnixNano()
	if now >= c.soonest.Load() && now-c.lastSweep.Load() >= int64(sweepEvery) {
		c.sweep(now)
	}
	k, exp := keyOf(id), expires.UnixNano()
	sh := &c.shards[k.shard()]
	for attempt := 0; ; attempt++ {
		sh.mu.Lock()
		old, ok := sh.m[k]
		if ok && old > now {
			sh.mu.Unlock()
			return true, nil
		}
		if !ok && c.n.Load() >= c.capacity {
			sh.mu.Unlock()
			if attempt == 0 && c.sweep(now) > 0 {
				continue
			}
			return false, fmt.Errorf("%w: %d messages within their lifetime", ErrReplayFull, c.capacity)
		}
		if !ok {
			c.n.Add(1)
		}
		sh.m[k] = exp
		sh.mu.Unlock()
		break
	}
	if exp < c.soonest.Load() {
		c.soonest.Store(exp) // a race may leave it later than the truth: a sweep comes a second later
	}
	var rec [replayRecord]byte
	binary.BigEndian.PutUint64(rec[:8], uint64(exp))
	copy(rec[8:], k[:])
	c.pendMu.Lock()
	closed := c.closed
	if !closed {
		c.pending = append(c.pending, rec[:]...)
	}
	c.pendMu.Unlock()
	if closed {
		return false, ErrClosed
	}
	return false, nil
}

// SeenMessageID records id (a wsa:MessageID or any other replay key) until expires and
// reports whether it was already recorded and not yet expired (a replay). The cache is in
// memory; what is recorded reaches replay.log at the next flush (Options.ReplayFlushInterval)
// and at Close, so a restart still refuses it, but after a crash the entries of the last
// interval may be lost. A cache holding Options.ReplayCapacity live entries refuses new ones
// with ErrReplayFull.
func (s *Store) SeenMessageID(id string, expires time.Time) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("store: empty MessageID: %w", ErrInvalid)
	}
	if s.closed.Load() {
		return false, ErrClosed
	}
	seen, err := s.replay.seen(id, expires)
	if err != nil {
		return false, fmt.Errorf("store: replay cache: %w", err)
	}
	return seen, nil
}

// PruneMessageIDs removes every expired entry and returns how many were removed.
func (s *Store) PruneMessageIDs() (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	return s.replay.sweep(s.now().UnixNano()), nil
}

// ReplayEntries returns how many entries are held (expired ones not yet pruned included).
func (s *Store) ReplayEntries() (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	return int(s.replay.n.Load()), nil
}

// FlushReplay writes the replay entries recorded since the last flush to replay.log now
// (tests of restarts; the flusher does it every Options.ReplayFlushInterval).
func (s *Store) FlushReplay() error { return s.replay.flush() }
