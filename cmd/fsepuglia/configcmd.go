package main

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// configShowOutput is the JSON of `config show` (OUTPUT.md).
type configShowOutput struct {
	File     configFileOutput      `json:"file"`
	Settings []configSettingOutput `json:"settings"`
}

type configFileOutput struct {
	Path  string `json:"path"`
	From  string `json:"from"`
	Found bool   `json:"found"`
}

type configSettingOutput struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// secretKey matches the keys whose values config show never prints.
var secretKey = regexp.MustCompile(`(?i)(password|secret|token|pin)$`)

// configHelp is `fsepuglia help config`: where the configuration comes from, generated from
// the settings table so that it cannot disagree with what loadConfig does.
func configHelp() string {
	var b strings.Builder
	b.WriteString("Where the configuration comes from, each source overriding the previous one:\n" +
		"  1. a JSON file: --config FILE, else $FSEPUGLIA_CONFIG, else <user config dir>/fsepuglia/config.json\n" +
		"     (~/.config/fsepuglia/config.json on Linux; a missing default file is fine, unknown keys are errors);\n" +
		"     its keys are those of adapter.Config: environment, asl, base_url, base_urls, service_urls, tls.*,\n" +
		"     signer.*, security.*, operator.*, structure.*, application.*, timeout, retries, trace_dir …\n" +
		"  2. FSEPUGLIA_* environment variables;\n" +
		"  3. global flags, before or after the command.\n" +
		"Key passwords come only from FSEPUGLIA_KEY_PASSWORD (FSEPUGLIA_SIGNER_KEY_PASSWORD) or --key-password-file.\n" +
		"Production needs environment prod and \"allow_production\": true in the file or FSEPUGLIA_ALLOW_PRODUCTION=1.\n\n" +
		"No configuration yet? `fsepuglia sim` starts the simulator and writes a client config to use with --config;\n" +
		"for the regional test environment see the README (\"Against the regional test environment\").\n\n" +
		"Settings (environment variable, flag, key):\n")
	tw := newTable(&b)
	for _, s := range settings {
		flag := "(none)"
		if s.flag != "" {
			flag = "--" + s.flag
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.env, flag, strings.Join(s.keys(), " "))
	}
	tw.Flush()
	b.WriteString("\nExamples:\n" +
		"  fsepuglia config show                       # the effective configuration and where each value comes from\n" +
		"  fsepuglia --config /tmp/fsesim/client-config.json config show --format json\n" +
		"  FSEPUGLIA_ENV=test fsepuglia config show")
	return b.String()
}

func configCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:        "config",
		Usage:       "show the effective configuration; `fsepuglia help config` says where it comes from",
		Description: configHelp(),
		Subcommands: []*cli.Command{{
			Name:  "show",
			Usage: "print the effective configuration, where each value comes from, secrets masked",
			Description: "Nothing is contacted and no credential is loaded.\n\nExamples:\n" +
				"  fsepuglia config show\n  fsepuglia config show --format json",
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return usagef("config show takes no arguments (got %q)", c.Args().First())
				}
				return a.emit(a.configShow(), func(w io.Writer) {
					out := a.configShow()
					state := "not found"
					if out.File.Found {
						state = "found"
					}
					if out.File.Path == "" {
						out.File.Path = "(no user config directory)"
					}
					fmt.Fprintf(w, "config file: %s (%s, from %s)\n", out.File.Path, state, out.File.From)
					fmt.Fprintln(w, "KEY\tVALUE\tSOURCE")
					for _, s := range out.Settings {
						fmt.Fprintf(w, "%s\t%s\t%s\n", s.Key, s.Value, s.Source)
					}
				})
			},
		}},
	}
}

// configShow lists every key that has a value, with its source; secrets are masked.
func (a *appEnv) configShow() configShowOutput {
	out := configShowOutput{File: configFileOutput{Path: a.opts.ConfigPath, From: a.opts.ConfigFrom, Found: a.opts.ConfigFound}, Settings: []configSettingOutput{}}
	values := flattenConfig(a.cfg)
	if a.cfg.TLS.KeyPassword != "" {
		values["tls.key_password"] = a.cfg.TLS.KeyPassword
	}
	if a.cfg.Signer.KeyPassword != "" {
		values["signer.key_password"] = a.cfg.Signer.KeyPassword
	}
	values["format"], values["log_level"], values["data_dir"] = a.opts.Output, a.opts.LogLevel, a.opts.DataDir
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, src := values[k], a.opts.Sources[k]
		if secretKey.MatchString(k) {
			v = "(set, hidden)"
		}
		if src == "" {
			src = "file" // a key of a map read from the file (base_urls.local …)
			for p, ps := range a.opts.Sources {
				if strings.HasPrefix(k, p+".") {
					src = ps
				}
			}
		}
		if src == "file" {
			src = "file " + a.opts.ConfigPath
		}
		out.Settings = append(out.Settings, configSettingOutput{Key: k, Value: v, Source: src})
	}
	return out
}
