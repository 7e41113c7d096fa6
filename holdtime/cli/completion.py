"""`holdtime completion bash|zsh`: a shell completion script generated from the argparse tree.

The script holds the tree as tables (each command's subcommands, options, the options that take
a value, the choices of options and positionals), so completing a subcommand or an option runs
nothing. What changes without a new script is asked of holdtime when it is completed: check
names for `--only` and `describe` (`holdtime completion --list checks`: the entry point names,
nothing imported), report formats (`--list formats`), and the scenarios of `holdtime drill`
(`--list drills -i INVENTORY`: the `drills:` keys of the inventory the command line names, read
with a plain YAML load, not a full validation, so an unset password variable does not matter).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from holdtime.cli.arguments import ReportFormats

SHELLS = ("bash", "zsh")
LISTS = ("checks", "formats", "drills")
ROOT = "holdtime"


def register(subparsers: Any) -> None:
    """Add `completion` (and its hidden `--list`, which the generated scripts call)."""
    completion = subparsers.add_parser(
        "completion",
        help="print a bash or zsh completion script",
        description=(
            "Print a completion script for SHELL. bash: add `source <(holdtime completion bash)` "
            "to ~/.bashrc. zsh: `holdtime completion zsh > ~/.zfunc/_holdtime` with ~/.zfunc in "
            "fpath before compinit (or `source <(holdtime completion zsh)` after compinit)."
        ),
    )
    completion.add_argument("shell", nargs="?", choices=SHELLS, help="bash or zsh")
    completion.add_argument("--list", choices=LISTS, help=argparse.SUPPRESS)
    completion.add_argument("-i", "--inventory", type=Path, help=argparse.SUPPRESS)
    completion.set_defaults(handler=run_completion)


def run_completion(args: argparse.Namespace) -> int:
    """Handler of `holdtime completion`."""
    if args.list:
        names = _listed(args.list, args.inventory)
        if names is None:
            return 2  # the script sends stderr nowhere and offers nothing
        for name in names:
            print(name)
        return 0
    if args.shell is None:
        print("holdtime completion: error: name a shell: bash or zsh", file=sys.stderr)
        return 2
    from holdtime.cli import build_parser

    tree = command_tree(build_parser())
    print(bash_script(tree) if args.shell == "bash" else zsh_script(tree), end="")
    return 0


# -- the dynamic lists -----------------------------------------------------------------------
def _listed(kind: str, inventory: Path | None) -> list[str] | None:
    if kind == "checks":
        from importlib.metadata import entry_points

        return sorted({entry.name for entry in entry_points(group="holdtime.checks")})
    if kind == "formats":
        return sorted(ReportFormats())
    if inventory is None:
        print("holdtime completion: error: --list drills needs -i INVENTORY", file=sys.stderr)
        return None
    return _drill_names(inventory)


def _drill_names(inventory: Path) -> list[str] | None:
    import yaml

    try:
        data = yaml.safe_load(inventory.expanduser().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        print(f"holdtime completion: error: {inventory}: {exc}", file=sys.stderr)
        return None
    drills = data.get("drills") if isinstance(data, dict) else None
    return sorted(str(name) for name in drills) if isinstance(drills, dict) else []


# -- the tree --------------------------------------------------------------------------------
class Command:
    """One command of the tree: `holdtime`, `holdtime inventory`, `holdtime inventory validate`.

    A plain class, not a dataclass: `holdtime --help` imports this module, and the dataclasses
    module alone costs it ~15 ms (bench/cli_startup.py).
    """

    __slots__ = ("choices", "commands", "dynamic", "options", "path", "valued")

    def __init__(self, path: str) -> None:
        self.path = path
        self.commands: list[str] = []
        self.options: list[str] = []
        self.valued: list[str] = []  # options that take a value
        self.choices: dict[str, list[str]] = {}  # "--opt" or "#N" -> words
        self.dynamic: dict[str, str] = {}  # "--opt" or "#N" -> a LISTS kind


def command_tree(parser: argparse.ArgumentParser) -> list[Command]:
    """Every command reachable from `parser`, parents first (hidden options left out)."""
    return list(_walk(parser, ROOT))


def _walk(parser: argparse.ArgumentParser, path: str) -> Iterator[Command]:
    command = Command(path)
    children: list[tuple[str, argparse.ArgumentParser]] = []
    position = 0
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                command.commands.append(name)
                children.append((name, child))
            continue
        if action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            command.options.extend(action.option_strings)
            if action.nargs != 0:
                command.valued.extend(action.option_strings)
                for option in action.option_strings:
                    _values(command, option, action)
        else:
            _values(command, f"#{position}", action)
            position += 1
    yield command
    for name, child in children:
        yield from _walk(child, f"{path} {name}")


def _values(command: Command, key: str, action: argparse.Action) -> None:
    """What completes the value of an option (or a positional) `key`."""
    metavar = action.metavar if isinstance(action.metavar, str) else ""
    if action.dest in {"only", "check_name"}:
        command.dynamic[key] = "checks"
    elif action.dest == "scenario":
        command.dynamic[key] = "drills"
    elif isinstance(action.choices, ReportFormats):
        command.dynamic[key] = "formats"  # third-party formats come and go with packages
    elif action.choices is not None:
        command.choices[key] = [str(choice) for choice in action.choices]
    elif "DIR" in metavar:
        command.dynamic[key] = "dirs"
    elif action.type is Path or "FILE" in metavar or action.dest in {"file", "journal"}:
        command.dynamic[key] = "files"


# -- the scripts -----------------------------------------------------------------------------
def _table(name: str, rows: dict[str, str], declare: str) -> str:
    body = "".join(f"\n  [{shlex.quote(key)}]={shlex.quote(value)}" for key, value in rows.items())
    return f"{declare} {name}=({body}\n)\n"


def _zsh_table(name: str, rows: dict[str, str]) -> str:
    body = "".join(f"\n  {shlex.quote(key)} {shlex.quote(value)}" for key, value in rows.items())
    return f"typeset -gA {name}=({body}\n)\n"


def _tables(tree: list[Command]) -> dict[str, dict[str, str]]:
    """The tree as five flat string tables, keyed by `PATH` or `PATH KEY`."""
    tables: dict[str, dict[str, str]] = {
        "commands": {},
        "options": {},
        "valued": {},
        "choices": {},
        "dynamic": {},
    }
    for command in tree:
        if command.commands:
            tables["commands"][command.path] = " ".join(command.commands)
        tables["options"][command.path] = " ".join(command.options)
        tables["valued"][command.path] = " ".join(command.valued)
        for key, words in command.choices.items():
            tables["choices"][f"{command.path} {key}"] = " ".join(words)
        for key, kind in command.dynamic.items():
            tables["dynamic"][f"{command.path} {key}"] = kind
    return tables


def bash_script(tree: list[Command]) -> str:
    """The bash completion script (bash 4 or later: associative arrays)."""
    from holdtime import __version__

    tables = "".join(
        _table(f"_holdtime_{name}", rows, "declare -gA") for name, rows in _tables(tree).items()
    )
    return _BASH.replace("@VERSION@", __version__).replace("@TABLES@", tables)


def zsh_script(tree: list[Command]) -> str:
    """The zsh completion script (an fpath file `_holdtime`, or sourced after compinit)."""
    from holdtime import __version__

    tables = "".join(_zsh_table(f"_holdtime_{name}", rows) for name, rows in _tables(tree).items())
    return _ZSH.replace("@VERSION@", __version__).replace("@TABLES@", tables)


_BASH = r"""# bash completion for holdtime @VERSION@ (generated by `holdtime completion bash`)
# Use: source <(holdtime completion bash)     (e.g. in ~/.bashrc)
@TABLES@
_holdtime_list() {
    command "${COMP_WORDS[0]}" completion --list "$@" 2>/dev/null
}

_holdtime() {
    local cur="${COMP_WORDS[COMP_CWORD]}" node=holdtime word opt="" inventory="" i npos=0 key
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        if [[ $word == -* ]]; then
            if [[ " ${_holdtime_valued[$node]} " == *" $word "* ]]; then
                # bash splits --opt=value into --opt, =, value
                [[ ${COMP_WORDS[i + 1]} == "=" ]] && ((i++))
                if ((i + 1 >= COMP_CWORD)); then
                    opt="$word"
                    [[ $cur == "=" ]] && cur=""
                    break
                fi
                ((i++))
                [[ $word == -i || $word == --inventory ]] && inventory="${COMP_WORDS[i]}"
            fi
            continue
        fi
        if [[ " ${_holdtime_commands[$node]} " == *" $word "* ]]; then
            node="$node $word"
            npos=0
            continue
        fi
        ((npos++))
    done
    COMPREPLY=()
    if [[ -n $opt ]]; then
        key="$node $opt"
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "${_holdtime_options[$node]}" -- "$cur"))
        return 0
    elif [[ -n ${_holdtime_commands[$node]} ]]; then
        COMPREPLY=($(compgen -W "${_holdtime_commands[$node]}" -- "$cur"))
        return 0
    else
        key="$node #$npos"
    fi
    if [[ -n ${_holdtime_choices[$key]} ]]; then
        COMPREPLY=($(compgen -W "${_holdtime_choices[$key]}" -- "$cur"))
        return 0
    fi
    case "${_holdtime_dynamic[$key]}" in
    checks | formats)
        COMPREPLY=($(compgen -W "$(_holdtime_list "${_holdtime_dynamic[$key]}")" -- "$cur"))
        ;;
    drills)
        [[ -n $inventory ]] || return 0
        inventory="${inventory/#\~/$HOME}"
        COMPREPLY=($(compgen -W "$(_holdtime_list drills -i "$inventory")" -- "$cur"))
        ;;
    files)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        ;;
    dirs)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -d -- "$cur"))
        ;;
    esac
    return 0
}

complete -F _holdtime holdtime
"""

_ZSH = r"""#compdef holdtime
# zsh completion for holdtime @VERSION@ (generated by `holdtime completion zsh`)
# Use: holdtime completion zsh > ~/.zfunc/_holdtime  (~/.zfunc in fpath before compinit),
# or: source <(holdtime completion zsh)  (after compinit)
@TABLES@
_holdtime() {
    # node: the command words so far ("holdtime lab up"); never `path`, zsh's alias of $PATH
    local cur=${words[CURRENT]} node=holdtime word opt= inventory= key
    local -i i npos=0
    local -a found
    for ((i = 2; i < CURRENT; i++)); do
        word=${words[i]}
        if [[ $word == -* ]]; then
            if [[ " ${_holdtime_valued[$node]} " == *" $word "* ]]; then
                if ((i + 1 == CURRENT)); then
                    opt=$word
                    break
                fi
                ((i++))
                [[ $word == -i || $word == --inventory ]] && inventory=${words[i]}
            elif [[ $word == --inventory=* ]]; then
                inventory=${word#*=}
            fi
            continue
        fi
        if [[ " ${_holdtime_commands[$node]} " == *" $word "* ]]; then
            node="$node $word"
            npos=0
            continue
        fi
        ((npos++))
    done
    if [[ -z $opt && $cur == --*=* ]]; then
        opt=${cur%%=*}
        compset -P '*='
        cur=${cur#*=}
    fi
    if [[ -n $opt ]]; then
        key="$node $opt"
    elif [[ $cur == -* ]]; then
        compadd -- ${=_holdtime_options[$node]}
        return
    elif [[ -n ${_holdtime_commands[$node]} ]]; then
        compadd -- ${=_holdtime_commands[$node]}
        return
    else
        key="$node #$npos"
    fi
    if [[ -n ${_holdtime_choices[$key]} ]]; then
        compadd -- ${=_holdtime_choices[$key]}
        return
    fi
    local kind=${_holdtime_dynamic[$key]}
    case $kind in
    checks | formats)
        found=(${(f)"$(command ${words[1]} completion --list $kind 2>/dev/null)"})
        compadd -- $found
        ;;
    drills)
        [[ -n $inventory ]] || return
        inventory=${inventory/#\~/$HOME}
        found=(${(f)"$(command ${words[1]} completion --list drills -i $inventory 2>/dev/null)"})
        compadd -- $found
        ;;
    files) _files ;;
    dirs) _files -/ ;;
    esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _holdtime "$@"
else
    compdef _holdtime holdtime
fi
"""
