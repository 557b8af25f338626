package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/batch"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
)

// startSim starts the project's simulator on 127.0.0.1 (mutual TLS, WS-Security required)
// and returns the path of the client configuration it wrote.
func startSim(t *testing.T) string {
	t.Helper()
	s, err := sim.Start(context.Background(), sim.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s.ClientConfigPath()
}

// runReal runs the production app (real adapter.Client) with the given config and data dir.
func runReal(t *testing.T, cfgPath, dataDir string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	d := defaultDeps()
	d.getenv = func(string) string { return "" }
	d.userCacheDir = func() (string, error) { return dataDir, nil }
	code := runWith(context.Background(), append([]string{"fsepuglia", "--config", cfgPath, "--output", "json"}, args...), &out, &errOut, d)
	return out.String(), errOut.String(), code
}

// TestAgainstSimulator drives the real library through the CLI against the simulator:
// publish a real sample (metadata from its CDA), publish it again (skipped), search,
// retrieve it byte for byte, then the consent and Taccuino commands.
func TestAgainstSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	sample := filepath.Join(samples, "signed-pdf", "LAB.pdf")
	body, err := os.ReadFile(sample)
	if err != nil {
		t.Skipf("sample absent: %v", err)
	}
	cfg := startSim(t)
	data := t.TempDir()

	out, e, code := runReal(t, cfg, data, "publish", sample)
	if code != 0 {
		t.Fatalf("publish: exit %d\n%s", code, e)
	}
	var po publishOutput
	json.Unmarshal([]byte(out), &po)
	if po.Summary.Sent != 1 || len(po.Items) != 1 {
		t.Fatalf("publish summary %+v", po)
	}
	id := po.Items[0].UniqueID
	if out, e, code = runReal(t, cfg, data, "publish", sample); code != 0 || !strings.Contains(out, `"skipped": 1`) {
		t.Fatalf("second publish: exit %d %s %s", code, out, e)
	}
	patient := samplePatient(t, sample)
	// Without consent the region refuses the consultation: exit code 5, and the error
	// line does not show the patient.
	_, e, code = runReal(t, cfg, data, "search", "--patient", patient)
	if code != exitConsent || strings.Contains(e, patient) || !strings.Contains(e, "FSE-00451") {
		t.Fatalf("search without consent: exit %d, want %d (stderr %d bytes)", code, exitConsent, len(e))
	}
	if _, e, code = runReal(t, cfg, data, "consent", "set", "--patient", patient, "--c2=true", "--c3=true"); code != 0 {
		t.Fatalf("consent set: exit %d\n%s", code, e)
	}
	out, e, code = runReal(t, cfg, data, "search", "--patient", patient)
	if code != 0 || !strings.Contains(out, id) {
		t.Fatalf("search: exit %d, want %s in %s\n%s", code, id, out, e)
	}
	dst := filepath.Join(t.TempDir(), "back.pdf")
	if _, e, code = runReal(t, cfg, data, "retrieve", id, "--patient", patient, "-o", dst); code != 0 {
		t.Fatalf("retrieve: exit %d\n%s", code, e)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, body) {
		t.Fatalf("retrieved %d bytes, not the published %d", len(got), len(body))
	}
	// Replace the lab report with another real document of the same patient, then delete it.
	rsa := filepath.Join(samples, "signed-pdf", "RSA.pdf")
	out, e, code = runReal(t, cfg, data, "replace", id, rsa)
	var ro replaceOutput
	json.Unmarshal([]byte(out), &ro)
	if code != 0 || ro.OldID != id || ro.UniqueID == "" || ro.UniqueID == id {
		t.Fatalf("replace: exit %d %+v\n%s", code, ro, e)
	}
	if _, e, code = runReal(t, cfg, data, "delete", ro.UniqueID, "--patient", patient, "--yes"); code != 0 {
		t.Fatalf("delete: exit %d\n%s", code, e)
	}
	if _, _, code = runReal(t, cfg, data, "delete", ro.UniqueID, "--patient", patient, "--yes"); code != exitFault {
		t.Fatalf("second delete: exit %d, want %d (not found)", code, exitFault)
	}
	for _, args := range [][]string{
		{"consent", "status", "--patient", cfA},
		{"consent", "set", "--patient", cfA, "C2=1", "C3=1"},
		{"taccuino", "summary", "--patient", cfA},
		{"taccuino", "rilevazioni", "--patient", cfA, "--limit", "5"},
	} {
		if out, e, code := runReal(t, cfg, data, args...); code != 0 {
			t.Errorf("%v: exit %d\n%s\n%s", args, code, out, e)
		}
	}
	dst2 := filepath.Join(t.TempDir(), "inf.pdf")
	if _, e, code := runReal(t, cfg, data, "consent", "informativa", "-o", dst2); code != 0 {
		t.Errorf("informativa: exit %d\n%s", code, e)
	} else if b, _ := os.ReadFile(dst2); !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Errorf("informativa is not a PDF")
	}
}

// samplePatient derives the patient of a sample with docmeta (as publish does).
func samplePatient(t *testing.T, path string) string {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := docmetaMetadata(adapterConfigZero, path, body, true) // only the patient is wanted
	if err != nil {
		t.Fatal(err)
	}
	return m.PatientCF
}

var adapterConfigZero adapter.Config

// TestSimulatorInDoubtResume publishes a real sample through the real library and then
// "dies" before committing done (item left in doubt); publish --resume reconciles it with
// retrieve against the simulator instead of sending it again.
func TestSimulatorInDoubtResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	t.Run("with consent: confirmed by retrieve", func(t *testing.T) { simInDoubt(t, true) })
	t.Run("without consent: not sent twice, fails explaining why", func(t *testing.T) { simInDoubt(t, false) })
}

func simInDoubt(t *testing.T, consent bool) {
	sample := filepath.Join(samples, "signed-pdf", "RAD.pdf")
	if _, err := os.Stat(sample); err != nil {
		t.Skipf("sample absent: %v", err)
	}
	cfgPath := startSim(t)
	data := t.TempDir()
	patient := samplePatient(t, sample)
	if consent {
		if _, e, code := runReal(t, cfgPath, data, "consent", "set", "--patient", patient, "C2=1", "C3=1"); code != 0 {
			t.Fatalf("consent: %s", e)
		}
	}

	// A first run whose sender publishes for real, then cancels: the item stays "sending".
	var ac adapter.Config
	raw, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(raw, &ac); err != nil {
		t.Fatal(err)
	}
	be, err := newAdapterBackend(ac, newLogger(io.Discard, "warn"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(sample)
	m, err := docmetaMetadata(ac, sample, body, false)
	if err != nil {
		t.Fatal(err)
	}
	metaJSON, _ := json.Marshal(m)
	ob, err := outbox.Open(filepath.Join(data, "fsepuglia", "outbox.db"))
	if err != nil {
		os.MkdirAll(filepath.Join(data, "fsepuglia"), 0o700)
		if ob, err = outbox.Open(filepath.Join(data, "fsepuglia", "outbox.db")); err != nil {
			t.Fatal(err)
		}
	}
	abs, _ := filepath.Abs(sample)
	if _, err := ob.Enqueue([]outbox.Entry{{Path: abs, SHA256: m.Hash, Size: m.Size, UniqueID: m.UniqueID, Metadata: metaJSON}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	dying := &dyingSender{inner: batch.Sender(be.docs), cancel: cancel}
	ob.Run(ctx, dying, outbox.Options{})
	// The crash was a while ago: the attempt can no longer arrive (else the resume waits for it).
	if _, err := ob.Update(outbox.Key(m.Hash, m.UniqueID), func(it *outbox.Item) error {
		it.LastAttempt = it.LastAttempt.Add(-2 * time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ob.Close()
	if !dying.sent {
		t.Fatal("setup: the document was not sent")
	}

	out, e, code := runReal(t, cfgPath, data, "publish", "--resume")
	var po publishOutput
	json.Unmarshal([]byte(out), &po)
	if consent {
		if code != 0 || po.Summary != (publishSummary{AlreadyPresent: 1}) {
			t.Fatalf("resume: exit %d summary %+v, want the in-doubt item confirmed by retrieve\n%s", code, po.Summary, e)
		}
		return
	}
	// Without consent the region will not show it: it stays in doubt, reported as such, and
	// is not sent again on a guess.
	if code != exitPartial || po.Summary.InDoubt != 1 || len(po.Items) != 1 || po.Items[0].Result != resultInDoubt || !strings.Contains(po.Items[0].Reason, "refuses to show") {
		t.Fatalf("resume without consent: exit %d %+v\n%s", code, po, e)
	}
	if strings.Contains(e, patient) || strings.Contains(out, patient) {
		t.Fatal("the patient's fiscal code is printed")
	}
}

// dyingSender sends for real, then cancels the run before "done" is committed.
type dyingSender struct {
	inner  outbox.Sender
	cancel func()
	sent   bool
}

func (d *dyingSender) Send(ctx context.Context, it outbox.Item) error {
	if err := d.inner.Send(ctx, it); err != nil {
		return err
	}
	d.sent = true
	d.cancel()
	return context.Canceled
}

func (d *dyingSender) Lookup(ctx context.Context, it outbox.Item) (bool, bool, error) {
	return d.inner.Lookup(ctx, it)
}

// BenchmarkPublishSimulator publishes four real samples in one batch (concurrency
// 4) through the CLI, the real library (mutual TLS, WS-Security, SAML) and the simulator.
// CERT_VACC and SING_VACC are left out: their document id is the same as LDO's (publish
// refuses such a batch).
func BenchmarkPublishSimulator(b *testing.B) {
	dir := filepath.Join(samples, "signed-pdf")
	var files []string
	for _, n := range []string{"LAB", "RSA", "RAD", "LDO"} {
		p := filepath.Join(dir, n+".pdf")
		if _, err := os.Stat(p); err != nil {
			b.Skipf("sample absent: %v", err)
		}
		files = append(files, p)
	}
	for b.Loop() {
		b.StopTimer()
		s, err := sim.Start(context.Background(), sim.Options{DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		data := b.TempDir()
		d := defaultDeps()
		d.getenv = func(string) string { return "" }
		d.userCacheDir = func() (string, error) { return data, nil }
		var out, errOut bytes.Buffer
		b.StartTimer()
		code := runWith(context.Background(), append([]string{"fsepuglia", "--config", s.ClientConfigPath(), "publish"}, files...), &out, &errOut, d)
		b.StopTimer()
		s.Close()
		if code != 0 {
			b.Fatalf("exit %d: %s", code, errOut.String())
		}
		b.StartTimer()
	}
}

// syncBuffer is a bytes.Buffer safe for one writer goroutine and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSimCommandServesTheCLI runs `fsepuglia sim` in-process, then talks to it with the
// client configuration it wrote, then stops it by cancelling the context (as Ctrl-C does).
func TestSimCommandServesTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	empty := filepath.Join(t.TempDir(), "empty.json")
	os.WriteFile(empty, nil, 0o600)
	done := make(chan error, 1)
	go func() {
		done <- newApp(&out, &errOut).RunContext(ctx, []string{"fsepuglia", "--config", empty, "sim", "--data-dir", t.TempDir()})
	}()
	var cfgPath string
	deadline := time.Now().Add(10 * time.Second)
	for cfgPath == "" && time.Now().Before(deadline) {
		for _, line := range strings.Split(out.String(), "\n") {
			if p, ok := strings.CutPrefix(line, "client config:"); ok {
				cfgPath = strings.TrimSpace(p)
			}
		}
		select {
		case err := <-done:
			t.Fatalf("sim stopped: %v\n%s", err, errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if cfgPath == "" {
		t.Fatalf("no client config announced:\n%s", out.String())
	}
	if o, e, code := runReal(t, cfgPath, t.TempDir(), "consent", "status", "--patient", cfA); code != 0 {
		t.Fatalf("consent status against the sim: exit %d\n%s\n%s", code, o, e)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sim returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("sim did not stop")
	}
}

// TestSimulatorTransientFailuresThenResume publishes a batch while the simulator resets or
// refuses (503) every addDocument, then restarts it without injection on the same data and
// resumes: every item is retryable, reconciled (not found) and sent once.
func TestSimulatorTransientFailuresThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	var files []string
	for _, n := range []string{"LAB", "RSA", "RAD"} {
		p := filepath.Join(samples, "signed-pdf", n+".pdf")
		if _, err := os.Stat(p); err != nil {
			t.Skipf("sample absent: %v", err)
		}
		files = append(files, p)
	}
	simDir, data := t.TempDir(), t.TempDir()
	rules, err := inject.ParseSpecs([]string{"addDocument:rate=1,kinds=reset|503"})
	if err != nil {
		t.Fatal(err)
	}
	s1, err := sim.Start(context.Background(), sim.Options{DataDir: simDir, Inject: rules, InjectSeed: 7})
	if err != nil {
		t.Fatal(err)
	}
	out, e, code := runReal(t, s1.ClientConfigPath(), data, append([]string{"publish", "--concurrency", "2"}, files...)...)
	s1.Close()
	var po publishOutput
	json.Unmarshal([]byte(out), &po)
	if code != exitPartial || po.Summary.Failed != 3 {
		t.Fatalf("first run: exit %d %+v\n%s", code, po.Summary, e)
	}
	for _, it := range po.Items {
		if !it.Retryable {
			t.Fatalf("item %+v should be retryable", it)
		}
	}

	s2, err := sim.Start(context.Background(), sim.Options{DataDir: simDir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	cfg := s2.ClientConfigPath()
	patient := samplePatient(t, files[0])
	if _, e, code := runReal(t, cfg, data, "consent", "set", "--patient", patient, "C2=1", "C3=1"); code != 0 {
		t.Fatalf("consent: %s", e)
	}
	// Items cut off on the way (reset, truncated answer) are checked once their call timeout
	// has passed: a short timeout keeps the wait short.
	out, e, code = runReal(t, cfg, data, "--timeout", "2s", "publish", "--resume")
	po = publishOutput{}
	json.Unmarshal([]byte(out), &po)
	if code != 0 || po.Summary.Sent != 3 {
		t.Fatalf("resume: exit %d %+v\n%s", code, po.Summary, e)
	}
	out, e, code = runReal(t, cfg, data, "search", "--patient", patient)
	var so searchOutput
	json.Unmarshal([]byte(out), &so)
	if code != 0 || so.Total != 3 {
		t.Fatalf("search: exit %d, %d documents on the region, want 3\n%s", code, so.Total, e)
	}
}
