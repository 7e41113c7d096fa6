"""The README's command table names every subcommand (and every action of one) the CLI has."""

from __future__ import annotations

import argparse
from pathlib import Path

from holdtime.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _rows() -> set[tuple[str, ...]]:
    """("check",), ("lab", "up"), ("lab", "down") ... from each row's `holdtime ...` cell."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Commands")
    rows: set[tuple[str, ...]] = set()
    for line in text[start : text.index("\n## ", start + 1)].splitlines():
        if not line.startswith("| `holdtime "):
            continue
        words = line.split("`")[1].split()[1:]
        rows.add((words[0],))
        if len(words) > 1:
            rows |= {(words[0], action) for action in words[1].split("\\|")}
    return rows


def test_every_subcommand_and_action_has_a_row() -> None:
    rows = _rows()
    wanted = []
    for name, sub in _subcommands(build_parser()).items():
        wanted.append((name,))
        wanted += [(name, action) for action in _subcommands(sub)]
    missing = [" ".join(w) for w in wanted if w not in rows]
    assert not missing, f"README.md ## Commands has no row for: {', '.join(missing)}"
