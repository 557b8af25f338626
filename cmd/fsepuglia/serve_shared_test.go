package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/queue/pgqueue/pgtest"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
)

// TestServeSharedPostgres is the black-box test of issue 14: two `fsepuglia serve` binaries
// on one PostgreSQL queue and one simulator; 1,000 documents, half dropped into their intake
// folders and half posted to their APIs; one instance SIGKILLed mid-way and restarted. Every
// document must be published exactly once, counted as addDocument requests received by the
// simulator (transmissions), and every intake file must end in done/ with its report.
func TestServeSharedPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, starts the simulator and two instances")
	}
	if raceEnabled {
		t.Skip("the binary is built without -race; this test runs in the ordinary go test run")
	}
	dsn := pgtest.DSN(t)
	const nDocs = 1000
	bin := buildServeBinary(t)
	s, err := sim.Start(context.Background(), sim.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := s.ClientConfigPath()

	// Documents first (outside the timed part): small signed PDFs with a CDA each.
	docs := make([][]byte, nDocs)
	for i := range docs {
		docs[i] = serveDoc("SHARED", i)
	}
	t.Logf("document size %d bytes", len(docs[0]))

	args := func(watch string) []string {
		return []string{"--queue", dsn, "--watch", watch, "--watch-interval", "200ms", "--concurrency", "4",
			"--call-timeout", "3s", "--lease", "13s", "--poll", "100ms", "--drain", "2s"}
	}
	watchA, watchB := t.TempDir(), t.TempDir()
	dataA, dataB := t.TempDir(), t.TempDir()
	a := startServe(t, bin, cfg, dataA, append(args(watchA), "--instance", "A")...)
	b := startServe(t, bin, cfg, dataB, append(args(watchB), "--instance", "B")...)

	// Consultation consent, through the API, so that in-doubt items can be reconciled by retrieve.
	res, err := serveHTTP.Post(a.url+"/v1/consents", "application/json",
		bytes.NewReader(fmt.Appendf(nil, `{"patient":%q,"consents":{"C2":true,"C3":true}}`, cfA)))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("consent: %v %v", res, err)
	}
	res.Body.Close()

	start := time.Now()
	// Even documents go to the intake folders, odd ones to the APIs (A and B alternately).
	var wg sync.WaitGroup
	var postErrs atomic.Int32
	// The instance a post goes to is looked up at every try: B restarts on a new port, and a
	// client of a restarted service finds it again (its address is stable in production).
	var current [2]atomic.Pointer[serveProc]
	current[0].Store(a)
	current[1].Store(b)
	post := func(which, i int) {
		for try := 0; ; try++ {
			code, _, err := current[which].Load().post(fmt.Sprintf("doc%04d.pdf", i), docs[i])
			if err == nil && (code == http.StatusAccepted || code == http.StatusOK) {
				return
			}
			if try > 50 {
				t.Errorf("post doc%04d: %d %v", i, code, err)
				postErrs.Add(1)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < nDocs; i += 2 {
			dir := watchA
			if i%4 == 2 {
				dir = watchB
			}
			dropFile(t, dir, fmt.Sprintf("doc%04d.pdf", i), docs[i])
		}
	}()
	postsDone := make(chan struct{})
	go func() {
		defer close(postsDone)
		var pw sync.WaitGroup
		sem := make(chan struct{}, 4)
		for i := 1; i < nDocs; i += 2 {
			which := 0
			if i%4 == 3 {
				which = 1
			}
			sem <- struct{}{}
			pw.Add(1)
			go func() { defer pw.Done(); defer func() { <-sem }(); post(which, i) }()
		}
		pw.Wait()
	}()

	// Kill B when about a third is published, while it has items in flight.
	deadline := time.Now().Add(120 * time.Second)
	for s.Calls("addDocument") < nDocs/3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d documents sent after 120s\nA:\n%s\nB:\n%s", s.Calls("addDocument"), tail(a.logs.String()), tail(b.logs.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.kill()
	killedAt := s.Calls("addDocument")
	t.Logf("B SIGKILLed after %d transmissions (%.1fs)", killedAt, time.Since(start).Seconds())
	// B's API is gone: the remaining posts meant for B are retried until B is back, as a
	// client of a restarted service would.
	time.Sleep(500 * time.Millisecond)
	b = startServe(t, bin, cfg, dataB, append(args(watchB), "--instance", "B2")...)
	current[1].Store(b)
	wg.Wait()
	<-postsDone
	if postErrs.Load() > 0 {
		t.FailNow()
	}

	// Wait until the queue is settled and both intake folders are empty but for done/.
	var list struct {
		Counts map[string]int `json:"counts"`
	}
	deadline = time.Now().Add(180 * time.Second)
	for {
		a.getJSON("/v1/documents?limit=1", &list)
		files := countFiles(t, watchA, "*.pdf") + countFiles(t, watchB, "*.pdf") +
			countFiles(t, filepath.Join(watchA, "queued"), "*.pdf") + countFiles(t, filepath.Join(watchB, "queued"), "*.pdf")
		if list.Counts["done"] == nDocs && files == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after 180s: %v, %d intake files left, %d transmissions\nA:\n%s\nB:\n%s", list.Counts, files,
				s.Calls("addDocument"), tail(a.logs.String()), tail(b.logs.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)

	// Every document exactly once at the simulator: transmissions and stored documents.
	if got := s.Calls("addDocument"); got != nDocs {
		t.Errorf("simulator received %d addDocument requests for %d documents", got, nDocs)
	}
	if n, err := s.Data().Store.Count(); err != nil || n != nDocs {
		t.Errorf("simulator stores %d documents (%v), want %d", n, err, nDocs)
	}
	if got := countFiles(t, filepath.Join(watchA, "done"), "*.pdf") + countFiles(t, filepath.Join(watchB, "done"), "*.pdf"); got != nDocs/2 {
		t.Errorf("%d files in done/, want %d", got, nDocs/2)
	}
	if n := countFiles(t, filepath.Join(watchA, "failed"), "*") + countFiles(t, filepath.Join(watchB, "failed"), "*"); n != 0 {
		t.Errorf("%d files in failed/", n)
	}
	reports, _ := filepath.Glob(filepath.Join(watchA, "done", "*.pdf.json"))
	if len(reports) == 0 {
		t.Fatal("no report beside the done files")
	}
	var rep intakeReport
	raw, _ := os.ReadFile(reports[0])
	if err := json.Unmarshal(raw, &rep); err != nil || rep.State != "done" || rep.Route != "legacy" || rep.UniqueID == "" {
		t.Errorf("report %s: %s", reports[0], raw)
	}

	// Metrics, parsed with the Prometheus text parser: the queue depth is shared, the sends
	// are per instance (B2 only counts what it sent after the restart).
	ma, mb := a.metrics(), b.metrics()
	if got := ma["fsepuglia_queue_items"].get("state=done"); got != nDocs {
		t.Errorf("fsepuglia_queue_items{state=done} = %v", got)
	}
	sentA, sentB := ma["fsepuglia_sends_total"].sum(), mb["fsepuglia_sends_total"].sum()
	if sentA == 0 || sentA+sentB > nDocs {
		t.Errorf("fsepuglia_sends_total: A %v, B2 %v (at most %d together, B's first life not counted)", sentA, sentB, nDocs)
	}
	if ma["fsepuglia_call_duration_seconds"].get("call=publish") == 0 {
		t.Error("no publish latency observed")
	}
	reclaimed := 0
	var items struct {
		Items []apiItem `json:"items"`
	}
	for after := int64(0); ; {
		items.Items = nil
		a.getJSON(fmt.Sprintf("/v1/documents?limit=1000&after=%d", after), &items)
		for _, it := range items.Items {
			if it.Attempts > 1 {
				reclaimed++
				if it.Outcome != "already-present" && it.Outcome != "sent" {
					t.Errorf("reclaimed item %s: %+v", it.UniqueID, it)
				}
			}
		}
		if len(items.Items) < 1000 {
			break
		}
		after += 1000
	}
	t.Logf("1000 documents in %.1fs (%.0f docs/s including a SIGKILL, a %s lease and a restart); %d items claimed more than once and reconciled; sends A %v, B2 %v",
		elapsed.Seconds(), nDocs/elapsed.Seconds(), "13s", reclaimed, sentA, sentB)
	a.stop()
	b.stop()
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
