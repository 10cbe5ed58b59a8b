"""Per-source poll scheduling: one date job per source, jitter, and the poll lease check.

APScheduler runs one job per enabled source, rescheduled after each poll from the
``next_check_at`` the poller stored (interval, or backoff after failures), with a little
jitter so sources drift apart. Only the holder of the ``poll`` lease polls; the others look
again soon, to take over when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.ops.backoff import backoff
from bot.ops.leader import Lease
from bot.ops.metrics import Metrics
from bot.polling.poller import Poller
from feeds.models import Source
from storage.store import Store

log = logging.getLogger(__name__)

#: fraction of a source's interval added or removed at random, so sources drift apart
JITTER = 0.1


def utcnow() -> datetime:
    return datetime.now(UTC)


class PollScheduler:
    """Polls each enabled source when it is due, while this instance holds the poll lease."""

    def __init__(
        self,
        store: Store,
        poller: Poller,
        sources: Sequence[Source],
        lease: Lease,
        *,
        clock: Callable[[], datetime],
        on_queued: Callable[[], None],
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.poller = poller
        self.sources = {s.id: s for s in sources if s.enabled}
        self.lease = lease
        self.clock = clock
        #: called after a poll queued deliveries (wakes the delivery engine)
        self.on_queued = on_queued
        self._rng = rng or random.Random()
        self.metrics = metrics
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        #: failed jobs in a row, by source (health: red while any source's job keeps failing)
        self.failing: dict[str, int] = {}
        self._running: set[asyncio.Task[object]] = set()

    @property
    def running(self) -> bool:
        return self._scheduler.running

    async def start(self) -> None:
        """Start the scheduler and plan every source from its stored next check."""
        self._scheduler.start()
        now = self.clock()
        states = {s.id: s for s in await self.store.source_states()}
        for i, source in enumerate(self.sources.values()):
            state = states.get(source.id)
            due = state.next_check_at if state and state.next_check_at else now
            # Spread the first polls a little so a restart does not hit the portal at once.
            delay = max(0.0, (due - now).total_seconds()) + 0.2 * i
            self._schedule(source.id, delay)

    async def stop(self) -> None:
        """Stop planning polls, let a poll under way finish (briefly), hand the lease over."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            if self._running:  # a poll still writing would race the store's closing
                await asyncio.wait(set(self._running), timeout=10)
            await self.lease.release()

    def problems(self) -> dict[str, str]:
        """What is wrong with polling, by component (empty when all is well)."""
        out: dict[str, str] = {}
        if not self._scheduler.running:
            out["scheduler"] = "stopped"
        for source_id, count in self.failing.items():
            if count >= 3:
                out[f"poll:{source_id}"] = f"job failing ({count} in a row)"
        return out

    def _jittered(self, seconds: float) -> float:
        return max(1.0, seconds * (1 + self._rng.uniform(-JITTER, JITTER)))

    def _schedule(self, source_id: str, delay: float) -> None:
        self._scheduler.add_job(
            self._job,
            "date",
            run_date=utcnow() + timedelta(seconds=delay),
            args=[source_id],
            id=f"poll:{source_id}",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    async def _job(self, source_id: str) -> None:
        """One poll job, supervised: whatever it raises, the source is planned again."""
        if source_id not in self.sources or not self._scheduler.running:
            return
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self._poll(source_id)
            self.failing.pop(source_id, None)
        except Exception:
            failures = self.failing[source_id] = self.failing.get(source_id, 0) + 1
            delay = backoff(failures, base=5.0, cap=600.0, jitter=0.2)
            log.exception(
                "poll job of %s failed (%d in a row); again in %.0f s", source_id, failures, delay
            )
            if self.metrics is not None:
                self.metrics.record_job_error("poll", source_id)
            with contextlib.suppress(Exception):  # the scheduler may be shutting down
                if self._scheduler.running:
                    self._schedule(source_id, delay)
        finally:
            if task is not None:
                self._running.discard(task)

    async def _poll(self, source_id: str) -> None:
        source = self.sources[source_id]
        held, _ = await self.lease.check()
        if not held:
            # Another instance polls; look again soon, to take over if it dies.
            self._schedule(source_id, min(5.0, self.lease.ttl / 4))
            return
        if await self.store.is_source_paused(source_id):
            # Paused in the web console: look again later, so a resume takes effect.
            log.info("poll %s skipped: paused", source_id)
            self._schedule(source_id, min(float(source.interval), 60.0))
            return
        state = await self.store.source_state(source_id)
        if state is not None and state.next_check_at is not None:
            ahead = (state.next_check_at - self.clock()).total_seconds()
            if ahead > 1.0:  # polled recently (by us or the previous leader): not yet due
                self._schedule(source_id, ahead)
                return
        report = await self.poller.poll(source)
        log.info("poll %s", report.line())
        if report.queued:
            self.on_queued()
        state = await self.store.source_state(source_id)
        delay: float = source.interval
        if state is not None and state.next_check_at is not None:
            delay = max(1.0, (state.next_check_at - self.clock()).total_seconds())
        self._schedule(source_id, self._jittered(delay))
