"""A source read over the network: listing -> keyed entries, entry -> extracted article page.

The one pipeline over fetch.py (I/O only through the injected ``httpx.AsyncClient``); it
parses and extracts but stores nothing, so the poller and ``check-source`` share it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from feeds.errors import FeedError
from feeds.fetch import FetchError, FetchResult, fetch
from feeds.models import Entry, ExtractedArticle, Source
from feeds.netpolicy import article_policy, listing_policy
from feeds.parsepool import ParsePool, listing_hash
from feeds.urls import entry_keys

#: entries taken from one listing at most (the first ones: listings put the newest first)
MAX_ENTRIES_PER_LISTING = 500


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
        parse_pool: ParsePool | None = None,
        max_entries: int = MAX_ENTRIES_PER_LISTING,
    ) -> None:
        self.client = client
        self.max_bytes = max_bytes
        self.timeout = timeout
        #: where documents are parsed; inline (in this process) unless a pool is given
        self.parse_pool = parse_pool if parse_pool is not None else ParsePool(0)
        self.max_entries = max_entries
        self._pages = asyncio.Semaphore(concurrency)

    async def listing(
        self,
        source: Source,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        last_hash: str | None = None,
    ) -> tuple[FetchResult, list[Entry] | None]:
        """Fetch and parse the listing; ``None`` entries means not modified: a 304, or bytes
        whose :func:`listing_hash` is ``last_hash`` (then nothing is parsed)."""
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
        if last_hash is not None and listing_hash(result.content) == last_hash:
            return result, None
        try:
            entries = await self.parse_pool.listing(
                source, result.content, result.url, result.content_type, self.max_entries
            )
        except FeedError as exc:
            raise SourceFailure(f"cannot parse {source.kind}: {exc}") from exc
        return result, entries

    async def article(self, source: Source, entry: Entry) -> ExtractedArticle:
        """Fetch and extract one article page; raises a :class:`FeedError`
        (:class:`~feeds.errors.WorkerFailure` when the parser crashed or ran out of time)."""
        async with self._pages:
            result = await fetch(
                self.client,
                entry.url,
                max_bytes=self.max_bytes,
                timeout=self.timeout,
                policy=article_policy(source),
            )
        return await self.parse_pool.article(
            source, result.content, result.url, result.content_type, entry.title
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
