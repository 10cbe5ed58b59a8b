"""The retention job: finished deliveries older than ``BANTIN_DELIVERY_RETENTION_DAYS`` are
deleted in small batches in the background, their counts kept for /stats (storage.retention).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.ops.backoff import backoff
from bot.ops.metrics import Metrics
from storage.store import Store

log = logging.getLogger(__name__)

#: rows deleted per transaction: short enough not to hold up sends on the same database
BATCH = 1000
#: pause between two batches, so a long pruning yields the database to the senders
PAUSE = 0.05
#: how often the job looks for work once everything old is gone
EVERY = 3600.0


class Retention:
    """Deletes old finished deliveries, a batch at a time, while it runs."""

    def __init__(
        self,
        store: Store,
        days: int,
        *,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
        batch: int = BATCH,
        pause: float = PAUSE,
    ) -> None:
        self.store = store
        self.days = days
        self.clock = clock
        self.metrics = metrics
        self.batch = batch
        self.pause = pause
        self.failing = 0
        self._stop = asyncio.Event()

    async def _rest(self, seconds: float) -> None:
        """Sleep, or return early when asked to stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()

    def stop(self) -> None:
        """Ask the job to end after the batch under way (never cut a transaction short)."""
        self._stop.set()

    async def prune(self) -> int:
        """Delete everything past retention now, in batches; how many rows went."""
        cutoff = self.clock() - timedelta(days=self.days)
        total = 0
        while True:
            n = await self.store.prune_deliveries(cutoff, batch=self.batch)
            total += n
            if n < self.batch or self._stop.is_set():
                return total
            await asyncio.sleep(self.pause)

    async def run(self, every: float = EVERY) -> None:
        """Prune now and then every ``every`` seconds, surviving any error."""
        while not self._stop.is_set():
            try:
                pruned = await self.prune()
                self.failing = 0
                if pruned:
                    log.info(
                        "retention: %d deliveries older than %d days deleted", pruned, self.days
                    )
                await self._rest(every)
            except Exception:
                self.failing += 1
                log.exception("retention failed (%d in a row); retrying", self.failing)
                if self.metrics is not None:
                    self.metrics.record_job_error("retention", "deliveries")
                await self._rest(backoff(self.failing, base=10.0, cap=every, jitter=0.2))
