package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/batch"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/urfave/cli/v2"
)

// keepDone is how long done items stay in the outbox.
const keepDone = 30 * 24 * time.Hour

// Results of one item in one `publish` run (publishItemOutput.Result): what this run did.
const (
	resultSent           = "sent"            // sent now and accepted
	resultAlreadyPresent = "already-present" // found on the region with the same hash
	resultSkipped        = "skipped"         // done by an earlier run: nothing sent now
	resultFailed         = "failed"
	resultInDoubt        = "in-doubt"    // may have reached the region, not confirmed: see reason
	resultInterrupted    = "interrupted" // not sent: the run was interrupted first
	resultInvalid        = "invalid"     // refused before recording (--skip-invalid)
)

// publishItemOutput is one item in the JSON of `publish` (OUTPUT.md). Result says what this
// run did with it; State and Outcome are the item's state in the outbox (a skipped item is
// "done" with the outcome of the run that sent it).
type publishItemOutput struct {
	Path      string `json:"path"`
	UniqueID  string `json:"unique_id,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Size      int64  `json:"size,omitempty"`
	Result    string `json:"result"`
	State     string `json:"state,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Retryable bool   `json:"retryable,omitempty"`
	Attempts  int    `json:"attempts,omitempty"`
	// Route is legacy or middleware (gateway.RouteFor), RouteReason why.
	Route       string `json:"route,omitempty"`
	RouteReason string `json:"route_reason,omitempty"`
}

// publishSummary counts the items of one `publish` run.
type publishSummary struct {
	Sent           int `json:"sent"`
	AlreadyPresent int `json:"already_present"`
	Failed         int `json:"failed"`
	Skipped        int `json:"skipped"`
	Interrupted    int `json:"interrupted"`
	InDoubt        int `json:"in_doubt"`
	Invalid        int `json:"invalid"`
}

// publishOutput is the JSON of `publish`.
type publishOutput struct {
	Summary publishSummary      `json:"summary"`
	Items   []publishItemOutput `json:"items"`
}

// publishEvent is one line of `publish --json-lines`: message_type "item" (a state change,
// or a skipped or invalid file) or "summary" (last line).
type publishEvent struct {
	MessageType string `json:"message_type"`
	*publishItemOutput
	Done    int             `json:"done,omitempty"`
	Total   int             `json:"total,omitempty"`
	Summary *publishSummary `json:"summary,omitempty"`
}

func publishCommand(a *appEnv) *cli.Command {
	flags := append(metadataFlags(),
		&cli.StringFlag{Name: "dir", Usage: "publish every .pdf and .p7m file of this directory (not recursive)"},
		&cli.BoolFlag{Name: "resume", Usage: "only finish what earlier runs left in the outbox"},
		&cli.IntFlag{Name: "concurrency", Value: 4, Usage: "documents in flight at once (1-32)"},
		&cli.BoolFlag{Name: "skip-invalid", Usage: "publish the valid files and report the invalid ones (left untouched, exit 7) instead of refusing the whole batch"},
		&cli.BoolFlag{Name: "json-lines", Usage: "print one JSON object per line as the batch advances, then a summary line (like restic --json)"},
		queueFlag(),
		&cli.BoolFlag{Name: "enqueue-only", Usage: "with --queue: record the documents and return; fsepuglia serve sends them"},
	)
	return &cli.Command{
		Name:      "publish",
		Usage:     "publish documents through the durable outbox (resumes unfinished batches)",
		ArgsUsage: "FILE…",
		Description: "Each file's metadata comes from <FILE>.json (the keys of adapter.Metadata) and the flags.\n" +
			"Files are first recorded in the outbox (data dir), then sent; an interrupted batch is\n" +
			"finished by the next publish or by publish --resume, without sending a document twice.\n" +
			"Ctrl-C stops starting new documents and lets those in flight finish; a second Ctrl-C quits.\n" +
			"Items in doubt (they may have reached the region) are checked before any resend; see\n" +
			"fsepuglia outbox list. Done items are forgotten after 30 days.",
		Flags:  flags,
		Action: func(c *cli.Context) error { return a.publish(c) },
	}
}

// resultOf says what a run did with an item from its final state.
func resultOf(it outbox.Item) string {
	switch {
	case it.State == outbox.Done && it.Outcome == outbox.AlreadyPresent:
		return resultAlreadyPresent
	case it.State == outbox.Done:
		return resultSent
	case it.State == outbox.Failed:
		return resultFailed
	case it.IsInDoubt():
		return resultInDoubt
	}
	return resultInterrupted
}

func itemOutput(it outbox.Item, result string) publishItemOutput {
	rm := decodeRoute(it.Metadata)
	return publishItemOutput{Path: it.Path, UniqueID: it.UniqueID, SHA256: it.SHA256, Size: it.Size, Result: result,
		State: string(it.State), Outcome: string(it.Outcome), Reason: it.Reason, Retryable: it.Retryable, Attempts: it.Attempts,
		Route: rm.Route, RouteReason: rm.RouteReason}
}

func (a *appEnv) publish(c *cli.Context) error {
	n := c.Int("concurrency")
	if n < 1 || n > 32 {
		return &adapter.InputError{Field: "--concurrency", Value: fmt.Sprint(n), Msg: "out of range", Fix: "use 1 to 32"}
	}
	files := c.Args().Slice()
	if dir := c.String("dir"); dir != "" {
		if len(files) > 0 {
			return usagef("publish takes FILE… or --dir DIR, not both")
		}
		var err error
		if files, err = listDocuments(dir); err != nil {
			return err
		}
		if len(files) == 0 {
			return &adapter.InputError{Field: "--dir", Value: dir, Msg: "no .pdf or .p7m file in it", Fix: "check the directory"}
		}
	}
	if len(files) == 0 && !c.Bool("resume") {
		return usagef("publish needs FILE…, --dir DIR or --resume")
	}
	if len(files) > 0 && c.Bool("resume") {
		return usagef("--resume takes no files: it finishes what is already in the outbox")
	}
	if c.IsSet("queue") { // serve's queue instead of the outbox (serve_cli.go)
		if c.Bool("resume") {
			return usagef("--resume is for the outbox; with --queue, fsepuglia serve (or publish --queue again) finishes the items")
		}
		return a.publishQueue(c, files)
	}
	skipInvalid, jsonLines := c.Bool("skip-invalid"), c.Bool("json-lines")
	var linesMu sync.Mutex
	line := func(ev publishEvent) {
		if !jsonLines {
			return
		}
		linesMu.Lock()
		defer linesMu.Unlock()
		b, _ := json.Marshal(ev)
		fmt.Fprintf(a.stdout, "%s\n", b)
	}

	// Every file is checked before anything is recorded: a batch goes in whole or not at all,
	// unless --skip-invalid leaves the invalid files out (untouched, reported).
	// The router decides each file's route (legacy or middleware) and refuses what the
	// FSE 2.0 workflow forbids (not validated, changed since, older than 5 days).
	rt, err := a.newRouter()
	if err != nil {
		return err
	}
	defer rt.close()
	var entries []outbox.Entry
	var invalid []publishItemOutput
	var problems []string
	var firstErr error
	byID := map[string]string{} // unique id -> first file that claims it
	for _, f := range files {
		doc, err := a.loadDocument(c, f, len(files) == 1)
		if err == nil {
			if prev, ok := byID[doc.meta.UniqueID]; ok {
				err = &adapter.InputError{Field: "unique_id", Value: doc.meta.UniqueID, Msg: fmt.Sprintf("used by both %s and %s", prev, f),
					Fix: "give each document its own unique id (use replace for a new version)"}
			}
		}
		if err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return err
			}
			problems = append(problems, err.Error())
			invalid = append(invalid, publishItemOutput{Path: absPath(f), Result: resultInvalid, Reason: err.Error()})
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		byID[doc.meta.UniqueID] = f
		meta, _, err := rt.metadata(doc)
		if err != nil {
			problems = append(problems, err.Error())
			invalid = append(invalid, publishItemOutput{Path: absPath(f), Result: resultInvalid, Reason: err.Error()})
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		entries = append(entries, outbox.Entry{Path: absPath(f), SHA256: doc.sum, Size: doc.size, UniqueID: doc.meta.UniqueID, Metadata: meta})
	}
	for _, p := range problems {
		fmt.Fprintf(a.stderr, "invalid: %s\n", redact.Text(p))
	}
	if len(problems) > 0 && !skipInvalid {
		return fmt.Errorf("%d of %d file(s) invalid, nothing was recorded or sent (--skip-invalid publishes the others): %w", len(problems), len(files), firstErr)
	}
	for i := range invalid {
		line(publishEvent{MessageType: "item", publishItemOutput: &invalid[i]})
	}

	path, err := a.outboxPath()
	if err != nil {
		return err
	}
	// The library's durable publication; the client is built only if something is sent.
	lazy := &lazyDocs{a: a}
	pub, err := batch.Open(path, lazy)
	if err != nil {
		return err
	}
	defer pub.Close()
	ob := pub.Outbox()
	// Done items hold metadata (patient codes) at rest: they are kept only as long as they
	// are useful to skip files given again. A file given again after that is sent, answered
	// as a duplicate and confirmed by hash: still published once.
	if _, err := ob.Forget(a.deps.now().Add(-keepDone)); err != nil {
		return fmt.Errorf("outbox %s: %w", path, err)
	}
	enq, err := pub.AddEntries(entries)
	if err != nil {
		return fmt.Errorf("recording the batch in %s: %w", path, err)
	}
	todo, err := ob.Unfinished()
	if err != nil {
		return err
	}
	a.log.Info("publish", map[string]any{"files": len(entries), "new": enq.Added, "already_done": enq.AlreadyDone, "to_send": todo, "invalid": len(invalid)})

	out := publishOutput{Items: []publishItemOutput{}}
	skipped := map[string]bool{}
	for _, e := range entries {
		k := outbox.Key(e.SHA256, e.UniqueID)
		if it, ok, _ := ob.Get(k); ok && it.State == outbox.Done {
			skipped[k] = true
			o := itemOutput(it, resultSkipped)
			line(publishEvent{MessageType: "item", publishItemOutput: &o})
		}
	}

	var sum outbox.Summary
	final := map[string]outbox.Item{}
	if todo > 0 {
		if _, err := lazy.get(); err != nil {
			return err
		}
		bar := newProgress(a.stderr, a.deps.isTerminal(a.stderr) && !jsonLines, todo)
		var mu sync.Mutex
		sending := map[string]bool{}
		finished := 0
		stopNote := context.AfterFunc(c.Context, func() {
			mu.Lock()
			defer mu.Unlock()
			if len(sending) > 0 {
				fmt.Fprintf(a.stderr, "\ninterrupted: no new document is started; waiting for the %d in flight (Ctrl-C again to quit now: they are then checked by the next run)\n", len(sending))
			}
		})
		defer stopNote()
		sum, err = pub.Run(c.Context, batch.Options{
			Sender:      rt.sender(batch.Sender(lazy)),
			Concurrency: n,
			CallTimeout: time.Duration(a.cfg.Timeout),
			OnChange: func(it outbox.Item) {
				mu.Lock()
				defer mu.Unlock()
				if it.State == outbox.Sending {
					sending[it.Key] = true
				} else {
					delete(sending, it.Key)
					final[it.Key] = it
					finished++
				}
				a.log.Debug("outbox item", map[string]any{"unique_id": it.UniqueID, "state": string(it.State), "outcome": string(it.Outcome), "attempts": it.Attempts})
				bar.update(it)
				o := itemOutput(it, resultOf(it))
				if it.State == outbox.Sending {
					o.Result = "sending"
				}
				line(publishEvent{MessageType: "item", publishItemOutput: &o, Done: finished, Total: todo})
			},
		})
		bar.finish()
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("outbox %s: %w", path, err)
		}
	}

	out.Summary = publishSummary{Sent: sum.Sent, AlreadyPresent: sum.AlreadyPresent, Failed: sum.Failed, Skipped: len(skipped),
		Interrupted: sum.Interrupted, InDoubt: sum.InDoubt, Invalid: len(invalid)}
	// Every item of this batch (and whatever an earlier run left that this one processed).
	rows := map[string]publishItemOutput{}
	for k, it := range final {
		rows[k] = itemOutput(it, resultOf(it))
	}
	for _, e := range entries {
		k := outbox.Key(e.SHA256, e.UniqueID)
		if _, ok := rows[k]; ok {
			continue
		}
		if it, ok, _ := ob.Get(k); ok {
			r := resultOf(it)
			if skipped[k] {
				r = resultSkipped
			}
			rows[k] = itemOutput(it, r)
		}
	}
	for _, r := range rows {
		out.Items = append(out.Items, r)
	}
	out.Items = append(out.Items, invalid...)
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Path < out.Items[j].Path })
	if jsonLines {
		line(publishEvent{MessageType: "summary", Summary: &out.Summary})
	} else if err := a.emit(out, func(w io.Writer) {
		fmt.Fprintln(w, "FILE\tUNIQUE ID\tRESULT\tDETAIL")
		for _, it := range out.Items {
			detail := it.Outcome
			switch {
			case it.Reason != "":
				detail = it.Reason
			case it.Result == resultSkipped:
				detail = "done by an earlier run (" + it.Outcome + ")"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", filepath.Base(it.Path), it.UniqueID, it.Result, detail)
		}
		if sc, _ := gateway.ParseScenario(a.cfg.Gateway.Scenario); sc != gateway.ScenarioCurrent {
			for _, it := range out.Items {
				if it.Result != resultInvalid {
					fmt.Fprintf(w, "route %s\t%s\t%s\n", filepath.Base(it.Path), it.Route, it.RouteReason)
				}
			}
		}
		s := out.Summary
		line := fmt.Sprintf("sent %d, already present %d, failed %d, skipped %d, interrupted %d", s.Sent, s.AlreadyPresent, s.Failed, s.Skipped, s.Interrupted)
		if s.InDoubt > 0 {
			line += fmt.Sprintf(", in doubt %d", s.InDoubt)
		}
		if s.Invalid > 0 {
			line += fmt.Sprintf(", invalid %d", s.Invalid)
		}
		fmt.Fprintln(w, line)
	}); err != nil {
		return err
	}
	if sum.Failed > 0 || sum.Interrupted > 0 || sum.InDoubt > 0 || len(invalid) > 0 {
		return &batchError{failed: sum.Failed, interrupted: sum.Interrupted, inDoubt: sum.InDoubt, invalid: len(invalid)}
	}
	return nil
}

// lazyDocs builds the library client on the first call, so that a batch with nothing to
// send needs no credentials.
type lazyDocs struct {
	a  *appEnv
	be *backend
}

func (l *lazyDocs) get() (*backend, error) {
	if l.be == nil {
		be, err := l.a.client()
		if err != nil {
			return nil, err
		}
		l.be = be
	}
	return l.be, nil
}

func (l *lazyDocs) Publish(ctx context.Context, req adapter.PublishRequest) (*adapter.PublishResult, error) {
	be, err := l.get()
	if err != nil {
		return nil, err
	}
	return be.docs.Publish(ctx, req)
}

func (l *lazyDocs) Retrieve(ctx context.Context, cf, id string) (*adapter.Document, error) {
	be, err := l.get()
	if err != nil {
		return nil, err
	}
	return be.docs.Retrieve(ctx, cf, id)
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// listDocuments returns the .pdf and .p7m files of dir, sorted.
func listDocuments(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, &adapter.InputError{Field: "--dir", Value: dir, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check the directory"}
	}
	var files []string
	for _, de := range des {
		ext := strings.ToLower(filepath.Ext(de.Name()))
		if de.Type().IsRegular() && (ext == ".pdf" || ext == ".p7m") {
			files = append(files, filepath.Join(dir, de.Name()))
		}
	}
	return files, nil
}
