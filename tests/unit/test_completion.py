"""`holdtime completion bash|zsh`: scripts generated from the argparse tree, run by real shells."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from holdtime.cli import build_parser
from holdtime.cli.completion import command_tree

HOLDTIME = Path(sys.executable).with_name("holdtime")
CHECKS = sorted({entry.name for entry in entry_points(group="holdtime.checks")})
FORMATS = sorted(entry.name for entry in entry_points(group="holdtime.reports"))
HEAVY = ("scapy", "paramiko", "pyVmomi", "prometheus_client")
ZSH = shutil.which("zsh")


def _holdtime(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HOLDTIME, *args], capture_output=True, text=True, check=False)


def _script(shell: str, tmp_path: Path) -> Path:
    done = _holdtime("completion", shell)
    assert (0, "") == (done.returncode, done.stderr)
    path = tmp_path / f"holdtime.{shell}"
    path.write_text(done.stdout)
    return path


def bash_complete(tmp_path: Path, *words: str) -> list[str]:
    """What real bash offers for the command line `words` (the last one is being completed)."""
    script = _script("bash", tmp_path)
    array = " ".join(f"'{word}'" for word in words)
    code = (
        f"source {script}; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; _holdtime; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(
        ["bash", "--norc", "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": f"{HOLDTIME.parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert (0, "") == (done.returncode, done.stderr)
    return [line for line in done.stdout.splitlines() if line]


def _drill_inventory(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(
        "version: 1\n"
        "routers:\n  - name: r1\n    host: 10.0.0.1\n    auth: {password_env: UNSET_HERE}\n"
        "drills:\n  esg1-down: {}\n  esg2-down: {}\n  vpn-flap: {}\n"
    )
    return path


def test_top_level_offers_every_subcommand(tmp_path: Path) -> None:
    """`holdtime <TAB>` offers exactly the subcommands the parser has."""
    parser_commands = command_tree(build_parser())[0].commands
    assert parser_commands == bash_complete(tmp_path, "holdtime", "")
    assert "completion" in parser_commands


def test_options_of_a_subcommand_complete_by_prefix(tmp_path: Path) -> None:
    """`holdtime check --w<TAB>` completes to the check subcommand's --workers."""
    assert ["--workers"] == bash_complete(tmp_path, "holdtime", "check", "--w")


def test_nested_subcommands_complete(tmp_path: Path) -> None:
    """`holdtime lab <TAB>` offers the lab's own subcommands."""
    assert ["up", "down", "status", "inventory", "replay"] == bash_complete(
        tmp_path, "holdtime", "lab", ""
    )


def test_option_choices_come_from_the_parser(tmp_path: Path) -> None:
    """`holdtime gap --tool b<TAB>` offers the --tool choices starting with b."""
    assert ["busybox", "bsd"] == bash_complete(tmp_path, "holdtime", "gap", "--tool", "b")


def test_positional_choices_come_from_the_parser(tmp_path: Path) -> None:
    """`holdtime completion <TAB>` offers the shells; the hidden --list is never offered."""
    assert ["bash", "zsh"] == bash_complete(tmp_path, "holdtime", "completion", "")
    assert ["-h", "--help"] == bash_complete(tmp_path, "holdtime", "completion", "-")


def test_only_completes_check_names(tmp_path: Path) -> None:
    """`holdtime check --only bgp.p<TAB>` offers the registered bgp.p* checks."""
    expected = [name for name in CHECKS if name.startswith("bgp.p")]
    assert expected == bash_complete(tmp_path, "holdtime", "check", "-i", "x", "--only", "bgp.p")
    assert len(expected) >= 2


def test_only_with_equals_completes_check_names(tmp_path: Path) -> None:
    """`--only=ipsec.<TAB>` (bash splits it at `=`) offers the ipsec checks."""
    expected = [name for name in CHECKS if name.startswith("ipsec.")]
    assert expected == bash_complete(tmp_path, "holdtime", "check", "--only", "=", "ipsec.")


def test_describe_completes_check_names(tmp_path: Path) -> None:
    """`holdtime describe <TAB>` offers every check."""
    assert CHECKS == bash_complete(tmp_path, "holdtime", "describe", "")


def test_format_completes_the_registered_report_formats(tmp_path: Path) -> None:
    """`holdtime check --format <TAB>` offers the report format entry points."""
    assert FORMATS == bash_complete(tmp_path, "holdtime", "check", "--format", "")


def test_drill_completes_the_scenarios_of_the_named_inventory(tmp_path: Path) -> None:
    """`holdtime drill -i FILE esg<TAB>` offers FILE's drills (unset password env or not)."""
    inventory = _drill_inventory(tmp_path)
    words = ("holdtime", "drill", "-i", str(inventory), "esg")
    assert ["esg1-down", "esg2-down"] == bash_complete(tmp_path, *words)
    long_form = ("holdtime", "drill", "--inventory", "=", str(inventory), "--dry-run", "")
    assert ["esg1-down", "esg2-down", "vpn-flap"] == bash_complete(tmp_path, *long_form)


def test_drill_without_inventory_offers_nothing(tmp_path: Path) -> None:
    """Without -i there is no inventory to read scenarios from: nothing is offered."""
    assert [] == bash_complete(tmp_path, "holdtime", "drill", "")


def test_inventory_option_completes_file_names(tmp_path: Path) -> None:
    """`holdtime check -i si<TAB>` completes file names."""
    _drill_inventory(tmp_path)
    assert ["site.yaml"] == bash_complete(tmp_path, "holdtime", "check", "-i", "si")


def test_list_drills_reads_the_drills_keys(tmp_path: Path) -> None:
    """The hidden `completion --list drills -i FILE` prints one scenario per line."""
    inventory = _drill_inventory(tmp_path)
    done = _holdtime("completion", "--list", "drills", "-i", inventory)
    assert (0, "esg1-down\nesg2-down\nvpn-flap\n") == (done.returncode, done.stdout)


def test_list_drills_of_a_broken_file_fails_with_one_line(tmp_path: Path) -> None:
    """An unreadable inventory gives exit 2, nothing on stdout, one line on stderr."""
    done = _holdtime("completion", "--list", "drills", "-i", tmp_path / "missing.yaml")
    assert (2, "", 1) == (done.returncode, done.stdout, len(done.stderr.splitlines()))


def test_completion_without_a_shell_is_a_usage_error() -> None:
    """`holdtime completion` alone exits 2 and names the shells."""
    done = _holdtime("completion")
    expected = "holdtime completion: error: name a shell: bash or zsh\n"
    assert (2, expected) == (done.returncode, done.stderr)


def test_listing_checks_imports_no_heavy_library() -> None:
    """`completion --list checks` reads entry point names: no probe library is imported."""
    probe = (
        "import sys, json, contextlib, io\n"
        "from holdtime.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['completion', '--list', 'checks'])\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert [] == [name for name in HEAVY if name in json.loads(done.stdout)]


# -- zsh: the real shell, with the completion builtins replaced by functions that print ----------
ZSH_STUBS = (
    'compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }\n'
    '_files() { print -r -- FILES "$@"; }\n'
    "compdef() { :; }\n"
    "compset() { PREFIX=${PREFIX#*=}; }\n"
)


def zsh_complete(tmp_path: Path, *words: str) -> list[str]:
    """What the zsh script offers for `words` (compadd and _files stubbed to print)."""
    script = _script("zsh", tmp_path)
    array = " ".join(f"'{word}'" for word in words)
    code = f"{ZSH_STUBS}source {script}\nwords=({array}); CURRENT={len(words)}; _holdtime\n"
    done = subprocess.run(
        [ZSH or "zsh", "-f", "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": f"{HOLDTIME.parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert "" == done.stderr
    return [line for line in done.stdout.splitlines() if line]


needs_zsh = pytest.mark.skipif(ZSH is None, reason="zsh is not installed (apt-get install zsh)")


@needs_zsh
def test_zsh_offers_subcommands_and_options(tmp_path: Path) -> None:
    """zsh: `holdtime <TAB>` gives the subcommands, `holdtime lab up -<TAB>` the options."""
    assert command_tree(build_parser())[0].commands == zsh_complete(tmp_path, "holdtime", "")
    expected = ["-h", "--help", "--prefix", "--timers", "--bfd", "--timeout"]
    assert expected == zsh_complete(tmp_path, "holdtime", "lab", "up", "-")


@needs_zsh
def test_zsh_completes_checks_choices_and_drills(tmp_path: Path) -> None:
    """zsh: --only gets check names, --tool its choices, drill its inventory's scenarios."""
    assert CHECKS == zsh_complete(tmp_path, "holdtime", "check", "--only", "")
    tools = zsh_complete(tmp_path, "holdtime", "gap", "--tool", "")
    assert ["auto", "iputils", "busybox", "bsd", "fping"] == tools
    inventory = _drill_inventory(tmp_path)
    drills = zsh_complete(tmp_path, "holdtime", "drill", "-i", str(inventory), "")
    assert ["esg1-down", "esg2-down", "vpn-flap"] == drills


@needs_zsh
def test_zsh_completes_files_for_path_options(tmp_path: Path) -> None:
    """zsh: a path option hands over to _files, a directory option to `_files -/`."""
    assert ["FILES"] == zsh_complete(tmp_path, "holdtime", "check", "-i", "")
    assert ["FILES -/"] == zsh_complete(tmp_path, "holdtime", "drill", "--textfile", "")
