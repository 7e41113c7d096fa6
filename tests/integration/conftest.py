"""Shared integration fixtures: the built-in lab (prefix `htlab-`), up once per session."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from holdtime.errors import PrerequisiteError
from holdtime.lab import Lab
from holdtime.lab.prereqs import missing_prerequisites
from holdtime.lab.topology import LDAP_PASSWORD_ENV

# HOLDTIME_TEST_LAB_PREFIX lets two test runs (a checkout and a clean clone) share a machine.
LAB_PREFIX = os.environ.get("HOLDTIME_TEST_LAB_PREFIX", "htlab-")
# Every lab inventory names this variable for its controllers' service account (`ldaps:`): one
# password for the session, which every lab built in it (`lab up` takes it) and every
# `holdtime check -i <lab inventory>` (subprocesses inherit it) share.
os.environ.setdefault(LDAP_PASSWORD_ENV, secrets.token_urlsafe(24))


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
    # a lab left up by an earlier run keeps the password it was built with
    os.environ[LDAP_PASSWORD_ENV] = instance.ldap_password()
    try:
        yield instance
    finally:
        instance.down()
