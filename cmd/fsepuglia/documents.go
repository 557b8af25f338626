package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/urfave/cli/v2"
)

// replaceOutput is the JSON of `replace` (OUTPUT.md).
type replaceOutput struct {
	OldID     string `json:"old_id"`
	UniqueID  string `json:"unique_id"`
	MessageID string `json:"message_id"`
	Outcome   string `json:"outcome"`
}

func replaceCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "replace",
		Usage:     "publish FILE as the new version of document OLDID",
		ArgsUsage: "OLDID FILE",
		Flags:     metadataFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usagef("replace needs OLDID and FILE (got %d arguments)", c.NArg())
			}
			oldID, path := c.Args().Get(0), c.Args().Get(1)
			doc, err := a.loadDocument(c, path, true)
			if err != nil {
				return err
			}
			if done, err := a.routedReplace(c.Context, oldID, doc); done || err != nil {
				return err // the FSE 2.0 workflow refused it, or it went through the middleware
			}
			be, err := a.client()
			if err != nil {
				return err
			}
			a.log.Info("replace", map[string]any{"old_id": oldID, "unique_id": doc.meta.UniqueID, "patient": redact.CF(doc.meta.PatientCF)})
			body, err := doc.bytes()
			if err != nil {
				return err
			}
			res, err := be.docs.Replace(c.Context, oldID, adapter.PublishRequest{Metadata: doc.meta, Body: body, DocumentName: doc.meta.DocumentName})
			if err != nil {
				return fmt.Errorf("replace %s with %s: %w", oldID, path, err)
			}
			out := replaceOutput{OldID: oldID, UniqueID: res.UniqueID, MessageID: res.MessageID, Outcome: res.Outcome}
			return a.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "REPLACED\tNEW UNIQUE ID\tOUTCOME\tMESSAGE ID\n%s\t%s\t%s\t%s\n", out.OldID, out.UniqueID, out.Outcome, out.MessageID)
			})
		},
	}
}

// deleteOutput is the JSON of `delete` (OUTPUT.md).
type deleteOutput struct {
	UniqueID string `json:"unique_id"`
	Deleted  bool   `json:"deleted"`
}

func deleteCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "void the publication of document ID",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "patient", Usage: "patient's codice fiscale (required)"}, yesFlag, viaFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("delete needs one document ID (got %d arguments)", c.NArg())
			}
			cf, err := patientCF("patient", c.String("patient"))
			if err != nil {
				return err
			}
			id := c.Args().First()
			if err := a.confirm(c, fmt.Sprintf("void the publication of %s (patient %s)", id, redact.CF(cf))); err != nil {
				return err
			}
			if done, err := a.routedDelete(c, cf, id); done || err != nil {
				return err // published through the FSE 2.0 middleware: deleted there
			}
			be, err := a.client()
			if err != nil {
				return err
			}
			a.log.Info("delete", map[string]any{"unique_id": id, "patient": redact.CF(cf)})
			if err := be.docs.Delete(c.Context, cf, id); err != nil {
				return fmt.Errorf("delete %s: %w", id, err)
			}
			out := deleteOutput{UniqueID: id, Deleted: true}
			return a.emit(out, func(w io.Writer) { fmt.Fprintf(w, "DELETED\n%s\n", id) })
		},
	}
}

// documentOutput is one document in the JSON of `search` (OUTPUT.md).
type documentOutput struct {
	UniqueID     string `json:"unique_id"`
	PatientCF    string `json:"patient_cf"`
	TypeCode     string `json:"type_code"`
	ClassCode    string `json:"class_code"`
	Title        string `json:"title"`
	CreationTime string `json:"creation_time"`
	Status       string `json:"status"`
	Author       string `json:"author_institution"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
}

// searchOutput is the JSON of `search`.
type searchOutput struct {
	Total     int              `json:"total"`
	Documents []documentOutput `json:"documents"`
}

func searchCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "search",
		Usage: "list a patient's documents",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "patient", Usage: "patient's codice fiscale (required)"},
			&cli.StringFlag{Name: "from", Usage: "documents from this day (YYYY-MM-DD, Italian time) or instant (RFC 3339)"},
			&cli.StringFlag{Name: "to", Usage: "documents up to the end of this day (YYYY-MM-DD, Italian time) or instant (RFC 3339)"},
			&cli.StringFlag{Name: "type", Usage: "LOINC typeCode, e.g. 11502-2"},
			&cli.StringFlag{Name: "class", Usage: "classCode, e.g. REF"},
			&cli.IntFlag{Name: "offset", Usage: "skip this many results"},
			&cli.IntFlag{Name: "limit", Usage: "at most this many results (0: the service's default)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usagef("search takes no arguments (got %q): use --patient", c.Args().First())
			}
			q, err := a.searchQuery(c)
			if err != nil {
				return err
			}
			be, err := a.client()
			if err != nil {
				return err
			}
			a.log.Info("search", map[string]any{"patient": redact.CF(q.PatientCF)})
			res, err := be.docs.Search(c.Context, q)
			if err != nil {
				return fmt.Errorf("search: %w", err)
			}
			out := searchOutput{Total: res.Total, Documents: []documentOutput{}}
			for _, m := range res.Documents {
				out.Documents = append(out.Documents, documentOutput{
					UniqueID: m.UniqueID, PatientCF: m.PatientCF, TypeCode: m.TypeCode, ClassCode: m.ClassCode,
					Title: m.Title, CreationTime: stamp(m.CreationTime), Status: m.Status,
					Author: m.AuthorInstitutionName, Size: m.Size, SHA256: m.Hash,
				})
			}
			return a.emit(out, func(w io.Writer) {
				fmt.Fprintln(w, "UNIQUE ID\tTYPE\tCLASS\tCREATED\tSTATUS\tTITLE")
				for _, d := range out.Documents {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.UniqueID, d.TypeCode, d.ClassCode, d.CreationTime, d.Status, d.Title)
				}
				fmt.Fprintf(w, "%d of %d document(s)\n", len(out.Documents), out.Total)
			})
		},
	}
}

func (a *appEnv) searchQuery(c *cli.Context) (adapter.SearchQuery, error) {
	var q adapter.SearchQuery
	var err error
	if q.PatientCF, err = patientCF("patient", c.String("patient")); err != nil {
		return q, err
	}
	if q.From, err = parseDay("from", c.String("from")); err != nil {
		return q, err
	}
	if q.To, err = parseDay("to", c.String("to")); err != nil {
		return q, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return q, &adapter.InputError{Field: "--to", Value: c.String("to"), Msg: "before --from", Fix: "swap the dates"}
	}
	if c.Int("offset") < 0 || c.Int("limit") < 0 {
		return q, &adapter.InputError{Field: "--offset/--limit", Msg: "negative", Fix: "use 0 or more"}
	}
	q.TypeCode, q.ClassCode = c.String("type"), c.String("class")
	q.Offset, q.Limit = c.Int("offset"), c.Int("limit")
	return q, nil
}

// retrieveOutput is the JSON of `retrieve` (OUTPUT.md).
type retrieveOutput struct {
	UniqueID string `json:"unique_id"`
	File     string `json:"file"`
	Size     int    `json:"size"`
	SHA256   string `json:"sha256"`
	MimeType string `json:"mime_type"`
}

func retrieveCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "retrieve",
		Usage:     "download document ID into a file",
		ArgsUsage: "ID",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "patient", Usage: "patient's codice fiscale (required)"},
			outputFileFlag("file to write, - for stdout (required; not overwritten unless --force)"),
			&cli.BoolFlag{Name: "force", Usage: "overwrite the output file"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("retrieve needs one document ID (got %d arguments)", c.NArg())
			}
			if err := a.checkOutputFile(c); err != nil {
				return err
			}
			cf, err := patientCF("patient", c.String("patient"))
			if err != nil {
				return err
			}
			be, err := a.client()
			if err != nil {
				return err
			}
			id := c.Args().First()
			a.log.Info("retrieve", map[string]any{"unique_id": id, "patient": redact.CF(cf)})
			var out retrieveOutput
			if rt, ok := be.docs.(streamRetriever); ok && c.String("output-file") != "-" {
				// Streamed into the file: memory does not grow with the document.
				size, sum, meta, err := retrieveToFile(c.Context, rt, cf, id, c.String("output-file"), c.Bool("force"))
				if err != nil {
					return err
				}
				out = retrieveOutput{UniqueID: id, File: c.String("output-file"), Size: int(size), SHA256: sum, MimeType: meta.MimeType}
			} else {
				doc, err := be.docs.Retrieve(c.Context, cf, id)
				if err != nil {
					return fmt.Errorf("retrieve %s: %w", id, err)
				}
				if err := a.writeOutputFile(c, doc.Body); err != nil {
					return err
				}
				h := sha256.Sum256(doc.Body)
				out = retrieveOutput{UniqueID: id, File: c.String("output-file"), Size: len(doc.Body), SHA256: hex.EncodeToString(h[:]), MimeType: doc.Metadata.MimeType}
			}
			return a.emitBeside(c, out, func(w io.Writer) {
				fmt.Fprintf(w, "UNIQUE ID\tFILE\tSIZE\tSHA-256\n%s\t%s\t%d\t%s\n", out.UniqueID, out.File, out.Size, out.SHA256)
			})
		},
	}
}

// streamRetriever is the library's RetrieveTo (the CLI's fakes in tests may lack it).
type streamRetriever interface {
	RetrieveTo(ctx context.Context, patientCF, id string, w io.Writer) (*adapter.Document, error)
}

// retrieveToFile streams document id into path: into a temporary file beside it, renamed
// over path once complete (so a failed retrieve leaves no partial file and, with force,
// the old file intact). Without force an existing path is refused, as writeNewFile does.
func retrieveToFile(ctx context.Context, rt streamRetriever, cf, id, path string, force bool) (int64, string, adapter.Metadata, error) {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return 0, "", adapter.Metadata{}, &adapter.InputError{Field: "--output-file", Value: path, Msg: "file exists", Fix: "choose another file or pass --force"}
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return 0, "", adapter.Metadata{}, &adapter.InputError{Field: "--output-file", Value: path, Msg: fmt.Sprintf("cannot create: %v", unwrapPath(err)), Fix: "check the directory exists and is writable"}
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(tmp, h)}
	doc, err := rt.RetrieveTo(ctx, cf, id, cw)
	if err != nil {
		return 0, "", adapter.Metadata{}, fmt.Errorf("retrieve %s: %w", id, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, "", adapter.Metadata{}, fmt.Errorf("writing %s: %w", path, err)
	}
	if !force {
		// Link refuses an existing target (the check above can race with another writer).
		if err := os.Link(tmp.Name(), path); err != nil {
			if os.IsExist(err) {
				return 0, "", adapter.Metadata{}, &adapter.InputError{Field: "--output-file", Value: path, Msg: "file exists", Fix: "choose another file or pass --force"}
			}
			return 0, "", adapter.Metadata{}, fmt.Errorf("writing %s: %w", path, err)
		}
		os.Remove(tmp.Name())
	} else if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, "", adapter.Metadata{}, fmt.Errorf("writing %s: %w", path, err)
	}
	done = true
	return cw.n, hex.EncodeToString(h.Sum(nil)), doc.Metadata, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
