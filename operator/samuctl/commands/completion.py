"""samuctl completion bash|zsh: a shell completion script generated from the parser itself.

Hand-written rather than argcomplete's: argcomplete needs a hook in every shell start and a
Python start per TAB; a static script built from the same parser knows every command, verb
and flag and costs nothing at TAB time.
"""

import argparse
import sys

_BASH = """# samuctl completion for bash: source <(samuctl completion bash)
_samuctl() {{
    local cur words
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    local path="${{COMP_WORDS[1]}}"
    [ "$COMP_CWORD" -gt 2 ] && path="${{COMP_WORDS[1]}} ${{COMP_WORDS[2]}}"
    case "$COMP_CWORD:$path" in
{cases}
    esac
    if [[ "$cur" == -* ]]; then
        words="${{_samuctl_flags[$path]:-${{_samuctl_flags[${{COMP_WORDS[1]}}]}}}}"
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    [ ${{#COMPREPLY[@]}} -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur"))
}}
declare -A _samuctl_flags=(
{flags}
)
complete -F _samuctl samuctl
"""

_ZSH = """#compdef samuctl
# samuctl completion for zsh: source <(samuctl completion zsh)
autoload -U +X bashcompinit && bashcompinit
{bash}"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description="Print a completion script: `source <(samuctl completion bash)` in "
        "~/.bashrc, or `source <(samuctl completion zsh)` in ~/.zshrc.",
    )
    parser.add_argument("shell", choices=("bash", "zsh"))
    parser.set_defaults(func=_completion)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse offers no public walk over its sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(parser: argparse.ArgumentParser) -> str:
    return " ".join(s for a in parser._actions for s in a.option_strings if s.startswith("--"))


def bash_script(root: argparse.ArgumentParser) -> str:
    """The bash script: command names at position 1, verbs at 2, flags per command/verb."""
    commands = _subcommands(root)
    cases = [f'        1:*) words="{" ".join(commands)} --help --version" ;;']
    flags: list[str] = []
    for name, sub in commands.items():
        verbs = _subcommands(sub)
        if verbs:
            cases.append(f'        2:{name}) words="{" ".join(verbs)}" ;;')
            for verb, verb_parser in verbs.items():
                flags.append(f'    ["{name} {verb}"]="{_flags(verb_parser)}"')
        else:
            flags.append(f'    ["{name}"]="{_flags(sub)}"')
            positional = [a for a in sub._actions if not a.option_strings and a.choices]
            if positional:
                choices = " ".join(str(c) for c in positional[0].choices)
                cases.append(f'        2:{name}) words="{choices}" ;;')
    return _BASH.format(cases="\n".join(cases), flags="\n".join(flags))


def _completion(args: argparse.Namespace) -> int:
    from samuctl.main import build_parser

    script = bash_script(build_parser())
    sys.stdout.write(script if args.shell == "bash" else _ZSH.format(bash=script))
    return 0
