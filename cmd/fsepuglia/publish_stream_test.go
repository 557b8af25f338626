package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"testing"
)

// oldPublishTable is how publish printed its table before the output was streamed: the whole
// table through one tab writer. The streamed writer must print the same bytes.
func oldPublishTable(w io.Writer, out publishOutput, routes bool) {
	tw := newTable(w)
	fmt.Fprintln(tw, "FILE\tUNIQUE ID\tRESULT\tDETAIL")
	for _, it := range out.Items {
		detail := it.Outcome
		switch {
		case it.Reason != "":
			detail = it.Reason
		case it.Result == resultSkipped:
			detail = "done by an earlier run (" + it.Outcome + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", filepath.Base(it.Path), it.UniqueID, it.Result, detail)
	}
	if routes {
		for _, it := range out.Items {
			if it.Result != resultInvalid {
				fmt.Fprintf(tw, "route %s\t%s\t%s\n", filepath.Base(it.Path), it.Route, it.RouteReason)
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
	fmt.Fprintln(tw, line)
	tw.Flush()
}

func TestStreamedPublishOutput(t *testing.T) {
	results := []string{resultSent, resultSkipped, resultFailed, resultInDoubt, resultInvalid, resultAlreadyPresent}
	sizes := []int{0, 1, 3, spoolChunk - 1, spoolChunk, 2*spoolChunk + 17}
	for _, n := range sizes {
		for _, routes := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d items routes=%v", n, routes), func(t *testing.T) {
				out := publishOutput{Summary: publishSummary{Sent: n, Failed: n % 3, InDoubt: n % 2, Invalid: n % 5}, Items: []publishItemOutput{}}
				for i := range n {
					it := publishItemOutput{Path: fmt.Sprintf("/d/%s-%0*d.pdf", []string{"a", "référé", "bb"}[i%3], 1+i%7, i),
						UniqueID: fmt.Sprintf("2.16.840.1.113883.2.9.2.160.4.4^ID%d", i*i), SHA256: "ab", Size: int64(i),
						Result: results[i%len(results)], State: "done", Outcome: "sent", Attempts: i % 3,
						Route: []string{"legacy", "middleware"}[i%2], RouteReason: "because <&> " + fmt.Sprint(i)}
					if i%4 == 0 {
						it.Reason = fmt.Sprintf("FSE-00415 - Il documento non è pdf %d", i)
					}
					out.Items = append(out.Items, it)
				}
				rows := func(fn func(publishItemOutput) error) error {
					for _, it := range out.Items {
						if err := fn(it); err != nil {
							return err
						}
					}
					return nil
				}
				var want, got bytes.Buffer
				oldPublishTable(&want, out, routes)
				if err := writePublishTable(&got, out.Summary, rows, routes); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Fatalf("table differs\n got:\n%s\nwant:\n%s", got.String(), want.String())
				}
				want.Reset()
				got.Reset()
				if err := writeJSON(&want, out); err != nil {
					t.Fatal(err)
				}
				if err := writePublishJSON(&got, out.Summary, rows); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Fatalf("JSON differs\n got:\n%s\nwant:\n%s", got.String(), want.String())
				}
			})
		}
	}
}
