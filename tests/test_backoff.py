"""The shared backoff formula and time-of-day parsing."""

from __future__ import annotations

import random
from datetime import time as dtime

import pytest

from bot.chat.timeofday import parse_hhmm, parse_quiet_hours
from bot.ops.backoff import backoff


def test_backoff_doubles_from_base_up_to_cap() -> None:
    assert [backoff(n, base=5, cap=60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert backoff(0, base=5, cap=60) == 5
    assert backoff(10_000, base=5, cap=60) == 60  # no overflow for absurd attempt counts


def test_backoff_cap_below_base_gives_base() -> None:
    assert backoff(3, base=900, cap=60) == 900


def test_backoff_jitter_stays_in_band() -> None:
    rng = random.Random(7)
    values = [backoff(2, base=5, cap=3600, jitter=0.2, rng=rng) for _ in range(200)]
    assert min(values) >= 8.0 and max(values) <= 12.0
    assert len(set(values)) > 100


def test_parse_hhmm() -> None:
    assert parse_hhmm("7:30") == dtime(7, 30)
    assert parse_hhmm(" 23:59 ") == dtime(23, 59)
    for bad in ("99:99", "24:00", "7", "7:3", "aa:bb", "007:30", ""):
        with pytest.raises(ValueError):
            parse_hhmm(bad)


def test_parse_quiet_hours() -> None:
    assert parse_quiet_hours("") is None
    assert parse_quiet_hours("22:00-06:00") == (dtime(22), dtime(6))
    for bad in ("22:00", "22:00-22:00", "x-y"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)
