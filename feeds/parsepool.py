"""Parsing off the event loop: listings, article pages and summaries run in a small pool of
worker processes, each document under a time limit. A document over the limit fails alone:
its worker is killed and the pool replaced, the bot's event loop never waits on a parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from feeds.charset import decode_html
from feeds.errors import FeedError, ParseError, ParseTimeout, WorkerFailure
from feeds.extract import extract_article
from feeds.kinds import source_type
from feeds.models import Entry, ExtractedArticle, Source
from feeds.summarize import summarize

log = logging.getLogger(__name__)

T = TypeVar("T")

#: address space of one worker: a parser that balloons fails with MemoryError, alone
WORKER_MEMORY_BYTES = 1_500_000_000


def listing_hash(content: bytes) -> str:
    """What the source state keeps of a listing's bytes, to skip parsing unchanged ones."""
    return hashlib.sha256(content).hexdigest()


# -- the jobs (module-level functions: they run in the workers) --------------------------------


def listing_job(
    source: Source, content: bytes, url: str, content_type: str | None, limit: int
) -> list[Entry]:
    """The entries of a listing (RSS/Atom or HTML), at most ``limit`` of them."""
    entries = source_type(source.kind).parse(source, content, url, content_type)
    # Truncated here so a 100,000-link listing never crosses the process boundary.
    return entries[:limit]


def article_job(
    source: Source, content: bytes, url: str, content_type: str | None, fallback_title: str
) -> ExtractedArticle:
    html = decode_html(content, content_type)
    return extract_article(html, url=url, rules=source.article, fallback_title=fallback_title)


def summary_job(body: str, title: str, max_chars: int) -> str:
    return summarize(body, title=title, max_chars=max_chars)


def _run(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[str, Any]:
    """Runs in the worker: the result, or the error as plain strings. Exceptions are not sent
    back as such: some cannot be unpickled (keyword-only constructors), and any exception a
    hostile document provokes must stay a value."""
    try:
        return "ok", fn(*args)
    except FeedError as exc:
        return "feed", str(exc)
    except BaseException as exc:  # MemoryError and RecursionError included: fail the document
        return "crash", f"{type(exc).__name__}: {str(exc)[:300]}"


def _init_worker(memory_bytes: int) -> None:
    # Parsing is background work: the bot's event loop (webhooks, sends) gets the CPU first.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    except (ImportError, ValueError, OSError):  # not on this platform: the time limit remains
        pass


def _unwrap(outcome: tuple[str, Any], what: str) -> Any:
    kind, value = outcome
    if kind == "ok":
        return value
    if kind == "feed":
        raise ParseError(value)
    raise WorkerFailure(f"parser failed on {what}: {value}")


class ParsePool:
    """``workers`` processes (0: parse inline, in this process, for tests and small tools).

    At most ``workers`` documents are handed over at a time, so a document's time limit
    counts its own parsing, not a queue. Create and use from one event loop; :meth:`close`
    when done (the workers also end with the interpreter).
    """

    def __init__(
        self,
        workers: int = 2,
        *,
        time_limit: float = 20.0,
        memory_bytes: int = WORKER_MEMORY_BYTES,
    ) -> None:
        self.workers = workers
        self.time_limit = time_limit
        self.memory_bytes = memory_bytes
        self.timeouts = 0
        self.restarts = 0
        self._executor: ProcessPoolExecutor | None = None
        self._warming: asyncio.Future[None] | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def inline(self) -> bool:
        return self.workers <= 0

    async def listing(
        self, source: Source, content: bytes, url: str, content_type: str | None, limit: int
    ) -> list[Entry]:
        args = (source, content, url, content_type, limit)
        out: list[Entry] = await self._call(listing_job, args, what=url)
        return out

    async def article(
        self, source: Source, content: bytes, url: str, content_type: str | None, fallback: str
    ) -> ExtractedArticle:
        args = (source, content, url, content_type, fallback)
        out: ExtractedArticle = await self._call(article_job, args, what=url)
        return out

    async def summary(self, body: str, title: str, max_chars: int) -> str:
        out: str = await self._call(summary_job, (body, title, max_chars), what="a summary")
        return out

    async def warm_up(self) -> None:
        """Start the workers and load the parsers in them now, not on the first document."""
        if self.inline:
            return
        self._pool()
        if self._warming is not None:
            await asyncio.shield(self._warming)

    async def _warm(self, executor: ProcessPoolExecutor) -> None:
        jobs = [
            executor.submit(_run, summary_job, ("Một câu.", "", 10)) for _ in range(self.workers)
        ]
        await asyncio.gather(*(asyncio.wrap_future(j) for j in jobs), return_exceptions=True)

    async def _call(self, fn: Callable[..., Any], args: tuple[Any, ...], *, what: str) -> Any:
        if self.inline:
            return _unwrap(_run(fn, args), what)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        async with self._slots:
            for attempt in (1, 2):
                # A new pool's start-up (processes, imports) is not the document's time.
                await self.warm_up()
                executor = self._pool()
                try:
                    future = asyncio.wrap_future(executor.submit(_run, fn, args))
                    outcome = await asyncio.wait_for(future, self.time_limit)
                except TimeoutError:
                    self.timeouts += 1
                    log.warning("parsing %s took over %.0fs: worker killed", what, self.time_limit)
                    self._replace(executor)
                    raise ParseTimeout(
                        f"parsing {what} took over {self.time_limit:g}s (stopped)"
                    ) from None
                except (BrokenProcessPool, RuntimeError):  # RuntimeError: shut down meanwhile
                    # Another document's timeout killed the pool, or a worker died (out of
                    # memory): this document gets one more try on a fresh pool.
                    self._replace(executor)
                    if attempt == 2:
                        raise WorkerFailure(f"parser process died on {what}") from None
                    continue
                return _unwrap(outcome, what)
        raise AssertionError("unreachable")

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # forkserver: workers fork from a small clean server, not from the bot (no copied
            # sockets, no threads); spawn where forkserver does not exist.
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            executor = ProcessPoolExecutor(
                self.workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(self.memory_bytes,),
            )
            self._executor = executor
            self._warming = asyncio.ensure_future(self._warm(executor))
        return self._executor

    def _replace(self, executor: ProcessPoolExecutor) -> None:
        """Kill ``executor``'s workers (a stuck parser ignores everything else) and drop it."""
        if self._executor is not executor:
            return  # already replaced by a concurrent failure
        self.restarts += 1
        self._executor = None
        _kill(executor)

    def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            self._warming = None
        if self._executor is not None:
            executor, self._executor = self._executor, None
            _kill(executor)


def _kill(executor: ProcessPoolExecutor) -> None:
    # ``_processes`` is private but stable (3.8-3.13); there is no public way to stop a worker
    # that is busy, and shutdown() alone would wait for it.
    for proc in list((getattr(executor, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.kill()
    executor.shutdown(wait=False, cancel_futures=True)
