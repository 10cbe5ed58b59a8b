"""*Test a URL* for the console: ``check-source`` without a terminal. Fetches and parses a
configured source or any URL (kind guessed), stores nothing, and returns what the page shows:
the first entries' title, date, body and summary, and a TOML snippet for ``bantin.toml``."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.config import Config
from bot.polling.adhoc import guess_source
from bot.polling.check import format_when
from feeds import sourcetoml
from feeds.errors import Refused
from feeds.fetch import FetchError
from feeds.models import Source
from feeds.parsepool import ParsePool
from feeds.reader import SourceFailure, SourceReader
from feeds.summarize import summarize

BODY_CHARS = 600


def toml_snippet(source: Source) -> str:
    """A ``[[sources]]`` table for this source (a throw-away one gets an id from its host)."""
    if source.id != "adhoc":
        return sourcetoml.source_toml(source)
    host = urlsplit(source.url).hostname or "source"
    ident = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "source"
    return sourcetoml.source_toml(replace(source, id=ident))


def _failure(exc: Exception) -> dict[str, Any]:
    """The panel's ``error``; a refusal also says which (``refused``: ``metadata`` or
    ``private``, the page words it in the admin's language)."""
    out: dict[str, Any] = {"error": str(exc)[:500]}
    refused = exc if isinstance(exc, Refused) else exc.__cause__
    if isinstance(refused, Refused):
        reason = str(refused).rpartition("refused: ")[2][:300]
        out["refused"] = "metadata" if "cloud metadata" in reason else "private"
        out["reason"] = reason
    return out


async def test_url(
    client: httpx.AsyncClient,
    config: Config,
    url: str,
    *,
    limit: int = 3,
    parse_pool: ParsePool | None = None,
) -> dict[str, Any]:
    """The values of the test panel: ``entries``, ``total``, ``toml``, or ``error`` (and
    ``refused``, ``reason`` when the outbound rules refused it). A URL of a configured source
    is read with that source's rules; any other is refused when it is a private address,
    unless ``BANTIN_CONSOLE_ALLOW_PRIVATE``, and a cloud metadata one always: the console is
    no proxy into the bot's network."""
    source = next((s for s in config.sources if s.url == url), None)
    try:
        if source is None:
            guess = await guess_source(
                client,
                url,
                max_bytes=config.settings.fetch.max_response_bytes,
                allow_private=config.settings.http.console_allow_private,
            )
            source, toml = guess.source, guess.toml
        else:
            toml = toml_snippet(source)
        # The bot's parser processes: a hostile page costs its time limit, never the loop.
        reader = SourceReader(
            client, max_bytes=config.settings.fetch.max_response_bytes, parse_pool=parse_pool
        )
        checked, total = await reader.check(source, limit=limit)
    except (FetchError, SourceFailure) as exc:
        return _failure(exc)
    entries = []
    for c in checked:
        page = c.article
        title = page.title if page and page.title else c.entry.title
        when = c.entry.published_at or (page.published_at if page else None)
        body = (page.body if page else c.entry.summary) or ""
        entries.append(
            {
                "title": title,
                "date": format_when(when, config.tz),
                "url": c.entry.url,
                "body": body[:BODY_CHARS] + ("…" if len(body) > BODY_CHARS else ""),
                "summary": summarize(body, title=title) if body else "",
                "error": c.error or "",
            }
        )
    return {"kind": source.kind, "total": total, "entries": entries, "toml": toml}
