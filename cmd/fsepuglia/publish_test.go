package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/batch"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
)

const idRoot = "2.16.840.1.113883.2.9.2.160.4.4^"

func publishOut(t *testing.T, s string) publishOutput {
	t.Helper()
	var po publishOutput
	if err := json.Unmarshal([]byte(s), &po); err != nil {
		t.Fatalf("publish JSON: %v\n%s", err, s)
	}
	return po
}

func TestPublishDirIsIdempotent(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	for i := range 5 {
		writeDoc(t, dir, fmt.Sprintf("d%d.pdf", i), fmt.Sprintf("%%PDF doc %d", i), sidecar(cfA, fmt.Sprintf("%sD%d", idRoot, i)))
	}
	writeDoc(t, dir, "notes.txt", "ignored", "")
	out, e, code := h.run("--output", "json", "publish", "--dir", dir, "--concurrency", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	po := publishOut(t, out)
	if po.Summary != (publishSummary{Sent: 5}) || len(po.Items) != 5 {
		t.Fatalf("first run %+v", po)
	}
	if len(h.region.publishes) != 5 {
		t.Fatalf("region got %d publications", len(h.region.publishes))
	}
	m := h.region.meta[idRoot+"D3"]
	if m.Hash != sha("%PDF doc 3") || m.Size != int64(len("%PDF doc 3")) || m.DocumentName != "d3.pdf" || m.PatientCF != cfA || m.Title != "Referto di laboratorio" {
		t.Fatalf("metadata sent %+v", m)
	}
	// The same files again: nothing is sent, all are reported skipped.
	out, _, code = h.run("--output", "json", "publish", "--dir", dir)
	po = publishOut(t, out)
	if code != 0 || po.Summary != (publishSummary{Skipped: 5}) || len(h.region.publishes) != 5 {
		t.Fatalf("second run exit %d %+v, region %d", code, po.Summary, len(h.region.publishes))
	}
}

func TestPublishInvalidBatchRecordsNothing(t *testing.T) {
	tests := []struct {
		name    string
		sidecar string
		flags   []string
		errHas  []string
		code    int
	}{
		{"missing type code", `{"patient_cf":"FSEPGL01E41A145J","unique_id":"X1","class_code":"REF"}`, nil, []string{"type_code", "b.pdf.json", "--type-code"}, exitInput},
		{"bad patient", `{"patient_cf":"FSEPGL01E41A145K","unique_id":"X1","type_code":"11502-2","class_code":"REF"}`, nil, []string{"b.pdf", "check letter"}, exitInput},
		{"unknown sidecar key", `{"patient":"FSEPGL01E41A145J"}`, nil, []string{"b.pdf.json", "patient"}, exitInput},
		{"hash mismatch", `{"patient_cf":"FSEPGL01E41A145J","unique_id":"X1","type_code":"11502-2","class_code":"REF","hash":"00"}`, nil, []string{"hash", "SHA-256"}, exitInput},
		{"unique id with many files", sidecar(cfA, "X1"), []string{"--unique-id", "Y"}, []string{"--unique-id"}, exitUsage},
		{"two files, one unique id", sidecar(cfA, idRoot+"A"), nil, []string{"unique_id", "a.pdf", "b.pdf"}, exitInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			dir := t.TempDir()
			a := writeDoc(t, dir, "a.pdf", "%PDF a", sidecar(cfA, idRoot+"A"))
			b := writeDoc(t, dir, "b.pdf", "%PDF b", tt.sidecar)
			_, e, code := h.run(append(append([]string{"publish"}, tt.flags...), a, b)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, e)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(e, s) {
					t.Errorf("stderr does not name %q: %s", s, e)
				}
			}
			if len(h.region.publishes) != 0 || h.builds != 0 {
				t.Fatalf("something was sent: %v", h.region.publishes)
			}
			if p := filepath.Join(h.dataDir, "fsepuglia", "outbox.db"); fileExists(p) {
				ob, err := outbox.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				defer ob.Close()
				if items, _ := ob.Items(); len(items) != 0 {
					t.Fatalf("outbox holds %d items from a refused batch", len(items))
				}
			}
		})
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestPublishFlagsOverrideSidecar(t *testing.T) {
	h := newHarness(t)
	doc := writeDoc(t, t.TempDir(), "a.pdf", "%PDF a", sidecar(cfA, idRoot+"A"))
	if _, e, code := h.run("publish", "--class-code", "LDO", "--type-code", "34105-7", "--unique-id", idRoot+"OVR", doc); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	m, ok := h.region.meta[idRoot+"OVR"]
	if !ok || m.ClassCode != "LDO" || m.TypeCode != "34105-7" || m.PatientCF != cfA {
		t.Fatalf("metadata %+v", h.region.meta)
	}
	// Metadata entirely from flags, no sidecar.
	bare := writeDoc(t, t.TempDir(), "bare.pdf", "%PDF bare", "")
	if _, e, code := h.run("publish", bare, "--patient", strings.ToLower(cfB), "--unique-id", idRoot+"BARE", "--type-code", "11502-2", "--class-code", "REF"); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if m := h.region.meta[idRoot+"BARE"]; m.PatientCF != cfB {
		t.Fatalf("patient %q, want normalised %s", m.PatientCF, cfB)
	}
}

func TestPublishDocMetadataHook(t *testing.T) {
	h := newHarness(t)
	d := h.deps()
	d.docMetadata = func(_ adapter.Config, path string, body []byte, _ bool) (adapter.Metadata, error) {
		return adapter.Metadata{PatientCF: cfA, UniqueID: idRoot + "FROMCDA", TypeCode: "11502-2", ClassCode: "REF", Title: "from CDA"}, nil
	}
	doc := writeDoc(t, t.TempDir(), "a.pdf", "%PDF a", `{"title":"from sidecar"}`)
	var out, errOut bytesBuffer
	err := newAppWith(&out, &errOut, d).RunContext(context.Background(), []string{"fsepuglia", "publish", doc})
	if err != nil {
		t.Fatal(err)
	}
	if m := h.region.meta[idRoot+"FROMCDA"]; m.Title != "from sidecar" || m.TypeCode != "11502-2" {
		t.Fatalf("document metadata not merged under the sidecar: %+v", h.region.meta)
	}
}

func TestPublishFailuresAndResume(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	var files []string
	for i := range 4 {
		files = append(files, writeDoc(t, dir, fmt.Sprintf("d%d.pdf", i), fmt.Sprintf("%%PDF %d", i), sidecar(cfA, fmt.Sprintf("%sF%d", idRoot, i))))
	}
	h.region.publishErr[idRoot+"F1"] = &fakeFault{"FSE-00415", "Il documento non è pdf"}
	h.region.publishErr[idRoot+"F2"] = &fakeFault{"FSE-00503", "servizio non disponibile"}
	out, e, code := h.run("--output", "json", "publish", files[0], files[1], files[2], files[3])
	if code != exitPartial {
		t.Fatalf("exit %d, want %d: %s", code, exitPartial, e)
	}
	po := publishOut(t, out)
	if po.Summary.Sent != 2 || po.Summary.Failed != 2 {
		t.Fatalf("summary %+v", po.Summary)
	}
	for _, it := range po.Items {
		switch it.UniqueID {
		case idRoot + "F1":
			if it.Retryable || !strings.Contains(it.Reason, "FSE-00415") {
				t.Errorf("F1 %+v, want permanent with the fault", it)
			}
		case idRoot + "F2":
			if !it.Retryable {
				t.Errorf("F2 %+v, want retryable", it)
			}
		}
	}
	// --resume retries only the retryable one, after reconciling it (it is not on the region).
	out, e, code = h.run("--output", "json", "publish", "--resume")
	po = publishOut(t, out)
	if code != 0 || po.Summary != (publishSummary{Sent: 1}) {
		t.Fatalf("resume exit %d %+v: %s", code, po.Summary, e)
	}
	if _, ok := h.region.docs[idRoot+"F1"]; ok {
		t.Fatal("the permanently failed document was sent")
	}
	counts := map[string]int{}
	for _, id := range h.region.publishes {
		counts[id]++
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("%s published %d times", id, n)
		}
	}
}

func TestPublishDuplicate(t *testing.T) {
	tests := []struct {
		name     string
		onRegion string
		code     int
		present  int
	}{
		{"same file already there counts as present", "%PDF same", 0, 1},
		{"different file under the id fails", "%PDF other", exitPartial, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.region.docs[idRoot+"DUP"] = []byte(tt.onRegion)
			doc := writeDoc(t, t.TempDir(), "d.pdf", "%PDF same", sidecar(cfA, idRoot+"DUP"))
			out, e, code := h.run("--output", "json", "publish", doc)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, e)
			}
			if po := publishOut(t, out); po.Summary.AlreadyPresent != tt.present {
				t.Fatalf("summary %+v", po.Summary)
			}
		})
	}
}

// TestPublishInDoubtReconciled: an outbox left with an item in state sending (the process
// died after the request) is reconciled by retrieve on the next publish, not sent again.
func TestPublishInDoubtReconciled(t *testing.T) {
	h := newHarness(t)
	doc := writeDoc(t, t.TempDir(), "d.pdf", "%PDF doubt", sidecar(cfA, idRoot+"DOUBT"))
	dataDir := filepath.Join(h.dataDir, "fsepuglia")
	os.MkdirAll(dataDir, 0o700)
	ob, err := outbox.Open(filepath.Join(dataDir, "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(adapter.Metadata{PatientCF: cfA, UniqueID: idRoot + "DOUBT", TypeCode: "11502-2", ClassCode: "REF"})
	ob.Enqueue([]outbox.Entry{{Path: doc, SHA256: sha("%PDF doubt"), Size: 10, UniqueID: idRoot + "DOUBT", Metadata: meta}})
	// Simulate the crash: the region got it, the outbox still says sending.
	crash := &crashingSender{region: h.region}
	ctx, cancel := context.WithCancel(context.Background())
	crash.cancel = cancel
	ob.Run(ctx, crash, outbox.Options{})
	// The crash was a while ago: the attempt can no longer arrive (else the resume waits for it).
	key := outbox.Key(sha("%PDF doubt"), idRoot+"DOUBT")
	if _, err := ob.Update(key, func(it *outbox.Item) error { it.LastAttempt = it.LastAttempt.Add(-2 * time.Hour); return nil }); err != nil {
		t.Fatal(err)
	}
	ob.Close()
	if _, ok := h.region.docs[idRoot+"DOUBT"]; !ok {
		t.Fatal("setup: region should hold the document")
	}
	out, e, code := h.run("--output", "json", "publish", "--resume")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if po := publishOut(t, out); po.Summary != (publishSummary{AlreadyPresent: 1}) {
		t.Fatalf("summary %+v", po.Summary)
	}
	if len(h.region.publishes) != 1 {
		t.Fatalf("published %d times", len(h.region.publishes))
	}
}

// crashingSender publishes, then "dies" (cancels and reports the cancellation) so that the
// outbox leaves the item in state sending.
type crashingSender struct {
	region *fakeRegion
	cancel func()
}

func (c *crashingSender) Send(ctx context.Context, it outbox.Item) error {
	if err := batch.Sender(c.region).Send(ctx, it); err != nil {
		return err
	}
	c.cancel()
	return fmt.Errorf("killed: %w", context.Canceled)
}

func (c *crashingSender) Lookup(ctx context.Context, it outbox.Item) (bool, bool, error) {
	return false, false, errors.New("not used")
}

func TestPublishUsage(t *testing.T) {
	tests := [][]string{
		{"publish"},
		{"publish", "--resume", "a.pdf"},
		{"publish", "--dir", ".", "a.pdf"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if _, e, code := newHarness(t).run(args...); code != exitUsage {
				t.Fatalf("exit %d, want %d: %s", code, exitUsage, e)
			}
		})
	}
	if _, _, code := newHarness(t).run("publish", "--concurrency", "0", "--resume"); code != exitInput {
		t.Fatalf("concurrency 0: exit %d", code)
	}
}

func TestProgress(t *testing.T) {
	tests := []struct {
		tty  bool
		want []string
		not  string
	}{
		{false, []string{"[1/2] done d0.pdf: sent", "[2/2] done d1.pdf: sent"}, "\r"},
		{true, []string{"\r[", "2/2"}, "done d0.pdf"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("tty=", tt.tty), func(t *testing.T) {
			h := newHarness(t)
			h.tty = tt.tty
			dir := t.TempDir()
			writeDoc(t, dir, "d0.pdf", "%PDF 0", sidecar(cfA, idRoot+"P0"))
			writeDoc(t, dir, "d1.pdf", "%PDF 1", sidecar(cfA, idRoot+"P1"))
			_, e, code := h.run("publish", "--dir", dir, "--concurrency", "1")
			if code != 0 {
				t.Fatal(e)
			}
			for _, w := range tt.want {
				if !strings.Contains(e, w) {
					t.Errorf("stderr lacks %q:\n%q", w, e)
				}
			}
			if strings.Contains(e, tt.not) {
				t.Errorf("stderr has %q:\n%q", tt.not, e)
			}
		})
	}
}

// BenchmarkPublishBatch publishes 50 small files through the whole command (sidecars,
// hashing, outbox with its fsyncs, fake region) per iteration.
func BenchmarkPublishBatch(b *testing.B) {
	t := &testing.T{}
	dir := b.TempDir()
	for i := range 50 {
		p := filepath.Join(dir, fmt.Sprintf("d%02d.pdf", i))
		os.WriteFile(p, []byte(fmt.Sprintf("%%PDF bench %d", i)), 0o600)
		os.WriteFile(p+".json", []byte(sidecar(cfA, fmt.Sprintf("%sB%02d", idRoot, i))), 0o600)
	}
	for b.Loop() {
		b.StopTimer()
		h := &harness{t: t, region: newFakeRegion(), env: map[string]string{"FSEPUGLIA_ENV": "test"}, cfgDir: b.TempDir(), dataDir: b.TempDir()}
		b.StartTimer()
		var out, errOut bytesBuffer
		err := newAppWith(&out, &errOut, h.deps()).RunContext(context.Background(), []string{"fsepuglia", "publish", "--dir", dir})
		if err != nil || len(h.region.publishes) != 50 {
			b.Fatalf("%v, %d published", err, len(h.region.publishes))
		}
	}
}

// TestPublishInterruptedThenResumed cancels the context (Ctrl-C) after the third accepted
// publication: the run exits 7 with interrupted items, and --resume finishes the batch with
// every document published exactly once.
func TestPublishInterruptedThenResumed(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	for i := range 8 {
		writeDoc(t, dir, fmt.Sprintf("d%d.pdf", i), fmt.Sprintf("%%PDF %d", i), sidecar(cfA, fmt.Sprintf("%sI%d", idRoot, i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.region.onPublish = func(n int) {
		if n == 3 {
			cancel()
		}
	}
	out, e, code := h.runCtx(ctx, "--output", "json", "publish", "--dir", dir, "--concurrency", "2")
	if code != exitPartial {
		t.Fatalf("exit %d, want %d: %s", code, exitPartial, e)
	}
	if po := publishOut(t, out); po.Summary.Interrupted == 0 {
		t.Fatalf("summary %+v, want interrupted items", po.Summary)
	}
	h.region.onPublish = nil
	if _, e, code := h.run("publish", "--resume"); code != 0 {
		t.Fatalf("resume exit %d: %s", code, e)
	}
	counts := map[string]int{}
	for _, id := range h.region.publishes {
		counts[id]++
	}
	if len(counts) != 8 {
		t.Fatalf("%d distinct documents published, want 8", len(counts))
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("%s published %d times", id, n)
		}
	}
}

// TestPublishForgetsOldDoneItems: after 30 days a done item is dropped from the outbox; the
// same file given again is then confirmed on the region by hash, not published twice.
func TestPublishForgetsOldDoneItems(t *testing.T) {
	h := newHarness(t)
	doc := writeDoc(t, t.TempDir(), "d.pdf", "%PDF old", sidecar(cfA, idRoot+"OLD"))
	if _, e, code := h.run("publish", doc); code != 0 {
		t.Fatal(e)
	}
	d := h.deps()
	d.now = func() time.Time { return time.Now().Add(31 * 24 * time.Hour) }
	var out, errOut bytesBuffer
	err := newAppWith(&out, &errOut, d).RunContext(context.Background(), []string{"fsepuglia", "--output", "json", "publish", doc})
	if err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	if po := publishOut(t, out.String()); po.Summary != (publishSummary{AlreadyPresent: 1}) {
		t.Fatalf("summary %+v, want the forgotten item confirmed as already present", po.Summary)
	}
	if len(h.region.publishes) != 1 {
		t.Fatalf("published %d times", len(h.region.publishes))
	}
}

func TestPublishOutboxInUse(t *testing.T) {
	h := newHarness(t)
	dir := filepath.Join(h.dataDir, "fsepuglia")
	os.MkdirAll(dir, 0o700)
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	doc := writeDoc(t, t.TempDir(), "a.pdf", "%PDF a", sidecar(cfA, idRoot+"LOCK"))
	_, e, code := h.run("publish", doc)
	if code != exitInternal || !strings.Contains(e, "another") || len(h.region.publishes) != 0 {
		t.Fatalf("exit %d, stderr %q, published %d", code, e, len(h.region.publishes))
	}
}

func TestProgressMasksFiscalCodesInFileNames(t *testing.T) {
	h := newHarness(t)
	doc := writeDoc(t, t.TempDir(), cfB+"_referto.pdf", "%PDF cf", sidecar(cfB, idRoot+"CFNAME"))
	_, e, code := h.run("publish", doc)
	if code != 0 {
		t.Fatal(e)
	}
	if strings.Contains(e, cfB) || !strings.Contains(e, "FSE**********45S_referto.pdf") {
		t.Fatalf("stderr %q", e)
	}
}
