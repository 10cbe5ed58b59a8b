"""*Test a URL* for the console: ``check-source`` without a terminal. Fetches and parses a
configured source or any URL (kind guessed), stores nothing, and returns what the page shows:
the first entries' title, date, body and summary, and a TOML snippet for ``bantin.toml``."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.check import _looks_like_feed, _typed_private, format_when
from bot.config import Config
from feeds.fetch import FetchError, fetch
from feeds.models import ListRules, Source
from feeds.netpolicy import OutboundPolicy
from feeds.reader import SourceFailure, SourceReader
from feeds.summarize import summarize
from feeds.urls import DEFAULT_ID_PATTERN

BODY_CHARS = 600


def toml_snippet(source: Source) -> str:
    """A ``[[sources]]`` table for this source (JSON strings are valid TOML basic strings)."""

    def q(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    host = urlsplit(source.url).hostname or "source"
    ident = source.id
    if ident == "adhoc":
        ident = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "source"
    lines = [
        "[[sources]]",
        f"id = {q(ident)}",
        f"name = {q(source.name)}",
        f"kind = {q(source.kind)}",
        f"url = {q(source.url)}",
        f"interval = {source.interval}",
    ]
    if source.topics:
        lines.append("topics = [" + ", ".join(q(tp) for tp in source.topics) + "]")
    rules = source.list
    if rules is not None:
        lines += ["", "[sources.list]"]
        for name in ("item", "link", "title", "date", "link_pattern"):
            value = getattr(rules, name, None)
            if value:
                lines.append(f"{name} = {q(value)}")
    return "\n".join(lines)


async def guess_source(client: httpx.AsyncClient, config: Config, url: str) -> Source:
    """A throw-away source for a URL that is not configured: feed or listing, guessed the way
    ``check-source`` guesses (private addresses only when typed on purpose)."""
    private = _typed_private(url)
    result = await fetch(
        client,
        url,
        max_bytes=config.settings.fetch.max_response_bytes,
        policy=OutboundPolicy(allow_private=private, label="adhoc"),
    )
    host = urlsplit(url).hostname or "adhoc"
    if _looks_like_feed(result.content, result.content_type):
        return Source(id="adhoc", name=host, kind="rss", url=url, allow_private=private)
    pattern = DEFAULT_ID_PATTERN if b"-duk" in result.content else r"/[^?#]*\d{4,}[^/]*$"
    rules = ListRules(link_pattern=pattern)
    return Source(id="adhoc", name=host, kind="html", url=url, list=rules, allow_private=private)


async def test_url(
    client: httpx.AsyncClient, config: Config, url: str, *, limit: int = 3
) -> dict[str, Any]:
    """The values of the test panel: ``entries``, ``total``, ``toml``, or ``error``. A URL
    of a configured source is read with that source's rules."""
    source = next((s for s in config.sources if s.url == url), None)
    try:
        if source is None:
            source = await guess_source(client, config, url)
        reader = SourceReader(client, max_bytes=config.settings.fetch.max_response_bytes)
        checked, total = await reader.check(source, limit=limit)
    except (FetchError, SourceFailure) as exc:
        return {"error": str(exc)[:500]}
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
    return {"kind": source.kind, "total": total, "entries": entries, "toml": toml_snippet(source)}
