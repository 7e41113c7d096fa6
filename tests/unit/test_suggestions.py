"""The did-you-mean hint every unknown-name message shares."""

from __future__ import annotations

from holdtime.suggestions import did_you_mean, listing


def test_the_closest_choice_is_suggested() -> None:
    assert did_you_mean("dc3", ["dc1", "esg1"]) == " (did you mean 'dc1'?)"


def test_nothing_close_suggests_nothing() -> None:
    assert did_you_mean("zzzz", ["dc1", "esg1"]) == ""
    assert did_you_mean("dc1", []) == ""


def test_a_mapping_offers_its_keys() -> None:
    assert did_you_mean("timeot", {"timeout": 1, "port": 2}) == " (did you mean 'timeout'?)"


def test_listing_sorts_and_names_an_empty_set() -> None:
    assert listing({"b", "a"}) == "a, b"
    assert listing([]) == "none"
    assert listing([], empty="no entries") == "no entries"
