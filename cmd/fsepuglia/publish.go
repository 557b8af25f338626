package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/urfave/cli/v2"
)

// keepDone is how long done items stay in the outbox.
const keepDone = 30 * 24 * time.Hour

// publishItemOutput is one item in the JSON of `publish` (OUTPUT.md).
type publishItemOutput struct {
	Path      string `json:"path"`
	UniqueID  string `json:"unique_id"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	State     string `json:"state"`
	Outcome   string `json:"outcome,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Retryable bool   `json:"retryable,omitempty"`
	// Route is legacy or middleware (gateway.RouteFor), RouteReason why.
	Route       string `json:"route"`
	RouteReason string `json:"route_reason,omitempty"`
}

// publishSummary counts the items of one `publish` run.
type publishSummary struct {
	Sent           int `json:"sent"`
	AlreadyPresent int `json:"already_present"`
	Failed         int `json:"failed"`
	Skipped        int `json:"skipped"`
	Interrupted    int `json:"interrupted"`
}

// publishOutput is the JSON of `publish`.
type publishOutput struct {
	Summary publishSummary      `json:"summary"`
	Items   []publishItemOutput `json:"items"`
}

func publishCommand(a *appEnv) *cli.Command {
	flags := append(metadataFlags(),
		&cli.StringFlag{Name: "dir", Usage: "publish every .pdf and .p7m file of this directory (not recursive)"},
		&cli.BoolFlag{Name: "resume", Usage: "only finish what earlier runs left in the outbox"},
		&cli.IntFlag{Name: "concurrency", Value: 4, Usage: "documents in flight at once (1-32)"},
	)
	return &cli.Command{
		Name:      "publish",
		Usage:     "publish documents through the durable outbox (resumes unfinished batches)",
		ArgsUsage: "FILE…",
		Description: "Each file's metadata comes from <FILE>.json (the keys of adapter.Metadata) and the flags.\n" +
			"Files are first recorded in the outbox (data dir), then sent; an interrupted batch is\n" +
			"finished by the next publish or by publish --resume, without sending a document twice.\n" +
			"Done items are forgotten after 30 days.",
		Flags:  flags,
		Action: func(c *cli.Context) error { return a.publish(c) },
	}
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

	// Every file is checked before anything is recorded: a batch goes in whole or not at all.
	// The router decides each file's route (legacy or middleware) and refuses what the
	// FSE 2.0 workflow forbids (not validated, changed since, older than 5 days).
	rt, err := a.newRouter()
	if err != nil {
		return err
	}
	defer rt.close()
	var entries []outbox.Entry
	var problems []string
	var firstErr error
	byID := map[string]string{} // unique id -> first file that claims it
	for _, f := range files {
		doc, err := a.loadDocument(c, f, len(files) == 1)
		if err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return err
			}
			problems = append(problems, err.Error())
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if prev, ok := byID[doc.meta.UniqueID]; ok {
			err := &adapter.InputError{Field: "unique_id", Value: doc.meta.UniqueID, Msg: fmt.Sprintf("used by both %s and %s", prev, f),
				Fix: "give each document its own unique id (use replace for a new version)"}
			problems = append(problems, err.Error())
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		byID[doc.meta.UniqueID] = f
		meta, _, err := rt.metadata(doc)
		if err != nil {
			problems = append(problems, err.Error())
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		entries = append(entries, outbox.Entry{Path: absPath(f), SHA256: doc.sum, Size: int64(len(doc.body)), UniqueID: doc.meta.UniqueID, Metadata: meta})
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(a.stderr, "invalid: %s\n", redact.Text(p))
		}
		return fmt.Errorf("%d of %d file(s) invalid, nothing was recorded or sent: %w", len(problems), len(files), firstErr)
	}

	path, err := a.outboxPath()
	if err != nil {
		return err
	}
	ob, err := outbox.Open(path)
	if err != nil {
		return err
	}
	defer ob.Close()
	// Done items hold metadata (patient codes) at rest: they are kept only as long as they
	// are useful to skip files given again. A file given again after that is sent, answered
	// as a duplicate and confirmed by hash: still published once.
	if _, err := ob.Forget(a.deps.now().Add(-keepDone)); err != nil {
		return fmt.Errorf("outbox %s: %w", path, err)
	}
	enq, err := ob.Enqueue(entries)
	if err != nil {
		return fmt.Errorf("recording the batch in %s: %w", path, err)
	}
	todo, err := ob.Unfinished()
	if err != nil {
		return err
	}
	a.log.Info("publish", map[string]any{"files": len(entries), "new": enq.Added, "already_done": enq.AlreadyDone, "to_send": todo})

	var sum outbox.Summary
	final := map[string]outbox.Item{}
	if todo > 0 {
		be, err := a.client()
		if err != nil {
			return err
		}
		bar := newProgress(a.stderr, a.deps.isTerminal(a.stderr), todo)
		var mu sync.Mutex
		sum, err = ob.Run(c.Context, rt.sender(&docSender{docs: be.docs}), outbox.Options{
			Concurrency: n,
			Retryable:   isRetryable,
			OnChange: func(it outbox.Item) {
				mu.Lock()
				defer mu.Unlock()
				if it.State == outbox.Done || it.State == outbox.Failed {
					final[it.Key] = it
				}
				a.log.Debug("outbox item", map[string]any{"unique_id": it.UniqueID, "state": string(it.State), "outcome": string(it.Outcome), "attempts": it.Attempts})
				bar.update(it)
			},
		})
		bar.finish()
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("outbox %s: %w", path, err)
		}
	}

	out := publishOutput{Items: []publishItemOutput{}}
	out.Summary = publishSummary{Sent: sum.Sent, AlreadyPresent: sum.AlreadyPresent, Failed: sum.Failed, Skipped: enq.AlreadyDone, Interrupted: sum.Interrupted}
	for _, e := range entries {
		k := outbox.Key(e.SHA256, e.UniqueID)
		if _, ok := final[k]; ok {
			continue
		}
		if it, ok, _ := ob.Get(k); ok && it.State == outbox.Done {
			final[k] = it // skipped: done by an earlier run
		}
	}
	keys := make([]string, 0, len(final))
	for k := range final {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return final[keys[i]].Path < final[keys[j]].Path })
	for _, k := range keys {
		it := final[k]
		rm := decodeRoute(it.Metadata)
		out.Items = append(out.Items, publishItemOutput{Path: it.Path, UniqueID: it.UniqueID, SHA256: it.SHA256, Size: it.Size,
			State: string(it.State), Outcome: string(it.Outcome), Reason: it.Reason, Retryable: it.Retryable, Route: rm.Route, RouteReason: rm.RouteReason})
	}
	if err := a.emit(out, func(w io.Writer) {
		fmt.Fprintln(w, "FILE\tUNIQUE ID\tSTATE\tDETAIL")
		for _, it := range out.Items {
			detail := it.Outcome
			if it.Reason != "" {
				detail = it.Reason
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", filepath.Base(it.Path), it.UniqueID, it.State, detail)
		}
		if sc, _ := gateway.ParseScenario(a.cfg.Gateway.Scenario); sc != gateway.ScenarioCurrent {
			for _, it := range out.Items {
				fmt.Fprintf(w, "route %s\t%s\t%s\n", filepath.Base(it.Path), it.Route, it.RouteReason)
			}
		}
		s := out.Summary
		fmt.Fprintf(w, "sent %d, already present %d, failed %d, skipped %d, interrupted %d\n", s.Sent, s.AlreadyPresent, s.Failed, s.Skipped, s.Interrupted)
	}); err != nil {
		return err
	}
	if sum.Failed > 0 || sum.Interrupted > 0 {
		return &batchError{failed: sum.Failed, interrupted: sum.Interrupted}
	}
	return nil
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

// docSender plugs the library's DocumentService into the outbox.
type docSender struct{ docs documentAPI }

func (s *docSender) request(it outbox.Item) (adapter.PublishRequest, error) {
	var meta adapter.Metadata
	if err := json.Unmarshal(it.Metadata, &meta); err != nil {
		return adapter.PublishRequest{}, fmt.Errorf("metadata of %s in the outbox: %w", it.Path, err)
	}
	body, err := os.ReadFile(it.Path)
	if err != nil {
		return adapter.PublishRequest{}, fmt.Errorf("%s: %w (the file was recorded in the outbox but is gone: restore it, or publish it again from its new place)", it.Path, unwrapPath(err))
	}
	h := sha256.Sum256(body)
	if hex.EncodeToString(h[:]) != it.SHA256 {
		return adapter.PublishRequest{}, fmt.Errorf("%s changed since it was recorded in the outbox: publish it again (it becomes a new item)", it.Path)
	}
	return adapter.PublishRequest{Metadata: meta, Body: body, DocumentName: meta.DocumentName}, nil
}

// Send publishes the item's file; FSE-00409 becomes outbox.ErrDuplicate.
func (s *docSender) Send(ctx context.Context, it outbox.Item) error {
	req, err := s.request(it)
	if err != nil {
		return err
	}
	if _, err := s.docs.Publish(ctx, req); err != nil {
		if isDuplicate(err) {
			return fmt.Errorf("%w: %w", outbox.ErrDuplicate, err)
		}
		return err
	}
	return nil
}

// Lookup retrieves the item's uniqueId and compares the region's copy with the file's hash.
func (s *docSender) Lookup(ctx context.Context, it outbox.Item) (bool, bool, error) {
	var meta adapter.Metadata
	if err := json.Unmarshal(it.Metadata, &meta); err != nil {
		return false, false, fmt.Errorf("metadata of %s in the outbox: %w", it.Path, err)
	}
	doc, err := s.docs.Retrieve(ctx, meta.PatientCF, it.UniqueID)
	if err != nil {
		switch {
		case isNotFound(err):
			return false, false, nil
		case classifyRemote(err) == remoteConsent:
			return false, false, fmt.Errorf("%w: %w", outbox.ErrLookupRefused, err)
		}
		return false, false, err
	}
	if len(doc.Body) > 0 {
		h := sha256.Sum256(doc.Body)
		return true, hex.EncodeToString(h[:]) == it.SHA256, nil
	}
	return true, strings.EqualFold(doc.Metadata.Hash, it.SHA256), nil
}
