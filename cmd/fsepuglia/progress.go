package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
)

// progress shows a batch's advance on stderr: a one-line bar redrawn in place on a terminal,
// one plain line per finished item otherwise (logs, CI). It prints file names, never patient
// data (file names and reasons are masked with redact.Text). Not safe for concurrent use: the caller serialises update calls.
type progress struct {
	w                  io.Writer
	tty                bool
	total              int
	done, failed, busy int
}

func newProgress(w io.Writer, tty bool, total int) *progress {
	return &progress{w: w, tty: tty, total: total}
}

func (p *progress) update(it outbox.Item) {
	switch it.State {
	case outbox.Sending:
		p.busy++
		if p.tty {
			p.draw()
		}
		return
	case outbox.Done:
		p.done++
	case outbox.Failed, outbox.InDoubt:
		p.failed++
	default:
		return
	}
	if p.busy > 0 {
		p.busy--
	}
	if p.tty {
		p.draw()
		return
	}
	detail := string(it.Outcome)
	if it.State != outbox.Done {
		detail = it.Reason
	}
	// File names may carry a fiscal code (FSEPGL01E41A145J_referto.pdf): masked like logs.
	fmt.Fprintf(p.w, "[%d/%d] %s %s: %s\n", p.done+p.failed, p.total, it.State, redact.Text(filepath.Base(it.Path)), redact.Text(detail))
}

func (p *progress) draw() {
	const width = 30
	n := p.done + p.failed
	fill := 0
	if p.total > 0 {
		fill = n * width / p.total
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d  failed or in doubt %d  in flight %d ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), n, p.total, p.failed, p.busy)
}

func (p *progress) finish() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
