"""The retention job: finished deliveries older than ``BANTIN_DELIVERY_RETENTION_DAYS`` are
deleted in small batches in the background, their counts kept for /stats (storage.retention).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.jobs import LoopJob, Retry, Supervisor
from bot.ops.metrics import Metrics
from storage.store import Store

log = logging.getLogger(__name__)

#: rows deleted per transaction: short enough not to hold up sends on the same database
BATCH = 1000
#: pause between two batches, so a long pruning yields the database to the senders
PAUSE = 0.05
#: how often the job looks for work once everything old is gone
EVERY = 3600.0


class Retention(LoopJob):
    """Deletes old finished deliveries, a batch at a time, while it runs (a supervised loop:
    a failure is logged, counted and tried again after 10 s, doubling up to ``every``)."""

    def __init__(
        self,
        store: Store,
        days: int,
        *,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
        batch: int = BATCH,
        pause: float = PAUSE,
        every: float = EVERY,
    ) -> None:
        self.store = store
        self.days = days
        self.clock = clock
        self.batch = batch
        self.pause = pause
        self.every = every
        self.loop = Supervisor(
            "retention",
            "deliveries",
            self._round,
            retry=Retry(base=10.0, cap=every),
            metrics=metrics,
        )

    async def prune(self) -> int:
        """Delete everything past retention now, in batches; how many rows went. A stop
        ends it after the batch under way (never cut a transaction short)."""
        cutoff = self.clock() - timedelta(days=self.days)
        total = 0
        while True:
            n = await self.store.prune_deliveries(cutoff, batch=self.batch)
            total += n
            if n < self.batch or self.loop.stopping:
                return total
            await asyncio.sleep(self.pause)

    async def _round(self) -> float:
        """Prune now, then rest ``every`` seconds."""
        pruned = await self.prune()
        if pruned:
            log.info("retention: %d deliveries older than %d days deleted", pruned, self.days)
        return self.every
