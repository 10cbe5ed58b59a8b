"""Logging set-up: one stderr handler, plain or JSON lines, with every secret redacted.

Bot tokens live in URLs (``/bot<token>/sendMessage``), and httpx, PTB and exception texts
print URLs; so redaction happens on the final formatted line, whatever produced it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable

#: a Telegram-style token anywhere in a line, even one we were not told about
_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
REDACTED = "***"


class RedactingFormatter(logging.Formatter):
    """Formats as usual (or as JSON), then removes secrets from the whole line."""

    def __init__(self, secrets: Iterable[str] = (), *, as_json: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.as_json = as_json

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_SHAPE.sub(REDACTED, text)

    def format(self, record: logging.LogRecord) -> str:
        if not self.as_json:
            return self.redact(super().format(record))
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
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
