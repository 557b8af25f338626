package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/pdfattach"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfupdate"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
)

// injectOutput is the JSON of `inject`.
type injectOutput struct {
	CDA    string `json:"cda"`
	PDF    string `json:"pdf"`
	Output string `json:"output"`
	pdfattach.Result
	// CDASigned says whether the injected CDA carries a valid XML signature (the legacy
	// services refuse an unsigned one, FSE-10001).
	CDASigned bool   `json:"cda_signed"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
}

func injectCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "inject",
		Usage:     "embed a CDA into a PDF as cda.xml (application/xml; PDF/A-3 associated file when the base is PDF/A)",
		ArgsUsage: "CDA.xml --pdf BASE.pdf -o OUT.pdf",
		Description: "Appends to BASE.pdf an incremental update holding the CDA as the attachment cda.xml,\n" +
			"as the FSE requires. Sign the CDA first (`fsepuglia sign --cda`, for the legacy services)\n" +
			"and the PDF after (`fsepuglia sign --pdf`, for the gateway). BASE.pdf is not modified.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "pdf", Usage: "the PDF to embed the CDA in (required)"},
			&cli.StringFlag{Name: "output-file", Aliases: []string{"o"}, Usage: "file to write (required; not overwritten unless --force)"},
			&cli.BoolFlag{Name: "force", Usage: "overwrite the output file"},
			&cli.StringFlag{Name: "relationship", Value: "Data", Usage: "PDF/A-3 AFRelationship of cda.xml: Data, Source, Alternative, Supplement or Unspecified"},
		},
		Action: func(c *cli.Context) error { return a.inject(c) },
	}
}

func (a *appEnv) inject(c *cli.Context) error {
	if c.Args().Len() != 1 {
		return usagef("inject needs one CDA file: fsepuglia inject CDA.xml --pdf BASE.pdf -o OUT.pdf")
	}
	cdaPath, base, out := c.Args().First(), c.String("pdf"), c.String("output-file")
	if base == "" {
		return &adapter.InputError{Field: "--pdf", Msg: "missing", Fix: "name the PDF to embed the CDA in with --pdf BASE.pdf"}
	}
	if out == "" {
		return &adapter.InputError{Field: "--output-file", Msg: "missing", Fix: "name the file to write with -o OUT.pdf"}
	}
	cda, err := os.ReadFile(cdaPath)
	if err != nil {
		return &adapter.InputError{Field: "CDA", Value: cdaPath, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check the path"}
	}
	src, err := os.Open(base)
	if err != nil {
		return &adapter.InputError{Field: "--pdf", Value: base, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check the path"}
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	res := injectOutput{CDA: cdaPath, PDF: base, Output: out}
	err = writeAtomically(out, c.Bool("force"), func(w io.Writer) error {
		r, err := pdfattach.Attach(w, src, st.Size(), cda, pdfattach.Options{Now: a.deps.now, Relationship: c.String("relationship")})
		if err != nil {
			return err
		}
		res.Result = *r
		return nil
	})
	if err != nil {
		var ue *pdfupdate.Error
		switch {
		case errors.Is(err, pdfattach.ErrHasCDA):
			return &adapter.InputError{Field: "--pdf", Value: base, Msg: "the PDF already embeds cda.xml", Fix: "start from the PDF without its CDA"}
		case errors.As(err, &ue):
			return &adapter.InputError{Field: "--pdf", Value: base, Msg: ue.Msg, Fix: "give a readable, unencrypted PDF (repair it with qpdf if needed)"}
		case strings.Contains(err.Error(), "not well-formed"):
			return &adapter.InputError{Field: "CDA", Value: cdaPath, Msg: strings.TrimPrefix(err.Error(), "pdfattach: "), Fix: "fix the CDA's XML"}
		case strings.Contains(err.Error(), "AFRelationship"):
			return &adapter.InputError{Field: "--relationship", Value: c.String("relationship"), Msg: "not a PDF/A-3 relationship", Fix: "use Data, Source, Alternative, Supplement or Unspecified"}
		}
		return err
	}
	if _, err := xades.Verify(cda, sign.VerifyOptions{}); err == nil {
		res.CDASigned = true
	} else {
		fmt.Fprintln(a.stderr, "warning: the CDA carries no valid XML signature: the legacy services refuse it (FSE-10001); sign it first with `fsepuglia sign --cda`")
	}
	if data, err := os.ReadFile(base); err == nil {
		if d, err := pdfcda.ReadPDF(data, pdfcda.Limits{}); err == nil && len(d.Signatures) > 0 {
			fmt.Fprintln(a.stderr, "warning: the base PDF is signed: its signatures do not cover cda.xml; sign the output with `fsepuglia sign --pdf`")
		}
	}
	if err := fileFacts(out, &res.Size, &res.SHA256); err != nil {
		return err
	}
	return a.emit(res, func(w io.Writer) {
		fmt.Fprintf(w, "WROTE\t%s\n", res.Output)
		fmt.Fprintf(w, "CDA\t%s (signed: %v)\n", res.CDA, res.CDASigned)
		fmt.Fprintf(w, "ATTACHMENTS\t%s\n", strings.Join(res.Attachments, ", "))
		pdfa := "no"
		if res.PDFA != "" {
			pdfa = "PDF/A-" + res.PDFA
			if res.UpgradedTo3 {
				pdfa += " (declared PDF/A-3)"
			}
			if res.AssociatedFile {
				pdfa += ", cda.xml associated (/AF)"
			}
		}
		fmt.Fprintf(w, "PDF/A\t%s\n", pdfa)
		fmt.Fprintf(w, "SHA-256\t%s\n", res.SHA256)
	})
}
