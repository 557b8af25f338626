package main

import (
	"flag"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// allowInterspersed lets a leaf command take its flags before and after its arguments
// (`retrieve ID --patient CF -o FILE`), which urfave/cli v2 does not do by itself: the
// command skips urfave's flag parsing and its action re-parses the raw arguments with the
// command's own flags, flags first, then the positional arguments.
//
// Commands that print results also accept the global --output after the command name
// (`fsepuglia search --patient CF --output json`); setOutput applies it.
func allowInterspersed(cmd *cli.Command, setOutput func(string) error) {
	for _, sub := range cmd.Subcommands {
		allowInterspersed(sub, setOutput)
	}
	if cmd.Action == nil || len(cmd.Subcommands) > 0 {
		return
	}
	if !noResults[cmd.Name] && findFlag(cmd, "output") == nil {
		cmd.Flags = append(cmd.Flags, &cli.StringFlag{Name: "output", Usage: "output format: table or json (same as the global --output)"})
	}
	action := cmd.Action
	cmd.SkipFlagParsing = true
	cmd.Action = func(c *cli.Context) error {
		flags, pos, help, err := splitArgs(cmd, c.Args().Slice())
		if err != nil {
			return err
		}
		if help {
			cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, cmd)
			return nil
		}
		set := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
		set.SetOutput(io.Discard)
		for _, f := range cmd.Flags {
			if err := f.Apply(set); err != nil {
				return err
			}
		}
		if err := set.Parse(append(append(flags, "--"), pos...)); err != nil {
			return usagef("%s: %v (see fsepuglia %s --help)", cmd.Name, err, cmd.Name)
		}
		syncAliases(cmd, set)
		if f := set.Lookup("output"); f != nil && !noResults[cmd.Name] && visited(set, "output") {
			if err := setOutput(f.Value.String()); err != nil {
				return err
			}
		}
		nc := cli.NewContext(c.App, set, c)
		nc.Command = cmd
		return action(nc)
	}
}

// splitArgs separates the flag tokens from the positional arguments of raw.
func splitArgs(cmd *cli.Command, raw []string) (flags, pos []string, help bool, err error) {
	for i := 0; i < len(raw); i++ {
		a := raw[i]
		if a == "--" {
			return flags, append(pos, raw[i+1:]...), false, nil
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			return nil, nil, true, nil
		}
		f := findFlag(cmd, name)
		if f == nil {
			return nil, nil, false, usagef("%s: unknown flag %s (see fsepuglia %s --help)", cmd.Name, a, cmd.Name)
		}
		flags = append(flags, a)
		if _, isBool := f.(*cli.BoolFlag); isBool || hasValue {
			continue
		}
		if i+1 >= len(raw) {
			return nil, nil, false, usagef("%s: flag %s needs a value", cmd.Name, a)
		}
		i++
		flags = append(flags, raw[i])
	}
	return flags, pos, false, nil
}

func findFlag(cmd *cli.Command, name string) cli.Flag {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// syncAliases copies the value of a flag given by one of its names (-o) to its other names
// (--output-file), as urfave does after its own parsing.
func syncAliases(cmd *cli.Command, set *flag.FlagSet) {
	visited := map[string]bool{}
	set.Visit(func(f *flag.Flag) { visited[f.Name] = true })
	for _, f := range cmd.Flags {
		names := f.Names()
		for _, n := range names {
			if !visited[n] {
				continue
			}
			v := set.Lookup(n).Value.String()
			for _, other := range names {
				if other != n {
					set.Set(other, v)
				}
			}
			break
		}
	}
}

// noResults names the commands that print no results (no --output of their own).
var noResults = map[string]bool{"sim": true}

func visited(set *flag.FlagSet, name string) bool {
	found := false
	set.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}
