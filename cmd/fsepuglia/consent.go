package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/urfave/cli/v2"
)

// consentOutput is the JSON of `consent status|set|revoke` (OUTPUT.md).
type consentOutput struct {
	Consents []consentItemOutput `json:"consents"`
}

type consentItemOutput struct {
	Code       string `json:"code"`
	Value      bool   `json:"value"`
	Date       string `json:"date"`
	RecordedBy string `json:"recorded_by"`
}

// informativaOutput is the JSON of `consent informativa`.
type informativaOutput struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	File    string `json:"file"`
	Size    int    `json:"size"`
}

// settableConsents are the codes an operator may record (C1 is implicit since DL 34/2020).
var settableConsents = []adapter.ConsentCode{adapter.ConsentConsultation, adapter.ConsentPast, adapter.ConsentOpposition}

func consentCommand(a *appEnv) *cli.Command {
	patient := &cli.StringFlag{Name: "patient", Usage: "patient's codice fiscale (required)"}
	behalf := []cli.Flag{
		&cli.StringFlag{Name: "on-behalf-of", Usage: "codice fiscale of the representative acting for the patient"},
		&cli.StringFlag{Name: "representative-role", Usage: "TUT (guardian), GEN (parent) or ING (delegate)"},
		&cli.StringFlag{Name: "informativa-id", Usage: "privacy notice the patient was shown, e.g. 160^1.0 (default: the current one)"},
	}
	setFlags := []cli.Flag{patient}
	for _, code := range settableConsents {
		setFlags = append(setFlags, &cli.StringFlag{Name: strings.ToLower(string(code)), Usage: "value of " + string(code) + " (true/false)"})
	}
	setFlags = append(setFlags, behalf...)
	return &cli.Command{
		Name:  "consent",
		Usage: "read and record a patient's consents, fetch the privacy notice",
		Subcommands: []*cli.Command{
			{
				Name:  "status",
				Usage: "show a patient's consents",
				Flags: []cli.Flag{patient},
				Action: func(c *cli.Context) error {
					cf, err := patientCF("patient", c.String("patient"))
					if err != nil {
						return err
					}
					be, err := a.client()
					if err != nil {
						return err
					}
					a.log.Info("consent status", map[string]any{"patient": redact.CF(cf)})
					st, err := be.consents.Status(c.Context, cf)
					if err != nil {
						return fmt.Errorf("consent status: %w", err)
					}
					return a.emitConsents(st)
				},
			},
			{
				Name:      "set",
				Usage:     "record consent values: --c2=true --c3=false, or arguments C2=1 C3=0",
				ArgsUsage: "[C2=1|0 C3=1|0 C4=1|0]",
				Flags:     setFlags,
				Action: func(c *cli.Context) error {
					values, err := consentValues(c, false)
					if err != nil {
						return err
					}
					return a.setConsents(c, values)
				},
			},
			{
				Name:      "revoke",
				Usage:     "set the given consent codes to false",
				ArgsUsage: "C2 [C3 C4]",
				Flags:     append([]cli.Flag{patient, yesFlag}, behalf...),
				Action: func(c *cli.Context) error {
					values, err := consentValues(c, true)
					if err != nil {
						return err
					}
					cf, err := patientCF("patient", c.String("patient"))
					if err != nil {
						return err
					}
					var codes []string
					for code := range values {
						codes = append(codes, string(code))
					}
					sort.Strings(codes)
					if err := a.confirm(c, fmt.Sprintf("revoke %s for patient %s", strings.Join(codes, ", "), redact.CF(cf))); err != nil {
						return err
					}
					return a.setConsents(c, values)
				},
			},
			{
				Name:  "informativa",
				Usage: "download the current privacy notice (PDF)",
				Flags: []cli.Flag{
					outputFileFlag("file to write, - for stdout (required; not overwritten unless --force)"),
					&cli.BoolFlag{Name: "force", Usage: "overwrite the output file"},
				},
				Action: func(c *cli.Context) error {
					if err := a.checkOutputFile(c); err != nil {
						return err
					}
					be, err := a.client()
					if err != nil {
						return err
					}
					inf, err := be.consents.Informativa(c.Context)
					if err != nil {
						return fmt.Errorf("consent informativa: %w", err)
					}
					if err := a.writeOutputFile(c, inf.PDF); err != nil {
						return err
					}
					out := informativaOutput{ID: inf.ID, Version: inf.Version, File: c.String("output-file"), Size: len(inf.PDF)}
					return a.emitBeside(c, out, func(w io.Writer) {
						fmt.Fprintf(w, "ID\tVERSION\tFILE\tSIZE\n%s\t%s\t%s\t%d\n", out.ID, out.Version, out.File, out.Size)
					})
				},
			},
		},
	}
}

// consentValues reads the codes to record. For set: --c2=true style flags and C2=1 style
// arguments (a code given both ways must agree); for revoke: bare codes, all set false.
func consentValues(c *cli.Context, revoke bool) (map[adapter.ConsentCode]bool, error) {
	values := map[adapter.ConsentCode]bool{}
	if !revoke {
		for _, code := range settableConsents {
			name := strings.ToLower(string(code))
			if c.IsSet(name) {
				v, err := strconv.ParseBool(c.String(name))
				if err != nil {
					return nil, &adapter.InputError{Field: "--" + name, Value: c.String(name), Msg: "not a boolean", Fix: "use true/false or 1/0"}
				}
				values[code] = v
			}
		}
	}
	for _, arg := range c.Args().Slice() {
		name, val, hasVal := strings.Cut(arg, "=")
		code := adapter.ConsentCode(strings.ToUpper(name))
		if !settable(code) {
			return nil, &adapter.InputError{Field: "consent code", Value: arg, Msg: "unknown or not settable", Fix: "use C2, C3 or C4 (C1 is implicit since DL 34/2020)"}
		}
		switch {
		case revoke && hasVal:
			return nil, usagef("revoke takes bare codes (C2 C3), not %q", arg)
		case revoke:
			values[code] = false
			continue
		case !hasVal:
			return nil, usagef("set takes CODE=1|0 arguments, not %q", arg)
		}
		v, err := strconv.ParseBool(val)
		if err != nil {
			return nil, &adapter.InputError{Field: string(code), Value: val, Msg: "not a boolean", Fix: "use 1/0 or true/false"}
		}
		if old, ok := values[code]; ok && old != v {
			return nil, usagef("%s given twice with different values", code)
		}
		values[code] = v
	}
	if len(values) == 0 {
		if revoke {
			return nil, usagef("revoke needs the codes to revoke, e.g. C2")
		}
		return nil, usagef("set needs at least one value, e.g. --c2=true or C2=1")
	}
	return values, nil
}

func settable(code adapter.ConsentCode) bool {
	for _, c := range settableConsents {
		if c == code {
			return true
		}
	}
	return false
}

func (a *appEnv) setConsents(c *cli.Context, values map[adapter.ConsentCode]bool) error {
	cf, err := patientCF("patient", c.String("patient"))
	if err != nil {
		return err
	}
	ch := adapter.ConsentChange{PatientCF: cf, Values: values, InformativaID: c.String("informativa-id")}
	if rep := c.String("on-behalf-of"); rep != "" {
		rcf, err := patientCF("on-behalf-of", rep)
		if err != nil {
			return err
		}
		role := c.String("representative-role")
		if role != "TUT" && role != "GEN" && role != "ING" {
			return &adapter.InputError{Field: "--representative-role", Value: role, Msg: "unknown role", Fix: "use TUT, GEN or ING with --on-behalf-of"}
		}
		ch.OnBehalfOf = &adapter.Representative{CF: rcf, Role: role}
	}
	be, err := a.client()
	if err != nil {
		return err
	}
	a.log.Info("consent set", map[string]any{"patient": redact.CF(cf), "codes": len(values)})
	st, err := be.consents.Set(c.Context, ch)
	var rec *adapter.RecordedError
	if errors.As(err, &rec) {
		// The write is done: say so, distinctly, so that nobody records it twice.
		fmt.Fprintf(a.stderr, "warning: %s\n", redact.Text(rec.Error()))
		return a.emit(consentRecordedOutput{Recorded: true, StatusUnavailable: redact.Text(rec.Err.Error())}, func(w io.Writer) {
			fmt.Fprintln(w, "recorded; status unavailable (run `fsepuglia consent status` later; do not record again)")
		})
	}
	if err != nil {
		return fmt.Errorf("consent %s: %w", c.Command.Name, err)
	}
	return a.emitConsents(st)
}

// consentRecordedOutput is the JSON of `consent set|revoke` when the change was recorded but
// the status could not be read back (OUTPUT.md).
type consentRecordedOutput struct {
	Recorded          bool   `json:"recorded"`
	StatusUnavailable string `json:"status_unavailable"`
}

func (a *appEnv) emitConsents(st *adapter.ConsentStatus) error {
	out := consentOutput{Consents: []consentItemOutput{}}
	for _, k := range st.Consents {
		out.Consents = append(out.Consents, consentItemOutput{Code: string(k.Code), Value: k.Value, Date: stamp(k.Date), RecordedBy: k.RecordedBy})
	}
	sort.Slice(out.Consents, func(i, j int) bool { return out.Consents[i].Code < out.Consents[j].Code })
	return a.emit(out, func(w io.Writer) {
		fmt.Fprintln(w, "CODE\tVALUE\tDATE\tRECORDED BY")
		for _, k := range out.Consents {
			fmt.Fprintf(w, "%s\t%t\t%s\t%s\n", k.Code, k.Value, k.Date, k.RecordedBy)
		}
	})
}
