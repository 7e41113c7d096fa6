"""The did-you-mean part of an error about a name: one spelling for every such message."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the choice closest to `word`, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def listing(choices: Iterable[str], *, empty: str = "none") -> str:
    """The choices sorted and comma-separated, or `empty` when there are none."""
    return ", ".join(sorted(choices)) or empty
