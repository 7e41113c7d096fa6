"""A lab's state folder and lock are keyed by its exact prefix; damaged or foreign state named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from holdtime.errors import ConfigError
from holdtime.lab import Lab
from holdtime.lab.health import build_problems
from holdtime.lab.lab import STATE_ROOT


def test_trailing_separator_is_another_lab() -> None:
    """`hlb`, `hlb-`, `hlb_` and `hlb.` have four state folders and four locks, named as typed."""
    labs = [Lab(prefix=prefix) for prefix in ("hlb", "hlb-", "hlb_", "hlb.")]
    assert [STATE_ROOT / "hlb", STATE_ROOT / "hlb-", STATE_ROOT / "hlb_", STATE_ROOT / "hlb."] == [
        lab.root for lab in labs
    ]
    assert 4 == len({lab.lock_path for lab in labs})
    assert [".hlb.lock", ".hlb-.lock", ".hlb_.lock", ".hlb..lock"] == [
        lab.lock_path.name for lab in labs
    ]


def test_lock_names_never_meet_a_state_folder() -> None:
    """A lock file starts with `.` and a prefix never does, so no lab's folder is another's lock."""
    lab = Lab(prefix="a.lock")
    assert (STATE_ROOT / "a.lock", STATE_ROOT / ".a.lock.lock") == (lab.root, lab.lock_path)
    assert STATE_ROOT / ".a.lock" == Lab(prefix="a").lock_path


def test_down_refuses_a_folder_written_for_another_prefix(tmp_path: Path) -> None:
    """A folder whose state.json names lab `hlb-` (an older holdtime's key) is not `hlb`'s."""
    folder = tmp_path / "hlb"
    folder.mkdir()
    (folder / "state.json").write_text(json.dumps({"prefix": "hlb-", "pids": {}, "holders": {}}))
    (folder / "client_key").write_text("key of lab hlb-")
    with pytest.raises(ConfigError) as caught:
        Lab(prefix="hlb", state_dir=folder).down()
    assert (
        f"{folder} belongs to lab 'hlb-' (written by an older holdtime): "
        "`holdtime lab down --prefix hlb-` first"
    ) == str(caught.value)
    assert "key of lab hlb-" == (folder / "client_key").read_text()


def test_damaged_state_file_is_named(tmp_path: Path) -> None:
    """A state.json cut short (an `up` killed mid-write by an older holdtime) is a named problem."""
    (tmp_path / "state.json").write_text('{"prefix": "hlbu-", "pids": {"router-zeb')
    found = Lab(prefix="hlbu-", state_dir=tmp_path).findings(sessions=False)
    assert ("damaged", "state file state.json (damaged: not JSON)") == (
        found.state,
        next(p for p in build_problems(found) if p.startswith("state file")),
    )


def test_half_built_state_names_stage_and_processes(tmp_path: Path) -> None:
    """A state file of an `up` stopped during FRR names the stage and every daemon not running."""
    state = {"prefix": "hlbu-", "stage": "frr", "bfd": False, "pids": {}, "holders": {}}
    (tmp_path / "state.json").write_text(json.dumps(state))
    found = Lab(prefix="hlbu-", state_dir=tmp_path).findings(sessions=False)
    assert [
        "a finished `holdtime lab up` (it stopped during: frr)",
        "namespaces hlbu-mgmt, hlbu-app, hlbu-router, hlbu-esg1, hlbu-esg2, hlbu-dr, hlbu-db, "
        "hlbu-dc1, hlbu-dc2, hlbu-kms",
        "processes namespace holder on router, esg1, esg2, dr; charon-router on esg1, esg2; "
        "charon-esg1 on router; charon-esg2 on router; zebra on router, esg1, esg2, dr; "
        "bgpd on router, esg1, esg2, dr; sshd on router, esg1, esg2; named on dc1, dc2; "
        "slapd on dc1, dc2; pykmip on kms",
    ] == build_problems(found)
