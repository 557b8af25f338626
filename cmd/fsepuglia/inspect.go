package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/urfave/cli/v2"
)

// inspectOutput is the JSON of `inspect`: one docmeta.Report per file, in the order given
// (the Report's field names are stable, see adapter/docmeta).
type inspectOutput struct {
	Reports []*docmeta.Report `json:"reports"`
	// Failed counts the files with at least one failed check.
	Failed int `json:"failed"`
}

func inspectCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show what would be published for each file: metadata derived from the CDA, pre-flight checks",
		ArgsUsage: "FILE…",
		Description: "Reads each document as publish does (adapter/docmeta, with the structure of the\n" +
			"configuration as profile), sends nothing, and prints the report: each failed check names\n" +
			"the field and the fix. The PDF is read strictly (cross-reference, trailer, %%EOF, one\n" +
			"cda.xml, the whole CDA well-formed), as the region does. Exit 3 when a check fails.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "patient", Usage: "the document's patient must be this codice fiscale"},
			&cli.BoolFlag{Name: "require-signature", Usage: "fail documents without a PAdES signature (or CAdES envelope) that verifies, as the gateway at publication"},
			&cli.BoolFlag{Name: "require-cda-signature", Usage: "fail documents whose CDA has no valid XML (XAdES) signature, as the legacy services (FSE-10001)"},
			&cli.StringFlag{Name: "trusted-ca", Usage: "PEM file of CA certificates trusted for signers (signatures are reported as trusted or not; validity does not depend on it)"},
			&cli.BoolFlag{Name: "strict", Usage: "the document id root must be under Regione Puglia's OID (2.16.840.1.113883.2.9.2.160.)"},
			&cli.BoolFlag{Name: "repairable", Usage: "read a PDF whose structure is broken (truncated, bad cross-reference) by scanning it, as viewers do; the region does not"},
		},
		Action: func(c *cli.Context) error { return a.inspect(c) },
	}
}

func (a *appEnv) inspect(c *cli.Context) error {
	files := c.Args().Slice()
	if len(files) == 0 {
		return usagef("inspect needs at least one FILE")
	}
	opts := docmeta.Options{
		Profile:          structureProfile(a.cfg),
		RequireSignature: c.Bool("require-signature"),
		Strict:           c.Bool("strict"),
		Repairable:       c.Bool("repairable"),
		// inspect reports signer, time, algorithm and validity of every signature.
		VerifySignatures:    true,
		RequireCDASignature: c.Bool("require-cda-signature"),
	}
	if f := c.String("trusted-ca"); f != "" {
		pool, err := loadCAFile(f)
		if err != nil {
			return err
		}
		opts.Trust.Roots = pool
	}
	if v := c.String("patient"); v != "" {
		cf, err := patientCF("patient", v)
		if err != nil {
			return err
		}
		opts.PatientCF = cf
	}
	out := inspectOutput{Reports: make([]*docmeta.Report, 0, len(files))}
	var firstErr error
	for _, f := range files {
		rep, err := docmeta.InspectFile(f, opts)
		if err != nil {
			return &adapter.InputError{Field: "FILE", Value: f, Msg: fmt.Sprintf("cannot inspect: %v", unwrapPath(err)), Fix: "check the path and the size of the file"}
		}
		out.Reports = append(out.Reports, rep)
		if err := rep.Err(); err != nil {
			out.Failed++
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", rep.Name, err)
			}
		}
	}
	if err := a.emit(out, func(w io.Writer) { inspectTable(w, out) }); err != nil {
		return err
	}
	if firstErr != nil {
		return fmt.Errorf("%d of %d document(s) fail the pre-flight checks (first: %w)", out.Failed, len(files), firstErr)
	}
	return nil
}

// structureProfile is the docmeta profile of the configured structure (as publish uses).
func structureProfile(cfg adapter.Config) docmeta.Profile {
	return docmeta.Profile{
		StructureName:          cfg.Structure.Name,
		StructureCode:          cfg.Structure.Code,
		HealthcareFacilityType: cfg.Structure.FacilityType,
		PracticeSettingCode:    cfg.Structure.PracticeSetting,
		RepositoryUniqueID:     cfg.Structure.RepositoryID,
	}
}

// inspectTable prints, per file, the derived metadata then the checks.
func inspectTable(w io.Writer, out inspectOutput) {
	for i, r := range out.Reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		m := r.Metadata
		format := string(r.Format)
		if r.InnerFormat != "" {
			format += " (" + string(r.InnerFormat) + ")"
		}
		signed := "no"
		switch {
		case r.CAdES:
			signed = "CAdES envelope: " + describeSignature(r.CAdESSignature)
		case r.Signed && len(r.PAdES) == 0:
			signed = fmt.Sprintf("PAdES, %d signature dictionar%s (not verified)", len(r.Signatures), plural(len(r.Signatures), "y", "ies"))
		case r.Signed:
			var parts []string
			for _, s := range r.PAdES {
				d := describeSignature(&s.Result)
				if !s.CoversWholeFile && s.AppendedBytes > 0 {
					d += fmt.Sprintf(", %d bytes added after it", s.AppendedBytes)
				}
				parts = append(parts, d)
			}
			signed = strings.Join(parts, "; ")
		}
		cdaSigned := ""
		if r.Header != nil {
			cdaSigned = "no"
			if r.CDASignature != nil {
				cdaSigned = describeSignature(r.CDASignature)
			}
		}
		rows := [][2]string{
			{"FILE", r.Name},
			{"SIZE", fmt.Sprint(r.Size)},
			{"SHA-256", r.SHA256},
			{"FORMAT", format},
			{"ATTACHMENTS", strings.Join(r.Attachments, ", ")},
			{"SIGNED", signed},
			{"CDA SIGNED", cdaSigned},
			{"PATIENT", m.PatientCF},
			{"UNIQUE ID", m.UniqueID},
			{"TYPE", m.TypeCode},
			{"CLASS", m.ClassCode},
			{"FORMAT CODE", m.FormatCode},
			{"CREATED", stamp(m.CreationTime)},
			{"CONFIDENTIALITY", m.ConfidentialityCode},
			{"AUTHOR INSTITUTION", strings.TrimSpace(m.AuthorInstitutionCode + " " + m.AuthorInstitutionName)},
			{"FACILITY TYPE", m.HealthcareFacilityType},
			{"PRACTICE SETTING", m.PracticeSettingCode},
			{"REPOSITORY", m.RepositoryUniqueID},
			{"TITLE", m.Title},
		}
		for _, row := range rows {
			if row[1] != "" {
				fmt.Fprintf(w, "%s\t%s\n", row[0], row[1])
			}
		}
		fmt.Fprintln(w, "CHECK\tRESULT\tFAULT\tMESSAGE")
		for _, ck := range r.Checks {
			res, msg := "ok", ck.Message
			if !ck.OK {
				res = "FAILED"
				if ck.Found != "" || ck.Expected != "" {
					msg += fmt.Sprintf(" (found %q, expected %s)", ck.Found, ck.Expected)
				}
				if ck.Fix != "" {
					msg += "; fix: " + ck.Fix
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", ck.ID, res, ck.FaultCode, msg)
		}
	}
	if out.Failed > 0 {
		fmt.Fprintf(w, "\n%d of %d document(s) fail the pre-flight checks\n", out.Failed, len(out.Reports))
	}
}

// describeSignature says in one line what a verification found.
func describeSignature(r *sign.Result) string {
	if r == nil {
		return "not verified"
	}
	state := "NOT VALID"
	switch {
	case r.Trusted:
		state = "valid, trusted"
	case r.Valid:
		state = "valid"
	}
	d := r.Format + " " + state
	if r.Algorithm != "" {
		d += ", " + r.Algorithm
	}
	if r.SignerName != "" {
		d += ", by " + r.SignerName
	}
	if !r.SigningTime.IsZero() {
		d += ", " + stamp(r.SigningTime)
	}
	if !r.Valid && len(r.Problems) > 0 {
		d += ": " + r.Problems[0]
	}
	return d
}

// loadCAFile reads a PEM bundle of CA certificates.
func loadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &adapter.InputError{Field: "--trusted-ca", Value: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "give a readable PEM file"}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, &adapter.InputError{Field: "--trusted-ca", Value: path, Msg: "no PEM certificate in it", Fix: "give a PEM file of CA certificates"}
	}
	return pool, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
