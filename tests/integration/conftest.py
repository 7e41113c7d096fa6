"""Shared integration fixtures: the built-in lab (prefix `htlab-`), up once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from holdtime.errors import PrerequisiteError
from holdtime.lab import Lab
from holdtime.lab.prereqs import missing_prerequisites

# HOLDTIME_TEST_LAB_PREFIX lets two test runs (a checkout and a clean clone) share a machine.
LAB_PREFIX = os.environ.get("HOLDTIME_TEST_LAB_PREFIX", "htlab-")


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The reference deployment in namespaces `htlab-*`, BGP Established; removed at the end."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces, mounts)")
    problems = missing_prerequisites()
    if problems:
        pytest.skip("the lab cannot start, missing: " + "; ".join(problems))
    instance = Lab(prefix=LAB_PREFIX)
    try:
        instance.up(timeout_seconds=90)
    except PrerequisiteError:
        instance.down()
        raise
    try:
        yield instance
    finally:
        instance.down()
