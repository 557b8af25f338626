package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

const (
	cfA = "FSEPGL01E41A145J"
	cfB = "FSELBR01C41A145S"
)

var t0 = time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func open(t testing.TB, dir string, c *clock) *Store {
	t.Helper()
	s, err := Open(dir, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func meta(id, cf string, created time.Time) DocumentMeta {
	return DocumentMeta{
		PatientCF: cf, UniqueID: id, TypeCode: "11502-2", ClassCode: "REF",
		CreationTime: created, AuthorInstitution: Institution{Code: "160114", Name: "ASL BA"},
		MimeType: "application/pdf", PublishedBy: "160114",
	}
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestPublishGetRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, &clock{t: t0})
	defer s.Close()
	body := []byte("%PDF-1.4 fake body for the round trip")
	got, err := s.Publish(meta("2.16.840.1.113883.2.9.2.160.4.4^A1", cfA, time.Time{}), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != sha(body) || got.Size != int64(len(body)) || got.Status != StatusApproved {
		t.Fatalf("publish result: hash %s size %d status %s", got.Hash, got.Size, got.Status)
	}
	if !got.CreationTime.Equal(t0) || !got.PublishedAt.Equal(t0) {
		t.Fatalf("zero creation time should default to the clock: %v %v", got.CreationTime, got.PublishedAt)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, "blobs", got.Hash[:2], got.Hash))
	if err != nil || !bytes.Equal(onDisk, body) {
		t.Fatalf("content-addressed blob: %v", err)
	}
	m, rc, err := s.Get(got.UniqueID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if !bytes.Equal(b, body) || m.Hash != got.Hash {
		t.Fatal("Get returned other bytes or metadata")
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "blobs", "tmp")); len(tmp) != 0 {
		t.Fatalf("temporary files left behind: %d", len(tmp))
	}
}

func TestPublishErrors(t *testing.T) {
	s := open(t, t.TempDir(), &clock{t: t0})
	defer s.Close()
	first, err := s.Publish(meta("D1", cfA, t0), bytes.NewReader([]byte("one")))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    DocumentMeta
		body string
		is   error
		hash string // expected Existing.Hash for duplicates
	}{
		{"duplicate same content", meta("D1", cfA, t0), "one", ErrDuplicate, first.Hash},
		{"duplicate other content", meta("D1", cfA, t0), "two", ErrDuplicate, first.Hash},
		{"missing id", meta("", cfA, t0), "x", ErrInvalid, ""},
		{"missing patient", meta("D9", "", t0), "x", ErrInvalid, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Publish(tc.m, bytes.NewReader([]byte(tc.body)))
			if !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want %v", err, tc.is)
			}
			var de *DuplicateError
			if errors.As(err, &de) {
				if de.Existing.Hash != tc.hash {
					t.Fatalf("existing hash %s, want %s", de.Existing.Hash, tc.hash)
				}
				if de.SameContent() != (tc.body == "one") || de.NewHash != sha([]byte(tc.body)) {
					t.Fatal("caller cannot tell same content from a clash")
				}
			}
		})
	}
	t.Run("declared hash mismatch", func(t *testing.T) {
		m := meta("D2", cfA, t0)
		m.Hash = sha([]byte("something else"))
		_, err := s.Publish(m, bytes.NewReader([]byte("body")))
		var he *HashMismatchError
		if !errors.As(err, &he) || he.Computed != sha([]byte("body")) {
			t.Fatalf("got %v", err)
		}
	})
	if n, _ := s.Count(); n != 1 {
		t.Fatalf("failed publications left records: count %d", n)
	}
	// The checks run before the blob is put in place: a refused body leaves no file.
	for _, body := range []string{"two", "x"} {
		if _, err := os.Stat(s.blobPath(sha([]byte(body)))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("refused body %q left a blob: %v", body, err)
		}
	}
}

// TestRealSampleRoundTrip stores a real signed PDF and checks the bytes and the hash
// against sha256sum, an independent implementation.
func TestRealSampleRoundTrip(t *testing.T) {
	path := "../../../../shared/samples/signed-pdf/LAB.pdf"
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("sample documents not available (%v)", err)
	}
	defer f.Close()
	s := open(t, t.TempDir(), &clock{t: t0})
	defer s.Close()
	m, err := s.Publish(meta("2.16.840.1.113883.2.9.2.160.4.4^LAB1", cfA, t0), f)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(path)
	_, rc, err := s.Get(m.UniqueID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, want) || m.Size != int64(len(want)) {
		t.Fatal("stored bytes differ from the sample")
	}
	testenv.Tool(t, "sha256sum", "coreutils")
	out, err := exec.Command("sha256sum", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out[:64]) != m.Hash {
		t.Fatalf("hash %s, sha256sum says %s", m.Hash, out[:64])
	}
}

func TestReplaceDelete(t *testing.T) {
	s := open(t, t.TempDir(), &clock{t: t0})
	defer s.Close()
	for _, id := range []string{"old", "other"} {
		if _, err := s.Publish(meta(id, cfA, t0), bytes.NewReader([]byte(id))); err != nil {
			t.Fatal(err)
		}
	}
	nw, err := s.Replace("old", meta("new", cfA, t0.Add(time.Hour)), bytes.NewReader([]byte("new")))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := s.Meta("old")
	if old.Status != StatusDeprecated || old.ReplacedBy != "new" || nw.Replaces != "old" {
		t.Fatalf("links: old %s→%s, new replaces %s", old.Status, old.ReplacedBy, nw.Replaces)
	}
	tests := []struct {
		name string
		op   func() error
		is   error
	}{
		{"replace unknown", func() error {
			_, err := s.Replace("nope", meta("n2", cfA, t0), bytes.NewReader(nil))
			return err
		}, ErrNotFound},
		{"replace already replaced", func() error {
			_, err := s.Replace("old", meta("n3", cfA, t0), bytes.NewReader(nil))
			return err
		}, ErrNotFound},
		{"replace onto existing id", func() error {
			_, err := s.Replace("other", meta("new", cfA, t0), bytes.NewReader(nil))
			return err
		}, ErrDuplicate},
		{"replace with another patient", func() error {
			_, err := s.Replace("other", meta("n4", cfB, t0), bytes.NewReader(nil))
			return err
		}, ErrInvalid},
		{"delete unknown", func() error { return s.Delete("nope") }, ErrNotFound},
		{"delete", func() error { return s.Delete("other") }, nil},
		{"delete twice", func() error { return s.Delete("other") }, ErrNotFound},
		{"get deleted", func() error { _, _, err := s.Get("other"); return err }, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want %v", err, tc.is)
			}
		})
	}
	total, page, err := s.Search(Filter{PatientCF: cfA})
	if err != nil || total != 1 || page[0].UniqueID != "new" {
		t.Fatalf("search after replace+delete: %d %v %v", total, page, err)
	}
	total, _, _ = s.Search(Filter{PatientCF: cfA, Status: StatusDeprecated})
	if total != 1 {
		t.Fatalf("deprecated search total %d", total)
	}
	if other, _ := s.Meta("other"); other.Status != StatusDeleted {
		t.Fatalf("deleted status %q", other.Status)
	}
}

func TestSearch(t *testing.T) {
	s := open(t, t.TempDir(), &clock{t: t0})
	defer s.Close()
	day := 24 * time.Hour
	docs := []DocumentMeta{
		meta("a", cfA, t0),
		meta("b", cfA, t0), // same time as a: id breaks the tie
		meta("c", cfA, t0.Add(day)),
		meta("d", cfA, t0.Add(-day)),
		meta("e", cfB, t0.Add(2*day)),
	}
	docs[2].TypeCode, docs[2].ClassCode = "34105-7", "LDO"
	docs[3].AuthorInstitution.Code = "160115"
	for _, m := range docs {
		if _, err := s.Publish(m, bytes.NewReader([]byte(m.UniqueID))); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		f     Filter
		total int
		ids   string
	}{
		{"patient, newest first, id tie-break", Filter{PatientCF: cfA}, 4, "c a b d"},
		{"all patients", Filter{}, 5, "e c a b d"},
		{"other patient", Filter{PatientCF: cfB}, 1, "e"},
		{"from inclusive", Filter{PatientCF: cfA, From: t0}, 3, "c a b"},
		{"to exclusive", Filter{PatientCF: cfA, To: t0}, 1, "d"},
		{"from-to window", Filter{PatientCF: cfA, From: t0, To: t0.Add(day)}, 2, "a b"},
		{"type", Filter{PatientCF: cfA, TypeCode: "34105-7"}, 1, "c"},
		{"class", Filter{ClassCode: "REF"}, 4, "e a b d"},
		{"author structure", Filter{AuthorStructure: "160115"}, 1, "d"},
		{"offset+limit", Filter{PatientCF: cfA, Offset: 1, Limit: 2}, 4, "a b"},
		{"offset past end", Filter{PatientCF: cfA, Offset: 9}, 4, ""},
		{"unknown patient", Filter{PatientCF: "PROVAX00X00X000Y"}, 0, ""},
		{"deleted never", Filter{Status: StatusDeleted}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			total, page, err := s.Search(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			ids := ""
			for i, m := range page {
				if i > 0 {
					ids += " "
				}
				ids += m.UniqueID
			}
			if total != tc.total || ids != tc.ids {
				t.Fatalf("got %d [%s], want %d [%s]", total, ids, tc.total, tc.ids)
			}
		})
	}
}

// TestConcurrentPublishSearchReopen: many goroutines publish and search at once; after a
// reopen every document is there exactly once with intact bytes.
func TestConcurrentPublishSearchReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, &clock{t: t0})
	const workers, per = 8, 25
	var wg sync.WaitGroup
	errc := make(chan error, workers*per*2)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				cf := cfA
				if i%2 == 1 {
					cf = cfB
				}
				_, err := s.Publish(meta(id, cf, t0.Add(time.Duration(w*per+i)*time.Second)), bytes.NewReader([]byte("body of "+id)))
				if err != nil {
					errc <- err
				}
				// every goroutine also races a duplicate of a shared id
				if i == 0 {
					if _, err := s.Publish(meta("shared", cfA, t0), bytes.NewReader([]byte("shared"))); err != nil && !errors.Is(err, ErrDuplicate) {
						errc <- err
					}
				}
				if _, _, err := s.Search(Filter{PatientCF: cf, Limit: 5}); err != nil {
					errc <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, &clock{t: t0})
	defer s.Close()
	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range all {
		seen[m.UniqueID]++
		_, rc, err := s.Get(m.UniqueID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if sha(b) != m.Hash {
			t.Fatalf("%s: body hash differs after reopen", m.UniqueID)
		}
	}
	if len(all) != workers*per+1 || len(seen) != workers*per+1 {
		t.Fatalf("records %d, distinct %d, want %d", len(all), len(seen), workers*per+1)
	}
	totalA, _, _ := s.Search(Filter{PatientCF: cfA})
	totalB, _, _ := s.Search(Filter{PatientCF: cfB})
	if totalA+totalB != len(all) {
		t.Fatalf("index out of step with records: %d+%d != %d", totalA, totalB, len(all))
	}
}

func TestConsents(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := open(t, dir, c)
	st, err := s.Consents(cfA)
	if err != nil || !st.Values["C1"] || st.Values["C2"] || len(st.Values) != 8 {
		t.Fatalf("default consents: %v %v", st.Values, err)
	}
	by := ConsentActor{OperatorCF: "PROVAX00X00X000Y", Role: "OGC", Structure: "160114",
		OnBehalfOf: &OnBehalfOf{CF: cfB, Role: "TUT"}}
	tests := []struct {
		name    string
		changes []ConsentChange
		is      error
	}{
		{"grant C2 C3", []ConsentChange{{"C2", true}, {"C3", true}}, nil},
		{"revoke C3", []ConsentChange{{"C3", false}}, nil},
		{"unknown code", []ConsentChange{{"C9", true}}, ErrInvalid},
		{"C1 cannot be revoked", []ConsentChange{{"C1", false}}, ErrInvalid},
		{"no changes", nil, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.Add(time.Minute)
			if _, err := s.RecordConsents(cfA, tc.changes, by, time.Time{}); !errors.Is(err, tc.is) {
				t.Fatalf("got %v want %v", err, tc.is)
			}
		})
	}
	s.Close()
	s = open(t, dir, c)
	defer s.Close()
	st, _ = s.Consents(cfA)
	if !st.Values["C2"] || st.Values["C3"] || !st.Values["C1"] || !st.UpdatedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after reopen: %v at %v", st.Values, st.UpdatedAt)
	}
	h, _ := s.ConsentHistory(cfA)
	if len(h) != 2 || h[0].Changes[0].Code != "C2" || h[1].Changes[0].Code != "C3" || h[1].By.OnBehalfOf.Role != "TUT" {
		t.Fatalf("history: %+v", h)
	}
	if h, _ := s.ConsentHistory(cfB); len(h) != 0 {
		t.Fatalf("other patient's history leaked: %v", h)
	}
}

func TestReplayCache(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := open(t, dir, c)
	steps := []struct {
		name  string
		id    string
		ttl   time.Duration
		after time.Duration // clock advance before the call
		seen  bool
	}{
		{"first", "uuid:1", 5 * time.Minute, 0, false},
		{"replay", "uuid:1", 5 * time.Minute, time.Minute, true},
		{"other id", "uuid:2", time.Minute, 0, false},
		{"still within first ttl", "uuid:1", 5 * time.Minute, 3 * time.Minute, true},
		{"after expiry accepted again", "uuid:1", 5 * time.Minute, 2 * time.Minute, false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			c.Add(st.after)
			seen, err := s.SeenMessageID(st.id, c.Now().Add(st.ttl))
			if err != nil || seen != st.seen {
				t.Fatalf("seen %v err %v, want %v", seen, err, st.seen)
			}
		})
	}
	// uuid:2 expired and was pruned by the last call; uuid:1 lives on.
	if n, _ := s.ReplayEntries(); n != 1 {
		t.Fatalf("entries after automatic pruning %d, want 1", n)
	}
	s.Close()
	s = open(t, dir, c)
	defer s.Close()
	if seen, _ := s.SeenMessageID("uuid:1", c.Now().Add(time.Minute)); !seen {
		t.Fatal("replay cache lost on restart")
	}
	c.Add(time.Hour)
	if n, err := s.PruneMessageIDs(); n != 1 || err != nil {
		t.Fatalf("pruned %d %v", n, err)
	}
}

func TestTaccuino(t *testing.T) {
	s := open(t, t.TempDir(), &clock{t: t0})
	defer s.Close()
	var items []TaccuinoItem
	for i := 0; i < 10; i++ {
		items = append(items, TaccuinoItem{PatientCF: cfA, Kind: KindRilevazioni, Date: t0.AddDate(0, 0, i),
			Fields: map[string]string{"tipo": "peso", "valore": fmt.Sprint(70 + i)}})
	}
	items = append(items, TaccuinoItem{PatientCF: cfA, Kind: KindFarmaci, Date: t0, Fields: map[string]string{"nome": "x"}})
	items = append(items, TaccuinoItem{PatientCF: cfB, Kind: KindRilevazioni, Date: t0})
	added, err := s.AddTaccuinoItems("seed-v1", items)
	if err != nil || !added {
		t.Fatal(added, err)
	}
	if added, _ := s.AddTaccuinoItems("seed-v1", items); added {
		t.Fatal("marker did not prevent a second load")
	}
	if _, err := s.AddTaccuinoItems("", []TaccuinoItem{{PatientCF: cfA, Kind: "dolori", Date: t0}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown kind: %v", err)
	}
	tests := []struct {
		name  string
		q     TaccuinoQuery
		total int
		first string
		n     int
	}{
		{"all newest first", TaccuinoQuery{PatientCF: cfA, Kind: KindRilevazioni}, 10, "79", 10},
		{"range from incl to excl", TaccuinoQuery{PatientCF: cfA, Kind: KindRilevazioni, From: t0.AddDate(0, 0, 2), To: t0.AddDate(0, 0, 5)}, 3, "74", 3},
		{"page", TaccuinoQuery{PatientCF: cfA, Kind: KindRilevazioni, Offset: 8, Limit: 5}, 10, "71", 2},
		{"other kind", TaccuinoQuery{PatientCF: cfA, Kind: KindFarmaci}, 1, "", 1},
		{"empty kind", TaccuinoQuery{PatientCF: cfA, Kind: KindSintomi}, 0, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			total, page, err := s.TaccuinoItems(tc.q)
			if err != nil || total != tc.total || len(page) != tc.n {
				t.Fatalf("got %d/%d %v", total, len(page), err)
			}
			if tc.first != "" && page[0].Fields["valore"] != tc.first {
				t.Fatalf("first %q want %q", page[0].Fields["valore"], tc.first)
			}
		})
	}
	counts, _ := s.TaccuinoCounts(cfA)
	if counts[KindRilevazioni] != 10 || counts[KindFarmaci] != 1 || counts[KindEventi] != 0 || len(counts) != 5 {
		t.Fatalf("counts %v", counts)
	}
}

func TestClosed(t *testing.T) {
	s := open(t, t.TempDir(), &clock{t: t0})
	s.Close()
	if _, err := s.Count(); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v", err)
	}
}

// TestReplayConcurrent: of many simultaneous requests with one MessageID exactly one is new.
func TestReplayConcurrent(t *testing.T) {
	s := open(t, t.TempDir(), &clock{t: t0})
	defer s.Close()
	const n = 32
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen, err := s.SeenMessageID("uuid:same", t0.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if !seen {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fresh != 1 {
		t.Fatalf("%d requests accepted as new, want 1", fresh)
	}
}

// TestOpenRemovesLeftoverTemporaryBlobs: a crash mid-write leaves blobs/tmp files; the next
// Open removes them and the store still works.
func TestOpenRemovesLeftoverTemporaryBlobs(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, &clock{t: t0})
	s.Close()
	left := filepath.Join(dir, "blobs", "tmp", "blob-crashed")
	if err := os.WriteFile(left, []byte("half a document"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, &clock{t: t0})
	defer s.Close()
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("leftover still there: %v", err)
	}
	if _, err := s.Publish(meta("after", cfA, t0), bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
}

// TestSecondOpenFailsWhileLocked: bbolt's file lock keeps two simulators off one directory.
func TestSecondOpenFailsWhileLocked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, &clock{t: t0})
	defer s.Close()
	if s2, err := Open(dir, Options{}); err == nil {
		s2.Close()
		t.Fatal("second Open of a locked directory succeeded")
	}
}

// TestStagedPublication: a staged body is published as it was hashed, or removed when the
// publication is refused (duplicate) or discarded; a staged body is used once.
func TestStagedPublication(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, &clock{t: t0})
	defer s.Close()
	st, err := s.Stage(bytes.NewReader([]byte("staged body")))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("staged body"))
	if st.Hash() != hex.EncodeToString(sum[:]) || st.Size() != 11 {
		t.Fatalf("staged %s %d", st.Hash(), st.Size())
	}
	m, err := s.PublishStaged(meta("staged.1", cfA, t0), st)
	if err != nil || m.Hash != st2hex(sum) {
		t.Fatalf("publish staged: %v %s", err, m.Hash)
	}
	if _, err := s.PublishStaged(meta("staged.2", cfA, t0), st); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a staged body published twice: %v", err)
	}
	_, body, err := s.Get("staged.1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if string(b) != "staged body" {
		t.Fatalf("stored %q", b)
	}
	dup, err := s.Stage(bytes.NewReader([]byte("other")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishStaged(meta("staged.1", cfA, t0), dup); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	gone, err := s.Stage(bytes.NewReader([]byte("discarded")))
	if err != nil {
		t.Fatal(err)
	}
	gone.Discard()
	if ents, _ := os.ReadDir(filepath.Join(dir, "blobs", "tmp")); len(ents) != 0 {
		t.Fatalf("%d staged files left after a refusal and a discard", len(ents))
	}
}

func st2hex(sum [32]byte) string { return hex.EncodeToString(sum[:]) }
