"""Inventory size, NUL bytes and alias counting, through the real `holdtime` console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from holdtime.yaml_nodes import MAX_ALIAS_VALUES, audit

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))


def _validate(path: Path) -> tuple[int, list[str]]:
    done = subprocess.run(
        [HOLDTIME, "inventory", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done.returncode, done.stderr.splitlines()


def test_a_nul_byte_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    """A NUL byte in a value: file:line:col of it, one line, exit 2."""
    path = tmp_path / "inventory.yaml"
    path.write_bytes(b"version: 1\ntcp:\n  - name: a\x00b\n    host: 10.0.0.1\n    port: 22\n")
    assert (2, [f"{path}:3:12: invalid YAML: a NUL byte is not allowed here; remove it",
                f"{path}: 1 problem"]) == _validate(path)  # fmt: skip


def test_a_control_character_after_crlf_lines_is_located(tmp_path: Path) -> None:
    """CRLF line ends count as one line break; the control character's column is exact."""
    path = tmp_path / "inventory.yaml"
    path.write_bytes(b"version: 1\r\ntcp: []\r\n# note\x07\r\n")
    assert (
        2,
        [f"{path}:3:7: invalid YAML: control character #x0007 is not allowed here; remove it",
         f"{path}: 1 problem"],
    ) == _validate(path)  # fmt: skip


def test_a_60_mb_inventory_is_refused_by_its_size_before_parsing(tmp_path: Path) -> None:
    """A 60 MB file: one line naming its size and the 4 MB limit; nothing is parsed."""
    path = tmp_path / "inventory.yaml"
    with path.open("wb") as stream:
        stream.write(b"version: 1\ntcp:\n")
        stream.truncate(60_000_000)  # sparse: a NUL-filled tail the parser never reaches
    assert (
        2,
        [f"{path}: 60.0 MB is more than the 4 MB an inventory may have (thousands of devices "
         "fit in 1 MB): is it the right file?", f"{path}: 1 problem"],
    ) == _validate(path)  # fmt: skip


def test_many_plain_values_are_not_an_alias_bomb(tmp_path: Path) -> None:
    """More values than the alias limit, but no alias: the real problem, not 'alias bomb'."""
    path = tmp_path / "inventory.yaml"
    values = ", ".join(["ns"] * (MAX_ALIAS_VALUES + 1))
    path.write_text(
        f"version: 1\ntcp:\n  - {{name: a, host: 10.0.0.1, port: 22, netns: [{values}]}}\n"
    )
    assert (
        2,
        [f"{path}:3:48: tcp[0].netns: must be a name, not a list", f"{path}: 1 problem"],
    ) == (_validate(path))


def test_an_alias_bomb_is_still_caught(tmp_path: Path) -> None:
    """Nine levels of ten aliases (a billion values): one line at the level that crosses."""
    path = tmp_path / "inventory.yaml"
    lines = ["x0: &x0 [a, a, a, a, a, a, a, a, a, a]"]
    lines += [f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path.write_text("\n".join(lines) + "\n")
    assert (2, [f"{path}:6:5: aliases expand to more than 200000 values (alias bomb?)",
                f"{path}: 1 problem"]) == _validate(path)  # fmt: skip


def test_audit_counts_alias_expansions_not_plain_values() -> None:
    """300k written values pass the audit; 300k values reached through one alias do not."""
    plain = [yaml.ScalarNode("tag:yaml.org,2002:str", "v") for _ in range(300_000)]
    flat = yaml.SequenceNode("tag:yaml.org,2002:seq", plain)
    aliased_block = yaml.SequenceNode("tag:yaml.org,2002:seq", plain[:1000])
    bomb = yaml.SequenceNode("tag:yaml.org,2002:seq", [aliased_block] * 300)
    problems: list[str] = []
    flat_ok = audit(flat, lambda node, message: problems.append(message))
    bomb_ok = audit(bomb, lambda node, message: problems.append(message))
    assert (True, False, ["aliases expand to more than 200000 values (alias bomb?)"]) == (
        flat_ok,
        bomb_ok,
        problems,
    )
