package main

import (
	"flag"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/xrash/smetrics"
)

// allowInterspersed lets a leaf command take its flags before and after its arguments
// (`retrieve ID --patient CF -o FILE`), which urfave/cli v2 does not do by itself: the
// command skips urfave's flag parsing and its action re-parses the raw arguments with the
// command's own flags, flags first, then the positional arguments.
//
// Global flags may follow the command too (`fsepuglia endpoints --env prod`): a flag the
// command does not have but the app does is collected and handed to reload, which loads
// the configuration again with it (same precedence as before the command: flags win).
// A command's own flag wins over a global one of the same name (`sim --data-dir`).
// Commands that print results also take --format/--output after their name.
func allowInterspersed(cmd *cli.Command, globals []cli.Flag, reload func(c *cli.Context, global *flag.FlagSet) error) {
	for _, sub := range cmd.Subcommands {
		allowInterspersed(sub, globals, reload)
	}
	if cmd.Action == nil || len(cmd.Subcommands) > 0 {
		return
	}
	action := cmd.Action
	cmd.SkipFlagParsing = true
	cmd.Action = func(c *cli.Context) error {
		sp, err := splitArgs(cmd, globals, c.Args().Slice())
		if err != nil {
			return err
		}
		if sp.help {
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
		if err := set.Parse(append(append(sp.flags, "--"), sp.pos...)); err != nil {
			return usagef("%s: %v (see fsepuglia %s --help)", cmd.Name, err, cmd.Name)
		}
		syncAliases(cmd, set)
		if len(sp.global) > 0 {
			gset := flag.NewFlagSet("fsepuglia", flag.ContinueOnError)
			gset.SetOutput(io.Discard)
			for _, f := range globals {
				if err := f.Apply(gset); err != nil {
					return err
				}
			}
			if err := gset.Parse(sp.global); err != nil {
				return usagef("%v (see fsepuglia --help)", err)
			}
			if err := reload(c, gset); err != nil {
				return err
			}
		}
		nc := cli.NewContext(c.App, set, c)
		nc.Command = cmd
		return action(nc)
	}
}

// splitArgs is what splitArgs found in a leaf command's raw arguments.
type split struct {
	flags  []string // the command's own flag tokens
	global []string // global flag tokens given after the command
	pos    []string // positional arguments
	help   bool
}

// splitArgs separates the command's flags, the global flags and the positional arguments
// of raw. An unknown flag is a usage error that suggests the closest known name.
func splitArgs(cmd *cli.Command, globals []cli.Flag, raw []string) (split, error) {
	var sp split
	for i := 0; i < len(raw); i++ {
		a := raw[i]
		if a == "--" {
			sp.pos = append(sp.pos, raw[i+1:]...)
			return sp, nil
		}
		if len(a) < 2 || a[0] != '-' {
			sp.pos = append(sp.pos, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			return split{help: true}, nil
		}
		dst := &sp.flags
		f := findFlag(cmd.Flags, name)
		if f == nil {
			if f = findFlag(globals, name); f == nil {
				return split{}, usagef("%s: unknown flag %s%s (see fsepuglia %s --help)", cmd.Name, a, didYouMean(name, flagNames(cmd.Flags, globals), "--"), cmd.Name)
			}
			dst = &sp.global
		}
		*dst = append(*dst, a)
		if _, isBool := f.(*cli.BoolFlag); isBool || hasValue {
			continue
		}
		if i+1 >= len(raw) {
			return split{}, usagef("%s: flag %s needs a value", cmd.Name, a)
		}
		i++
		*dst = append(*dst, raw[i])
	}
	return sp, nil
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func flagNames(lists ...[]cli.Flag) []string {
	var names []string
	for _, l := range lists {
		for _, f := range l {
			names = append(names, f.Names()...)
		}
	}
	return names
}

// didYouMean returns `; did you mean PREFIX+name?` for the known name closest to typed,
// or "" when none is close enough (Jaro-Winkler similarity at least 0.85, or typed is a
// prefix of exactly one name).
func didYouMean(typed string, known []string, prefix string) string {
	best, score := "", 0.0
	var prefixed []string
	for _, k := range known {
		if len(k) < 2 {
			continue
		}
		if strings.HasPrefix(k, typed) {
			prefixed = append(prefixed, k)
		}
		if s := smetrics.JaroWinkler(typed, k, 0.7, 4); s > score {
			best, score = k, s
		}
	}
	if len(prefixed) == 1 {
		best, score = prefixed[0], 1
	}
	if score < 0.85 {
		return ""
	}
	return "; did you mean " + prefix + best + "?"
}

// commandNames lists the names and aliases of cmds, sorted.
func commandNames(cmds []*cli.Command) []string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	sort.Strings(names)
	return names
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
