"""A source read over the network: listing -> keyed entries, entry -> extracted article page.

The one pipeline over fetch.py (I/O only through the injected ``httpx.AsyncClient``); it
parses and extracts but stores nothing, so the poller and ``check-source`` share it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from feeds.charset import decode_html
from feeds.errors import FeedError
from feeds.extract import extract_article
from feeds.fetch import FetchError, FetchResult, fetch
from feeds.html import parse_listing
from feeds.models import Entry, ExtractedArticle, Source
from feeds.netpolicy import article_policy, listing_policy
from feeds.rss import parse_feed
from feeds.urls import entry_keys


class SourceFailure(FeedError):
    """A problem with one source's listing (fetch, parse, or selectors that found nothing)."""


@dataclass(frozen=True)
class CheckedEntry:
    """What ``check-source`` prints for one entry."""

    entry: Entry
    key: str | None
    article: ExtractedArticle | None
    error: str | None


def keyed_entries(source: Source, entries: Sequence[Entry]) -> list[tuple[str, Entry]]:
    """Entries with their dedup keys; duplicates within one listing collapse to the first,
    and an entry without a usable key is dropped."""
    seen: set[str] = set()
    out: list[tuple[str, Entry]] = []
    keys = entry_keys(list(entries), id_pattern=source.id_pattern, source_id=source.id)
    for key, entry in zip(keys, entries, strict=True):
        if key is None or key in seen:
            continue
        seen.add(key)
        out.append((key, entry))
    return out


class SourceReader:
    """Fetches and parses a source's listing and article pages; touches no storage."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_bytes: int = 5_000_000,
        timeout: float = 30.0,
        concurrency: int = 4,
    ) -> None:
        self.client = client
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._pages = asyncio.Semaphore(concurrency)

    async def listing(
        self, source: Source, *, etag: str | None = None, last_modified: str | None = None
    ) -> tuple[FetchResult, list[Entry] | None]:
        """Fetch and parse the listing; ``None`` entries means 304 Not Modified."""
        try:
            result = await fetch(
                self.client,
                source.url,
                etag=etag,
                last_modified=last_modified,
                max_bytes=self.max_bytes,
                timeout=self.timeout,
                policy=listing_policy(source),
            )
        except FetchError as exc:
            raise SourceFailure(str(exc)) from exc
        if result.not_modified:
            return result, None
        try:
            if source.kind == "rss":
                entries = parse_feed(
                    result.content, url=result.url, content_type=result.content_type
                )
            else:
                assert source.list is not None  # config guarantees it for html sources
                html = decode_html(result.content, result.content_type)
                entries = parse_listing(html, base_url=result.url, rules=source.list)
        except FeedError as exc:
            raise SourceFailure(f"cannot parse {source.kind}: {exc}") from exc
        return result, entries

    async def article(self, source: Source, entry: Entry) -> ExtractedArticle:
        """Fetch and extract one article page; raises a :class:`FeedError`."""
        async with self._pages:
            result = await fetch(
                self.client,
                entry.url,
                max_bytes=self.max_bytes,
                timeout=self.timeout,
                policy=article_policy(source),
            )
        html = decode_html(result.content, result.content_type)
        return extract_article(
            html, url=result.url, rules=source.article, fallback_title=entry.title
        )

    async def check(self, source: Source, *, limit: int = 5) -> tuple[list[CheckedEntry], int]:
        """Fetch and parse without storing anything; the first ``limit`` entries get their page.

        Returns (checked entries, total entries on the listing); raises :class:`SourceFailure`.
        """
        _, entries = await self.listing(source)
        assert entries is not None
        keyed = keyed_entries(source, entries)
        out: list[CheckedEntry] = []
        for key, entry in keyed[:limit]:
            page = None
            error = None
            if source.fetch_articles:
                try:
                    page = await self.article(source, entry)
                except FeedError as exc:
                    error = str(exc)
            out.append(CheckedEntry(entry, key, page, error))
        return out, len(keyed)
