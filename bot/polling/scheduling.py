"""Per-source poll scheduling: one date job per source, jitter, and the poll lease check.

APScheduler runs one job per enabled source, rescheduled after each poll from the
``next_check_at`` the poller stored (interval, or backoff after failures), with a little
jitter so sources drift apart. Only the holder of the ``poll`` lease polls; the others look
again soon, to take over when it dies. A job that raises is logged, counted and planned again
with backoff (:class:`bot.jobs.Faults`); the scheduler is one of the app's :class:`bot.jobs.Job`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.jobs import FAILING_AFTER, Faults, Retry
from bot.ops.leader import Lease
from bot.ops.metrics import Metrics
from bot.polling.poller import Poller
from feeds.models import Source
from storage.store import Store

log = logging.getLogger(__name__)

#: fraction of a source's interval added or removed at random, so sources drift apart
JITTER = 0.1
#: how soon a poll job that raised is tried again: 5 s, doubling up to ten minutes
JOB_RETRY = Retry(base=5.0, cap=600.0)


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
        self.faults = {
            sid: Faults("poll", sid, retry=JOB_RETRY, metrics=metrics) for sid in self.sources
        }
        self._running: set[asyncio.Task[object]] = set()

    @property
    def name(self) -> str:
        return "scheduler"

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
        for faults in self.faults.values():
            if faults.count >= FAILING_AFTER:
                out[faults.key] = f"job failing ({faults.count} in a row)"
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
        faults = self.faults[source_id]
        try:
            await self._poll(source_id)
            faults.ok()
        except Exception:
            delay = faults.failed()
            with contextlib.suppress(Exception):  # the scheduler may be shutting down
                if self._scheduler.running:
                    self._schedule(source_id, delay)
        finally:
            if task is not None:
                self._running.discard(task)

    async def _poll(self, source_id: str) -> None:
        source = self.sources[source_id]
        if not (await self.lease.check()).held:
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
