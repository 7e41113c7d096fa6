"""`holdtime --version [-v]`: the version line, the libraries' versions, no heavy imports."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from holdtime import __version__
from holdtime.cli import main

HEAVY = ("scapy", "paramiko", "pyVmomi", "prometheus_client")


def test_version_alone_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """`holdtime --version` prints only `holdtime X` and exits 0."""
    code = main(["--version"])
    assert (0, f"holdtime {__version__}\n") == (code, capsys.readouterr().out)


def test_verbose_version_lists_python_and_each_library(capsys: pytest.CaptureFixture[str]) -> None:
    """`holdtime --version -v` adds the Python in use and each library's installed version."""
    code = main(["--version", "-v"])
    python = f"Python {platform.python_version()} ({platform.python_implementation()}, "
    expected = [
        f"holdtime {__version__}",
        f"{python}{sys.executable})",
        f"paramiko {metadata.version('paramiko')}",
        f"pyVmomi {metadata.version('pyvmomi')}",
        f"scapy {metadata.version('scapy')}",
        f"prometheus-client {metadata.version('prometheus-client')}",
    ]
    assert (0, expected) == (code, capsys.readouterr().out.splitlines())


def test_verbose_before_version_works_too(capsys: pytest.CaptureFixture[str]) -> None:
    """`holdtime -v --version` is the same as `holdtime --version -v`."""
    main(["-v", "--version"])
    first = capsys.readouterr().out
    main(["--version", "-v"])
    assert first == capsys.readouterr().out


def test_a_missing_library_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A library that is not installed reads `NAME not installed` instead of a traceback."""
    real = metadata.version

    def version(name: str) -> str:
        if name == "scapy":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "version", version)
    assert 0 == main(["--version", "-v"])
    assert "scapy not installed" in capsys.readouterr().out.splitlines()


def test_verbose_without_version_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`holdtime -v` alone is bad usage (exit 2) with a one-line hint."""
    with pytest.raises(SystemExit) as exited:
        main(["-v"])
    expected = "holdtime: error: -v/--verbose goes with --version (holdtime --version -v)"
    assert (2, expected) == (exited.value.code, capsys.readouterr().err.splitlines()[-1])


def test_verbose_version_imports_no_heavy_library() -> None:
    """The versions come from package metadata: scapy, paramiko, pyVmomi are never imported."""
    probe = (
        "import sys, json, contextlib, io\n"
        "from holdtime.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--version', '-v'])\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert [] == [name for name in HEAVY if name in loaded]


def test_a_subcommands_own_verbose_is_not_the_version_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`holdtime check -i FILE -v` is check's -v: it reaches check (here: no such file)."""
    missing = f"{tmp_path}/missing.yaml"
    assert 2 == main(["check", "-i", missing, "-v"])
    assert [f"holdtime: error: {missing}: no such inventory file"] == (
        capsys.readouterr().err.splitlines()[-1:]
    )
