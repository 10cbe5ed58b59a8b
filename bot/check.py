"""``check-source``: fetch and parse one source without storing anything, for tuning selectors."""

from __future__ import annotations

import sys
import time
from urllib.parse import urlsplit

from bot.config import Config, ConfigError
from bot.poller import PollSettings, SourceFailure, SourceReader, format_when
from feeds.fetch import DEFAULT_USER_AGENT, FetchError, fetch, make_client
from feeds.models import ListRules, Source
from feeds.urls import DEFAULT_ID_PATTERN

EXIT_FAILED = 1
BODY_WORDS = 40


def _looks_like_feed(content: bytes, content_type: str | None) -> bool:
    if content_type and any(k in content_type.lower() for k in ("rss", "atom", "xml")):
        return True
    head = content[:500].lstrip().lower()
    return head.startswith(b"<?xml") or head.startswith(b"<rss") or head.startswith(b"<feed")


async def _adhoc_source(url: str, config: Config) -> Source:
    """A throw-away source for a URL that is not configured: feed or listing, guessed."""
    async with make_client(user_agent=config.settings.fetch.user_agent or DEFAULT_USER_AGENT) as client:
        result = await fetch(client, url, max_bytes=config.settings.fetch.max_response_bytes)
    host = urlsplit(url).hostname or "adhoc"
    if _looks_like_feed(result.content, result.content_type):
        return Source(id="adhoc", name=host, kind="rss", url=url)
    # Portal article links by default; any other site: links whose path carries a long number.
    pattern = DEFAULT_ID_PATTERN if b"-duk" in result.content else r"/[^?#]*\d{4,}[^/]*$"
    return Source(id="adhoc", name=host, kind="html", url=url, list=ListRules(link_pattern=pattern))


def _first_words(text: str, n: int = BODY_WORDS) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


async def check_source(config: Config, source_ref: str, *, limit: int = 5) -> int:
    source = config.source(source_ref)
    if source is None:
        if not source_ref.startswith(("http://", "https://")):
            known = ", ".join(s.id for s in config.sources) or "none"
            raise ConfigError(f"{config.config_path}: no source {source_ref!r} (known: {known}); or give a URL")
        try:
            source = await _adhoc_source(source_ref, config)
        except FetchError as exc:
            print(f"error: {exc}")
            return EXIT_FAILED
        print(f"(not in {config.config_path}: guessed kind={source.kind}"
              + (f", link_pattern={source.list.link_pattern!r}" if source.list else "") + ")")
    print(f"source {source.id} ({source.kind}) {source.url}")
    started = time.perf_counter()
    async with make_client(
        user_agent=config.settings.fetch.user_agent or DEFAULT_USER_AGENT,
        timeout=config.settings.fetch.timeout,
    ) as client:
        reader = SourceReader(client, PollSettings(max_bytes=config.settings.fetch.max_response_bytes))
        try:
            checked, total = await reader.check(source, limit=limit)
        except SourceFailure as exc:
            print(f"error: {exc}")
            return EXIT_FAILED
    tz = config.tz
    print(f"{total} entries in {time.perf_counter() - started:.2f}s; the first {len(checked)}:")
    for i, c in enumerate(checked, 1):
        page = c.article
        title = page.title if page and page.title else c.entry.title
        when = c.entry.published_at or (page.published_at if page else None)
        print(f"\n{i}. {title}")
        print(f"   date:  {format_when(when, tz)}")
        print(f"   link:  {c.entry.url}")
        print(f"   key:   {c.key}")
        if c.error:
            print(f"   page:  ERROR {c.error}")
        body = page.body if page else c.entry.summary
        print(f"   body:  {_first_words(body) if body else '(empty)'}")
    if not checked:
        print("no entries found: check the selectors or link_pattern", file=sys.stderr)
        return EXIT_FAILED
    return 0
