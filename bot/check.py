"""``check-source``: fetch and parse one source without storing anything, for tuning selectors."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from bot.config import Config, ConfigError
from bot.poller import CheckedEntry, PollSettings, SourceFailure, SourceReader, format_when
from feeds.fetch import DEFAULT_USER_AGENT, FetchError, decode_html, fetch, make_client
from feeds.models import ListRules, Source
from feeds.propose import propose_source, source_toml
from feeds.urls import DEFAULT_ID_PATTERN

EXIT_FAILED = 1
BODY_WORDS = 40


def _looks_like_feed(content: bytes, content_type: str | None) -> bool:
    if content_type and any(k in content_type.lower() for k in ("rss", "atom", "xml")):
        return True
    head = content[:500].lstrip().lower()
    return head.startswith(b"<?xml") or head.startswith(b"<rss") or head.startswith(b"<feed")


async def _adhoc_source(url: str, config: Config) -> tuple[Source, str]:
    """A throw-away source for a URL that is not configured, and its ``[[sources]]`` block.

    A feed is a feed; a listing gets the link pattern proposed from its own article links
    (feeds.propose), else the portal's pattern, else any link whose path carries a number.
    """
    async with make_client(user_agent=config.settings.bantin_user_agent or DEFAULT_USER_AGENT) as client:
        result = await fetch(client, url, max_bytes=config.settings.bantin_max_response_bytes)
    host = urlsplit(url).hostname or "adhoc"
    source_id = host.removeprefix("www.").split(".")[0] or "adhoc"
    if _looks_like_feed(result.content, result.content_type):
        block = "\n".join([
            "[[sources]]", f'id = "{source_id}"', f'name = "{host}"', 'kind = "rss"',
            f'url = "{url}"', "topics = []", "interval = 900",
        ])
        return Source(id="adhoc", name=host, kind="rss", url=url), block
    proposal = propose_source(decode_html(result.content, result.content_type), url=result.url)
    print("URL shapes on the page (kept = article links):")
    for line in proposal.shapes:
        print(f"  {line}")
    pattern = proposal.link_pattern
    if pattern is None:
        # Portal article links; any other site: links whose path carries a long number.
        pattern = DEFAULT_ID_PATTERN if b"-duk" in result.content else r"/[^?#]*\d{4,}[^/]*$"
        proposal = replace(proposal, link_pattern=pattern)
    rules = ListRules(link_pattern=pattern)
    source = Source(id="adhoc", name=host, kind="html", url=url, list=rules)
    return source, source_toml(proposal, source_id=source_id, name=host)


def _origin(found: str) -> str:
    return found or "none"


def _title(c: CheckedEntry) -> tuple[str, str]:
    page = c.article
    if page and page.title:
        return page.title, page.title_from
    return c.entry.title, "listing" if c.entry.title else ""


def _date(c: CheckedEntry, source: Source) -> tuple[datetime | None, str]:
    """The date the poller will store, and where it came from (same precedence as it)."""
    page = c.article
    page_date = (page.published_at, page.date_from) if page and page.published_at else None
    entry_date = (c.entry.published_at, "listing") if c.entry.published_at else None
    first, second = (entry_date, page_date) if source.kind == "rss" else (page_date, entry_date)
    return first or second or (None, "")


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
            source, block = await _adhoc_source(source_ref, config)
        except FetchError as exc:
            print(f"error: {exc}")
            return EXIT_FAILED
        print(f"(not in {config.config_path}: guessed kind={source.kind}"
              + (f", link_pattern={source.list.link_pattern!r}" if source.list else "") + ")")
        print(f"proposed source, to paste into {config.config_path}:\n\n{block}\n")
    print(f"source {source.id} ({source.kind}) {source.url}")
    started = time.perf_counter()
    async with make_client(
        user_agent=config.settings.bantin_user_agent or DEFAULT_USER_AGENT,
        timeout=config.settings.bantin_http_timeout,
    ) as client:
        reader = SourceReader(client, PollSettings(max_bytes=config.settings.bantin_max_response_bytes))
        try:
            checked, total = await reader.check(source, limit=limit)
        except SourceFailure as exc:
            print(f"error: {exc}")
            return EXIT_FAILED
    tz = config.tz
    print(f"{total} entries in {time.perf_counter() - started:.2f}s; the first {len(checked)}:")
    for i, c in enumerate(checked, 1):
        page = c.article
        title, title_from = _title(c)
        when, date_from = _date(c, source)
        body, body_from = (page.body, page.body_from) if page and page.body else (
            (c.entry.summary, "listing") if c.entry.summary else ("", "")
        )
        print(f"\n{i}. {title or '(untitled)'}  [title: {_origin(title_from)}]")
        print(f"   date:  {format_when(when, tz)}  [{_origin(date_from)}]")
        print(f"   link:  {c.entry.url}")
        print(f"   key:   {c.key}")
        if c.error:
            print(f"   page:  ERROR {c.error}")
        print(f"   body:  {_first_words(body) if body else '(empty)'}  [{_origin(body_from)}]")
    if checked and source.kind == "html" and source.fetch_articles:
        print("\n[selector] = the source's [sources.article] rule; [generic] = found without one;"
              " [listing] = taken from the listing page. Add a selector where generic is wrong.")
    if not checked:
        print("no entries found: check the selectors or link_pattern", file=sys.stderr)
        return EXIT_FAILED
    return 0
