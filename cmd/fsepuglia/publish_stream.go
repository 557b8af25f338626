package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/fsepuglia/fsepuglia/adapter/outbox"
)

// What `publish` keeps so that memory does not grow with the batch (issue 13, item 4): the
// checked entries wait in a spool file between the check of every file and their recording;
// the output is written from the spool and the outbox, a chunk at a time.

// spoolChunk is how many entries are recorded in one outbox transaction and read back at once.
// Small, so that a batch of a few dozen documents already peaks as a long one does: a chunk's
// commit maps the pages it rewrites (with the kernel's fault-around, 64 KiB each), and its
// transaction holds its items in memory until then.
const spoolChunk = 8

// spool holds a batch's checked entries in a file that is already unlinked: it lives as long
// as the process (even one that is killed) and only this process can read it. It is created
// in the data directory (0700), where the outbox keeps the same metadata at rest.
type spool struct {
	f *os.File
	w *bufio.Writer
	n int
}

// spoolEntry is one line of the spool: the file's index in the batch and its entry.
type spoolEntry struct {
	I int `json:"i"`
	outbox.Entry
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, ".publish-*.spool")
	if err != nil {
		return nil, fmt.Errorf("publish: spool file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("publish: spool file: %w", err)
	}
	return &spool{f: f, w: bufio.NewWriter(f)}, nil
}

func (s *spool) close() { s.f.Close() }

func (s *spool) add(i int, e outbox.Entry) error {
	b, err := json.Marshal(spoolEntry{I: i, Entry: e})
	if err != nil {
		return fmt.Errorf("publish: spool: %w", err)
	}
	if _, err := s.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("publish: spool: %w", err)
	}
	s.n++
	return nil
}

// each reads the spool from its start and calls fn with up to spoolChunk entries at a time.
func (s *spool) each(fn func([]spoolEntry) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("publish: spool: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("publish: spool: %w", err)
	}
	sc := bufio.NewScanner(s.f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	chunk := make([]spoolEntry, 0, spoolChunk)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := fn(chunk)
		chunk = chunk[:0]
		return err
	}
	for sc.Scan() {
		var e spoolEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("publish: spool: %w", err)
		}
		if chunk = append(chunk, e); len(chunk) == spoolChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("publish: spool: %w", err)
	}
	return flush()
}

var hashSeed = maphash.MakeSeed()

// hashString is a 64-bit hash of s, for sets of a batch's unique ids and keys that must not
// hold the strings themselves.
func hashString(s string) uint64 { return maphash.String(hashSeed, s) }

// writePublishJSON writes publish's JSON (publishOutput, indented as writeJSON does) with
// the items streamed from rows, one at a time.
func writePublishJSON(w io.Writer, summary publishSummary, rows func(func(publishItemOutput) error) error) error {
	bw := bufio.NewWriter(w)
	sum, err := json.MarshalIndent(summary, "  ", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, "{\n  \"summary\": %s,\n  \"items\": [", sum)
	n := 0
	err = rows(func(it publishItemOutput) error {
		b, err := json.MarshalIndent(it, "    ", "  ")
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		bw.WriteString("\n    ")
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

// writePublishTable writes publish's table: one row per item, the route lines (outside the
// current scenario) and the summary line. It reads rows twice, first for the widths of the
// columns, then to print them: each cell is padded to its column's width over the whole
// table, so that the tab writer, flushed every spoolChunk lines to keep its buffer small,
// prints exactly what it would print for the whole table at once.
func writePublishTable(w io.Writer, s publishSummary, rows func(func(publishItemOutput) error) error, routes bool) error {
	header := [3]string{"FILE", "UNIQUE ID", "RESULT"}
	wd := [3]int{}
	for i, h := range header {
		wd[i] = utf8.RuneCountInString(h)
	}
	grow := func(i int, s string) {
		wd[i] = max(wd[i], utf8.RuneCountInString(s))
	}
	err := rows(func(it publishItemOutput) error {
		grow(0, filepath.Base(it.Path))
		grow(1, it.UniqueID)
		grow(2, it.Result)
		return nil
	})
	if err != nil {
		return err
	}
	// The route lines share the first two columns' blocks with the rows (tabwriter aligns a
	// column over the consecutive lines that have a cell in it).
	if routes {
		err := rows(func(it publishItemOutput) error {
			if it.Result != resultInvalid {
				grow(0, "route "+filepath.Base(it.Path))
				grow(1, it.Route)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	pad := func(i int, s string) string {
		return s + strings.Repeat(" ", wd[i]-utf8.RuneCountInString(s))
	}
	tw := newTable(w)
	lines := 0
	emit := func(format string, args ...any) error {
		fmt.Fprintf(tw, format, args...)
		if lines++; lines%spoolChunk == 0 {
			return tw.Flush()
		}
		return nil
	}
	if err := emit("%s\t%s\t%s\t%s\n", pad(0, header[0]), pad(1, header[1]), pad(2, header[2]), "DETAIL"); err != nil {
		return err
	}
	err = rows(func(it publishItemOutput) error {
		detail := it.Outcome
		switch {
		case it.Reason != "":
			detail = it.Reason
		case it.Result == resultSkipped:
			detail = "done by an earlier run (" + it.Outcome + ")"
		}
		return emit("%s\t%s\t%s\t%s\n", pad(0, filepath.Base(it.Path)), pad(1, it.UniqueID), pad(2, it.Result), detail)
	})
	if err != nil {
		return err
	}
	if routes {
		err := rows(func(it publishItemOutput) error {
			if it.Result == resultInvalid {
				return nil
			}
			return emit("%s\t%s\t%s\n", pad(0, "route "+filepath.Base(it.Path)), pad(1, it.Route), it.RouteReason)
		})
		if err != nil {
			return err
		}
	}
	line := fmt.Sprintf("sent %d, already present %d, failed %d, skipped %d, interrupted %d", s.Sent, s.AlreadyPresent, s.Failed, s.Skipped, s.Interrupted)
	if s.InDoubt > 0 {
		line += fmt.Sprintf(", in doubt %d", s.InDoubt)
	}
	if s.Invalid > 0 {
		line += fmt.Sprintf(", invalid %d", s.Invalid)
	}
	fmt.Fprintln(tw, line)
	return tw.Flush()
}
