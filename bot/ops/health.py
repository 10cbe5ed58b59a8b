"""Operations endpoints of the bot's HTTP server: ``/healthz`` and ``/metrics``.

Health is red (503), naming the failing component, while the database does not answer, the
scheduler is stopped, a poll job keeps failing, or a sender is dead, failing or parked.
Anyone sees the status; the details (instance, leases) and /metrics need the bearer token
when ``BANTIN_METRICS_TOKEN`` is set. Shared figures are read from the database at scrape
time, so every instance reports the same truth.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.delivery.worker import DeliveryWorker
from bot.ops.leader import Lease
from bot.ops.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.polling.scheduling import PollScheduler
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
        token: str = "",
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.scheduler = scheduler
        self.poll_lease = poll_lease
        self.worker = worker
        self.instance_id = instance_id
        self.clock = clock
        self.token = token

    def authorised(self, request: Request) -> bool:
        """Whether the request may see details: no token configured, or the right bearer."""
        if not self.token:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

    def routes(self) -> list[Route]:
        return [Route("/healthz", self.healthz), Route("/metrics", self.metrics_endpoint)]

    async def check(self) -> tuple[bool, dict[str, object]]:
        """(healthy, details): the database answers, the scheduler runs, every poll job and
        sender is alive. ``problems`` names each failing component."""
        db_ok = await self.store.ping()
        problems: dict[str, str] = {} if db_ok else {"database": "unreachable"}
        problems.update(self.scheduler.problems())
        problems.update(self.worker.problems())
        last = await self.store.last_success() if db_ok else None
        age = round((self.clock() - last).total_seconds(), 1) if last else None
        body: dict[str, object] = {
            "status": "ok" if not problems else "unhealthy",
            "problems": problems,
            "database": "ok" if db_ok else "unreachable",
            "scheduler": "running" if self.scheduler.running else "stopped",
            "last_successful_poll_age_seconds": age,
        }
        return not problems, body

    def details(self) -> dict[str, object]:
        """Who this instance is and what it leads: for operators only."""
        return {
            "instance": self.instance_id,
            "poll_leader": self.poll_lease.held,
            "send_leader": {name: s.lease.held for name, s in self.worker.senders.items()},
        }

    async def healthz(self, request: Request) -> Response:
        healthy, body = await self.check()
        if "details" in request.query_params:
            if not self.authorised(request):
                return JSONResponse({"error": "bearer token required"}, status_code=401)
            body.update(self.details())
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def metrics_endpoint(self, request: Request) -> Response:
        if not self.authorised(request):
            return JSONResponse({"error": "bearer token required"}, status_code=401)
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
