"""Polling job: fetch -> parse -> new? -> extract/summarise/classify -> save + enqueue.

One call of :meth:`Poller.poll` handles one source and never raises for a source problem:
it returns a :class:`PollReport` and records the failure (with capped exponential backoff)
in the source's state. Admins are alerted once when a source has failed
``alert_after`` times in a row, and once more when it recovers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import httpx

from bot.alerts import Alert
from bot.backoff import backoff
from feeds.errors import FeedError
from feeds.extract import extract_article
from feeds.fetch import FetchError, FetchResult, decode_html, fetch
from feeds.html import parse_listing
from feeds.models import Entry, ExtractedArticle, Source, Topic
from feeds.netpolicy import article_policy, listing_policy
from feeds.rss import parse_feed
from feeds.summarize import summarize
from feeds.text import normalize, normalize_block
from feeds.topics import classify, keyword_matches
from feeds.urls import entry_keys
from storage.store import NewArticle, SourceState, Store

log = logging.getLogger(__name__)

#: article pages fetched when a source is seen for the first time (the rest: listing data only)
SEED_PAGES = 10

@dataclass(frozen=True)
class PollReport:
    """Outcome of polling one source: the line ``poll-once`` prints and ``/poll`` shows."""

    source_id: str
    ok: bool
    new: int
    seconds: float
    reason: str = ""
    queued: int = 0
    not_modified: bool = False
    seeded: bool = False

    def line(self) -> str:
        """``<source id> ok|error new=<n> <seconds>s [<reason>]``."""
        out = f"{self.source_id} {'ok' if self.ok else 'error'} new={self.new} {self.seconds:.2f}s"
        return f"{out} {self.reason}" if self.reason else out


@dataclass(frozen=True)
class CheckedEntry:
    """What ``check-source`` prints for one entry."""

    entry: Entry
    key: str | None
    article: ExtractedArticle | None
    error: str | None


class SourceFailure(Exception):
    """A problem with one source's listing (fetch, parse, or selectors that found nothing)."""


@dataclass(frozen=True)
class PollSettings:
    max_bytes: int = 5_000_000
    fetch_timeout: float = 30.0
    fetch_concurrency: int = 4
    alert_after: int = 3
    max_backoff: int = 6 * 3600
    summary_chars: int = 400


def backoff_delay(interval: int, failures: int, cap: int) -> int:
    """Seconds until the next try after ``failures`` failures in a row (capped doubling)."""
    return int(backoff(failures, base=interval, cap=max(cap, interval)))


class SourceReader:
    """Fetches and parses a source's listing and article pages; touches no storage."""

    def __init__(self, client: httpx.AsyncClient, settings: PollSettings | None = None) -> None:
        self.client = client
        self.settings = settings or PollSettings()
        self._pages = asyncio.Semaphore(self.settings.fetch_concurrency)

    async def listing(
        self, source: Source, *, etag: str | None = None, last_modified: str | None = None
    ) -> tuple[FetchResult, list[Entry] | None]:
        """Fetch and parse the listing; ``None`` entries means 304 Not Modified."""
        try:
            result = await fetch(
                self.client, source.url, etag=etag, last_modified=last_modified,
                max_bytes=self.settings.max_bytes, timeout=self.settings.fetch_timeout,
                policy=listing_policy(source),
            )
        except FetchError as exc:
            raise SourceFailure(str(exc)) from exc
        if result.not_modified:
            return result, None
        try:
            if source.kind == "rss":
                entries = parse_feed(result.content, url=result.url, content_type=result.content_type)
            else:
                assert source.list is not None  # config guarantees it for html sources
                html = decode_html(result.content, result.content_type)
                entries = parse_listing(html, base_url=result.url, rules=source.list)
        except FeedError as exc:
            raise SourceFailure(f"cannot parse {source.kind}: {exc}") from exc
        return result, entries

    @staticmethod
    def keyed(source: Source, entries: list[Entry]) -> list[tuple[str, Entry]]:
        """Entries with their dedup keys; duplicates within one listing collapse to the first."""
        seen: set[str] = set()
        out: list[tuple[str, Entry]] = []
        keys = entry_keys(entries, id_pattern=source.id_pattern, source_id=source.id)
        for key, entry in zip(keys, entries, strict=True):
            if key is None or key in seen:
                continue
            seen.add(key)
            out.append((key, entry))
        return out

    async def article(self, source: Source, entry: Entry) -> ExtractedArticle:
        """Fetch and extract one article page; raises a :class:`FeedError`."""
        async with self._pages:
            result = await fetch(
                self.client, entry.url, max_bytes=self.settings.max_bytes, timeout=self.settings.fetch_timeout,
                policy=article_policy(source),
            )
        html = decode_html(result.content, result.content_type)
        return extract_article(html, url=result.url, rules=source.article, fallback_title=entry.title)

    async def check(self, source: Source, *, limit: int = 5) -> tuple[list[CheckedEntry], int]:
        """Fetch and parse without storing anything; the first ``limit`` entries get their page.

        Returns (checked entries, total entries on the listing); raises :class:`SourceFailure`.
        """
        _, entries = await self.listing(source)
        assert entries is not None
        keyed = self.keyed(source, entries)
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


class Poller:
    """Polls sources into the store. Pure orchestration: I/O is the reader and the store."""

    def __init__(
        self,
        store: Store,
        client: httpx.AsyncClient,
        topics: Sequence[Topic],
        *,
        clock: Callable[[], datetime],
        settings: PollSettings | None = None,
        alert: Alert | None = None,
        on_report: Callable[[PollReport], None] | None = None,
    ) -> None:
        self.store = store
        self.on_report = on_report
        self.topics = tuple(topics)
        self.clock = clock
        self.settings = settings or PollSettings()
        self.reader = SourceReader(client, self.settings)
        self.alert = alert
        self._locks: dict[str, asyncio.Lock] = {}

    def _compose(
        self,
        source: Source,
        key: str,
        entry: Entry,
        page: ExtractedArticle | None,
        keyword_keys: Sequence[str],
        *,
        summarise: bool = True,
    ) -> NewArticle:
        """The article to store; ``summarise=False`` for history seeded from the listing alone
        (never pushed, and its "body" is only the listing's lead)."""
        title = normalize((page.title if page and page.title else "") or entry.title) or entry.url
        body = normalize_block(page.body) if page and page.body else normalize_block(entry.summary)
        # A feed's date wins: it is what the publisher declared, with a time. An HTML
        # listing usually shows the day only, so there the article page's date-time wins.
        page_date = page.published_at if page else None
        if source.kind == "rss":
            published = entry.published_at or page_date
        else:
            published = page_date or entry.published_at
        summary = summarize(body, title=title, max_chars=self.settings.summary_chars) if body and summarise else ""
        topics = classify(title, body, source.topics, self.topics)
        keywords = tuple(sorted(keyword_matches(title, body, keyword_keys))) if keyword_keys else ()
        return NewArticle(
            source_id=source.id, key=key, url=entry.url, title=title, published_at=published,
            body=body, summary=summary, topics=topics, keywords=keywords,
        )

    # -- one source -----------------------------------------------------------------------

    async def poll(self, source: Source) -> PollReport:
        """Poll one source now; never raises for a problem of the source itself."""
        lock = self._locks.setdefault(source.id, asyncio.Lock())
        async with lock:
            report = await self._poll(source)
        if self.on_report is not None:
            self.on_report(report)
        return report

    async def _poll(self, source: Source) -> PollReport:
        started = time.perf_counter()
        state = await self.store.source_state(source.id)
        if state is None:
            await self.store.sync_sources([source], self.clock())
            state = await self.store.source_state(source.id)
        try:
            result, entries = await self.reader.listing(
                source, etag=state.etag if state else None, last_modified=state.last_modified if state else None
            )
            if entries is None:
                now = self.clock()
                await self.store.record_poll_success(
                    source.id, now, next_check_at=now + timedelta(seconds=source.interval),
                    etag=result.etag, last_modified=result.last_modified, item_count=None,
                )
                await self._recovered(source, state)
                return PollReport(source.id, True, 0, time.perf_counter() - started, not_modified=True)
            keyed = self.reader.keyed(source, entries)
            # Zero items is never "no news": a listing always shows its latest articles, so
            # selectors broke, the layout changed, or the feed is damaged.
            if not keyed:
                was = state.last_item_count if state else 0
                raise SourceFailure(
                    f"listing yielded no items (it had {was}): selectors or link_pattern no longer match"
                    if was else f"{source.kind} listing yielded no items: check the URL, selectors or link_pattern"
                )
            known = await self.store.known_keys([k for k, _ in keyed])
            fresh = [(k, e) for k, e in keyed if k not in known]
            first_sight = state is None or state.seeded_at is None
            page_errors: list[str] = []
            # On first sight only the newest entries get their page (what /latest will show);
            # the rest is history, stored from the listing alone.
            with_pages = (SEED_PAGES if first_sight else len(fresh)) if source.fetch_articles else 0
            pages = list(
                await asyncio.gather(*(self._try_page(source, e, page_errors) for _, e in fresh[:with_pages]))
            ) + [None] * (len(fresh) - min(with_pages, len(fresh)))
            keyword_keys = await self.store.keyword_keys() if fresh and not first_sight else []
            articles = [
                self._compose(source, k, e, page, keyword_keys, summarise=page is not None or not first_sight)
                for (k, e), page in zip(fresh, pages, strict=True)
            ]
            # First sight is seeded silently: what the listing shows now is history, not news.
            saved = await self.store.save_articles(articles, self.clock(), seeded=first_sight)
            now = self.clock()
            await self.store.record_poll_success(
                source.id, now, next_check_at=now + timedelta(seconds=source.interval),
                etag=result.etag, last_modified=result.last_modified, item_count=len(keyed),
                seeded=first_sight,
            )
            await self._recovered(source, state)
            reason = ""
            if first_sight:
                reason = f"first sight: {len(saved.new_ids)} items stored silently"
            if page_errors:
                reason = (reason + "; " if reason else "") + (
                    f"{len(page_errors)} article page(s) failed, stored from the listing: {page_errors[0]}"
                )
            return PollReport(
                source.id, True, 0 if first_sight else len(saved.new_ids), time.perf_counter() - started,
                reason=reason, queued=saved.deliveries, seeded=first_sight,
            )
        except SourceFailure as exc:
            return await self._failed(source, str(exc), started)
        except Exception as exc:  # a bug or a database problem: report it, keep the scheduler alive
            log.exception("polling %s failed unexpectedly", source.id)
            return await self._failed(source, f"internal error: {type(exc).__name__}: {exc}", started)

    async def _try_page(self, source: Source, entry: Entry, errors: list[str]) -> ExtractedArticle | None:
        try:
            return await self.reader.article(source, entry)
        except FeedError as exc:
            log.warning("article page %s: %s", entry.url, exc)
            errors.append(str(exc))
            return None

    async def _failed(self, source: Source, reason: str, started: float) -> PollReport:
        now = self.clock()
        state = await self.store.source_state(source.id)
        failures = (state.consecutive_failures if state else 0) + 1
        delay = backoff_delay(source.interval, failures, self.settings.max_backoff)
        state = await self.store.record_poll_failure(
            source.id, now, error=reason, next_check_at=now + timedelta(seconds=delay)
        )
        log.warning("source %s failed (%d in a row, next try in %ds): %s", source.id, failures, delay, reason)
        if state.consecutive_failures >= self.settings.alert_after and not state.alerted:
            await self.store.set_source_alerted(source.id, True)
            await self._alert(
                "alert_source_failing",
                {"name": source.name, "id": source.id, "count": state.consecutive_failures,
                 "error": reason[:300], "next_check": state.next_check_at},
            )
        return PollReport(source.id, False, 0, time.perf_counter() - started, reason=reason)

    async def _recovered(self, source: Source, before: SourceState | None) -> None:
        if before is not None and before.alerted:
            await self.store.set_source_alerted(source.id, False)
            await self._alert("alert_source_recovered", {"name": source.name, "id": source.id})

    async def _alert(self, key: str, values: dict[str, object]) -> None:
        if self.alert is None:
            return
        try:
            await self.alert(key, values)
        except Exception:
            log.exception("could not queue the admin alert %s", key)

    async def poll_all(self, sources: Sequence[Source], *, concurrency: int = 8) -> list[PollReport]:
        """Poll several sources, a few at a time; reports in the order of ``sources``."""
        gate = asyncio.Semaphore(concurrency)

        async def one(source: Source) -> PollReport:
            async with gate:
                return await self.poll(source)

        return list(await asyncio.gather(*(one(s) for s in sources)))


def format_when(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%d/%m/%Y %H:%M") if value else "-"
