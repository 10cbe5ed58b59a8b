"""Operations endpoints of the bot's HTTP server: ``/healthz`` and ``/metrics``.

Health is red (503) while the database does not answer or the scheduler is not running.
Metrics that describe shared state (outbox, last poll) are read from the database at scrape
time, so every instance reports the same truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.delivery import DeliveryWorker
from bot.leader import Lease
from bot.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.scheduling import PollScheduler
from storage.store import Store

log = logging.getLogger(__name__)


class Health:
    """What ``/healthz`` and ``/metrics`` report about one instance."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        *,
        scheduler: PollScheduler,
        poll_lease: Lease,
        worker: DeliveryWorker,
        instance_id: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.scheduler = scheduler
        self.poll_lease = poll_lease
        self.worker = worker
        self.instance_id = instance_id
        self.clock = clock

    def routes(self) -> list[Route]:
        return [Route("/healthz", self.healthz), Route("/metrics", self.metrics_endpoint)]

    async def check(self) -> tuple[bool, dict[str, object]]:
        """(healthy, details): the database answers and the scheduler runs."""
        db_ok = await self.store.ping()
        scheduler_ok = self.scheduler.running
        last = await self.store.last_success() if db_ok else None
        age = round((self.clock() - last).total_seconds(), 1) if last else None
        body: dict[str, object] = {
            "status": "ok" if db_ok and scheduler_ok else "unhealthy",
            "database": "ok" if db_ok else "unreachable",
            "scheduler": "running" if scheduler_ok else "stopped",
            "last_successful_poll_age_seconds": age,
            "instance": self.instance_id,
            "poll_leader": self.poll_lease.held,
            "send_leader": {name: s.lease.held for name, s in self.worker.senders.items()},
        }
        return db_ok and scheduler_ok, body

    async def healthz(self, request: Request) -> Response:
        healthy, body = await self.check()
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def metrics_endpoint(self, request: Request) -> Response:
        try:
            rows, due = await self.store.outbox_counts(self.clock())
            self.metrics.set_outbox(rows, due)
            last = await self.store.last_success()
            if last is not None:
                self.metrics.last_poll_age.set((self.clock() - last).total_seconds())
        except Exception:
            log.exception("metrics: database figures unavailable")
        leases = {"poll": self.poll_lease.held}
        leases.update({f"send:{name}": s.lease.held for name, s in self.worker.senders.items()})
        self.metrics.set_leases(leases)
        return Response(self.metrics.render(), media_type=CONTENT_TYPE_LATEST)
