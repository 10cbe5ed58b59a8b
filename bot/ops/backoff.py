"""Capped exponential backoff: the one formula behind every "try again later" in the bot.

Used for a failing source (poller), a delivery that met ``RetryLater`` (delivery) and a
failing long poll (Zalo adapter). Pure: the caller passes its own random source for jitter.
"""

from __future__ import annotations

import random


def backoff(
    attempt: int,
    *,
    base: float,
    cap: float,
    jitter: float = 0.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before try ``attempt + 1`` after ``attempt`` failures in a row.

    ``base`` after the first failure, doubling after each further one, never above ``cap``
    (nor below ``base``); then multiplied by a random factor in ``[1 - jitter, 1 + jitter]``
    so retries of many callers drift apart.
    """
    exponent = min(max(attempt - 1, 0), 62)  # 2**62 * base overflows nothing and beats any cap
    delay = min(base * (2**exponent), max(cap, base))
    if jitter:
        delay *= 1 - jitter + 2 * jitter * (rng or random).random()
    return delay
