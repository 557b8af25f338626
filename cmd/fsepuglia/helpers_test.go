package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
)

var update = flag.Bool("update", false, "rewrite the golden files under fixtures/cli")

// The published test identities (domain.md §8).
const (
	cfA = "FSEPGL01E41A145J"
	cfB = "FSELBR01C41A145S"
)

// fakeFault stands for a SOAP fault of the region (see errclass.go).
type fakeFault struct{ code, text string }

func (f *fakeFault) Error() string     { return f.code + " - " + f.text }
func (f *fakeFault) FaultCode() string { return f.code }

// fakeTransport stands for a call that did not complete.
type fakeTransport struct{}

func (fakeTransport) Error() string          { return "dial tcp 127.0.0.1:1: connection refused" }
func (fakeTransport) TransportFailure() bool { return true }

// fakeRegion implements the three services in memory and records the calls.
type fakeRegion struct {
	mu        sync.Mutex
	docs      map[string][]byte // uniqueId -> body
	meta      map[string]adapter.Metadata
	publishes []string
	// statusAfterSetErr makes Set record the change and then fail reading the status back.
	statusAfterSetErr error
	// transmissions lists every Publish call that reached the region, refused or not.
	transmissions []string
	publishErr    map[string]error // uniqueId -> error returned by Publish (once)
	searchQ       adapter.SearchQuery
	searchRes     *adapter.SearchResult
	consentCh     []adapter.ConsentChange
	consents      map[adapter.ConsentCode]bool
	taccQ         adapter.TaccuinoQuery
	deleted       []string
	replaced      []string
	err           error       // returned by every read call when set
	onPublish     func(n int) // called after each accepted publication (n = how many so far)
}

func newFakeRegion() *fakeRegion {
	return &fakeRegion{docs: map[string][]byte{}, meta: map[string]adapter.Metadata{}, publishErr: map[string]error{},
		consents: map[adapter.ConsentCode]bool{adapter.ConsentFeeding: true}}
}

func (f *fakeRegion) Publish(ctx context.Context, req adapter.PublishRequest) (*adapter.PublishResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := req.Metadata.UniqueID
	f.transmissions = append(f.transmissions, id)
	if err, ok := f.publishErr[id]; ok {
		delete(f.publishErr, id)
		return nil, err
	}
	if _, ok := f.docs[id]; ok {
		return nil, &fakeFault{"FSE-00409", "document already published"}
	}
	body := req.Body
	if len(body) == 0 && req.Path != "" { // streamed by the library: the fake reads the file
		b, err := os.ReadFile(req.Path)
		if err != nil {
			return nil, err
		}
		body = b
	}
	f.docs[id], f.meta[id] = body, req.Metadata
	f.publishes = append(f.publishes, id)
	if f.onPublish != nil {
		f.onPublish(len(f.publishes))
	}
	return &adapter.PublishResult{UniqueID: id, Outcome: "SUCCESSO", MessageID: "uuid:" + id}, nil
}

func (f *fakeRegion) Replace(ctx context.Context, oldID string, req adapter.PublishRequest) (*adapter.PublishResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.docs[oldID]; !ok {
		return nil, &fakeFault{"FSE-00404", "document not found"}
	}
	f.replaced = append(f.replaced, oldID+">"+req.Metadata.UniqueID)
	f.docs[req.Metadata.UniqueID] = req.Body
	return &adapter.PublishResult{UniqueID: req.Metadata.UniqueID, Outcome: "SUCCESSO", MessageID: "uuid:r"}, nil
}

func (f *fakeRegion) Delete(ctx context.Context, cf, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.docs[id]; !ok {
		return &fakeFault{"FSE-00404", "document not found"}
	}
	delete(f.docs, id)
	f.deleted = append(f.deleted, cf+"/"+id)
	return nil
}

func (f *fakeRegion) Search(ctx context.Context, q adapter.SearchQuery) (*adapter.SearchResult, error) {
	f.searchQ = q
	if f.err != nil {
		return nil, f.err
	}
	return f.searchRes, nil
}

func (f *fakeRegion) Retrieve(ctx context.Context, cf, id string) (*adapter.Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	b, ok := f.docs[id]
	if !ok {
		return nil, &fakeFault{"FSE-00404", "document not found"}
	}
	return &adapter.Document{Metadata: adapter.Metadata{UniqueID: id, MimeType: "application/pdf"}, Body: b}, nil
}

func (f *fakeRegion) status() *adapter.ConsentStatus {
	st := &adapter.ConsentStatus{}
	for _, c := range []adapter.ConsentCode{"C1", "C2", "C3", "C4"} {
		if v, ok := f.consents[c]; ok {
			st.Consents = append(st.Consents, adapter.Consent{Code: c, Value: v, Date: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), RecordedBy: "OGC"})
		}
	}
	return st
}

func (f *fakeRegion) Status(ctx context.Context, cf string) (*adapter.ConsentStatus, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.status(), nil
}

func (f *fakeRegion) Set(ctx context.Context, ch adapter.ConsentChange) (*adapter.ConsentStatus, error) {
	f.consentCh = append(f.consentCh, ch)
	for k, v := range ch.Values {
		f.consents[k] = v
	}
	if f.statusAfterSetErr != nil {
		return nil, &adapter.RecordedError{Err: f.statusAfterSetErr}
	}
	return f.status(), nil
}

func (f *fakeRegion) Informativa(ctx context.Context) (*adapter.Informativa, error) {
	return &adapter.Informativa{ID: "160^3", Version: "3", PDF: []byte("%PDF-1.7 informativa")}, nil
}

func (f *fakeRegion) Summary(ctx context.Context, cf string) (*adapter.TaccuinoSummary, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &adapter.TaccuinoSummary{Counts: map[adapter.TaccuinoKind]int{adapter.TaccuinoRilevazioni: 3, adapter.TaccuinoFarmaci: 1}}, nil
}

func (f *fakeRegion) Items(ctx context.Context, q adapter.TaccuinoQuery) (*adapter.TaccuinoPage, error) {
	f.taccQ = q
	if f.err != nil {
		return nil, f.err
	}
	return &adapter.TaccuinoPage{Total: 7, Items: []adapter.TaccuinoItem{
		{ID: "r1", Kind: q.Kind, Date: time.Date(2026, 10, 1, 8, 30, 0, 0, time.UTC), Title: "pressione sistolica", Value: "128", Unit: "mmHg"},
	}}, nil
}

// harness runs the app in-process against a fake region, with an isolated environment.
type harness struct {
	t       *testing.T
	region  *fakeRegion
	env     map[string]string
	cfgDir  string
	dataDir string
	gotCfg  *adapter.Config
	tty     bool
	builds  int
	// stdin and stdinTTY stand for the terminal destructive commands ask on.
	stdin    io.Reader
	stdinTTY bool
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return &harness{t: t, region: newFakeRegion(), env: map[string]string{"FSEPUGLIA_ENV": "test"}, cfgDir: t.TempDir(), dataDir: t.TempDir()}
}

func (h *harness) deps() deps {
	return deps{
		getenv:        func(k string) string { return h.env[k] },
		userConfigDir: func() (string, error) { return h.cfgDir, nil },
		userCacheDir:  func() (string, error) { return h.dataDir, nil },
		newBackend: func(cfg adapter.Config, log adapter.Logger) (*backend, error) {
			c := cfg
			h.gotCfg = &c
			h.builds++
			return &backend{docs: h.region, consents: h.region, taccuino: h.region}, nil
		},
		isTerminal:      func(io.Writer) bool { return h.tty },
		now:             time.Now,
		stdin:           h.stdin,
		stdinIsTerminal: func() bool { return h.stdinTTY },
	}
}

// run executes fsepuglia with args and returns stdout, stderr and the exit code.
func (h *harness) run(args ...string) (string, string, int) {
	h.t.Helper()
	return h.runCtx(context.Background(), args...)
}

func (h *harness) runCtx(ctx context.Context, args ...string) (string, string, int) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	code := runWith(ctx, append([]string{"fsepuglia"}, args...), &out, &errOut, h.deps())
	return out.String(), errOut.String(), code
}

// writeDoc writes a fake document and its sidecar and returns the document's path.
func writeDoc(t *testing.T, dir, name, body string, meta string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if meta != "" {
		if err := os.WriteFile(p+".json", []byte(meta), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func sidecar(cf, id string) string {
	return fmt.Sprintf(`{"patient_cf":%q,"unique_id":%q,"type_code":"11502-2","class_code":"REF","title":"Referto di laboratorio"}`, cf, id)
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// golden compares got with fixtures/cli/<name>, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "fixtures", "cli", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test -update once and review the file)", err)
	}
	if string(want) != got {
		t.Fatalf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
