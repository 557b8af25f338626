package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // dayZone

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// deps are the parts of the outside world a command touches; tests replace them.
type deps struct {
	getenv        func(string) string
	userConfigDir func() (string, error)
	userCacheDir  func() (string, error)
	// newBackend turns the configuration into the library client.
	newBackend func(cfg adapter.Config, log adapter.Logger) (*backend, error)
	// isTerminal says whether w is a terminal (progress bar) or not (plain lines).
	isTerminal func(w io.Writer) bool
	// docMetadata reads metadata from the document itself (the CDA inside the PDF): from
	// body, or from the file at path when body is nil; adapter/docmeta in production. nil
	// means sidecar file and flags only.
	docMetadata func(cfg adapter.Config, path string, body []byte, skipChecks bool) (adapter.Metadata, error)
	now         func() time.Time
	// newGateway builds the client of the FSE 2.0 middleware (adapter.NewGateway).
	newGateway func(cfg adapter.Config) (gatewayAPI, error)
	// stdin is where confirmations are read; stdinIsTerminal says whether a person is there
	// to answer (nil: no terminal, so destructive commands need --yes).
	stdin           io.Reader
	stdinIsTerminal func() bool
}

func defaultDeps() deps {
	return deps{
		getenv:        os.Getenv,
		userConfigDir: os.UserConfigDir,
		userCacheDir:  os.UserCacheDir,
		newBackend:    newAdapterBackend,
		isTerminal: func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		},
		docMetadata:     docmetaMetadata,
		now:             time.Now,
		newGateway:      newAdapterGateway,
		stdin:           os.Stdin,
		stdinIsTerminal: func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
	}
}

// appEnv is the state shared by the commands of one run: output writers, the loaded
// configuration and, once a command needs it, the library client.
type appEnv struct {
	stdout, stderr io.Writer
	deps           deps
	cfg            adapter.Config
	opts           cliOptions
	log            logrusLogger
	be             *backend
	gw             gatewayAPI
	// unknownCommand is set when the command line names no command of the app.
	unknownCommand bool
	// emittedJSON is set once a command has written its JSON document on stdout: an error
	// after that is not written as a second JSON document.
	emittedJSON bool
}

// client returns the library client, building it on first use.
func (a *appEnv) client() (*backend, error) {
	if a.be != nil {
		return a.be, nil
	}
	if err := checkProductionLock(a.cfg); err != nil {
		return nil, err
	}
	// Resolve the endpoints first: an unknown environment or ASL is named here, before any
	// credential is loaded, and accepted aliases are reported.
	if a.cfg.Environment == "" && !a.opts.ConfigFound {
		return nil, a.noConfiguration()
	}
	_, warns, err := a.cfg.ResolveEndpoints()
	if err != nil {
		return nil, err // *adapter.ConfigError
	}
	for _, w := range warns {
		fmt.Fprintf(a.stderr, "warning: %s\n", w)
	}
	be, err := a.deps.newBackend(a.cfg, a.log)
	if err != nil {
		return nil, err // configuration mistakes are *adapter.ConfigError already
	}
	a.be = be
	return be, nil
}

// newApp builds the fsepuglia application writing to stdout and stderr. Every command runs
// in-process with app.RunContext(ctx, args); errors are returned, never turned into os.Exit.
func newApp(stdout, stderr io.Writer) *cli.App { return newAppWith(stdout, stderr, defaultDeps()) }

func newAppWith(stdout, stderr io.Writer, d deps) *cli.App {
	a := &appEnv{stdout: stdout, stderr: stderr, deps: d}
	flags := []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "JSON config file (default <user config dir>/fsepuglia/config.json) [$FSEPUGLIA_CONFIG]"},
		&cli.StringFlag{Name: "key-password-file", Usage: "file holding the PKCS#12 password (or set FSEPUGLIA_KEY_PASSWORD; never a flag value)"},
	}
	flags = append(flags, settingFlags()...)
	app := &cli.App{
		Metadata:  map[string]any{"env": a},
		Name:      "fsepuglia",
		Usage:     "talk to the FSE of Regione Puglia (IDocument, IGestoreConsenso, ITaccuino)",
		Version:   buildVersion().String(),
		UsageText: "fsepuglia [global options] command [command options] [arguments...]",
		Description: "Global options may also follow the command (fsepuglia search --patient CF --format json).\n" +
			"Configuration: fsepuglia help config. Start without a region: fsepuglia sim, or make demo.\n" +
			"Help and examples of a command: fsepuglia help COMMAND.\n\n" +
			"Exit codes: 0 success, 1 internal error, 2 usage (nothing sent), 3 invalid input or configuration\n" +
			"(nothing sent), 4 the region answered with a fault (FSE-NNNNN), 5 consultation refused for\n" +
			"consent, 6 the call did not complete (network, TLS, timeout), 7 a batch partly failed.",
		Writer:               stdout,
		ErrWriter:            stderr,
		Flags:                flags,
		Commands:             commands(a),
		EnableBashCompletion: true,
		// Errors are mapped to exit codes by exitCode, never by urfave calling os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usagef("%v%s (see fsepuglia --help)", err, suggestForFlagError(err, flags))
		},
		CommandNotFound: func(c *cli.Context, name string) {
			a.unknownCommand = true
			fmt.Fprintf(stderr, "fsepuglia: unknown command %q%s (see fsepuglia help)\n", name, didYouMean(name, commandNames(c.App.Commands), ""))
		},
		Before: func(c *cli.Context) error {
			return a.load(c)
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("unknown command %q%s (see fsepuglia help)", c.Args().First(), didYouMean(c.Args().First(), commandNames(c.App.Commands), ""))
			}
			return cli.ShowAppHelp(c)
		},
	}
	for _, cmd := range app.Commands {
		addExamples(cmd, "")
		setUsageErrors(cmd, flags)
		allowInterspersed(cmd, flags, func(c *cli.Context, global *flag.FlagSet) error {
			return a.load(mergedFlags{post: global, globals: flags, c: c})
		})
	}
	return app
}

// load reads the configuration (file, environment, flags) into a.
func (a *appEnv) load(fs flagSource) error {
	cfg, opts, err := loadConfig(fs, a.deps.getenv, configPaths{a.deps.userConfigDir, a.deps.userCacheDir})
	if err != nil {
		return err
	}
	a.cfg, a.opts = cfg, opts
	a.log = newLogger(a.stderr, opts.LogLevel)
	return nil
}

// mergedFlags are the global flags given before the command (c's lineage) and after it
// (post); those after it win.
type mergedFlags struct {
	post    *flag.FlagSet
	globals []cli.Flag
	c       *cli.Context
}

// postName returns the name under which the flag called name (or one of its aliases) was
// given after the command, or "".
func (m mergedFlags) postName(name string) string {
	names := []string{name}
	if f := findFlag(m.globals, name); f != nil {
		names = f.Names()
	}
	found := ""
	m.post.Visit(func(f *flag.Flag) {
		for _, n := range names {
			if f.Name == n {
				found = n
			}
		}
	})
	return found
}

func (m mergedFlags) IsSet(name string) bool { return m.postName(name) != "" || m.c.IsSet(name) }

func (m mergedFlags) String(name string) string {
	if n := m.postName(name); n != "" {
		return m.post.Lookup(n).Value.String()
	}
	return m.c.String(name)
}

func (m mergedFlags) Bool(name string) bool {
	if n := m.postName(name); n != "" {
		return m.post.Lookup(n).Value.String() == "true"
	}
	return m.c.Bool(name)
}

// suggestForFlagError adds a did-you-mean to urfave's "flag provided but not defined: -x".
func suggestForFlagError(err error, flags []cli.Flag) string {
	const marker = "flag provided but not defined: -"
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		return ""
	}
	name := strings.TrimLeft(msg[i+len(marker):], "-")
	return didYouMean(name, flagNames(flags), "--")
}

// setUsageErrors makes flag parsing errors of cmd and its subcommands usage errors (exit 2).
// A global flag put between a command and its subcommand (`consent --env test status`) is
// named as such: it goes before the command or after the subcommand.
func setUsageErrors(cmd *cli.Command, globals []cli.Flag) {
	cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		const marker = "flag provided but not defined: -"
		if i := strings.Index(err.Error(), marker); i >= 0 {
			name := strings.TrimLeft(err.Error()[i+len(marker):], "-")
			if findFlag(globals, name) != nil && len(cmd.Subcommands) > 0 {
				return usagef("--%s is a global flag: give it before %q or after its subcommand (fsepuglia --%s … %s SUBCOMMAND, or fsepuglia %s SUBCOMMAND --%s …)", name, cmd.Name, name, cmd.Name, cmd.Name, name)
			}
			return usagef("%s: %v%s (see fsepuglia %s --help)", cmd.Name, err, didYouMean(name, flagNames(cmd.Flags, globals), "--"), cmd.Name)
		}
		return usagef("%s: %v (see fsepuglia %s --help)", cmd.Name, err, cmd.Name)
	}
	if len(cmd.Subcommands) > 0 && cmd.Action == nil {
		cmd.Action = func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("unknown command %q for %s%s (see fsepuglia %s --help)", c.Args().First(), cmd.Name, didYouMean(c.Args().First(), commandNames(cmd.Subcommands), ""), cmd.Name)
			}
			return cli.ShowSubcommandHelp(c)
		}
	}
	for _, sub := range cmd.Subcommands {
		setUsageErrors(sub, globals)
	}
}

// commands lists the commands of the app. To add one, write a function returning
// *cli.Command in its own file (sim.go, demo.go, doctor.go, inspect.go …) and add a line here.
func commands(a *appEnv) []*cli.Command {
	return []*cli.Command{
		endpointsCommand(a),
		publishCommand(a),
		serveCommand(a),
		outboxCommand(a),
		queueCommand(a),
		replaceCommand(a),
		deleteCommand(a),
		searchCommand(a),
		retrieveCommand(a),
		consentCommand(a),
		taccuinoCommand(a),
		simCommand(),
		demoCommand(a),
		inspectCommand(a),
		injectCommand(a),
		signCommand(a),
		doctorCommand(a),
		configCommand(a),
		versionCommand(a),
		completionCommand(a),
		validateCommand(a),
		statusCommand(a),
	}
}

// run executes the app and returns the exit code, printing the error on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, args, stdout, stderr, defaultDeps())
}

func runWith(ctx context.Context, args []string, stdout, stderr io.Writer, d deps) int {
	stdout, stderr = serialized(stdout), serialized(stderr)
	app := newAppWith(stdout, stderr, d)
	err := app.RunContext(ctx, args)
	a, _ := app.Metadata["env"].(*appEnv)
	if a != nil && a.unknownCommand && err == nil {
		return exitUsage
	}
	code := exitCode(err)
	if err != nil {
		e := describeError(err, code)
		fmt.Fprintf(stderr, "fsepuglia: %s\n", e.Message)
		if h := hints[code]; h != "" {
			fmt.Fprintf(stderr, "hint: %s\n", h)
		}
		if a != nil && !a.emittedJSON && wantsJSON(a.opts, args, d.getenv) {
			writeJSON(stdout, errorOutput{Error: e})
		}
	}
	return code
}

// hints tell the user what to do after an error of each exit code (EXITCODES.md).
var hints = map[int]string{
	exitFault:     "the region refused the request: the FSE-NNNNN code above says why (exit codes: fsepuglia help)",
	exitConsent:   "the patient has not given the consent this consultation needs: record it with `fsepuglia consent set` or stop here",
	exitTransport: "the region could not be reached: check the VPN, --base-url, the certificates (--cert-file, --ca-file), then run the command again",
}

// noConfiguration is the error of a command that needs the region when there is no
// configuration at all: it says where the configuration was looked for and how to start.
func (a *appEnv) noConfiguration() error {
	where := "no config file"
	if a.opts.ConfigPath != "" {
		where = "no config file at " + a.opts.ConfigPath
	}
	return &adapter.ConfigError{Field: "environment",
		Msg: where + " (--config and FSEPUGLIA_CONFIG are not set) and no environment (test, prod or local) from --env or FSEPUGLIA_ENV: fsepuglia does not know which services to call",
		Fix: "to try it without the region run `fsepuglia sim` and pass the client config it prints with --config (or `make demo`); " +
			"to configure the regional test or production services see `fsepuglia help config`"}
}

// confirm asks a person on the terminal to confirm a destructive action (what) unless --yes
// was given. Without a terminal on stdin nobody can answer: the command is refused with a
// usage error that says to pass --yes.
func (a *appEnv) confirm(c *cli.Context, what string) error {
	if c.Bool("yes") {
		return nil
	}
	if a.deps.stdinIsTerminal == nil || a.deps.stdin == nil || !a.deps.stdinIsTerminal() {
		return usagef("%s: %s needs confirmation and stdin is not a terminal: pass --yes to do it without asking", c.Command.Name, what)
	}
	fmt.Fprintf(a.stderr, "%s? [y/N] ", what)
	line, _ := bufio.NewReader(a.deps.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes", "s", "si", "sì":
		return nil
	}
	return usagef("%s: not confirmed, nothing was sent", c.Command.Name)
}

// yesFlag is the --yes of destructive commands.
var yesFlag = &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do it without asking for confirmation (required when stdin is not a terminal)"}

// patientCF validates a --patient value (after normalising case and spaces) and returns it.
func patientCF(flag, v string) (string, error) {
	if v == "" {
		return "", &adapter.InputError{Field: flag, Msg: "missing", Fix: "pass the patient's codice fiscale with --" + flag}
	}
	cf := codicefiscale.Normalize(v)
	if err := codicefiscale.Validate(cf); err != nil {
		return "", &fieldError{field: "--" + flag, fix: "check the code", err: err}
	}
	return cf, nil
}

// dayZone is the zone of the days given to --from/--to: the region's (Europe/Rome, from the
// embedded tzdata, so the answer does not depend on the machine's zone).
var dayZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		panic(err) // time/tzdata is embedded
	}
	return loc
}()

// parseDay parses a --from/--to date: YYYY-MM-DD, a day in Italian time (Europe/Rome), or
// RFC 3339. A day given to --to means its end (its last instant), so --from D --to D is
// the whole day D, for every command that takes dates.
func parseDay(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, dayZone); err == nil {
		if flag == "to" {
			t = t.AddDate(0, 0, 1).Add(-time.Millisecond)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, &adapter.InputError{Field: "--" + flag, Value: v, Msg: "not a date", Fix: "use YYYY-MM-DD (Italian time) or RFC 3339"}
}

// writeNewFile writes body to path; an existing file is refused unless force.
func writeNewFile(path string, body []byte, force bool) error {
	mode := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		mode = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, mode, 0o600)
	if err != nil {
		if os.IsExist(err) {
			return &adapter.InputError{Field: "--output-file", Value: path, Msg: "file exists", Fix: "choose another file or pass --force"}
		}
		return &adapter.InputError{Field: "--output-file", Value: path, Msg: fmt.Sprintf("cannot create: %v", unwrapPath(err)), Fix: "check the directory exists and is writable"}
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// outboxPath is the outbox file inside the data directory (created 0700 if needed).
func (a *appEnv) outboxPath() (string, error) {
	if err := os.MkdirAll(a.opts.DataDir, 0o700); err != nil {
		return "", &adapter.InputError{Field: "data-dir", Value: a.opts.DataDir, Msg: fmt.Sprintf("cannot create: %v", unwrapPath(err)), Fix: "pass a writable --data-dir"}
	}
	return filepath.Join(a.opts.DataDir, "outbox.db"), nil
}

// serialized makes w safe for the concurrent writers one command has (logrus, which locks
// its own mutex, and the progress lines of publish's workers, which lock another). Files are
// returned as they are: the kernel orders their writes, and terminal detection needs *os.File.
func serialized(w io.Writer) io.Writer {
	switch w.(type) {
	case *os.File, *lockedWriter:
		return w
	}
	return &lockedWriter{w: w}
}

// lockedWriter serialises Write calls on an io.Writer such as a bytes.Buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
