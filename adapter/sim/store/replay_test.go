package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// copyDir copies the files of dir (not recursively: sim.db and replay.log) to a new
// directory: the state a crash at this instant would leave on disk, since neither the
// flusher nor Close runs on the copy.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestReplayCrashKeepsFlushedEntries states what a crash keeps: entries flushed before it are
// refused as replays by the next process; an entry recorded after the last flush is lost
// (the documented window of Options.ReplayFlushInterval).
func TestReplayCrashKeepsFlushedEntries(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s, err := Open(dir, Options{Now: c.Now, ReplayFlushInterval: time.Hour}) // only explicit flushes
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"sig:flushed", "uuid:flushed"} {
		if seen, err := s.SeenMessageID(id, t0.Add(5*time.Minute)); seen || err != nil {
			t.Fatalf("%s: seen %v err %v", id, seen, err)
		}
	}
	if err := s.FlushReplay(); err != nil {
		t.Fatal(err)
	}
	if seen, err := s.SeenMessageID("uuid:after-flush", t0.Add(5*time.Minute)); seen || err != nil {
		t.Fatalf("seen %v err %v", seen, err)
	}
	crashed := copyDir(t, dir)
	s2, err := Open(crashed, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for id, want := range map[string]bool{"sig:flushed": true, "uuid:flushed": true, "uuid:after-flush": false} {
		if seen, err := s2.SeenMessageID(id, t0.Add(5*time.Minute)); seen != want || err != nil {
			t.Errorf("after the crash, %s: seen %v (err %v), want %v", id, seen, err, want)
		}
	}
}

// TestReplayFlusherRuns: without an explicit flush, the flusher writes the entries within
// its interval (a crash a little later keeps them).
func TestReplayFlusherRuns(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s, err := Open(dir, Options{Now: c.Now, ReplayFlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.SeenMessageID("uuid:x", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	want := int64(len(replayMagic) + replayRecord)
	for i := 0; i < 500; i++ { // bounded: 5 s at most
		if st, err := os.Stat(filepath.Join(dir, replayLogName)); err == nil && st.Size() >= want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the flusher did not write the entry within 5 s")
}

// TestReplayCapacity: a full cache refuses a new entry with ErrReplayFull (never "not a
// replay" unrecorded), still recognises replays, and takes new entries once some expired.
func TestReplayCapacity(t *testing.T) {
	c := &clock{t: t0}
	s, err := Open(t.TempDir(), Options{Now: c.Now, ReplayCapacity: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 3; i++ {
		if seen, err := s.SeenMessageID(fmt.Sprint("uuid:", i), t0.Add(time.Duration(i+1)*time.Minute)); seen || err != nil {
			t.Fatalf("%d: seen %v err %v", i, seen, err)
		}
	}
	if _, err := s.SeenMessageID("uuid:new", t0.Add(time.Minute)); !errors.Is(err, ErrReplayFull) {
		t.Fatalf("full cache: err %v, want ErrReplayFull", err)
	}
	if seen, err := s.SeenMessageID("uuid:1", t0.Add(time.Minute)); !seen || err != nil {
		t.Fatalf("replay in a full cache: seen %v err %v", seen, err)
	}
	c.Add(90 * time.Second) // uuid:0 expired
	if seen, err := s.SeenMessageID("uuid:new", c.Now().Add(time.Minute)); seen || err != nil {
		t.Fatalf("after an expiry: seen %v err %v", seen, err)
	}
	if n, _ := s.ReplayEntries(); n != 3 {
		t.Fatalf("entries %d, want 3", n)
	}
}

// TestReplayLogCompactedAndTornTail: reopening keeps only live entries in the log, and a torn
// last record (a crash inside a write) is ignored.
func TestReplayLogCompactedAndTornTail(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := open(t, dir, c)
	for i := 0; i < 100; i++ {
		if _, err := s.SeenMessageID(fmt.Sprint("uuid:", i), t0.Add(time.Duration(1+i%2)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, replayLogName)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{1, 2, 3, 4, 5})
	f.Close()
	c.Add(90 * time.Minute) // the 50 entries of 1 h expired
	s = open(t, dir, c)
	defer s.Close()
	if n, _ := s.ReplayEntries(); n != 50 {
		t.Fatalf("entries after reopen %d, want 50", n)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != int64(len(replayMagic)+50*replayRecord) {
		t.Fatalf("log not compacted: %v %v", st.Size(), err)
	}
	if seen, _ := s.SeenMessageID("uuid:1", c.Now().Add(time.Minute)); !seen {
		t.Fatal("a live entry was lost")
	}
	if seen, _ := s.SeenMessageID("uuid:0", c.Now().Add(time.Minute)); seen {
		t.Fatal("an expired entry was kept")
	}
}
