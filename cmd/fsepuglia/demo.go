package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/urfave/cli/v2"
)

// demoPatient is the published test identity the demo works on (domain.md §8).
const demoPatient = pdfcdatest.PatientCF

// demoDoc is one document the demo generates and publishes.
type demoDoc struct {
	file     string // base name in the documents directory
	what     string // for the reader
	cda      pdfcdatest.CDA
	uniqueID string // derived by docmeta, as publish does
}

// demoDocs are the three documents: two recent ones and one produced before 2020-05-19,
// which consultation shows only with consent C3.
func demoDocs() []demoDoc {
	return []demoDoc{
		{file: "1-referto-laboratorio.pdf", what: "lab report, 2026", cda: pdfcdatest.CDA{PatientCF: demoPatient,
			TypeCode: "11502-2", TypeDisplay: "Referto di laboratorio", TemplateRoot: "2.16.840.1.113883.2.9.10.1.1",
			IDExtension: "DEMO.LAB.2026.0001", EffectiveTime: "20260315103000+0100"}},
		{file: "2-referto-radiologia.pdf", what: "radiology report, 2026", cda: pdfcdatest.CDA{PatientCF: demoPatient,
			TypeCode: "68604-8", TypeDisplay: "Referto radiologico", TemplateRoot: "2.16.840.1.113883.2.9.10.1.7.1",
			IDExtension: "DEMO.RAD.2026.0002", EffectiveTime: "20260402091500+0200"}},
		{file: "3-referto-laboratorio-2019.pdf", what: "lab report, 2019 (before 2020-05-19: needs C3)", cda: pdfcdatest.CDA{PatientCF: demoPatient,
			TypeCode: "11502-2", TypeDisplay: "Referto di laboratorio", TemplateRoot: "2.16.840.1.113883.2.9.10.1.1",
			IDExtension: "DEMO.LAB.2019.0003", EffectiveTime: "20191105081000+0100"}},
	}
}

// demoStep is one command of the scenario with the exit code it must end with.
type demoStep struct {
	title string
	args  []string // after the global flags
	want  int
	// check, when set, judges the command's output beyond its exit code.
	check func(stdout, stderr string) error
	// config, when set, replaces the simulator's client configuration for this step (the
	// FSE 2.0 scenarios have their own copy).
	config string
	// argsFn, when set, gives the arguments at run time (from an earlier step's output).
	argsFn func() []string
	// run, when set, is an in-process step instead of a command (signing a PDF).
	run func(w io.Writer) error
}

// demoResult is the outcome of one step.
type demoResult struct {
	code int
	err  error // check failure
}

func (r demoResult) ok(want int) bool { return r.code == want && r.err == nil }

func demoCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the whole scenario against a private, in-process simulator (nothing leaves this machine)",
		Description: "Starts the simulator on 127.0.0.1 (mutual TLS and WS-Security) with a fresh temporary\n" +
			"data directory, then runs fsepuglia's own commands against it: the three documents made as a\n" +
			"producer makes them (sign the CDA, inject it, sign the PDF), a CDA left unsigned refused before\n" +
			"sending, privacy notice, consents, a search refused without consent, publication, search, retrieve,\n" +
			"Taccuino, revocation; then FSE 2.0: the intermediate scenario (validate at the middleware, sign,\n" +
			"publish on the legacy service) and the final one (validate, sign, publish through the middleware,\n" +
			"status). Exit 0 only when every step ends with its expected exit code.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "keep", Usage: "keep the temporary directory (simulator data, documents, outbox) and print its path"},
		},
		Action: func(c *cli.Context) error { return a.demo(c.Context, c.Bool("keep")) },
	}
}

// demoOutput is the JSON of `demo` (OUTPUT.md): the same run as the text, for scripts.
type demoOutput struct {
	Simulator     string           `json:"simulator"`
	Documents     []demoDocOutput  `json:"documents"`
	Steps         []demoStepOutput `json:"steps"`
	Total         int              `json:"total"`
	NotAsExpected int              `json:"not_as_expected"`
	KeptIn        string           `json:"kept_in"`
}

type demoDocOutput struct {
	File     string `json:"file"`
	UniqueID string `json:"unique_id"`
	SHA256   string `json:"sha256"`
	What     string `json:"what"`
}

type demoStepOutput struct {
	Step       int    `json:"step"`
	Title      string `json:"title"`
	Command    string `json:"command"`
	ExitCode   int    `json:"exit_code"`
	Expected   int    `json:"expected_exit_code"`
	AsExpected bool   `json:"as_expected"`
	CheckError string `json:"check_error"`
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
}

func (a *appEnv) demo(ctx context.Context, keep bool) (err error) {
	// The text goes to stdout as the run goes; with --format json it is collected in out
	// and written once at the end.
	asJSON := a.opts.Output == "json"
	text := a.stdout
	if asJSON {
		text = io.Discard
	}
	out := demoOutput{Documents: []demoDocOutput{}, Steps: []demoStepOutput{}}
	tmp, err := os.MkdirTemp("", "fsepuglia-demo-")
	if err != nil {
		return fmt.Errorf("demo: temporary directory: %w", err)
	}
	defer func() {
		if keep {
			out.KeptIn = tmp
			fmt.Fprintf(text, "demo: files kept in %s\n", tmp)
		} else if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = fmt.Errorf("demo: removing %s: %w", tmp, rerr)
		}
		if asJSON && out.Simulator != "" {
			if jerr := a.emit(out, nil); jerr != nil && err == nil {
				err = jerr
			}
		}
	}()
	docsDir := filepath.Join(tmp, "documents")
	docs, err := writeDemoDocs(docsDir)
	if err != nil {
		return err
	}
	// The simulator applies the legacy FSE-10001 rule: the documents must carry a signed CDA,
	// and the demo makes them so with fsepuglia's own sign and inject commands.
	srv, err := sim.Start(ctx, sim.Options{DataDir: filepath.Join(tmp, "sim"), RequireSignedCDA: true})
	if err != nil {
		return fmt.Errorf("demo: starting the simulator: %w", err)
	}
	defer srv.Close()
	out.Simulator = srv.URL()
	fmt.Fprintf(text, "simulator: %s (mutual TLS, WS-Security, SAML; data in a fresh temporary directory)\n", srv.URL())
	fmt.Fprintf(text, "documents: %s\n", docsDir)
	for _, d := range docs {
		fmt.Fprintf(text, "  %s  %s  %s\n", d.file, d.uniqueID, d.what)
		out.Documents = append(out.Documents, demoDocOutput{File: d.file, UniqueID: d.uniqueID, What: d.what})
	}

	global := []string{"fsepuglia", "--config", srv.ClientConfigPath(), "--data-dir", filepath.Join(tmp, "outbox")}
	if a.opts.LogLevel != "" {
		global = append(global, "--log-level", a.opts.LogLevel) // the steps log as the demo was asked to
	}
	var notes bytes.Buffer // what the steps' checks print
	steps := append(makeSteps(tmp, docsDir, docs), demoSteps(&notes, tmp, docsDir, docs)...)
	fse2, err := fse2Steps(srv, tmp)
	if err != nil {
		return err
	}
	steps = append(steps, fse2...)
	var failed []string
	for i, st := range steps {
		fmt.Fprintf(text, "\n== %d. %s\n", i+1, st.title)
		g := global
		if st.config != "" {
			g = append([]string{"fsepuglia", "--config", st.config}, global[3:]...)
		}
		stArgs := st.args
		if st.argsFn != nil {
			stArgs = st.argsFn()
		}
		args := append(append([]string{}, g...), stArgs...)
		command := redact.Text(strings.Join(args, " ")) // a transcript is a log: no CF
		var res demoResult
		var stdout, stderr string
		if st.run != nil {
			command = "(in-process) " + st.title
			fmt.Fprintf(text, "$ %s\n", command)
			if rerr := st.run(&notes); rerr != nil {
				res = demoResult{code: exitInternal, err: rerr}
			}
		} else {
			fmt.Fprintf(text, "$ %s\n", command)
			res, stdout, stderr = a.runDemoStep(ctx, args, st)
		}
		indent(text, redact.Text(stdout)) // a transcript is a log: no CF (sign prints the signer's)
		indent(text, redact.Text(stderr))
		text.Write(notes.Bytes())
		rec := demoStepOutput{Step: i + 1, Title: st.title, Command: command, ExitCode: res.code, Expected: st.want,
			AsExpected: res.ok(st.want), Stdout: redact.Text(stdout), Stderr: redact.Text(stderr + notes.String())}
		notes.Reset()
		mark := "as expected"
		if !res.ok(st.want) {
			mark = "NOT AS EXPECTED"
			failed = append(failed, fmt.Sprint(i+1))
		}
		fmt.Fprintf(text, "exit %d (expected %d): %s\n", res.code, st.want, mark)
		if res.err != nil {
			rec.CheckError = res.err.Error()
			fmt.Fprintf(text, "check failed: %v\n", res.err)
		}
		out.Steps = append(out.Steps, rec)
		if ctx.Err() != nil {
			return fmt.Errorf("demo interrupted at step %d: %w", i+1, ctx.Err())
		}
	}
	for i := range out.Documents {
		out.Documents[i].SHA256, _ = fileSHA256(filepath.Join(docsDir, out.Documents[i].File))
	}
	out.Total, out.NotAsExpected = len(steps), len(failed)
	if len(failed) > 0 {
		fmt.Fprintf(text, "\ndemo: %d steps, %d not as expected (step %s)\n", len(steps), len(failed), strings.Join(failed, ", "))
		return cli.Exit(fmt.Sprintf("demo: %d of %d steps did not end as expected", len(failed), len(steps)), exitInternal)
	}
	fmt.Fprintf(text, "\ndemo: %d steps, all as expected\n", len(steps))
	return nil
}

// runDemoStep runs one step through the CLI in-process, with an empty environment so that
// the user's FSEPUGLIA_* settings cannot point the demo elsewhere; it returns the result and
// the step's output.
func (a *appEnv) runDemoStep(ctx context.Context, args []string, st demoStep) (demoResult, string, string) {
	var out, errOut bytes.Buffer
	d := a.deps
	d.getenv = func(string) string { return "" }
	d.isTerminal = func(io.Writer) bool { return false }
	d.stdinIsTerminal = nil // nobody answers questions: destructive steps pass --yes
	code := runWith(ctx, args, &out, &errOut, d)
	res := demoResult{code: code}
	if code == st.want && st.check != nil {
		res.err = st.check(out.String(), errOut.String())
	}
	return res, out.String(), errOut.String()
}

func indent(w io.Writer, s string) {
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if line != "" {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}

// demoSteps is the scenario. Expected refusals (exit 5, FSE-00451) are steps like any other.
func demoSteps(w io.Writer, tmp, docsDir string, docs []demoDoc) []demoStep {
	p := demoPatient
	informativa := filepath.Join(tmp, "informativa.pdf")
	retrieved := filepath.Join(tmp, "retrieved.pdf")
	old := docs[2]
	refused := func(_, stderr string) error {
		if !strings.Contains(stderr, "FSE-00451") {
			return fmt.Errorf("the refusal does not carry FSE-00451")
		}
		return nil
	}
	shows := func(visible []demoDoc, hidden []demoDoc) func(string, string) error {
		return func(stdout, _ string) error {
			for _, d := range visible {
				if !strings.Contains(stdout, d.uniqueID) {
					return fmt.Errorf("%s missing from the results", d.uniqueID)
				}
			}
			for _, d := range hidden {
				if strings.Contains(stdout, d.uniqueID) {
					return fmt.Errorf("%s shown, but it should be hidden", d.uniqueID)
				}
			}
			return nil
		}
	}
	return []demoStep{
		{title: "fetch the privacy notice (informativa)", args: []string{"consent", "informativa", "-o", informativa}, want: exitOK,
			check: func(string, string) error {
				b, err := os.ReadFile(informativa)
				if err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
					return fmt.Errorf("%s is not a PDF (%v)", informativa, err)
				}
				return nil
			}},
		{title: "consent status of the patient", args: []string{"consent", "status", "--patient", p}, want: exitOK},
		{title: "search without consent C2: refused (exit 5, FSE-00451)", args: []string{"search", "--patient", p}, want: exitConsent, check: refused},
		{title: "record consent C2 (consultation) only", args: []string{"consent", "set", "--patient", p, "--c2=true"}, want: exitOK},
		{title: "publish 3 documents through the outbox", args: []string{"publish", "--dir", docsDir, "--concurrency", "3"}, want: exitOK,
			check: func(stdout, _ string) error {
				if !strings.Contains(stdout, "sent 3,") {
					return fmt.Errorf("the summary does not say sent 3")
				}
				return nil
			}},
		{title: "search with C2 but not C3: the 2019 document stays hidden", args: []string{"search", "--patient", p}, want: exitOK,
			check: shows(docs[:2], docs[2:])},
		{title: "record consent C3 (documents produced before 2020-05-19)", args: []string{"consent", "set", "--patient", p, "--c3=true"}, want: exitOK},
		{title: "search with C2 and C3: all 3 documents", args: []string{"search", "--patient", p}, want: exitOK, check: shows(docs, nil)},
		{title: "retrieve the 2019 document; its SHA-256 equals the published file's", args: []string{"retrieve", old.uniqueID, "--patient", p, "-o", retrieved}, want: exitOK,
			check: func(string, string) error {
				got, err := fileSHA256(retrieved)
				if err != nil {
					return err
				}
				published, err := fileSHA256(filepath.Join(docsDir, old.file))
				if err != nil {
					return err
				}
				if got != published {
					return fmt.Errorf("retrieved sha256 %s, published %s", got, published)
				}
				fmt.Fprintf(w, "sha256 published %s = retrieved %s\n", published, got)
				return nil
			}},
		{title: "Taccuino summary", args: []string{"taccuino", "summary", "--patient", p}, want: exitOK},
		{title: "Taccuino rilevazioni (measurements), first 5", args: []string{"taccuino", "rilevazioni", "--patient", p, "--limit", "5"}, want: exitOK},
		{title: "revoke consent C2", args: []string{"consent", "revoke", "--patient", p, "C2", "--yes"}, want: exitOK},
		{title: "the same search, now refused again (exit 5, FSE-00451)", args: []string{"search", "--patient", p}, want: exitConsent, check: refused},
	}
}

// srcDir holds what the demo makes its documents from: the CDAs and the base PDF.
func srcDir(tmp string) string { return filepath.Join(tmp, "src") }

// cdaName is a document's CDA file in srcDir.
func cdaName(d demoDoc) string { return strings.TrimSuffix(d.file, ".pdf") + ".xml" }

// writeDemoDocs writes what the documents are made from (each CDA, and a PDF/A-3 base
// page) and derives their unique ids from the CDA with docmeta, as publish does. The
// documents themselves are made by the first steps, with fsepuglia sign and inject.
func writeDemoDocs(dir string) ([]demoDoc, error) {
	src := srcDir(filepath.Dir(dir))
	for _, d := range []string{dir, src} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("demo: documents directory: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "base.pdf"), pdfcdatest.PDF{PDFA: 3}.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	docs := demoDocs()
	for i := range docs {
		d := &docs[i]
		cdaXML := d.cda.Bytes()
		rep := docmeta.InspectBytes(cdaXML, cdaName(*d), docmeta.Options{AllowXML: true})
		if err := rep.Err(); err != nil {
			return nil, fmt.Errorf("demo: generated CDA %s: %w", cdaName(*d), err)
		}
		d.uniqueID = rep.Metadata.UniqueID
		if err := os.WriteFile(filepath.Join(src, cdaName(*d)), cdaXML, 0o600); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	return docs, nil
}

// makeSteps make the documents as a producer does, with the operator's certificate (the
// configuration's signer): sign each CDA (XAdES-BES), inject it into the base PDF as
// cda.xml, sign the PDF (PAdES). Then a CDA left unsigned is refused before it is sent.
func makeSteps(tmp, docsDir string, docs []demoDoc) []demoStep {
	src := srcDir(tmp)
	var steps []demoStep
	for _, d := range docs {
		cdaFile := filepath.Join(src, cdaName(d))
		signedCDA := strings.TrimSuffix(cdaFile, ".xml") + ".signed.xml"
		injected := filepath.Join(src, d.file)
		steps = append(steps,
			demoStep{title: "sign the CDA of " + d.file + " (XAdES-BES, the operator's certificate)", args: []string{"sign", "--cda", cdaFile, "-o", signedCDA}, want: exitOK},
			demoStep{title: "inject it into the PDF as cda.xml", args: []string{"inject", signedCDA, "--pdf", filepath.Join(src, "base.pdf"), "-o", injected}, want: exitOK},
			demoStep{title: "sign the PDF (PAdES B-B, incremental update)", args: []string{"sign", "--pdf", injected, "-o", filepath.Join(docsDir, d.file)}, want: exitOK},
		)
	}
	unsigned := filepath.Join(src, "unsigned-cda.pdf")
	steps = append(steps,
		demoStep{title: "inject a CDA left unsigned (a warning names FSE-10001)", args: []string{"inject", filepath.Join(src, cdaName(docs[0])), "--pdf", filepath.Join(src, "base.pdf"), "-o", unsigned}, want: exitOK,
			check: func(_, stderr string) error {
				if !strings.Contains(stderr, "FSE-10001") {
					return fmt.Errorf("no warning about the unsigned CDA")
				}
				return nil
			}},
		demoStep{title: "publish it as the region requires (--cda-signature require): refused before sending (exit 3)", args: []string{"--cda-signature", "require", "publish", unsigned}, want: exitInput,
			check: func(_, stderr string) error {
				if !strings.Contains(stderr, "cda.signature") {
					return fmt.Errorf("the refusal does not name the cda.signature check")
				}
				return nil
			}},
	)
	return steps
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}
