package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// The completion scripts ask the binary itself for the candidates: urfave/cli answers
// `fsepuglia … --generate-bash-completion` with the commands, subcommands or flags that fit.
const bashCompletion = `# bash completion for fsepuglia: source <(fsepuglia completion bash)
_fsepuglia_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}" opts
  if [[ "$cur" == -* ]]; then
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _fsepuglia_complete fsepuglia
`

const zshCompletion = `#compdef fsepuglia
# zsh completion for fsepuglia: fsepuglia completion zsh > "${fpath[1]}/_fsepuglia"
_fsepuglia() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} "$cur" --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ -n "${opts[1]}" ]]; then
    compadd -a opts
  else
    _files
  fi
}
compdef _fsepuglia fsepuglia
`

func completionCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: "Examples:\n" +
			"  source <(fsepuglia completion bash)                       # this shell; add it to ~/.bashrc to keep it\n" +
			"  fsepuglia completion zsh > \"${fpath[1]}/_fsepuglia\"       # then restart zsh\n" +
			"  fsepuglia completion fish > ~/.config/fish/completions/fsepuglia.fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion needs one shell: bash, zsh or fish")
			}
			switch sh := c.Args().First(); sh {
			case "bash":
				fmt.Fprint(a.stdout, bashCompletion)
			case "zsh":
				fmt.Fprint(a.stdout, zshCompletion)
			case "fish":
				// A fresh app without the help command: urfave's fish generator recurses
				// forever through the help command it adds to every command group.
				fa := newAppWith(a.stdout, a.stderr, a.deps)
				fa.HideHelpCommand = true
				s, err := fa.ToFishCompletion()
				if err != nil {
					return fmt.Errorf("completion fish: %w", err)
				}
				fmt.Fprint(a.stdout, s)
			default:
				return usagef("completion: unknown shell %q%s: use bash, zsh or fish", sh, didYouMean(sh, []string{"bash", "zsh", "fish"}, ""))
			}
			return nil
		},
	}
}
