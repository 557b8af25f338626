package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/queue"
	"github.com/fsepuglia/fsepuglia/adapter/queue/boltq"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/urfave/cli/v2"
)

// The CLI on serve's queues: `publish --queue URL` records documents in the queue that
// `serve` works on (and sends them itself unless --enqueue-only), `queue list|show|retry|
// forget` look at it and settle items. The embedded queue is one process at a time: while
// serve runs on it, use its API instead (the error says so).

// queueFlag is --queue for publish and the queue commands.
func queueFlag() cli.Flag {
	return &cli.StringFlag{Name: "queue", Usage: "serve's queue: a file path (embedded; default <data-dir>/queue.db for the queue commands) or postgres://user@host/db"}
}

func (a *appEnv) openCLIQueue(ctx context.Context, v string) (queue.Store, error) {
	spec, err := a.parseQueue(v)
	if err != nil {
		return nil, err
	}
	st, err := openQueue(ctx, spec)
	if errors.Is(err, boltq.ErrLocked) {
		return nil, &adapter.InputError{Field: "--queue", Value: spec.path, Msg: "in use by a running fsepuglia serve",
			Fix: "use its API (GET /v1/documents, POST /v1/documents/{id}/retry …), or stop it first"}
	}
	return st, err
}

// queueItemOutput is one item in the JSON of `queue` and `publish --queue`.
type queueItemOutput = apiItem

// publishQueue is `publish --queue URL FILE…`.
func (a *appEnv) publishQueue(c *cli.Context, files []string) error {
	n := c.Int("concurrency")
	var entries []queue.Entry
	rt, err := a.newRouter()
	if err != nil {
		return err
	}
	defer rt.close()
	for _, f := range files {
		doc, err := a.loadDocument(c, f, len(files) == 1)
		if err != nil {
			return err
		}
		raw, _, err := rt.metadata(doc)
		if err != nil {
			return err
		}
		body, err := doc.bytes()
		if err != nil {
			return err
		}
		entries = append(entries, queue.Entry{UniqueID: doc.meta.UniqueID, SHA256: doc.sum, Size: doc.size, Path: absPath(f),
			Source: "cli", Metadata: raw, Body: body})
	}
	ctx := c.Context
	st, err := a.openCLIQueue(ctx, c.String("queue"))
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.Enqueue(ctx, entries)
	if err != nil {
		return err
	}
	a.log.Info("publish --queue", map[string]any{"files": len(entries), "new": res.Added + res.Requeued, "existing": res.Existing})
	if !c.Bool("enqueue-only") {
		be, err := a.client()
		if err != nil {
			return err
		}
		wctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		host := "cli"
		go func() {
			defer close(done)
			_ = queue.Work(wctx, st, &queueSender{backend: func() *backend { return be }, router: rt}, queue.Options{
				Owner: host + ":" + fmt.Sprint(time.Now().UnixNano()), Concurrency: n, CallTimeout: 2 * time.Minute, Poll: 200 * time.Millisecond,
				Classify: classifyQueueError, Backoff: queue.Backoff{Base: time.Second, Max: time.Minute}, Drain: 20 * time.Second})
		}()
		// Until every item of this batch is settled (another instance may send some).
		for ctx.Err() == nil && !a.settled(ctx, st, res.Keys) {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
		stop()
		<-done
	}
	var items []queue.Item
	for _, k := range res.Keys {
		if it, err := st.Get(context.WithoutCancel(ctx), k); err == nil {
			items = append(items, it)
		}
	}
	failed := 0
	for _, it := range items {
		if it.State == queue.Failed || it.State == queue.InDoubt {
			failed++
		}
	}
	if err := a.emitQueueItems(items); err != nil {
		return err
	}
	pending := len(entries) - len(items)
	for _, it := range items {
		if it.State == queue.Queued || it.State == queue.Sending {
			pending++
		}
	}
	if c.Bool("enqueue-only") {
		return nil
	}
	if failed > 0 || pending > 0 {
		return &batchError{failed: failed, interrupted: pending}
	}
	return nil
}

func (a *appEnv) settled(ctx context.Context, st queue.Store, keys []string) bool {
	for _, k := range keys {
		it, err := st.Get(ctx, k)
		if errors.Is(err, queue.ErrNotFound) {
			continue // forgotten meanwhile
		}
		if err != nil {
			return false
		}
		switch {
		case it.State == queue.Done, it.State == queue.Failed, it.State == queue.InDoubt && !it.Retryable:
		default:
			return false
		}
	}
	return true
}

func (a *appEnv) emitQueueItems(items []queue.Item) error {
	out := struct {
		Items []queueItemOutput `json:"items"`
	}{Items: []queueItemOutput{}}
	for _, it := range items {
		out.Items = append(out.Items, toAPIItem(it))
	}
	return a.emit(out, func(w io.Writer) {
		fmt.Fprintln(w, "NAME\tUNIQUE ID\tSTATE\tROUTE\tATTEMPTS\tDETAIL")
		for _, it := range out.Items {
			detail := it.Outcome
			if it.Reason != "" {
				detail = it.Reason
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", filepath.Base(it.Name), it.UniqueID, it.State, it.Route, it.Attempts, redact.Text(detail))
		}
	})
}

// findQueueItem resolves ITEM: a key, or a unique id held by exactly one item.
func findQueueItem(ctx context.Context, st queue.Store, ref string) (queue.Item, error) {
	if it, err := st.Get(ctx, ref); err == nil {
		return it, nil
	}
	var found []queue.Item
	for after := int64(0); ; {
		items, err := st.List(ctx, queue.Filter{After: after, Limit: 1000})
		if err != nil {
			return queue.Item{}, err
		}
		for _, it := range items {
			if it.UniqueID == ref {
				found = append(found, it)
			}
		}
		if len(items) < 1000 {
			break
		}
		after = items[len(items)-1].Seq
	}
	switch len(found) {
	case 0:
		return queue.Item{}, &adapter.InputError{Field: "ITEM", Value: redact.Text(ref), Msg: "no such item in the queue", Fix: "see fsepuglia queue list"}
	case 1:
		return found[0], nil
	}
	return queue.Item{}, &adapter.InputError{Field: "ITEM", Value: redact.Text(ref), Msg: fmt.Sprintf("%d items have this unique id", len(found)), Fix: "name it by its key (fsepuglia queue list --format json)"}
}

func queueCommand(a *appEnv) *cli.Command {
	with := func(c *cli.Context, fn func(ctx context.Context, st queue.Store) error) error {
		st, err := a.openCLIQueue(c.Context, c.String("queue"))
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(c.Context, st)
	}
	one := func(c *cli.Context, verb string, fn func(ctx context.Context, st queue.Store, it queue.Item) (queue.Item, error)) error {
		if c.NArg() != 1 {
			return usagef("queue %s takes one ITEM (a key or a unique id; see fsepuglia queue list)", verb)
		}
		return with(c, func(ctx context.Context, st queue.Store) error {
			it, err := findQueueItem(ctx, st, c.Args().First())
			if err != nil {
				return err
			}
			if it, err = fn(ctx, st, it); err != nil {
				if errors.Is(err, queue.ErrBusy) {
					return &adapter.InputError{Field: "ITEM", Value: redact.Text(it.UniqueID), Msg: "being sent right now", Fix: "wait until it is settled"}
				}
				return err
			}
			return a.emitQueueItems([]queue.Item{it})
		})
	}
	return &cli.Command{
		Name:  "queue",
		Usage: "see and settle the items of serve's queue (embedded or PostgreSQL)",
		Description: "The same queue as fsepuglia serve --queue: list by state, show one item, retry a failed or\n" +
			"in-doubt one (an in-doubt item is checked at the region before any resend), forget one.",
		Flags: []cli.Flag{queueFlag()},
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "list the items in enqueue order", Flags: []cli.Flag{queueFlag(),
				&cli.StringFlag{Name: "state", Usage: "only items in these states (comma-separated): queued, sending, in-doubt, done, failed"}},
				Action: func(c *cli.Context) error {
					var f queue.Filter
					for _, s := range strings.Split(c.String("state"), ",") {
						if s = strings.TrimSpace(s); s == "" {
							continue
						}
						if !isState(s) {
							return &adapter.InputError{Field: "--state", Value: s, Msg: "unknown state", Fix: "use queued, sending, in-doubt, done or failed"}
						}
						f.States = append(f.States, queue.State(s))
					}
					return with(c, func(ctx context.Context, st queue.Store) error {
						var all []queue.Item
						for {
							f.Limit = 1000
							items, err := st.List(ctx, f)
							if err != nil {
								return err
							}
							all = append(all, items...)
							if len(items) < 1000 {
								break
							}
							f.After = items[len(items)-1].Seq
						}
						sort.SliceStable(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
						return a.emitQueueItems(all)
					})
				}},
			{Name: "show", Usage: "show one item", ArgsUsage: "ITEM", Flags: []cli.Flag{queueFlag()},
				Action: func(c *cli.Context) error {
					return one(c, "show", func(_ context.Context, _ queue.Store, it queue.Item) (queue.Item, error) { return it, nil })
				}},
			{Name: "retry", Usage: "queue a failed or in-doubt item again now", ArgsUsage: "ITEM", Flags: []cli.Flag{queueFlag()},
				Action: func(c *cli.Context) error {
					return one(c, "retry", func(ctx context.Context, st queue.Store, it queue.Item) (queue.Item, error) {
						return st.Retry(ctx, it.Key)
					})
				}},
			{Name: "forget", Usage: "remove an item (check it at the region first if it is in doubt)", ArgsUsage: "ITEM", Flags: []cli.Flag{queueFlag()},
				Action: func(c *cli.Context) error {
					return one(c, "forget", func(ctx context.Context, st queue.Store, it queue.Item) (queue.Item, error) {
						return it, st.Forget(ctx, it.Key)
					})
				}},
		},
	}
}

// queueAware gives each subcommand of outbox a --queue flag: with it, the subcommand works on
// serve's queue (as fsepuglia queue does) instead of publish's outbox.
func (a *appEnv) queueAware(cmd *cli.Command) {
	subs := map[string]*cli.Command{}
	for _, q := range queueCommand(a).Subcommands {
		subs[q.Name] = q
	}
	for _, sub := range cmd.Subcommands {
		q, ok := subs[sub.Name]
		if !ok {
			continue
		}
		sub.Flags = append(sub.Flags, queueFlag())
		orig := sub.Action
		sub.Action = func(c *cli.Context) error {
			if c.IsSet("queue") {
				return q.Action(c)
			}
			return orig(c)
		}
	}
}
