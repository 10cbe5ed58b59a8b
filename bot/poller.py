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
from datetime import datetime, timedelta

import httpx

from bot.alerts import Alert
from bot.backoff import backoff
from bot.polling_plan import PollPlan, plan_poll
from feeds.errors import FeedError
from feeds.fetch import FetchResult
from feeds.models import Entry, ExtractedArticle, Source, Topic
from feeds.reader import SourceFailure, SourceReader, keyed_entries
from feeds.summarize import summarize
from feeds.text import normalize, normalize_block
from feeds.topics import classify, keyword_matches
from storage.records import NewArticle, SourceState
from storage.store import Store

log = logging.getLogger(__name__)


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


def success_reason(plan: PollPlan, stored: int, page_errors: Sequence[str]) -> str:
    """The reason a successful poll's report carries: seeding, and article pages that failed."""
    reason = f"first sight: {stored} items stored silently" if plan.first_sight else ""
    if page_errors:
        reason = (reason + "; " if reason else "") + (
            f"{len(page_errors)} article page(s) failed, stored from the listing: {page_errors[0]}"
        )
    return reason


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
        self.reader = SourceReader(
            client,
            max_bytes=self.settings.max_bytes,
            timeout=self.settings.fetch_timeout,
            concurrency=self.settings.fetch_concurrency,
        )
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
        summary = (
            summarize(body, title=title, max_chars=self.settings.summary_chars)
            if body and summarise
            else ""
        )
        topics = classify(title, body, source.topics, self.topics)
        keywords = tuple(sorted(keyword_matches(title, body, keyword_keys))) if keyword_keys else ()
        return NewArticle(
            source_id=source.id,
            key=key,
            url=entry.url,
            title=title,
            published_at=published,
            body=body,
            summary=summary,
            topics=topics,
            keywords=keywords,
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
        """Fetch the listing -> plan -> fetch pages -> compose -> save -> record."""
        started = time.perf_counter()
        state = await self.store.source_state(source.id)
        if state is None:
            await self.store.sync_sources([source], self.clock())
            state = await self.store.source_state(source.id)
        try:
            result, entries = await self.reader.listing(
                source,
                etag=state.etag if state else None,
                last_modified=state.last_modified if state else None,
            )
            if entries is None:
                await self._record_success(source, result, item_count=None)
                await self._recovered(source, state)
                seconds = time.perf_counter() - started
                return PollReport(source.id, True, 0, seconds, not_modified=True)
            keyed = keyed_entries(source, entries)
            known = await self.store.known_keys([k for k, _ in keyed])
            plan = plan_poll(source, state, keyed, known)
            if plan.failure is not None:
                raise SourceFailure(plan.failure)
            page_errors: list[str] = []
            fetched = await asyncio.gather(
                *(self._try_page(source, e, page_errors) for _, e in plan.fetch_pages)
            )
            pages = [*fetched, *([None] * len(plan.listing_only))]
            keyword_keys = await self.store.keyword_keys() if plan.match_keywords else []
            articles = [
                self._compose(
                    source,
                    k,
                    e,
                    page,
                    keyword_keys,
                    summarise=page is not None or plan.summarise_without_page,
                )
                for (k, e), page in zip(plan.fresh, pages, strict=True)
            ]
            # First sight is seeded silently: what the listing shows now is history, not news.
            saved = await self.store.save_articles(articles, self.clock(), seeded=plan.first_sight)
            await self._record_success(
                source, result, item_count=plan.item_count, seeded=plan.first_sight
            )
            await self._recovered(source, state)
            return PollReport(
                source.id,
                True,
                0 if plan.first_sight else len(saved.new_ids),
                time.perf_counter() - started,
                reason=success_reason(plan, len(saved.new_ids), page_errors),
                queued=saved.deliveries,
                seeded=plan.first_sight,
            )
        except SourceFailure as exc:
            return await self._failed(source, str(exc), started)
        except Exception as exc:  # a bug or a database problem: report it, keep the scheduler alive
            log.exception("polling %s failed unexpectedly", source.id)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            return await self._failed(source, reason, started)

    async def _record_success(
        self, source: Source, result: FetchResult, *, item_count: int | None, seeded: bool = False
    ) -> None:
        """Next check one interval from now; ``item_count`` None (a 304) keeps the last count."""
        now = self.clock()
        await self.store.record_poll_success(
            source.id,
            now,
            next_check_at=now + timedelta(seconds=source.interval),
            etag=result.etag,
            last_modified=result.last_modified,
            item_count=item_count,
            seeded=seeded,
        )

    async def _try_page(
        self, source: Source, entry: Entry, errors: list[str]
    ) -> ExtractedArticle | None:
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
        log.warning(
            "source %s failed (%d in a row, next try in %ds): %s",
            source.id,
            failures,
            delay,
            reason,
        )
        if state.consecutive_failures >= self.settings.alert_after and not state.alerted:
            await self.store.set_source_alerted(source.id, True)
            await self._alert(
                "alert_source_failing",
                {
                    "name": source.name,
                    "id": source.id,
                    "count": state.consecutive_failures,
                    "error": reason[:300],
                    "next_check": state.next_check_at,
                },
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

    async def poll_all(
        self, sources: Sequence[Source], *, concurrency: int = 8
    ) -> list[PollReport]:
        """Poll several sources, a few at a time; reports in the order of ``sources``."""
        gate = asyncio.Semaphore(concurrency)

        async def one(source: Source) -> PollReport:
            async with gate:
                return await self.poll(source)

        return list(await asyncio.gather(*(one(s) for s in sources)))
