package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/queue"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
)

// The intake folder (serve --watch DIR). A .pdf or .p7m file (with an optional <file>.json of
// metadata overrides beside it, written first) is taken once its size and modification time
// have not changed for one poll interval and it is at least that old; dot files and
// *.part/*.tmp files are never taken, so writing to such a name and renaming is the safe way to
// drop a file. A taken file is enqueued and moved to queued/ (with <file>.key naming its queue
// item), then to done/ or failed/ when its item settles, with <file>.json beside it saying why.
// A file that cannot be enqueued (bad metadata) goes to failed/ at once.
const (
	intakeQueued = "queued"
	intakeDone   = "done"
	intakeFailed = "failed"
)

type watchFile struct {
	size  int64
	mtime time.Time
}

type watcher struct {
	s        *server
	dir      string
	interval time.Duration
	seen     map[string]watchFile
}

// intakeReport is the JSON written beside a file moved to done/ or failed/.
type intakeReport struct {
	File       string `json:"file"`
	State      string `json:"state"`
	Outcome    string `json:"outcome,omitempty"`
	Reason     string `json:"reason,omitempty"`
	FaultClass string `json:"fault_class,omitempty"`
	FaultCode  string `json:"fault_code,omitempty"`
	Key        string `json:"key,omitempty"`
	UniqueID   string `json:"unique_id,omitempty"`
	Route      string `json:"route,omitempty"`
	WorkflowID string `json:"workflow_instance_id,omitempty"`
	Attempts   int    `json:"attempts,omitempty"`
	Time       string `json:"time"`
}

func newWatcher(s *server, dir string, interval time.Duration) (*watcher, error) {
	for _, sub := range []string{"", intakeQueued, intakeDone, intakeFailed} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("--watch %s: %w", dir, err)
		}
	}
	return &watcher{s: s, dir: dir, interval: interval, seen: map[string]watchFile{}}, nil
}

func intakeCandidate(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".part") || strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, "~") {
		return false
	}
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".pdf" || ext == ".p7m"
}

// run polls until ctx ends.
func (w *watcher) run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		w.scan(ctx)
		w.settle(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scan takes the files that have stopped changing.
func (w *watcher) scan(ctx context.Context) {
	des, err := os.ReadDir(w.dir)
	if err != nil {
		w.s.log.Warn("intake folder not readable", map[string]any{"error": err.Error()})
		return
	}
	now := time.Now()
	present := map[string]bool{}
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() || !intakeCandidate(name) {
			continue
		}
		present[name] = true
		fi, err := de.Info()
		if err != nil {
			continue
		}
		cur := watchFile{size: fi.Size(), mtime: fi.ModTime()}
		prev, ok := w.seen[name]
		w.seen[name] = cur
		if !ok || prev != cur || now.Sub(cur.mtime) < w.interval {
			continue // new or still being written: look again next time
		}
		if ctx.Err() != nil {
			return
		}
		w.take(ctx, name)
		delete(w.seen, name)
	}
	for name := range w.seen {
		if !present[name] {
			delete(w.seen, name)
		}
	}
}

func (w *watcher) take(ctx context.Context, name string) {
	path := filepath.Join(w.dir, name)
	body, err := os.ReadFile(path)
	if err != nil {
		return // gone meanwhile
	}
	side := path + ".json"
	overrides, err := os.ReadFile(side)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	it, _, err := w.s.enqueueDocument(ctx, name, body, overrides, name+".json", "watch")
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		w.s.metrics.intake.WithLabelValues("invalid").Inc()
		w.s.log.Warn("intake file refused", map[string]any{"file": name, "error": err.Error()})
		w.finish(name, intakeReport{File: name, State: "invalid", Reason: err.Error()}, intakeFailed)
		return
	}
	w.s.metrics.intake.WithLabelValues("enqueued").Inc()
	q := filepath.Join(w.dir, intakeQueued)
	if err := os.WriteFile(filepath.Join(q, name+".key"), []byte(it.Key), 0o600); err != nil {
		w.s.log.Warn("intake: cannot record the queued file", map[string]any{"file": name, "error": err.Error()})
		return
	}
	if _, err := os.Stat(side); err == nil {
		_ = os.Rename(side, filepath.Join(q, name+".json"))
	}
	if err := os.Rename(path, filepath.Join(q, name)); err != nil {
		w.s.log.Warn("intake: cannot move the file to queued/", map[string]any{"file": name, "error": err.Error()})
	}
}

// settle moves queued files whose items are done or failed.
func (w *watcher) settle(ctx context.Context) {
	q := filepath.Join(w.dir, intakeQueued)
	keys, _ := filepath.Glob(filepath.Join(q, "*.key"))
	for _, kf := range keys {
		if ctx.Err() != nil {
			return
		}
		name := strings.TrimSuffix(filepath.Base(kf), ".key")
		raw, err := os.ReadFile(kf)
		if err != nil {
			continue
		}
		it, err := w.s.st.Get(ctx, string(raw))
		var to string
		rep := intakeReport{File: name, Key: string(raw)}
		switch {
		case errors.Is(err, queue.ErrNotFound):
			to, rep.State, rep.Reason = intakeFailed, "forgotten", "the queue item was forgotten (fsepuglia outbox forget or DELETE /v1/documents/{id}) before it was done"
		case err != nil:
			continue
		case it.State == queue.Done:
			to = intakeDone
		case it.State == queue.Failed, it.State == queue.InDoubt && !it.Retryable:
			to = intakeFailed
		default:
			continue
		}
		if err == nil {
			rep.State, rep.Outcome, rep.Reason, rep.FaultClass, rep.FaultCode = string(it.State), string(it.Outcome), it.Reason, it.FaultClass, it.FaultCode
			rep.UniqueID, rep.Route, rep.WorkflowID, rep.Attempts = it.UniqueID, it.Route, it.WorkflowID, it.Attempts
		}
		if _, err := os.Stat(filepath.Join(q, name)); err == nil {
			w.move(filepath.Join(q, name), to, name, rep)
		}
		_ = os.Remove(filepath.Join(q, name+".json"))
		_ = os.Remove(kf)
		w.s.metrics.intake.WithLabelValues(to).Inc()
	}
}

// finish moves a file of the intake folder (and its metadata sidecar, which the report replaces) to sub.
func (w *watcher) finish(name string, rep intakeReport, sub string) {
	w.move(filepath.Join(w.dir, name), sub, name, rep)
	_ = os.Remove(filepath.Join(w.dir, name+".json"))
}

func (w *watcher) move(from, sub, name string, rep intakeReport) {
	dst := filepath.Join(w.dir, sub, name)
	if _, err := os.Stat(dst); err == nil { // a file of the same name was settled before
		dst = filepath.Join(w.dir, sub, fmt.Sprintf("%s.%d%s", strings.TrimSuffix(name, filepath.Ext(name)), time.Now().UnixNano(), filepath.Ext(name)))
	}
	rep.Time = time.Now().UTC().Format(time.RFC3339)
	rep.Reason = redact.Text(rep.Reason)
	if raw, err := json.MarshalIndent(rep, "", "  "); err == nil {
		_ = os.WriteFile(dst+".json", append(raw, '\n'), 0o600)
	}
	if err := os.Rename(from, dst); err != nil {
		w.s.log.Warn("intake: cannot move a settled file", map[string]any{"file": name, "error": err.Error()})
	}
}
