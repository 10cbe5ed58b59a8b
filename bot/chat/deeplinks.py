"""Deep links: ``https://t.me/<bot>?start=<payload>`` names the topics a tap subscribes to.

A payload is topic slugs joined by ``_`` (slugs use ``-``), within Telegram's 64 characters
of ``A-Za-z0-9_-``. Pure functions, shared by ``/start`` and ``run_bot.py links``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_PAYLOAD = 64
SEPARATOR = "_"
_SAFE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class PayloadError(ValueError):
    """The topics cannot be named in one payload (too long, or characters Telegram refuses)."""


def make_payload(slugs: Sequence[str]) -> str:
    """The payload that subscribes to ``slugs``."""
    payload = SEPARATOR.join(slugs)
    if not _SAFE.fullmatch(payload):
        raise PayloadError(f"payload {payload!r} is not 1-64 characters of A-Za-z0-9_-")
    return payload


def parse_payload(payload: str, known: Sequence[str]) -> list[str]:
    """The known slugs a payload names, in its order; [] when any part is unknown."""
    payload = payload.strip()
    if not _SAFE.fullmatch(payload):
        return []
    if payload in known:
        return [payload]
    parts = [p for p in payload.split(SEPARATOR) if p]
    if not parts or any(p not in known for p in parts):
        return []
    return list(dict.fromkeys(parts))


def start_link(username: str, payload: str, *, group: bool = False) -> str:
    """The link a member taps: a private chat (``start``) or adding the bot to a group."""
    return f"https://t.me/{username}?{'startgroup' if group else 'start'}={payload}"
