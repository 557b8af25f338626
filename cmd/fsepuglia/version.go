package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// versionOutput is the JSON of `version` (OUTPUT.md). It comes from the build information
// the Go toolchain embeds in the binary: the module version (v0.x.y when installed with
// `go install github.com/fsepuglia/fsepuglia/cmd/fsepuglia@v0.x.y`, "(devel)" when built
// from a work tree) and, for a build from a git work tree, the VCS revision.
type versionOutput struct {
	Version  string `json:"version"`
	Revision string `json:"revision"`
	Time     string `json:"time"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

// buildVersion reads the version of this binary from runtime/debug.ReadBuildInfo.
func buildVersion() versionOutput {
	v := versionOutput{Version: "(devel)", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the one-line form: `v0.1.0 (rev 1a2b3c4d5e6f, 2026-12-01T08:00:00Z, modified, go1.26.0)`.
func (v versionOutput) String() string {
	var parts []string
	if v.Revision != "" {
		rev := v.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		parts = append(parts, "rev "+rev)
	}
	if v.Time != "" {
		parts = append(parts, v.Time)
	}
	if v.Modified {
		parts = append(parts, "modified")
	}
	parts = append(parts, v.Go)
	return fmt.Sprintf("%s (%s)", v.Version, strings.Join(parts, ", "))
}

func init() {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version (module version and VCS revision) and exit"}
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintf(c.App.Writer, "fsepuglia %s\n", c.App.Version) }
}

func versionCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version: module version, VCS revision and Go version of this build",
		Description: "The same as fsepuglia --version, with --format json for scripts.\n\n" +
			"Examples:\n" +
			"  fsepuglia version\n" +
			"  fsepuglia version --format json",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("version takes no arguments (got %q)", c.Args().First())
			}
			v := buildVersion()
			return a.emit(v, func(w io.Writer) { fmt.Fprintf(w, "fsepuglia %s\n", v) })
		},
	}
}
