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

from bot.ops.alerts import Alert
from bot.ops.backoff import backoff
from bot.polling.keywords import FollowedKeywords, tag
from bot.polling.plan import (
    MAX_ENTRIES_PER_LISTING,
    MAX_PAGES_PER_POLL,
    PollPlan,
    article_date,
    plan_poll,
)
from bot.settings import Settings
from feeds.errors import FeedError, Refused, WorkerFailure
from feeds.fetch import FetchResult
from feeds.models import Entry, ExtractedArticle, Source, Topic
from feeds.netpolicy import article_policy, dropped_link
from feeds.parsepool import ParsePool, listing_hash
from feeds.reader import SourceFailure, SourceReader, keyed_entries
from feeds.text import normalize, normalize_block
from feeds.topics import KeywordIndex, TopicIndex
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
    #: links dropped: a non-public address in a source that does not allow private
    #: addresses (never fetched, never stored)
    refused: int = 0
    #: fresh entries stored from the listing alone because the outbound policy does not let
    #: the bot fetch their page (another host of an allow_private source)
    unfetched: int = 0
    #: entries that failed on their own this poll (recorded in entry_failures)
    failed_entries: int = 0
    #: fresh entries over the page budget, left for the next poll
    deferred: int = 0

    def line(self) -> str:
        """``<source id> ok|error new=<n> <seconds>s [<reason>]``."""
        out = f"{self.source_id} {'ok' if self.ok else 'error'} new={self.new} {self.seconds:.2f}s"
        return f"{out} {self.reason}" if self.reason else out


def success_reason(
    plan: PollPlan,
    stored: int,
    page_errors: Sequence[str],
    *,
    failed: Sequence[str] = (),
) -> str:
    """The reason a successful poll's report carries: seeding, article pages that failed,
    entries that failed on their own, links dropped or not fetched, entries left for later."""
    parts = [f"first sight: {stored} items stored silently"] if plan.first_sight else []
    if page_errors:
        parts.append(
            f"{len(page_errors)} article page(s) failed, stored from the listing: {page_errors[0]}"
        )
    if failed:
        parts.append(f"{len(failed)} entr(y/ies) failed, retried next poll: {failed[0]}")
    if plan.dropped:
        parts.append(f"{len(plan.dropped)} link(s) to a private address dropped")
    if plan.unfetched:
        parts.append(f"{plan.unfetched} page(s) on other hosts not fetched, stored from listing")
    if plan.deferred:
        parts.append(f"{len(plan.deferred)} entr(y/ies) over the page budget, left for next poll")
    return "; ".join(parts)


@dataclass(frozen=True)
class PollSettings:
    max_bytes: int = 5_000_000
    fetch_timeout: float = 30.0
    fetch_concurrency: int = 4
    alert_after: int = 3
    max_backoff: int = 6 * 3600
    summary_chars: int = 400
    max_pages_per_poll: int = MAX_PAGES_PER_POLL
    max_entries_per_listing: int = MAX_ENTRIES_PER_LISTING
    #: failed attempts after which an entry is skipped for good
    entry_attempts: int = 3
    #: parser processes (0: parse inline, in the event loop's process: tests, small tools)
    parse_workers: int = 0
    #: seconds one document may take to parse
    parse_timeout: float = 20.0

    @classmethod
    def from_settings(cls, settings: Settings) -> PollSettings:
        """The poller's share of the deployment settings (the one place they are mapped)."""
        fetch, polling = settings.fetch, settings.polling
        return cls(
            max_bytes=fetch.max_response_bytes,
            # BANTIN_HTTP_TIMEOUT bounds each phase of a request; a whole fetch gets two.
            fetch_timeout=fetch.timeout * 2,
            fetch_concurrency=fetch.concurrency,
            alert_after=polling.alert_after_failures,
            max_backoff=polling.max_backoff,
            max_pages_per_poll=polling.max_pages_per_poll,
            max_entries_per_listing=polling.max_entries_per_listing,
            entry_attempts=polling.entry_attempts,
            parse_workers=fetch.parse_workers,
            parse_timeout=fetch.parse_timeout,
        )


def _db_reason(exc: Exception) -> str:
    """The database's complaint, first line only (SQLAlchemy appends the whole statement)."""
    return "cannot store: " + (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _fetchable(source: Source) -> Callable[[Entry], bool]:
    """Whether the outbound policy lets the bot fetch an entry's page (checked before DNS;
    the fetch checks every address and hop again)."""
    policy = article_policy(source)
    return lambda entry: policy.url_refusal(entry.url) is None


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
        self.topic_index = TopicIndex(self.topics)
        self.clock = clock
        self.keywords = FollowedKeywords(store, clock=clock)  # every chat's, kept up to date
        self.settings = settings or PollSettings()
        self.parse_pool = ParsePool(
            self.settings.parse_workers, time_limit=self.settings.parse_timeout
        )
        self.reader = SourceReader(
            client,
            max_bytes=self.settings.max_bytes,
            timeout=self.settings.fetch_timeout,
            concurrency=self.settings.fetch_concurrency,
            parse_pool=self.parse_pool,
            max_entries=self.settings.max_entries_per_listing,
        )
        self.alert = alert
        self._locks: dict[str, asyncio.Lock] = {}

    def close(self) -> None:
        """Stop the parser processes."""
        self.parse_pool.close()

    async def _compose(
        self,
        source: Source,
        key: str,
        entry: Entry,
        page: ExtractedArticle | None,
        keywords: KeywordIndex | None,
        *,
        summarise: bool = True,
    ) -> NewArticle:
        """The article to store; ``summarise=False`` for history seeded from the listing alone
        (never pushed, and its "body" is only the listing's lead)."""
        title = normalize((page.title if page and page.title else "") or entry.title) or entry.url
        body = normalize_block(page.body) if page and page.body else normalize_block(entry.summary)
        published, _ = article_date(source.kind, entry, page)
        summary = (
            await self.parse_pool.summary(body, title, self.settings.summary_chars)
            if body and summarise
            else ""
        )
        tagged = await asyncio.to_thread(tag, title, body, source, self.topic_index, keywords)
        return NewArticle(
            source_id=source.id,
            key=key,
            url=entry.url,
            title=title,
            published_at=published,
            body=body,
            summary=summary,
            topics=tagged.topics,
            keywords=tagged.keywords,
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
                last_hash=state.listing_hash if state else None,
            )
            if entries is None:
                await self._record_success(source, result, item_count=None)
                await self._recovered(source, state)
                seconds = time.perf_counter() - started
                return PollReport(source.id, True, 0, seconds, not_modified=True)
            keyed = keyed_entries(source, entries)
            keys = [k for k, _ in keyed]
            known = await self.store.known_keys(keys)
            skipped = await self.store.given_up_keys(keys, self.settings.entry_attempts)
            plan = plan_poll(
                source,
                state,
                keyed,
                known | skipped,
                max_pages=self.settings.max_pages_per_poll,
                max_entries=self.settings.max_entries_per_listing,
                fetchable=_fetchable(source),
                drop=lambda e: dropped_link(source, e.url),
            )
            if plan.failure is not None:
                raise SourceFailure(plan.failure)
            return await self._store_plan(source, state, result, plan, started)
        except SourceFailure as exc:
            return await self._failed(source, str(exc), started)
        except Exception as exc:  # a bug or a database problem: report it, keep the scheduler alive
            log.exception("polling %s failed unexpectedly", source.id)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            return await self._failed(source, reason, started)

    async def _store_plan(
        self,
        source: Source,
        state: SourceState | None,
        result: FetchResult,
        plan: PollPlan,
        started: float,
    ) -> PollReport:
        """Fetch pages -> compose -> save, one entry's failure costing only that entry.

        Every entry is stored, from its page or from the listing alone; the one exception is
        a link that names a non-public address in a source that does not allow those
        (:func:`~feeds.netpolicy.dropped_link`): its URL names an internal host."""
        for _, _, why in plan.dropped:
            log.warning("source %s: link refused (%s), dropped", source.id, why)
        to_fetch, listing_only = plan.fetch_pages, plan.listing_only
        page_errors: list[str] = []
        failures: list[tuple[str, Entry, str]] = []
        outcomes = await asyncio.gather(
            *(self._try_page(source, e, page_errors) for _, e in to_fetch)
        )
        keywords = await self.keywords.index() if plan.match_keywords else None
        todo: list[tuple[str, Entry, ExtractedArticle | None]] = []
        for (k, e), (page, failure) in zip(to_fetch, outcomes, strict=True):
            if failure is not None:
                failures.append((k, e, failure))
            else:
                todo.append((k, e, page))
        todo += [(k, e, None) for k, e in listing_only]

        async def compose(k: str, e: Entry, page: ExtractedArticle | None) -> NewArticle | None:
            summarise = page is not None or plan.summarise_without_page
            try:
                return await self._compose(source, k, e, page, keywords, summarise=summarise)
            except Exception as exc:  # the summariser crashed or ran out of time on this one
                failures.append((k, e, f"{type(exc).__name__}: {exc}"))
                return None

        composed = await asyncio.gather(*(compose(k, e, p) for k, e, p in todo))
        articles = [a for a in composed if a is not None]
        # First sight is seeded silently: what the listing shows now is history, not news.
        new_ids, queued = await self._save(source, articles, plan.first_sight, failures)
        await self.store.clear_entry_failures([a.key for a in articles])
        retry = await self._record_failures(source, failures)
        # An unchanged listing is not parsed again, so its hash is kept only when nothing on
        # it waits for a later poll (entries over the budget, failures to retry).
        done = not plan.deferred and not retry
        await self._record_success(
            source,
            result,
            item_count=plan.item_count,
            seeded=plan.first_sight,
            listing_hash=listing_hash(result.content) if done else None,
        )
        await self._recovered(source, state)
        return PollReport(
            source.id,
            True,
            0 if plan.first_sight else len(new_ids),
            time.perf_counter() - started,
            reason=success_reason(
                plan, len(new_ids), page_errors, failed=[f for _, _, f in failures]
            ),
            queued=queued,
            seeded=plan.first_sight,
            refused=len(plan.dropped),
            unfetched=plan.unfetched,
            failed_entries=len(failures),
            deferred=len(plan.deferred),
        )

    async def _save(
        self,
        source: Source,
        articles: Sequence[NewArticle],
        seeded: bool,
        failures: list[tuple[str, Entry, str]],
    ) -> tuple[list[int], int]:
        """One transaction for the batch; if the database refuses it, article by article, so
        one poison row (a value the database rejects) fails alone."""
        now = self.clock()
        try:
            saved = await self.store.save_articles(articles, now, seeded=seeded)
            return list(saved.new_ids), saved.deliveries
        except Exception as exc:
            if len(articles) == 1:
                a = articles[0]
                failures.append((a.key, Entry(url=a.url, title=a.title), _db_reason(exc)))
                return [], 0
            log.warning("source %s: batch save failed (%s), saving one by one", source.id, exc)
        new_ids: list[int] = []
        queued = 0
        for a in articles:
            try:
                one = await self.store.save_articles([a], now, seeded=seeded)
            except Exception as exc:
                failures.append((a.key, Entry(url=a.url, title=a.title), _db_reason(exc)))
                continue
            new_ids += one.new_ids
            queued += one.deliveries
        return new_ids, queued

    async def _record_failures(
        self, source: Source, failures: Sequence[tuple[str, Entry, str]]
    ) -> int:
        """Record each failed entry; returns how many will be tried again."""
        retry = 0
        now = self.clock()
        for key, entry, reason in failures:
            attempts = await self.store.record_entry_failure(source.id, key, entry.url, reason, now)
            if attempts >= self.settings.entry_attempts:
                log.warning(
                    "source %s: entry %s failed %d times, skipped for good: %s",
                    source.id,
                    entry.url,
                    attempts,
                    reason,
                )
            else:
                retry += 1
                log.warning("source %s: entry %s failed: %s", source.id, entry.url, reason)
        return retry

    async def _record_success(
        self,
        source: Source,
        result: FetchResult,
        *,
        item_count: int | None,
        seeded: bool = False,
        listing_hash: str | None | bool = False,
    ) -> None:
        """Next check one interval from now; ``item_count`` None (a 304) keeps the last count;
        ``listing_hash`` False keeps the stored hash."""
        now = self.clock()
        await self.store.record_poll_success(
            source.id,
            now,
            next_check_at=now + timedelta(seconds=source.interval),
            etag=result.etag,
            last_modified=result.last_modified,
            item_count=item_count,
            seeded=seeded,
            listing_hash=listing_hash,
        )

    async def _try_page(
        self, source: Source, entry: Entry, errors: list[str]
    ) -> tuple[ExtractedArticle | None, str | None]:
        """(page, None); (None, None) when the page failed the ordinary way or was refused by
        the outbound policy after DNS or on a redirect (stored from the listing, ``errors``
        says why; the refused request was never made); (None, reason) when the entry fails
        (parser crash or time limit: retried on later polls)."""
        try:
            return await self.reader.article(source, entry), None
        except Refused as exc:
            # What the feed says of the entry is still news; only its page stays unread.
            log.warning("source %s: page not fetched (%s), stored from the listing", source.id, exc)
            errors.append(str(exc))
            return None, None
        except WorkerFailure as exc:
            return None, str(exc)
        except FeedError as exc:
            log.warning("article page %s: %s", entry.url, exc)
            errors.append(str(exc))
            return None, None
        except Exception as exc:  # a parser bug this page provoked (inline mode): its entry
            return None, f"{type(exc).__name__}: {exc}"

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
