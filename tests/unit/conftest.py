"""Unit-test isolation: secrets one test registers are not redacted in the next one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from holdtime import redaction


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    """holdtime.redaction is process-wide (as in a real run); each unit test starts empty.

    Without this, a fuzzed inventory whose literal password happened to be `reject` made every
    later message read `one of ***, accept-new, warn`.
    """
    yield
    redaction.forget_all()
