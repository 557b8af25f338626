package boltgroup

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucket = []byte("b")

func open(t *testing.T) *Committer {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
		t.Fatal(err)
	}
	return &Committer{DB: db}
}

var errExists = errors.New("exists")

// putNew stores k=v unless k exists.
func putNew(k, v string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b.Get([]byte(k)) != nil {
			return fmt.Errorf("%s: %w", k, errExists)
		}
		return b.Put([]byte(k), []byte(v))
	}
}

func get(t *testing.T, c *Committer, k string) string {
	t.Helper()
	var v string
	_ = c.DB.View(func(tx *bolt.Tx) error { v = string(tx.Bucket(bucket).Get([]byte(k))); return nil })
	return v
}

// hold starts a caller whose function blocks inside its transaction until release is
// closed, and returns once that transaction is open (the caller is leading).
func hold(t *testing.T, c *Committer, wg *sync.WaitGroup) (release chan struct{}) {
	t.Helper()
	release, open := make(chan struct{}), make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := c.Update(func(tx *bolt.Tx) error {
			close(open)
			<-release
			return tx.Bucket(bucket).Put([]byte("leader"), []byte("1"))
		})
		if err != nil {
			t.Error(err)
		}
	}()
	<-open
	return release
}

// waitQueued waits until n callers are queued behind the leader.
func waitQueued(t *testing.T, c *Committer, n int) {
	t.Helper()
	for range 2000 {
		if c.Waiting() == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d callers never queued", n)
}

func TestAloneCommitsAtOnce(t *testing.T) {
	c := open(t)
	for i := range 5 {
		if err := c.Update(putNew(fmt.Sprint(i), "v")); err != nil {
			t.Fatal(err)
		}
		// Durable and visible when Update returns: one commit per lone call.
		if got := get(t, c, fmt.Sprint(i)); got != "v" {
			t.Fatalf("key %d: %q after Update returned", i, got)
		}
	}
	if got := c.Commits(); got != 5 {
		t.Fatalf("commits = %d, want 5 (one per lone call)", got)
	}
}

func TestCallersArrivingDuringACommitShareTheNext(t *testing.T) {
	c := open(t)
	var wg sync.WaitGroup
	release := hold(t, c, &wg)
	const n = 6
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.Update(putNew(fmt.Sprint(i), "v")) }()
	}
	waitQueued(t, c, n)
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if get(t, c, fmt.Sprint(i)) != "v" {
			t.Fatalf("caller %d's write missing", i)
		}
	}
	if got := c.Commits(); got != 2 {
		t.Fatalf("commits = %d, want 2 (the leader's, then one for the %d queued)", got, n)
	}
}

func TestAFailingFunctionDoesNotFailItsGroup(t *testing.T) {
	c := open(t)
	if err := c.Update(putNew("taken", "old")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	release := hold(t, c, &wg)
	var errA, errBad, errB error
	wg.Add(3)
	go func() { defer wg.Done(); errA = c.Update(putNew("a", "v")) }()
	waitQueued(t, c, 1)
	go func() {
		defer wg.Done()
		errBad = c.Update(func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucket).Put([]byte("partial"), []byte("x")); err != nil {
				return err
			}
			return putNew("taken", "new")(tx)
		})
	}()
	waitQueued(t, c, 2)
	go func() { defer wg.Done(); errB = c.Update(putNew("b", "v")) }()
	waitQueued(t, c, 3)
	close(release)
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("the others failed with the bad one: %v, %v", errA, errB)
	}
	if !errors.Is(errBad, errExists) {
		t.Fatalf("bad caller got %v, want its own error", errBad)
	}
	for k, want := range map[string]string{"a": "v", "b": "v", "taken": "old", "partial": ""} {
		if got := get(t, c, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// Two functions of one group that conflict: the second's error depends on the first's write,
// and it must be the error it gets when run alone after the group.
func TestConflictInsideAGroupIsDecidedInOrder(t *testing.T) {
	c := open(t)
	var wg sync.WaitGroup
	release := hold(t, c, &wg)
	var e1, e2 error
	wg.Add(2)
	go func() { defer wg.Done(); e1 = c.Update(putNew("k", "first")) }()
	waitQueued(t, c, 1)
	go func() { defer wg.Done(); e2 = c.Update(putNew("k", "second")) }()
	waitQueued(t, c, 2)
	close(release)
	wg.Wait()
	if e1 != nil || !errors.Is(e2, errExists) {
		t.Fatalf("got %v, %v; want nil, exists", e1, e2)
	}
	if got := get(t, c, "k"); got != "first" {
		t.Fatalf("k = %q, want first", got)
	}
}

func TestPanicSurfacesInItsCaller(t *testing.T) {
	c := open(t)
	var wg sync.WaitGroup
	release := hold(t, c, &wg)
	var recovered any
	var errOK error
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer func() { recovered = recover() }()
		_ = c.Update(func(*bolt.Tx) error { panic("boom") })
	}()
	waitQueued(t, c, 1)
	go func() { defer wg.Done(); errOK = c.Update(putNew("ok", "v")) }()
	waitQueued(t, c, 2)
	close(release)
	wg.Wait()
	if recovered != "boom" {
		t.Fatalf("recovered %v, want the function's panic in its own caller", recovered)
	}
	if errOK != nil || get(t, c, "ok") != "v" {
		t.Fatalf("the other caller: %v", errOK)
	}
}

func TestHooksRunAroundEachGroupTransaction(t *testing.T) {
	c := open(t)
	var log []string
	c.BeforeCommit = func() { log = append(log, "before") }
	c.AfterCommit = func() { log = append(log, "after") }
	if err := c.Update(putNew("a", "v")); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(putNew("a", "w")); !errors.Is(err, errExists) {
		t.Fatalf("got %v", err)
	}
	// The failing one: its group transaction (rolled back) has the hooks; its solo run does not.
	if got := fmt.Sprint(log); got != "[before after before after]" {
		t.Fatalf("hooks ran %s", got)
	}
}
