package main

import (
	"fmt"
	"io"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/urfave/cli/v2"
)

// taccuinoSummaryOutput is the JSON of `taccuino summary` (OUTPUT.md).
type taccuinoSummaryOutput struct {
	Counts map[string]int `json:"counts"`
}

// taccuinoItemsOutput is the JSON of `taccuino rilevazioni|farmaci|eventi|sintomi|documenti`.
type taccuinoItemsOutput struct {
	Total int                  `json:"total"`
	Items []taccuinoItemOutput `json:"items"`
}

type taccuinoItemOutput struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Date  string `json:"date"`
	Title string `json:"title"`
	Value string `json:"value"`
	Unit  string `json:"unit"`
	Notes string `json:"notes"`
	// Code is a drug's AIC code (farmaci), MimeType a personal document's type (documenti).
	Code     string `json:"code"`
	MimeType string `json:"mime_type"`
}

func taccuinoFlags(withPaging bool) []cli.Flag {
	fl := []cli.Flag{&cli.StringFlag{Name: "patient", Usage: "patient's codice fiscale (required)"}}
	if withPaging {
		fl = append(fl,
			&cli.StringFlag{Name: "from", Usage: "items from this day (YYYY-MM-DD, Italian time) or instant (RFC 3339)"},
			&cli.StringFlag{Name: "to", Usage: "items up to the end of this day (YYYY-MM-DD, Italian time) or instant (RFC 3339)"},
			&cli.IntFlag{Name: "offset", Usage: "skip this many items"},
			&cli.IntFlag{Name: "limit", Usage: "at most this many items (0: the service's default)"},
		)
	}
	return fl
}

func taccuinoCommand(a *appEnv) *cli.Command {
	subs := []*cli.Command{{
		Name:  "summary",
		Usage: "count a patient's Taccuino items per kind",
		Flags: taccuinoFlags(false),
		Action: func(c *cli.Context) error {
			cf, err := patientCF("patient", c.String("patient"))
			if err != nil {
				return err
			}
			be, err := a.client()
			if err != nil {
				return err
			}
			a.log.Info("taccuino summary", map[string]any{"patient": redact.CF(cf)})
			s, err := be.taccuino.Summary(c.Context, cf)
			if err != nil {
				return fmt.Errorf("taccuino summary: %w", err)
			}
			out := taccuinoSummaryOutput{Counts: map[string]int{}}
			for _, k := range adapter.TaccuinoKinds {
				out.Counts[string(k)] = s.Counts[k]
			}
			return a.emit(out, func(w io.Writer) {
				fmt.Fprintln(w, "KIND\tITEMS")
				for _, k := range adapter.TaccuinoKinds {
					fmt.Fprintf(w, "%s\t%d\n", k, out.Counts[string(k)])
				}
			})
		},
	}}
	for _, kind := range adapter.TaccuinoKinds {
		subs = append(subs, &cli.Command{
			Name:  string(kind),
			Usage: "list the patient's " + string(kind),
			Flags: taccuinoFlags(true),
			Action: func(c *cli.Context) error {
				return a.taccuinoItems(c, kind)
			},
		})
	}
	return &cli.Command{Name: "taccuino", Usage: "read a patient's Taccuino (personal notebook)", Subcommands: subs}
}

func (a *appEnv) taccuinoItems(c *cli.Context, kind adapter.TaccuinoKind) error {
	q := adapter.TaccuinoQuery{Kind: kind, Offset: c.Int("offset"), Limit: c.Int("limit")}
	var err error
	if q.PatientCF, err = patientCF("patient", c.String("patient")); err != nil {
		return err
	}
	if q.From, err = parseDay("from", c.String("from")); err != nil {
		return err
	}
	if q.To, err = parseDay("to", c.String("to")); err != nil {
		return err
	}
	if q.Offset < 0 || q.Limit < 0 {
		return &adapter.InputError{Field: "--offset/--limit", Msg: "negative", Fix: "use 0 or more"}
	}
	be, err := a.client()
	if err != nil {
		return err
	}
	a.log.Info("taccuino items", map[string]any{"patient": redact.CF(q.PatientCF), "kind": string(kind)})
	page, err := be.taccuino.Items(c.Context, q)
	if err != nil {
		return fmt.Errorf("taccuino %s: %w", kind, err)
	}
	out := taccuinoItemsOutput{Total: page.Total, Items: []taccuinoItemOutput{}}
	for _, it := range page.Items {
		out.Items = append(out.Items, taccuinoItemOutput{ID: it.ID, Kind: string(it.Kind), Date: stamp(it.Date), Title: it.Title, Value: it.Value, Unit: it.Unit, Notes: it.Notes, Code: it.Code, MimeType: it.MimeType})
	}
	// The last column is what qualifies the value for this kind.
	head, last := "UNIT", func(it taccuinoItemOutput) string { return it.Unit }
	switch kind {
	case adapter.TaccuinoFarmaci:
		head, last = "AIC", func(it taccuinoItemOutput) string { return it.Code }
	case adapter.TaccuinoDocumentiPersonali:
		head, last = "MIME TYPE", func(it taccuinoItemOutput) string { return it.MimeType }
	}
	return a.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "ID\tDATE\tTITLE\tVALUE\t%s\n", head)
		for _, it := range out.Items {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", it.ID, it.Date, it.Title, it.Value, last(it))
		}
		fmt.Fprintf(w, "%d of %d item(s)\n", len(out.Items), out.Total)
	})
}
