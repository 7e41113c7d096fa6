"""The built wheel gives a working `holdtime` in a clean venv, as `pip install holdtime` would.

The venv sees nothing of this test run: its dependencies come from the package index (as they
do for a user), so a dependency missing from pyproject, or a module missing from the wheel,
fails here and not on the user's machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def _canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (prometheus_client == prometheus-client)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with only the built holdtime wheel (and its dependencies) installed."""
    wheels = tmp_path_factory.mktemp("wheel")
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, REPO, cwd=wheels
    )
    assert 0 == built.returncode, built.stderr
    (wheel,) = wheels.glob("holdtime-*.whl")
    root = tmp_path_factory.mktemp("clean-venv")
    venv.EnvBuilder(with_pip=True).create(root)
    python = root / "bin" / "python"
    installed = _run(
        python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=root
    )
    assert 0 == installed.returncode, installed.stderr
    return root


def test_console_script_prints_the_version(clean_venv: Path, tmp_path: Path) -> None:
    """`holdtime --version` from the clean venv's console script prints the package version."""
    done = _run(clean_venv / "bin" / "holdtime", "--version", cwd=tmp_path)
    expected_version = _run(
        clean_venv / "bin" / "python",
        "-c",
        "from importlib.metadata import version; print(version('holdtime'))",
        cwd=tmp_path,
    ).stdout.strip()
    assert (0, f"holdtime {expected_version}\n", "") == (done.returncode, done.stdout, done.stderr)


def test_python_dash_m_holdtime_prints_help(clean_venv: Path, tmp_path: Path) -> None:
    """`python -m holdtime --help` works from the wheel and lists the subcommands."""
    done = _run(clean_venv / "bin" / "python", "-m", "holdtime", "--help", cwd=tmp_path)
    assert (0, "") == (done.returncode, done.stderr)
    assert done.stdout.startswith("usage: holdtime ")
    for command in ("check", "inventory", "drill", "serve", "completion"):
        assert f"    {command} " in done.stdout


def test_verbose_version_names_the_installed_libraries(clean_venv: Path, tmp_path: Path) -> None:
    """`holdtime --version -v` reports the library versions pip installed into that venv."""
    done = _run(clean_venv / "bin" / "holdtime", "--version", "-v", cwd=tmp_path)
    assert 0 == done.returncode, done.stderr
    freeze = _run(
        clean_venv / "bin" / "python", "-m", "pip", "list", "--format=freeze", cwd=tmp_path
    )
    pinned = dict(line.split("==", 1) for line in freeze.stdout.split())
    by_name = {_canonical(name): version for name, version in pinned.items()}
    expected = [
        f"{name} {by_name[_canonical(name)]}"
        for name in ("paramiko", "pyVmomi", "scapy", "prometheus-client")
    ]
    assert expected == done.stdout.splitlines()[2:]
    assert done.stdout.splitlines()[1].endswith(f", {clean_venv / 'bin' / 'python'})")
