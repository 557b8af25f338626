package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

func outboxOut(t *testing.T, s string) outboxOutput {
	t.Helper()
	var o outboxOutput
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		t.Fatalf("outbox JSON: %v\n%s", err, s)
	}
	return o
}

// transmissionsOf counts the Publish calls that reached the fake region per unique id.
func transmissionsOf(f *fakeRegion) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := map[string]int{}
	for _, id := range f.transmissions {
		n[id]++
	}
	return n
}

// TestCtrlCLetsInFlightFinish is issue 12's item 7: with documents in flight, Ctrl-C lets
// them finish and reports them sent; only the ones never started are "interrupted", and
// --resume sends those, nothing twice.
func TestCtrlCLetsInFlightFinish(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	for i := range 12 {
		writeDoc(t, dir, fmt.Sprintf("d%02d.pdf", i), fmt.Sprintf("%%PDF %d", i), sidecar(cfA, fmt.Sprintf("%sC%02d", idRoot, i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Ctrl-C comes while 4 requests are at the region; they take a while to answer.
	var mu sync.Mutex
	started := 0
	all := make(chan struct{})
	h.region.onPublish = nil
	slow := &slowDocs{fakeRegion: h.region, before: func() {
		mu.Lock()
		started++
		if started == 4 {
			cancel()
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
		time.Sleep(30 * time.Millisecond)
	}}
	d := h.deps()
	d.newBackend = slowBackend(slow)
	var out, errOut bytesBuffer
	err := newAppWith(&out, &errOut, d).RunContext(ctx, []string{"fsepuglia", "--format", "json", "publish", "--dir", dir, "--concurrency", "4"})
	if exitCode(err) != exitPartial {
		t.Fatalf("exit %d (%v), want %d\n%s", exitCode(err), err, exitPartial, errOut.String())
	}
	po := publishOut(t, out.String())
	if po.Summary.Sent != 4 || po.Summary.Interrupted != 8 || po.Summary.InDoubt != 0 {
		t.Fatalf("summary %+v: want the 4 in flight sent, 8 interrupted, none in doubt", po.Summary)
	}
	if !strings.Contains(errOut.String(), "waiting for the 4 in flight") || !strings.Contains(err.Error(), "8 interrupted before being sent") {
		t.Fatalf("stderr %q / error %q", errOut.String(), err)
	}
	if _, e, code := h.run("publish", "--resume"); code != 0 {
		t.Fatalf("resume: exit %d %s", code, e)
	}
	for id, n := range transmissionsOf(h.region) {
		if n != 1 {
			t.Errorf("%s transmitted %d times", id, n)
		}
	}
	if len(h.region.docs) != 12 {
		t.Fatalf("region holds %d documents", len(h.region.docs))
	}
}

type slowDocs struct {
	*fakeRegion
	before func()
}

func (s *slowDocs) Publish(ctx context.Context, req adapter.PublishRequest) (*adapter.PublishResult, error) {
	s.before()
	return s.fakeRegion.Publish(ctx, req)
}

func slowBackend(s *slowDocs) func(adapter.Config, adapter.Logger) (*backend, error) {
	return func(adapter.Config, adapter.Logger) (*backend, error) {
		return &backend{docs: s, consents: s.fakeRegion, taccuino: s.fakeRegion}, nil
	}
}

// TestInDoubtWithoutConsentIsSettledByHand: the patient has no consultation consent, so the
// region refuses the lookup of items left in doubt by a killed run. They are reported in
// doubt (exit 7), not sent again on a guess and not failed for good; outbox list shows
// them; retry sends one (the region refuses its copy as a duplicate: still once); forget
// removes one.
func TestInDoubtWithoutConsentIsSettledByHand(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	var docs []string
	for i := range 2 {
		docs = append(docs, writeDoc(t, dir, fmt.Sprintf("d%d.pdf", i), fmt.Sprintf("%%PDF doubt %d", i), sidecar(cfA, fmt.Sprintf("%sQ%d", idRoot, i))))
	}
	// A killed run: both reached the region, the outbox still says sending.
	ob, err := outbox.Open(filepath.Join(h.dataDir, "fsepuglia", "outbox.db"))
	if err != nil {
		os.MkdirAll(filepath.Join(h.dataDir, "fsepuglia"), 0o700)
		ob, err = outbox.Open(filepath.Join(h.dataDir, "fsepuglia", "outbox.db"))
		if err != nil {
			t.Fatal(err)
		}
	}
	var entries []outbox.Entry
	for i, p := range docs {
		meta, _ := json.Marshal(map[string]string{"patient_cf": cfA, "unique_id": fmt.Sprintf("%sQ%d", idRoot, i), "type_code": "11502-2", "class_code": "REF"})
		entries = append(entries, outbox.Entry{Path: p, SHA256: sha(fmt.Sprintf("%%PDF doubt %d", i)), Size: 12, UniqueID: fmt.Sprintf("%sQ%d", idRoot, i), Metadata: meta})
	}
	ob.Enqueue(entries)
	for _, e := range entries {
		h.region.docs[e.UniqueID] = []byte("%PDF doubt")
		ob.Update(outbox.Key(e.SHA256, e.UniqueID), func(it *outbox.Item) error {
			it.State, it.Attempts, it.LastAttempt = outbox.Sending, 1, time.Now().Add(-time.Hour)
			return nil
		})
	}
	ob.Close()
	h.region.err = &fakeFault{"FSE-00451", "consenso C2 mancante"}

	out, e, code := h.run("--format", "json", "publish", "--resume")
	po := publishOut(t, out)
	if code != exitPartial || po.Summary.InDoubt != 2 || po.Summary.Failed != 0 {
		t.Fatalf("resume: exit %d summary %+v\n%s", code, po.Summary, e)
	}
	for _, it := range po.Items {
		if it.Result != resultInDoubt || it.State != "in-doubt" || !strings.Contains(it.Reason, "refuses to show") {
			t.Errorf("item %+v: want in doubt, explained", it)
		}
	}
	if !strings.Contains(e, "2 in doubt") || !strings.Contains(e, "outbox list") {
		t.Errorf("stderr %q does not point to outbox list", e)
	}
	if n := len(h.region.transmissions); n != 0 {
		t.Fatalf("%d transmissions while in doubt, want none", n)
	}

	out, e, code = h.run("--format", "json", "outbox", "list", "--state", "in-doubt")
	if ol := outboxOut(t, out); code != 0 || len(ol.Items) != 2 || !ol.Items[0].InDoubt || ol.Items[0].Attempts != 1 {
		t.Fatalf("outbox list: exit %d %s %s", code, out, e)
	}
	out, _, code = h.run("--format", "json", "outbox", "show", idRoot+"Q0")
	if os := outboxOut(t, out); code != 0 || len(os.Items) != 1 || len(os.Items[0].Metadata) == 0 {
		t.Fatalf("outbox show: exit %d %s", code, out)
	}
	out, _, code = h.run("outbox", "show", idRoot+"Q0")
	if code != 0 || strings.Contains(out, cfA) || !strings.Contains(out, "in-doubt") {
		t.Fatalf("outbox show (table): exit %d\n%s", code, out)
	}

	// retry Q0: sent, refused as a duplicate; the lookup is still refused: in doubt, once.
	if _, e, code := h.run("outbox", "retry", idRoot+"Q0"); code != 0 {
		t.Fatalf("retry: exit %d %s", code, e)
	}
	out, _, code = h.run("--format", "json", "publish", "--resume")
	po = publishOut(t, out)
	if code != exitPartial || po.Summary.InDoubt != 2 {
		t.Fatalf("after retry: exit %d %+v", code, po.Summary)
	}
	if n := transmissionsOf(h.region); n[idRoot+"Q0"] != 1 || n[idRoot+"Q1"] != 0 {
		t.Fatalf("transmissions %v: want Q0 once (the retry), Q1 never", n)
	}
	// forget Q1 (found on the region by other means), by its file path.
	if out, e, code := h.run("--format", "json", "outbox", "forget", docs[1]); code != 0 || len(outboxOut(t, out).Items) != 1 {
		t.Fatalf("forget: exit %d %s %s", code, out, e)
	}
	out, _, _ = h.run("--format", "json", "outbox", "list")
	if ol := outboxOut(t, out); len(ol.Items) != 1 || ol.Items[0].UniqueID != idRoot+"Q0" {
		t.Fatalf("after forget: %s", out)
	}
	// Once consent is recorded the remaining one is confirmed by hash... here the region's
	// copy differs from the file, so it fails as "different document" rather than being sent.
	h.region.err = nil
	if _, _, code := h.run("outbox", "show", "nope"); code != exitInput {
		t.Fatalf("show of an unknown item: exit %d", code)
	}
	if _, _, code := h.run("outbox", "retry"); code != exitUsage {
		t.Fatalf("retry without items: exit %d", code)
	}
}

// TestPublishSkipInvalid: one invalid file among many refuses the batch (nothing recorded),
// unless --skip-invalid: then the valid ones are published, the invalid one is reported,
// left untouched and out of the outbox, and the exit code is 7.
func TestPublishSkipInvalid(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	for i := range 3 {
		writeDoc(t, dir, fmt.Sprintf("ok%d.pdf", i), fmt.Sprintf("%%PDF ok %d", i), sidecar(cfA, fmt.Sprintf("%sS%d", idRoot, i)))
	}
	bad := writeDoc(t, dir, "bad.pdf", "%PDF bad", `{"patient_cf":"FSEPGL01E41A145K","unique_id":"X","type_code":"11502-2","class_code":"REF"}`)
	before, _ := os.ReadFile(bad)
	_, e, code := h.run("publish", "--dir", dir)
	if code != exitInput || !strings.Contains(e, "--skip-invalid") || len(h.region.publishes) != 0 {
		t.Fatalf("without --skip-invalid: exit %d, %d sent: %s", code, len(h.region.publishes), e)
	}
	out, e, code := h.run("--format", "json", "publish", "--dir", dir, "--skip-invalid")
	po := publishOut(t, out)
	if code != exitPartial || po.Summary.Sent != 3 || po.Summary.Invalid != 1 || len(h.region.publishes) != 3 {
		t.Fatalf("--skip-invalid: exit %d %+v\n%s", code, po.Summary, e)
	}
	var inv publishItemOutput
	for _, it := range po.Items {
		if it.Result == resultInvalid {
			inv = it
		}
	}
	if inv.Path != bad || !strings.Contains(inv.Reason, "check letter") || !strings.Contains(e, "invalid: ") {
		t.Fatalf("invalid item %+v, stderr %s", inv, e)
	}
	if after, _ := os.ReadFile(bad); string(after) != string(before) {
		t.Fatal("the invalid file was changed")
	}
	out, _, _ = h.run("--format", "json", "outbox", "list")
	if n := len(outboxOut(t, out).Items); n != 3 {
		t.Fatalf("outbox holds %d items, want the 3 valid ones", n)
	}
}

// TestPublishJSONLinesAndSkippedItems: --json-lines streams one object per state change and a
// summary; a file done by an earlier run reads "result":"skipped", not like one sent now.
func TestPublishJSONLinesAndSkippedItems(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	for i := range 3 {
		writeDoc(t, dir, fmt.Sprintf("j%d.pdf", i), fmt.Sprintf("%%PDF j %d", i), sidecar(cfA, fmt.Sprintf("%sJ%d", idRoot, i)))
	}
	lines := func(out string) []map[string]any {
		var evs []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not a JSON line: %q", l)
			}
			evs = append(evs, m)
		}
		return evs
	}
	out, e, code := h.run("publish", "--dir", dir, "--json-lines")
	if code != 0 {
		t.Fatalf("exit %d %s", code, e)
	}
	evs := lines(out)
	results := map[string]int{}
	for _, ev := range evs[:len(evs)-1] {
		if ev["message_type"] != "item" || ev["total"] != float64(3) {
			t.Fatalf("event %v", ev)
		}
		results[ev["result"].(string)]++
	}
	last := evs[len(evs)-1]
	sum, _ := last["summary"].(map[string]any)
	if last["message_type"] != "summary" || sum["sent"] != float64(3) || results["sending"] != 3 || results["sent"] != 3 {
		t.Fatalf("events %v", evs)
	}
	// Again: every item skipped, and said so.
	out, _, _ = h.run("publish", "--dir", dir, "--json-lines")
	evs = lines(out)
	for _, ev := range evs[:len(evs)-1] {
		if ev["result"] != "skipped" || ev["state"] != "done" {
			t.Fatalf("second run event %v", ev)
		}
	}
	out, _, _ = h.run("--format", "json", "publish", "--dir", dir)
	for _, it := range publishOut(t, out).Items {
		if it.Result != resultSkipped {
			t.Fatalf("item %+v: a skipped item must not read like one sent now", it)
		}
	}
	out, _, _ = h.run("publish", "--dir", dir)
	if !strings.Contains(out, "skipped  done by an earlier run (sent)") {
		t.Fatalf("table:\n%s", out)
	}
}

// TestConsentRecordedStatusUnavailable (issue 12 item 9): the write succeeded, the read-back
// failed: exit 0, "recorded" said distinctly on stdout (JSON too) and stderr, not an error
// that would make someone record the consent again.
func TestConsentRecordedStatusUnavailable(t *testing.T) {
	h := newHarness(t)
	h.region.statusAfterSetErr = fakeTransport{}
	out, e, code := h.run("consent", "set", "--patient", cfA, "--c2=true", "--informativa-id", "160^1.0")
	if code != exitOK || !strings.Contains(out, "recorded; status unavailable") || !strings.Contains(e, "do not record them again") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, e)
	}
	out, _, code = h.run("--format", "json", "consent", "set", "--patient", cfA, "--c2=true", "--informativa-id", "160^1.0")
	var o consentRecordedOutput
	if err := json.Unmarshal([]byte(out), &o); err != nil || code != exitOK || !o.Recorded || o.StatusUnavailable == "" {
		t.Fatalf("JSON: exit %d %s (%v)", code, out, err)
	}
	if len(h.region.consentCh) != 2 {
		t.Fatalf("%d writes", len(h.region.consentCh))
	}
}

// TestDayRange (issue 12 item 10): --to is the end of the day given, in Italian time, so
// --from D --to D is the whole day D for search and the Taccuino; the simulator refused it.
func TestDayRange(t *testing.T) {
	from, err := parseDay("from", "2026-03-15")
	if err != nil {
		t.Fatal(err)
	}
	to, _ := parseDay("to", "2026-03-15")
	if got := from.Format(time.RFC3339); got != "2026-03-15T00:00:00+01:00" {
		t.Errorf("--from 2026-03-15 = %s", got)
	}
	if !to.After(from) || to.Sub(from) < 24*time.Hour-time.Second || to.Format("2006-01-02") != "2026-03-15" {
		t.Errorf("--to 2026-03-15 = %s", to.Format(time.RFC3339Nano))
	}
	// Summer time: the day is Rome's, whatever the machine's zone.
	if got, _ := parseDay("from", "2026-07-01"); got.Format(time.RFC3339) != "2026-07-01T00:00:00+02:00" {
		t.Errorf("--from 2026-07-01 = %s", got.Format(time.RFC3339))
	}
	if testing.Short() {
		return
	}
	cfg := startSim(t)
	data := t.TempDir()
	doc := filepath.Join(t.TempDir(), "d.pdf")
	os.WriteFile(doc, pdfcdatest.PDF{Sign: true, Attachment: pdfcdatest.CDA{PatientCF: cfA, IDExtension: "DAY.1", EffectiveTime: "20260315103000+0100"}.Bytes()}.Bytes(), 0o600)
	for _, args := range [][]string{
		{"consent", "set", "--patient", cfA, "--c2=true"},
		{"publish", doc},
	} {
		if _, e, code := runReal(t, cfg, data, args...); code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, e)
		}
	}
	out, e, code := runReal(t, cfg, data, "search", "--patient", cfA, "--from", "2026-03-15", "--to", "2026-03-15")
	if code != 0 || !strings.Contains(out, "DAY.1") {
		t.Fatalf("search --from D --to D: exit %d\n%s\n%s", code, out, e)
	}
	if out, _, _ := runReal(t, cfg, data, "search", "--patient", cfA, "--from", "2026-03-16", "--to", "2026-03-16"); strings.Contains(out, "DAY.1") {
		t.Fatalf("the next day finds it: %s", out)
	}
	if _, e, code := runReal(t, cfg, data, "taccuino", "rilevazioni", "--patient", cfA, "--from", "2026-03-15", "--to", "2026-03-15"); code != 0 {
		t.Fatalf("taccuino --from D --to D: exit %d %s", code, e)
	}
}

// TestSimInjectDocumentedForm (issue 12 item 11): `sim --inject` in its documented form
// (commas inside one value) reaches the simulator whole: a 503/reset rule given on the
// command line really fails the calls.
func TestSimInjectDocumentedForm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var out, errOut syncBuffer
	go func() {
		d := defaultDeps()
		d.getenv = func(string) string { return "" }
		done <- runWith(ctx, []string{"fsepuglia", "sim", "--data-dir", dir,
			"--inject", "statoConsensi:rate=1,kinds=503|reset",
			"--inject", "addDocument:latency=200ms,rate=0.2,kinds=reset|503"}, &out, &errOut, d)
	}()
	cfg := filepath.Join(dir, "client-config.json")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(cfg); err == nil && strings.Contains(out.String()+errOut.String(), "listening") {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("sim exited %d: %s %s", code, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulator did not start: %s %s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, e, code := runReal(t, cfg, t.TempDir(), "consent", "status", "--patient", cfA)
	if code != exitTransport {
		t.Fatalf("consent status under an injected 503/reset: exit %d, want %d\n%s", code, exitTransport, e)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the simulator did not stop")
	}
}

// TestTimeoutsRefused (issue 12 item 11): a negative --timeout and a bare number in the
// configuration file are refused, naming the field, instead of being accepted silently.
func TestTimeoutsRefused(t *testing.T) {
	h := newHarness(t)
	if _, e, code := h.run("--timeout", "-5s", "consent", "status", "--patient", cfA); code != exitInput || !strings.Contains(e, "timeout") {
		t.Fatalf("--timeout -5s: exit %d %s", code, e)
	}
	cfgFile := filepath.Join(t.TempDir(), "c.json")
	for _, raw := range []string{`{"timeout": 12}`, `{"timeout": "-5s"}`, `{"security": {"timestamp_ttl": 300}}`} {
		os.WriteFile(cfgFile, []byte(raw), 0o600)
		if _, e, code := h.run("--config", cfgFile, "consent", "status", "--patient", cfA); code != exitInput || !strings.Contains(e, "duration") {
			t.Errorf("%s: exit %d %s", raw, code, e)
		}
	}
	if _, err := adapter.New(adapter.Config{Environment: "local", ASL: "aslba", BaseURL: "https://127.0.0.1:1", Timeout: adapter.Duration(-time.Second)}); err == nil || !strings.Contains(err.Error(), "configuration timeout") {
		t.Errorf("adapter.New with a negative timeout: %v", err)
	}
}
