package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/urfave/cli/v2"
)

// emit prints v as indented JSON when --format json, else calls table with a tab writer.
func (a *appEnv) emit(v any, table func(w io.Writer)) error {
	if a.opts.Output == "json" {
		if err := writeJSON(a.stdout, v); err != nil {
			return fmt.Errorf("writing JSON output: %w", err)
		}
		a.emittedJSON = true
		return nil
	}
	tw := newTable(a.stdout)
	table(tw)
	return tw.Flush()
}

// newTable returns the tab writer of every table.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// stamp formats a time in RFC 3339 for tables ("" for the zero time).
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// errorOutput is what a failed command writes on stdout with --format json (OUTPUT.md),
// besides the line on stderr; the exit code is the same as without it.
type errorOutput struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	// Code is the region's fault code (FSE-00451) when the region answered with a fault,
	// else the kind of error: usage, invalid-input, configuration, transport, partial-batch,
	// internal.
	Code string `json:"code"`
	// Class is what the exit code means: usage, input, fault, consent, transport, partial,
	// internal.
	Class string `json:"class"`
	// Message is the error line of stderr (fiscal codes masked).
	Message string `json:"message"`
	// Field is the flag, setting or document field concerned, "" when none.
	Field string `json:"field"`
	// Fix says what to do, "" when there is nothing more to say than the message.
	Fix string `json:"fix"`
	// ExitCode is the process exit code.
	ExitCode int `json:"exit_code"`
}

// exitClasses name the exit codes (EXITCODES.md) in errorBody.Class.
var exitClasses = map[int]string{exitUsage: "usage", exitInput: "input", exitFault: "fault", exitConsent: "consent",
	exitTransport: "transport", exitPartial: "partial", exitInternal: "internal"}

// fieldError is an invalid value of a command line field that wraps its cause (a
// *codicefiscale.Error for --patient).
type fieldError struct {
	field, fix string
	err        error
}

func (e *fieldError) Error() string {
	s := e.field + ": " + e.err.Error()
	if e.fix != "" {
		s += "; " + e.fix
	}
	return s
}

func (e *fieldError) Unwrap() error { return e.err }

// describeError turns the error of a command into the JSON error object.
func describeError(err error, code int) errorBody {
	e := errorBody{Message: redact.Text(err.Error()), Class: exitClasses[code], ExitCode: code, Fix: hints[code]}
	var (
		ie *adapter.InputError
		ce *adapter.ConfigError
		fe *fieldError
		ck *docmeta.CheckError
		ue *usageError
	)
	switch {
	case errors.As(err, &ce):
		e.Code, e.Field, e.Fix = "configuration", ce.Field, ce.Fix
	case errors.As(err, &ie):
		e.Code, e.Field, e.Fix = "invalid-input", ie.Field, ie.Fix
	case errors.As(err, &fe):
		e.Code, e.Field, e.Fix = "invalid-input", fe.field, fe.fix
	case errors.As(err, &ck) && len(ck.Failed) > 0:
		e.Code, e.Field = "invalid-input", ck.Failed[0].Field
		e.Fix = "run `fsepuglia inspect FILE` for every check; fix the document or its sidecar"
	case errors.As(err, &ue):
		e.Code, e.Fix = "usage", "fsepuglia help COMMAND shows the command's flags and examples"
	default:
		describeGatewayError(err, &e)
	}
	if e.Code == "" {
		if fc, _, ok := faultOf(err); ok {
			e.Code = fc
		}
	}
	if e.Code == "" {
		e.Code = map[int]string{exitInput: "invalid-input", exitTransport: "transport", exitPartial: "partial-batch",
			exitUsage: "usage"}[code]
	}
	if e.Code == "" {
		e.Code = "internal"
	}
	if e.Class == "" {
		e.Class = "internal"
	}
	e.Fix = redact.Text(e.Fix)
	return e
}

// wantsJSON says whether the run asked for JSON output: a --format (or --output) on the
// command line wins, even when the command failed before applying it (an unknown flag
// beside it); then the loaded options; then, when the configuration could not be loaded,
// the environment.
func wantsJSON(o cliOptions, args []string, getenv func(string) string) bool {
	format := ""
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, name := range []string{"--format", "-format", "--output", "-output"} {
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				format = v
			} else if a == name && i+1 < len(args) {
				format = args[i+1]
			}
		}
	}
	if format == "" {
		format = o.Output
	}
	if format == "" {
		format = getenv("FSEPUGLIA_OUTPUT")
		if v := getenv("FSEPUGLIA_FORMAT"); v != "" {
			format = v
		}
	}
	return format == "json"
}

// outputFileFlag is the -o/--output-file of commands that write a document.
func outputFileFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "output-file", Aliases: []string{"o"}, Usage: usage}
}

// checkOutputFile checks -o before anything is sent: it is required; `-o json` or
// `-o table` is refused (-o is the file, the format is --format); `-o -` writes the
// document on stdout, which must then not be a terminal.
func (a *appEnv) checkOutputFile(c *cli.Context) error {
	switch f := c.String("output-file"); f {
	case "":
		return usagef("%s needs -o FILE (or -o - for stdout)", c.Command.FullName())
	case "json", "table":
		if !c.Bool("force") {
			return usagef("-o %s: -o is the output file; for the output format use --format %s (pass --force to really write a file named %q)", f, f, f)
		}
	case "-":
		if a.deps.isTerminal != nil && a.deps.isTerminal(a.stdout) {
			return usagef("-o -: stdout is a terminal; redirect it (> file.pdf, | command) or give -o FILE")
		}
	}
	return nil
}

// writeOutputFile writes body to the -o file, or to stdout for -o -.
func (a *appEnv) writeOutputFile(c *cli.Context, body []byte) error {
	if c.String("output-file") == "-" {
		if _, err := a.stdout.Write(body); err != nil {
			return fmt.Errorf("writing the document to stdout: %w", err)
		}
		return nil
	}
	return writeNewFile(c.String("output-file"), body, c.Bool("force"))
}

// emitBeside prints a command's result; when the document itself went to stdout (-o -), the
// result goes to stderr instead, so that stdout holds only the document.
func (a *appEnv) emitBeside(c *cli.Context, v any, table func(w io.Writer)) error {
	if c.String("output-file") != "-" {
		return a.emit(v, table)
	}
	saved := a.stdout
	a.stdout = a.stderr
	defer func() { a.stdout = saved; a.emittedJSON = true }()
	return a.emit(v, table)
}

// jsonKeyList lists the JSON keys of the struct v ("a, b, c"), for messages that tell which
// keys a file may hold.
func jsonKeyList(v any) string {
	var keys []string
	t := reflect.TypeOf(v)
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return strings.Join(keys, ", ")
}
