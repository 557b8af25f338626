package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/urfave/cli/v2"
)

// outboxItemOutput is one item in the JSON of `outbox` (OUTPUT.md).
type outboxItemOutput struct {
	Key         string            `json:"key"`
	Path        string            `json:"path"`
	UniqueID    string            `json:"unique_id"`
	SHA256      string            `json:"sha256"`
	Size        int64             `json:"size"`
	State       string            `json:"state"`
	InDoubt     bool              `json:"in_doubt,omitempty"`
	Outcome     string            `json:"outcome,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	Retryable   bool              `json:"retryable,omitempty"`
	Attempts    int               `json:"attempts"`
	Enqueued    time.Time         `json:"enqueued"`
	Updated     time.Time         `json:"updated"`
	LastAttempt *time.Time        `json:"last_attempt,omitempty"`
	Attrs       map[string]string `json:"attrs,omitempty"`
	Metadata    json.RawMessage   `json:"metadata,omitempty"`
}

// outboxOutput is the JSON of `outbox list|retry|forget` (and `show`, with one item).
type outboxOutput struct {
	Items []outboxItemOutput `json:"items"`
}

func toOutboxItem(it outbox.Item, withMeta bool) outboxItemOutput {
	o := outboxItemOutput{Key: it.Key, Path: it.Path, UniqueID: it.UniqueID, SHA256: it.SHA256, Size: it.Size,
		State: string(it.State), InDoubt: it.IsInDoubt(), Outcome: string(it.Outcome), Reason: it.Reason,
		Retryable: it.Retryable, Attempts: it.Attempts, Enqueued: it.Enqueued, Updated: it.Updated, Attrs: it.Attrs}
	if !it.LastAttempt.IsZero() {
		t := it.LastAttempt
		o.LastAttempt = &t
	}
	if withMeta {
		o.Metadata = it.Metadata
	}
	return o
}

func outboxCommand(a *appEnv) *cli.Command {
	item := "ITEM is an item's key, its unique id or its file path (see outbox list)."
	cmd := &cli.Command{
		Name:  "outbox",
		Usage: "see and settle what publish left in the outbox (items in doubt, failed ones)",
		Description: "An item is in doubt when it may have reached the region and could not be checked\n" +
			"(its run was killed, or the region refuses to show it for lack of consent). publish\n" +
			"--resume checks it before sending it again; retry and forget settle it by hand.",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "list the items (newest last)",
				Flags: []cli.Flag{&cli.StringFlag{Name: "state", Usage: "only items in this state: pending, sending, done, failed, in-doubt"}},
				Action: func(c *cli.Context) error {
					return a.withOutbox(func(ob *outbox.Outbox) error { return a.outboxList(ob, c.String("state")) })
				}},
			{Name: "show", Usage: "show one item with its metadata", ArgsUsage: "ITEM", Description: item,
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usagef("outbox show takes one ITEM (see fsepuglia outbox list)")
					}
					return a.withOutbox(func(ob *outbox.Outbox) error {
						it, err := findItem(ob, c.Args().First())
						if err != nil {
							return err
						}
						return a.emitItems([]outbox.Item{it}, true)
					})
				}},
			{Name: "retry", Usage: "make failed or in-doubt items pending again (the next publish --resume sends them)", ArgsUsage: "ITEM…",
				Description: item + "\nAn item in doubt is still looked up first; if the region refuses to show it, it is sent\n" +
					"(a copy the region already holds is refused as a duplicate, not published twice).",
				Action: func(c *cli.Context) error {
					return a.settle(c, "retry", func(ob *outbox.Outbox, keys []string) ([]outbox.Item, error) {
						var out []outbox.Item
						for _, k := range keys {
							it, err := ob.Retry(k)
							if err != nil {
								return out, err
							}
							out = append(out, it)
						}
						return out, nil
					})
				}},
			{Name: "forget", Usage: "remove items from the outbox (e.g. an in-doubt item you found on the region)", ArgsUsage: "ITEM…",
				Description: item + "\nA forgotten file given to publish again is a new item: it is looked up as a duplicate, not published twice.",
				Action: func(c *cli.Context) error {
					return a.settle(c, "forget", func(ob *outbox.Outbox, keys []string) ([]outbox.Item, error) { return ob.Remove(keys...) })
				}},
		},
	}
	a.queueAware(cmd) // --queue URL: serve's queue instead (serve_cli.go)
	return cmd
}

func (a *appEnv) withOutbox(fn func(*outbox.Outbox) error) error {
	path, err := a.outboxPath()
	if err != nil {
		return err
	}
	ob, err := outbox.Open(path)
	if err != nil {
		return err
	}
	defer ob.Close()
	return fn(ob)
}

func (a *appEnv) outboxList(ob *outbox.Outbox, state string) error {
	switch outbox.State(state) {
	case "", outbox.Pending, outbox.Sending, outbox.Done, outbox.Failed, outbox.InDoubt:
	default:
		return &adapter.InputError{Field: "--state", Value: state, Msg: "unknown state", Fix: "use pending, sending, done, failed or in-doubt"}
	}
	items, err := ob.Items()
	if err != nil {
		return err
	}
	var out []outbox.Item
	for _, it := range items {
		if state == "" || string(it.State) == state {
			out = append(out, it)
		}
	}
	return a.emitItems(out, false)
}

func (a *appEnv) settle(c *cli.Context, verb string, fn func(*outbox.Outbox, []string) ([]outbox.Item, error)) error {
	if c.NArg() == 0 {
		return usagef("outbox %s takes one or more ITEM (see fsepuglia outbox list)", verb)
	}
	return a.withOutbox(func(ob *outbox.Outbox) error {
		var keys []string
		for _, ref := range c.Args().Slice() {
			it, err := findItem(ob, ref)
			if err != nil {
				return err
			}
			keys = append(keys, it.Key)
		}
		items, err := fn(ob, keys)
		if err != nil {
			return &adapter.InputError{Field: "ITEM", Msg: err.Error(), Fix: "see fsepuglia outbox list"}
		}
		a.log.Info("outbox "+verb, map[string]any{"items": len(items)})
		return a.emitItems(items, false)
	})
}

func (a *appEnv) emitItems(items []outbox.Item, withMeta bool) error {
	out := outboxOutput{Items: []outboxItemOutput{}}
	for _, it := range items {
		out.Items = append(out.Items, toOutboxItem(it, withMeta))
	}
	return a.emit(out, func(w io.Writer) {
		if withMeta && len(items) == 1 {
			it := out.Items[0]
			fmt.Fprintf(w, "key\t%s\nfile\t%s\nunique id\t%s\nsha256\t%s\nsize\t%d\nstate\t%s\n", it.Key, it.Path, it.UniqueID, it.SHA256, it.Size, stateText(items[0]))
			if it.Outcome != "" {
				fmt.Fprintf(w, "outcome\t%s\n", it.Outcome)
			}
			if it.Reason != "" {
				fmt.Fprintf(w, "reason\t%s\n", it.Reason)
			}
			fmt.Fprintf(w, "attempts\t%d\nenqueued\t%s\nupdated\t%s\n", it.Attempts, stamp(it.Enqueued), stamp(it.Updated))
			if it.LastAttempt != nil {
				fmt.Fprintf(w, "last attempt\t%s\n", stamp(*it.LastAttempt))
			}
			var m adapter.Metadata
			if json.Unmarshal(it.Metadata, &m) == nil {
				fmt.Fprintf(w, "patient\t%s\ntype\t%s\nclass\t%s\n", redact.CF(m.PatientCF), m.TypeCode, m.ClassCode)
			}
			return
		}
		fmt.Fprintln(w, "FILE\tUNIQUE ID\tSTATE\tATTEMPTS\tUPDATED\tDETAIL")
		for i, it := range out.Items {
			detail := it.Outcome
			if it.Reason != "" {
				detail = it.Reason
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", filepath.Base(it.Path), it.UniqueID, stateText(items[i]), it.Attempts, stamp(it.Updated), detail)
		}
		fmt.Fprintf(w, "%d item(s)\n", len(out.Items))
	})
}

// stateText is the state as a table shows it: "sending" found outside a run is in doubt.
func stateText(it outbox.Item) string {
	if it.State == outbox.Sending {
		return "sending (in doubt: its run died)"
	}
	return string(it.State)
}

// findItem resolves ITEM: an item's key, its unique id or its file path (absolute or as given).
func findItem(ob *outbox.Outbox, ref string) (outbox.Item, error) {
	if it, ok, err := ob.Get(ref); err != nil || ok {
		return it, err
	}
	items, err := ob.Items()
	if err != nil {
		return outbox.Item{}, err
	}
	abs := absPath(ref)
	var found []outbox.Item
	for _, it := range items {
		if it.UniqueID == ref || it.Path == abs {
			found = append(found, it)
		}
	}
	switch len(found) {
	case 0:
		return outbox.Item{}, &adapter.InputError{Field: "ITEM", Value: redact.Text(ref), Msg: "no such item in the outbox", Fix: "see fsepuglia outbox list"}
	case 1:
		return found[0], nil
	}
	keys := make([]string, len(found))
	for i, it := range found {
		keys[i] = it.Key
	}
	return outbox.Item{}, &adapter.InputError{Field: "ITEM", Value: redact.Text(ref), Msg: "names several items: " + strings.Join(keys, ", "),
		Fix: "give the key of one of them"}
}
