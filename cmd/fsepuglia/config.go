package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/urfave/cli/v2"
)

// cliOptions are the settings that belong to the command line tool, not to adapter.Config.
type cliOptions struct {
	Output   string // table | json
	LogLevel string // debug | info | warn | error
	DataDir  string // where the outbox lives

	// ConfigPath is the config file looked at ("" when no user config directory exists),
	// ConfigFrom how it was chosen (--config, FSEPUGLIA_CONFIG, default) and ConfigFound
	// whether it existed.
	ConfigPath, ConfigFrom string
	ConfigFound            bool
	// Sources says where each configuration key got its value (`config show`):
	// "file", "env FSEPUGLIA_…", "flag --…", "default".
	Sources map[string]string
}

// setting is one configuration value reachable from the environment and, when flag is not
// empty, from a global flag. The same table drives loading, the flags and CONFIG.md.
type setting struct {
	env   string
	flag  string // "" = environment (or config file) only
	usage string
	apply func(cfg *adapter.Config, o *cliOptions, v string) error
}

func setPolicy(field, v string, dst *string) error {
	switch v {
	case "require", "allow":
		*dst = v
		return nil
	}
	return &adapter.InputError{Field: field, Value: v, Msg: "not a signature policy", Fix: "use require or allow"}
}

func parseBool(field, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &adapter.InputError{Field: field, Value: v, Msg: "not a boolean", Fix: "use 1/0 or true/false"}
	}
	return b, nil
}

// settings lists every FSEPUGLIA_* variable and its flag, in the order of CONFIG.md.
var settings = []setting{
	{"FSEPUGLIA_ENV", "env", "environment: test, prod or local (the simulator)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.Environment = v; return nil }},
	{"FSEPUGLIA_ASL", "asl", "ASL: aslba aslbt aslbr aslle aslfg aslta (aslba_test in test)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.ASL = v; return nil }},
	{"FSEPUGLIA_BASE_URL", "base-url", "override the environment's base URL (scheme://host:port)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.BaseURL = v; return nil }},
	{"FSEPUGLIA_ALLOW_PRODUCTION", "", "second production lock: 1 to allow sending to prod (no flag on purpose)",
		func(c *adapter.Config, _ *cliOptions, v string) (err error) {
			c.AllowProduction, err = parseBool("FSEPUGLIA_ALLOW_PRODUCTION", v)
			return err
		}},
	{"FSEPUGLIA_CERT_FILE", "cert-file", "TLS client certificate (PEM)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.TLS.CertFile = v; return nil }},
	{"FSEPUGLIA_KEY_FILE", "key-file", "TLS client private key (PEM)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.TLS.KeyFile = v; return nil }},
	{"FSEPUGLIA_PKCS12_FILE", "pkcs12-file", "TLS client certificate and key as PKCS#12",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.TLS.PKCS12File = v; return nil }},
	{"FSEPUGLIA_CA_FILE", "ca-file", "extra CA bundle (PEM) to verify the server",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.TLS.CAFile = v; return nil }},
	{"FSEPUGLIA_KEY_PASSWORD", "", "password of the PKCS#12 files (environment only; or --key-password-file)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.TLS.KeyPassword = v; return nil }},
	{"FSEPUGLIA_SIGNER_CERT_FILE", "signer-cert-file", "certificate that signs WS-Security/SAML (default: the TLS one)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.Signer.CertFile = v; return nil }},
	{"FSEPUGLIA_SIGNER_KEY_FILE", "signer-key-file", "private key that signs WS-Security/SAML",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.Signer.KeyFile = v; return nil }},
	{"FSEPUGLIA_SIGNER_PKCS12_FILE", "signer-pkcs12-file", "signer certificate and key as PKCS#12",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.Signer.PKCS12File = v; return nil }},
	{"FSEPUGLIA_SIGNER_KEY_PASSWORD", "", "password of the signer PKCS#12 (environment only; default FSEPUGLIA_KEY_PASSWORD)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.Signer.KeyPassword = v; return nil }},
	{"FSEPUGLIA_CDA_SIGNATURE", "cda-signature", "require or allow: publish refuses, before sending, a CDA without a valid XML signature as the legacy services do (FSE-10001); default require, allow against the simulator",
		func(c *adapter.Config, _ *cliOptions, v string) error {
			return setPolicy("cda-signature", v, &c.Signatures.CDA)
		}},
	{"FSEPUGLIA_PDF_SIGNATURE", "pdf-signature", "require or allow: gateway publication refuses a PDF without a valid PAdES signature (/msg/sign-error); default require",
		func(c *adapter.Config, _ *cliOptions, v string) error {
			return setPolicy("pdf-signature", v, &c.Signatures.PDF)
		}},
	{"FSEPUGLIA_OPERATOR_CF", "operator-cf", "operator's codice fiscale (must match the signing certificate)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.Operator.CF = v; return nil }},
	{"FSEPUGLIA_OPERATOR_ROLE", "operator-role", "operator's role (AAS, APR, PSS, INF, FAR, DRS, OGC …)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.Operator.Role = v; return nil }},
	{"FSEPUGLIA_STRUCTURE_CODE", "structure-code", "calling structure's code",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.Structure.Code = v; return nil }},
	{"FSEPUGLIA_STRUCTURE_NAME", "structure-name", "calling structure's name",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.Structure.Name = v; return nil }},
	{"FSEPUGLIA_TIMEOUT", "timeout", "per-call timeout (Go duration, e.g. 60s)",
		func(c *adapter.Config, _ *cliOptions, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return &adapter.InputError{Field: "timeout", Value: v, Msg: "not a duration", Fix: "use a form like 30s or 2m"}
			}
			if d < 0 {
				return &adapter.InputError{Field: "timeout", Value: v, Msg: "negative", Fix: "use a positive duration such as 30s"}
			}
			c.Timeout = adapter.Duration(d)
			return nil
		}},
	{"FSEPUGLIA_TRACE_DIR", "trace-dir", "keep every request/response envelope in this directory (redacted)",
		func(c *adapter.Config, _ *cliOptions, v string) error { c.TraceDir = v; return nil }},
	{"FSEPUGLIA_TRACE_RAW", "trace-raw", "keep traces unredacted (health data: only for a support ticket)",
		func(c *adapter.Config, _ *cliOptions, v string) (err error) {
			c.TraceRaw, err = parseBool("trace-raw", v)
			return err
		}},
	{"FSEPUGLIA_OUTPUT", "", "older name of FSEPUGLIA_FORMAT (FSEPUGLIA_FORMAT wins)", setFormat},
	{"FSEPUGLIA_FORMAT", "format", "output format: table or json (--output is its older name; -o is a command's output file)", setFormat},
	{"FSEPUGLIA_LOG_LEVEL", "log-level", "log level on stderr: debug, info, warn, error",
		func(_ *adapter.Config, o *cliOptions, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				o.LogLevel = v
				return nil
			}
			return &adapter.InputError{Field: "log-level", Value: v, Msg: "unknown log level", Fix: "use debug, info, warn or error"}
		}},
	{"FSEPUGLIA_DATA_DIR", "data-dir", "directory of the outbox (default <user cache dir>/fsepuglia)",
		func(_ *adapter.Config, o *cliOptions, v string) error { o.DataDir = v; return nil }},
}

// boolFlags are the settings whose flag is a boolean switch.
var boolFlags = map[string]bool{"trace-raw": true}

// flagAliases are other names of a setting's flag (kept so that older scripts still work).
var flagAliases = map[string][]string{"format": {"output"}}

// setFormat applies --format / FSEPUGLIA_FORMAT.
func setFormat(_ *adapter.Config, o *cliOptions, v string) error {
	if v != "table" && v != "json" {
		return &adapter.InputError{Field: "format", Value: v, Msg: "unknown output format", Fix: "use table or json"}
	}
	o.Output = v
	return nil
}

// settingFlags builds the global flags of the settings table (without EnvVars: the
// environment is applied by loadConfig so that the precedence is explicit and testable).
func settingFlags() []cli.Flag {
	var fl []cli.Flag
	for _, s := range settings {
		if s.flag == "" {
			continue
		}
		usage := s.usage + " [$" + s.env + "]"
		if boolFlags[s.flag] {
			fl = append(fl, &cli.BoolFlag{Name: s.flag, Usage: usage, Aliases: flagAliases[s.flag]})
			continue
		}
		fl = append(fl, &cli.StringFlag{Name: s.flag, Usage: usage, Aliases: flagAliases[s.flag]})
	}
	return fl
}

// flagSource is what loadConfig needs of the command line (a *cli.Context in the app).
type flagSource interface {
	IsSet(name string) bool
	String(name string) string
	Bool(name string) bool
}

// configPaths are the places loadConfig looks at.
type configPaths struct {
	userConfigDir func() (string, error)
	userCacheDir  func() (string, error)
}

// loadConfig builds the configuration: defaults, then the JSON config file, then FSEPUGLIA_*
// variables, then flags (each overriding the previous). The key passwords come only from the
// environment or from --key-password-file.
func loadConfig(fs flagSource, getenv func(string) string, paths configPaths) (adapter.Config, cliOptions, error) {
	var cfg adapter.Config
	opts := cliOptions{Output: "table", LogLevel: "warn", Sources: map[string]string{}}
	opts.Sources["format"], opts.Sources["log_level"] = "default", "default"

	path, from := fs.String("config"), "--config"
	if !fs.IsSet("config") {
		path, from = getenv("FSEPUGLIA_CONFIG"), "FSEPUGLIA_CONFIG"
	}
	if path == "" {
		from = "default"
		if dir, err := paths.userConfigDir(); err == nil {
			path = filepath.Join(dir, "fsepuglia", "config.json")
		}
	}
	opts.ConfigPath, opts.ConfigFrom = path, from
	if path != "" {
		found, err := readConfigFile(path, from != "default", &cfg)
		if err != nil {
			return cfg, opts, err
		}
		opts.ConfigFound = found
		if found {
			for _, k := range configKeys(cfg) {
				opts.Sources[k] = "file"
			}
		}
	}
	for _, s := range settings {
		if v, ok := lookupEnv(getenv, s.env); ok {
			if err := s.apply(&cfg, &opts, v); err != nil {
				return cfg, opts, fmt.Errorf("environment variable %s: %w", s.env, err)
			}
			for _, k := range s.keys() {
				opts.Sources[k] = "env " + s.env
			}
		}
	}
	for _, s := range settings {
		if s.flag == "" || !fs.IsSet(s.flag) {
			continue
		}
		v := fs.String(s.flag)
		if boolFlags[s.flag] {
			v = strconv.FormatBool(fs.Bool(s.flag))
		}
		if err := s.apply(&cfg, &opts, v); err != nil {
			return cfg, opts, fmt.Errorf("flag --%s: %w", strings.Join(append([]string{s.flag}, flagAliases[s.flag]...), "/--"), err)
		}
		for _, k := range s.keys() {
			opts.Sources[k] = "flag --" + s.flag
		}
	}
	if fs.IsSet("key-password-file") {
		pw, err := readSecretFile(fs.String("key-password-file"))
		if err != nil {
			return cfg, opts, err
		}
		cfg.TLS.KeyPassword = pw
		opts.Sources["tls.key_password"] = "flag --key-password-file"
	}
	if cfg.Signer.KeyPassword == "" && cfg.TLS.KeyPassword != "" {
		cfg.Signer.KeyPassword = cfg.TLS.KeyPassword
		opts.Sources["signer.key_password"] = "tls.key_password"
	}
	if opts.DataDir == "" {
		dir, err := paths.userCacheDir()
		if err != nil {
			return cfg, opts, &adapter.InputError{Field: "data-dir", Msg: "no user cache directory on this system", Fix: "pass --data-dir or set FSEPUGLIA_DATA_DIR"}
		}
		opts.DataDir = filepath.Join(dir, "fsepuglia")
		opts.Sources["data_dir"] = "default"
	}
	return cfg, opts, nil
}

// keys returns the configuration keys a setting writes (tls.cert_file, format …), found by
// applying it to an empty configuration: the table above stays the one place that says it.
func (s setting) keys() []string {
	for _, sample := range []string{"1", "true", "1s", "json", "info", "x"} {
		var cfg adapter.Config
		o := cliOptions{}
		if s.apply(&cfg, &o, sample) != nil {
			continue
		}
		keys := configKeys(cfg)
		if cfg.TLS.KeyPassword != "" {
			keys = append(keys, "tls.key_password")
		}
		if cfg.Signer.KeyPassword != "" {
			keys = append(keys, "signer.key_password")
		}
		if o.Output != "" {
			keys = append(keys, "format")
		}
		if o.LogLevel != "" {
			keys = append(keys, "log_level")
		}
		if o.DataDir != "" {
			keys = append(keys, "data_dir")
		}
		return keys
	}
	return nil
}

// configKeys lists the keys of cfg that are set, as dotted JSON names (tls.cert_file,
// base_urls.local), sorted.
func configKeys(cfg adapter.Config) []string {
	flat := flattenConfig(cfg)
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// flattenConfig returns the set values of cfg by dotted JSON key (maps and objects are
// walked; zero values are left out).
func flattenConfig(cfg adapter.Config) map[string]string {
	raw, _ := json.Marshal(cfg)
	var m map[string]any
	json.Unmarshal(raw, &m)
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, e)
			}
		case string:
			if x != "" && x != "0s" {
				out[prefix] = x
			}
		case bool:
			if x {
				out[prefix] = "true"
			}
		case float64:
			if x != 0 {
				out[prefix] = strconv.FormatFloat(x, 'f', -1, 64)
			}
		case nil:
		default:
			b, _ := json.Marshal(x)
			out[prefix] = string(b)
		}
	}
	walk("", m)
	return out
}

// checkProductionLock refuses the prod environment without the explicit opt-in. It runs
// before a client is built, so commands that send nothing (endpoints) work without it.
func checkProductionLock(cfg adapter.Config) error {
	if cfg.Environment == "prod" && !cfg.AllowProduction {
		return &adapter.InputError{Field: "environment", Value: "prod",
			Msg: "production needs an explicit opt-in",
			Fix: `set "allow_production": true in the config file or FSEPUGLIA_ALLOW_PRODUCTION=1 (there is deliberately no flag)`}
	}
	return nil
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// readConfigFile decodes the JSON config at path into cfg with adapter.LoadConfig and says
// whether the file exists. A missing file is an error only when the path was given
// explicitly (flag or FSEPUGLIA_CONFIG).
func readConfigFile(path string, explicit bool, cfg *adapter.Config) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && !explicit {
		return false, nil
	}
	c, err := adapter.LoadConfig(path)
	if err != nil {
		var ce *adapter.ConfigError
		if errors.As(err, &ce) && ce.Field == "config" && explicit {
			ce.Fix = "check the path given to --config or FSEPUGLIA_CONFIG, or see fsepuglia help config"
		}
		return true, err
	}
	*cfg = c
	return true, nil
}

// readSecretFile reads a password from a file, without its trailing newline.
func readSecretFile(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", &adapter.InputError{Field: "key-password-file", Value: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)),
			Fix: "give a readable file holding only the password"}
	}
	return strings.TrimRight(string(raw), "\r\n"), nil
}

// unwrapPath drops the path from a *fs.PathError (the caller names the file itself).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
