"""Secrets out of every text that leaves the bot: :func:`redact` removes the configured
secrets and anything shaped like a bot token, then caps the length.

Platform error texts may carry the token (a proxy answers ``Cannot POST /bot<token>/...``,
httpx names the URL), and they reach a log line, ``deliveries.last_error``, ``/healthz`` and
the admins' alerts. The secrets are registered once, where they are known (the settings at
start, an adapter given its token); the shapes catch the ones nobody registered. Imports
nothing of the bot, so the channels' seam and every layer above may use it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "***"
#: the longest platform error text kept (``None`` or 0: no cap)
DEFAULT_LIMIT = 500
#: shorter values are not scrubbed from every text: "abc" would mangle words, not hide much
MIN_SECRET = 8

#: a Bot API token (Telegram ``123456789:AA…``, Zalo ``<digits>:<chars>``), the colon maybe
#: percent-encoded as an echoed URL has it
_TOKEN_SHAPE = re.compile(r"\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}")
#: whatever follows ``/bot`` in a Bot API path when it looks like ``<digits>:<…>``, however
#: short (a test token, a truncated one)
_BOT_PATH = re.compile(r"(?<=/bot)\d+(?::|%3[Aa])[^/\s\"'<>?#&\\]*")

_lock = threading.Lock()
_registered: frozenset[str] = frozenset()


def register_secret(value: str | None) -> None:
    """Redact ``value`` (and its percent-encoded form) from every text from now on."""
    global _registered
    if not value or len(value) < MIN_SECRET:
        return
    with _lock:
        _registered = _registered | {value, quote(value, safe="")}


def registered() -> frozenset[str]:
    """The secrets registered so far."""
    return _registered


def redact(text: object, secrets: Iterable[str] = (), limit: int | None = DEFAULT_LIMIT) -> str:
    """``text`` without the registered secrets (and ``secrets``), without token shapes, and cut
    to ``limit`` characters ending in "…" (secrets go first, so no cut exposes half of one)."""
    out = text if isinstance(text, str) else str(text)
    extra = {s for s in secrets if s}  # named by the caller: redacted whatever their length
    # Longest first: a secret that contains another must go whole.
    for secret in sorted(_registered | extra, key=len, reverse=True):
        if secret in out:
            out = out.replace(secret, REDACTED)
    out = _BOT_PATH.sub(REDACTED, out)
    out = _TOKEN_SHAPE.sub(REDACTED, out)
    if limit and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out
