package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/batch"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/ordered"
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
	// The files in path order, the order of the output (and of the sends).
	var files *fileList
	if dir := c.String("dir"); dir != "" {
		if c.NArg() > 0 {
			return usagef("publish takes FILE… or --dir DIR, not both")
		}
		var err error
		if files, err = readDocumentList(dir); err != nil {
			return err
		}
		if files.len() == 0 {
			return &adapter.InputError{Field: "--dir", Value: dir, Msg: "no .pdf or .p7m file in it", Fix: "check the directory"}
		}
	} else {
		files = newFileList(c.Args().Slice())
	}
	if files.len() == 0 && !c.Bool("resume") {
		return usagef("publish needs FILE…, --dir DIR or --resume")
	}
	if files.len() > 0 && c.Bool("resume") {
		return usagef("--resume takes no files: it finishes what is already in the outbox")
	}
	if c.IsSet("queue") { // serve's queue instead of the outbox (serve_cli.go)
		if c.Bool("resume") {
			return usagef("--resume is for the outbox; with --queue, fsepuglia serve (or publish --queue again) finishes the items")
		}
		return a.publishQueue(c, files.paths())
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
	// Nothing per document is kept in memory (issue 13: a 10,000-document batch peaks like a
	// 100-document one): the checked entries go to a spool file, the outbox is filled and
	// read a chunk at a time, and the output is written from the spool and the outbox.
	rt, err := a.newRouter()
	if err != nil {
		return err
	}
	defer rt.close()
	path, err := a.outboxPath()
	if err != nil {
		return err
	}
	sp, err := newSpool(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer sp.close()
	var invalid []publishItemOutput
	var firstErr error
	ids := make(map[uint64]int32, files.len()) // sized once (growing doubles it with garbage); hash of a unique id -> index of the first file that claims it
	bad := func(f string, err error) {
		invalid = append(invalid, publishItemOutput{Path: absPath(f), Result: resultInvalid, Reason: err.Error()})
		if firstErr == nil {
			firstErr = err
		}
	}
	// The files are inspected on all cores (each is CPU work of its own: the PDF, its CDA, the
	// hash) and taken in order here, where the duplicate check, the router and the spool see
	// them one at a time (internal/ordered: at most a few inspected ahead).
	type loaded struct {
		doc *loadedDoc
		err error
	}
	err = ordered.Each(files.len(), runtime.GOMAXPROCS(0), func(i int) loaded {
		doc, err := a.loadDocument(c, files.at(i), files.len() == 1)
		return loaded{doc, err}
	}, func(i int, l loaded) error {
		f, doc, err := files.at(i), l.doc, l.err
		if err == nil {
			h := hashString(doc.meta.UniqueID)
			if j, ok := ids[h]; ok {
				j := int(j)
				// The same hash: the same unique id unless the 64-bit hashes collide.
				if prev, perr := a.loadDocument(c, files.at(j), false); perr == nil && prev.meta.UniqueID == doc.meta.UniqueID {
					err = &adapter.InputError{Field: "unique_id", Value: doc.meta.UniqueID, Msg: fmt.Sprintf("used by both %s and %s", files.at(j), f),
						Fix: "give each document its own unique id (use replace for a new version)"}
				}
			} else {
				ids[h] = int32(i)
			}
		}
		if err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return err
			}
			bad(f, err)
			return nil
		}
		meta, _, err := rt.metadata(doc)
		if err != nil {
			bad(f, err)
			return nil
		}
		return sp.add(i, outbox.Entry{Path: absPath(f), SHA256: doc.sum, Size: doc.size, UniqueID: doc.meta.UniqueID, Metadata: meta})
	})
	if err != nil {
		return err
	}
	ids = nil
	for _, p := range invalid {
		fmt.Fprintf(a.stderr, "invalid: %s\n", redact.Text(p.Reason))
	}
	if len(invalid) > 0 && !skipInvalid {
		return fmt.Errorf("%d of %d file(s) invalid, nothing was recorded or sent (--skip-invalid publishes the others): %w", len(invalid), files.len(), firstErr)
	}
	for i := range invalid {
		line(publishEvent{MessageType: "item", publishItemOutput: &invalid[i]})
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
	// Recorded a chunk at a time (each chunk in one transaction). A run killed meanwhile
	// leaves the chunks recorded so far, which the next publish or publish --resume finishes;
	// the files of the others are untouched and recorded when given again.
	var enq outbox.EnqueueResult
	skipped := make([]bool, files.len()) // done by an earlier run (by file index)
	nSkipped := 0
	inBatch := make([]uint64, 0, sp.n) // hashes of the keys of this batch's items, sorted before the run
	err = sp.each(func(chunk []spoolEntry) error {
		entries := make([]outbox.Entry, len(chunk))
		keys := make([]string, len(chunk))
		for i, e := range chunk {
			entries[i], keys[i] = e.Entry, outbox.Key(e.SHA256, e.UniqueID)
			inBatch = append(inBatch, hashString(keys[i]))
		}
		r, err := pub.AddEntries(entries)
		if err != nil {
			return fmt.Errorf("recording the batch in %s: %w", path, err)
		}
		enq.Added, enq.Requeued, enq.Existing, enq.AlreadyDone = enq.Added+r.Added, enq.Requeued+r.Requeued, enq.Existing+r.Existing, enq.AlreadyDone+r.AlreadyDone
		if r.AlreadyDone == 0 {
			return nil
		}
		return ob.Fetch(keys, func(_ string, it outbox.Item, found bool) error {
			if found && it.State == outbox.Done {
				i := chunk[slices.Index(keys, it.Key)].I
				skipped[i] = true
				nSkipped++
				o := itemOutput(it, resultSkipped)
				line(publishEvent{MessageType: "item", publishItemOutput: &o})
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	slices.Sort(inBatch)
	todo, err := ob.Unfinished()
	if err != nil {
		return err
	}
	a.log.Info("publish", map[string]any{"files": sp.n, "new": enq.Added, "already_done": enq.AlreadyDone, "to_send": todo, "invalid": len(invalid)})

	var sum outbox.Summary
	extra := map[string]outbox.Item{} // items of earlier batches that this run processed
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
					if _, ok := slices.BinarySearch(inBatch, hashString(it.Key)); !ok {
						extra[it.Key] = it
					}
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

	summary := publishSummary{Sent: sum.Sent, AlreadyPresent: sum.AlreadyPresent, Failed: sum.Failed, Skipped: nSkipped,
		Interrupted: sum.Interrupted, InDoubt: sum.InDoubt, Invalid: len(invalid)}
	// Every item of this batch, the invalid files and whatever an earlier run left that this
	// one processed, sorted by path: the batch's items come from the spool (in file order,
	// which is path order) with their state read back from the outbox.
	var others []publishItemOutput
	for _, it := range extra {
		others = append(others, itemOutput(it, resultOf(it)))
	}
	others = append(others, invalid...)
	sort.SliceStable(others, func(i, j int) bool { return others[i].Path < others[j].Path })
	rows := func(fn func(publishItemOutput) error) error {
		k := 0
		err := sp.each(func(chunk []spoolEntry) error {
			keys := make([]string, len(chunk))
			for i, e := range chunk {
				keys[i] = outbox.Key(e.SHA256, e.UniqueID)
			}
			i := 0
			return ob.Fetch(keys, func(_ string, it outbox.Item, found bool) error {
				e := chunk[i]
				i++
				if !found {
					return nil
				}
				for ; k < len(others) && others[k].Path < it.Path; k++ {
					if err := fn(others[k]); err != nil {
						return err
					}
				}
				r := resultOf(it)
				if skipped[e.I] {
					r = resultSkipped
				}
				return fn(itemOutput(it, r))
			})
		})
		if err != nil {
			return err
		}
		for ; k < len(others); k++ {
			if err := fn(others[k]); err != nil {
				return err
			}
		}
		return nil
	}
	if jsonLines {
		line(publishEvent{MessageType: "summary", Summary: &summary})
	} else if a.opts.Output == "json" {
		if err := writePublishJSON(a.stdout, summary, rows); err != nil {
			return fmt.Errorf("writing JSON output: %w", err)
		}
		a.emittedJSON = true
	} else {
		sc, _ := gateway.ParseScenario(a.cfg.Gateway.Scenario)
		if err := writePublishTable(a.stdout, summary, rows, sc != gateway.ScenarioCurrent); err != nil {
			return err
		}
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

// fileList is a batch's files in path order, their names packed in one string (10,000 names
// cost their bytes and 4 bytes each, not a string each: issue 13, flat memory).
type fileList struct {
	dir  string   // joined to each name; "" when the names are the paths as given
	buf  string   // the names, one after the other
	ends []uint32 // where each name ends in buf
}

// newFileList is the list of the paths given, sorted by their absolute path.
func newFileList(paths []string) *fileList {
	abs := make(map[string]string, len(paths))
	for _, p := range paths {
		abs[p] = absPath(p)
	}
	sorted := slices.Clone(paths)
	sort.SliceStable(sorted, func(i, j int) bool { return abs[sorted[i]] < abs[sorted[j]] })
	return packFileList("", sorted)
}

func packFileList(dir string, names []string) *fileList {
	var b strings.Builder
	l := &fileList{dir: dir, ends: make([]uint32, 0, len(names))}
	for _, n := range names {
		b.WriteString(n)
		l.ends = append(l.ends, uint32(b.Len()))
	}
	l.buf = b.String()
	return l
}

func (l *fileList) len() int { return len(l.ends) }

// at returns the i-th file's path.
func (l *fileList) at(i int) string {
	start := uint32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	name := l.buf[start:l.ends[i]]
	if l.dir == "" {
		return name
	}
	return filepath.Join(l.dir, name)
}

func (l *fileList) paths() []string {
	out := make([]string, l.len())
	for i := range out {
		out[i] = l.at(i)
	}
	return out
}

// readDocumentList lists the .pdf and .p7m files of dir (not recursive), sorted by name,
// reading the directory a few hundred entries at a time.
func readDocumentList(dir string) (*fileList, error) {
	bad := func(err error) error {
		return &adapter.InputError{Field: "--dir", Value: dir, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check the directory"}
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil, bad(err)
	}
	defer d.Close()
	// The names are packed as they are read, then their (start, end) pairs sorted: no
	// string per name, even for a moment.
	var b strings.Builder
	var spans [][2]uint32
	for {
		des, err := d.ReadDir(256)
		for _, de := range des {
			ext := strings.ToLower(filepath.Ext(de.Name()))
			if de.Type().IsRegular() && (ext == ".pdf" || ext == ".p7m") {
				start := uint32(b.Len())
				b.WriteString(de.Name())
				spans = append(spans, [2]uint32{start, uint32(b.Len())})
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bad(err)
		}
	}
	all := b.String()
	name := func(s [2]uint32) string { return all[s[0]:s[1]] }
	slices.SortFunc(spans, func(x, y [2]uint32) int { return strings.Compare(name(x), name(y)) })
	var sorted strings.Builder
	sorted.Grow(len(all))
	l := &fileList{dir: dir, ends: make([]uint32, 0, len(spans))}
	for _, s := range spans {
		sorted.WriteString(name(s))
		l.ends = append(l.ends, uint32(sorted.Len()))
	}
	l.buf = sorted.String()
	return l, nil
}

// VerifiesHash implements batch.HashVerifier: the library's DocumentService checks a
// streamed file against Metadata.Hash before it writes the request (a test's fake region
// does not, and the sender then checks the file itself).
func (l *lazyDocs) VerifiesHash() bool {
	be, err := l.get()
	if err != nil {
		return false
	}
	_, ok := be.docs.(*adapter.DocumentService)
	return ok
}
