"""--shard I/N: a stable partition of the inventory's devices."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdtime.errors import ConfigError
from holdtime.exporters.sharding import Shard, hashmod, parse_shard


@given(st.lists(st.text(min_size=1), min_size=1, max_size=50), st.integers(1, 9))
def test_every_device_is_owned_by_exactly_one_shard(devices: list[str], count: int) -> None:
    """For any N, each device belongs to exactly one of the N shards."""
    owners = [[i for i in range(count) if Shard(i, count).owns(d)] for d in devices]
    assert [1] * len(devices) == [len(o) for o in owners]


def test_hashmod_is_md5_low_64_bits_modulo() -> None:
    """hashmod takes the last 8 bytes of md5 as big-endian: md5('') ends in ...ecf8427e."""
    # md5("") = d41d8cd98f00b204 e9800998ecf8427e
    assert 0xE9800998ECF8427E % 1000003 == hashmod("", 1000003)


@pytest.mark.parametrize("text", ["3/3", "1", "-1/2", "a/b", "0/0", "1/"])
def test_bad_shard_is_one_line_config_error(text: str) -> None:
    """Anything but I/N with 0 <= I < N is rejected with the expected form in the message."""
    with pytest.raises(ConfigError, match="expected I/N with 0 <= I < N"):
        parse_shard(text)


def test_parse_shard() -> None:
    """`1/3` is shard index 1 of 3."""
    assert Shard(1, 3) == parse_shard("1/3")
