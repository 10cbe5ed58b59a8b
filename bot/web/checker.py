"""*Test a URL* for the console: ``check-source`` without a terminal. Fetches and parses a
configured source or any URL (kind guessed), stores nothing, and returns what the page shows:
the first entries' title, date, body and summary, and a TOML snippet for ``bantin.toml``."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from bot.check import _adhoc_source, format_when
from bot.config import Config
from feeds.fetch import DEFAULT_USER_AGENT, FetchError, make_client
from feeds.models import Source
from feeds.reader import SourceFailure, SourceReader
from feeds.summarize import summarize

BODY_CHARS = 600


def toml_snippet(source: Source) -> str:
    """A ``[[sources]]`` table for this source (JSON strings are valid TOML basic strings)."""
    host = urlsplit(source.url).hostname or "source"
    ident = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "source"
    lines = [
        "[[sources]]",
        f"id = {json.dumps(ident)}",
        f"name = {json.dumps(source.name)}",
        f"kind = {json.dumps(source.kind)}",
        f"url = {json.dumps(source.url)}",
        f"interval = {source.interval}",
    ]
    if source.list is not None and source.list.link_pattern:
        lines += ["", "[sources.list]", f"link_pattern = {json.dumps(source.list.link_pattern)}"]
    return "\n".join(lines)


async def test_url(config: Config, url: str, *, limit: int = 3) -> dict[str, Any]:
    """The values of the test panel: ``entries``, ``total``, ``toml``, or ``error``."""
    source = next((s for s in config.sources if s.url == url), None)
    fetch = config.settings.fetch
    try:
        if source is None:
            source = await _adhoc_source(url, config)
        async with make_client(
            user_agent=fetch.user_agent or DEFAULT_USER_AGENT, timeout=fetch.timeout
        ) as client:
            reader = SourceReader(client, max_bytes=fetch.max_response_bytes)
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
