"""Logging set-up: one stderr handler, plain or JSON lines, with every secret redacted and
every control character escaped.

Bot tokens live in URLs (``/bot<token>/sendMessage``), and httpx, PTB and exception texts
print URLs; so redaction (:func:`bot.ops.redact.redact`: the secrets given here, those
registered at start, token shapes) happens on the final formatted line, whatever produced
it, tracebacks included. A message is cut to :data:`MESSAGE_LIMIT` characters. URLs,
titles and errors from pages reach log messages too, so the formatter escapes the message
(and the exception text) before any line is written: no call site can forget.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

from bot.ops.redact import redact

#: the longest message of one log line (a hostile answer quoted whole would be megabytes)
MESSAGE_LIMIT = 8000

# Control characters (C0, DEL, C1), bidi marks and overrides, line and paragraph separators:
# text from outside must not drive a terminal, forge a log line or reorder what is read.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
#: the same, but a newline stays (a traceback's own line breaks)
_UNSAFE_IN_LINES = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}]")


def _shown(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``);
    ``keep_newlines`` leaves ``\\n`` as it is (for a traceback)."""
    return (_UNSAFE_IN_LINES if keep_newlines else _UNSAFE).sub(_shown, text)


def _capped(message: str) -> str:
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"


class RedactingFormatter(logging.Formatter):
    """Formats as usual (or as JSON) with the message's control characters escaped, then
    removes secrets from the whole line."""

    def __init__(self, secrets: Iterable[str] = (), *, as_json: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.as_json = as_json

    def redact(self, text: str) -> str:
        return redact(text, self.secrets, limit=None)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        # record.message is the message with its args, as logging.Formatter.format made it.
        record.message = escape_controls(_capped(record.message))
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return escape_controls(super().formatException(ei), keep_newlines=True)

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 (logging's name)
        return escape_controls(super().formatStack(stack_info), keep_newlines=True)

    def format(self, record: logging.LogRecord) -> str:
        if not self.as_json:
            return self.redact(super().format(record))
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": escape_controls(_capped(record.getMessage())),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, ensure_ascii=False))


def setup_logging(level: str, *, secrets: Iterable[str] = (), as_json: bool = False) -> None:
    """Replace the root handlers with one redacting stderr handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets, as_json=as_json))
    root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.INFO))
    # httpx logs every request URL at INFO (with the token in it); APScheduler logs every job
    # run. Neither belongs in an operator's log at INFO.
    for noisy in (
        "httpx",
        "httpcore",
        "apscheduler",
        "aiosqlite",
        "asyncio",
        "telegram.ext.Updater",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
