"""Operations endpoints of the bot's HTTP server: ``/healthz`` and ``/metrics``.

Health is red (503), naming the failing component, while the database does not answer or
any background job reports a problem (:meth:`bot.jobs.Job.problems`: the scheduler stopped, a
poll job failing, a sender dead, failing or parked, retention or the broadcast dispatcher dead
or failing).
Anyone sees the status and the names of the failing components; their reasons (which may
quote a platform's answer) only the bearer of ``BANTIN_METRICS_TOKEN``, and without a token
configured no one over HTTP (they are in the log). The details (instance, leases) and
/metrics need the bearer token when it is set. Shared figures are read from the database at scrape
time, so every instance reports the same truth.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.jobs import Job
from bot.ops.leader import Lease
from bot.ops.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.ops.redact import redact
from storage.store import Store

log = logging.getLogger(__name__)


class Health:
    """What ``/healthz`` and ``/metrics`` report about one instance."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        *,
        jobs: Sequence[Job],
        poll_lease: Lease,
        send_leases: Mapping[str, Lease],
        instance_id: str,
        clock: Callable[[], datetime],
        token: str = "",
    ) -> None:
        self.store = store
        self.metrics = metrics
        #: every background job of the app, asked for its problems at each check
        self.jobs = jobs
        self.poll_lease = poll_lease
        #: the ``send:<channel>`` lease of each channel's sender, by channel
        self.send_leases = send_leases
        self.instance_id = instance_id
        self.clock = clock
        self.token = token

    def authorised(self, request: Request) -> bool:
        """Whether the request may see details: no token configured, or the right bearer."""
        return not self.token or self.bearer(request)

    def bearer(self, request: Request) -> bool:
        """Whether the request carries the configured token (none configured: never)."""
        given = request.headers.get("authorization", "")
        expected = f"Bearer {self.token}"
        return bool(self.token) and hmac.compare_digest(given.encode(), expected.encode())

    def routes(self) -> list[Route]:
        return [Route("/healthz", self.healthz), Route("/metrics", self.metrics_endpoint)]

    async def check(self) -> tuple[bool, dict[str, object]]:
        """(healthy, body): the database answers and no job reports a problem.
        ``problems`` names each failing component, ``reasons`` says why (operators only)."""
        db_ok = await self.store.ping()
        problems: dict[str, str] = {} if db_ok else {"database": "unreachable"}
        for job in self.jobs:
            try:
                problems.update(job.problems())
            except Exception:  # a job that cannot say is not well either
                log.exception("health: %s could not report its problems", job.name)
                problems[job.name] = "unknown"
        # A reason may quote a platform's answer (a parked sender's): no secret leaves here.
        problems = {name: redact(why, limit=200) for name, why in problems.items()}
        last = await self.store.last_success() if db_ok else None
        age = round((self.clock() - last).total_seconds(), 1) if last else None
        body: dict[str, object] = {
            "status": "ok" if not problems else "unhealthy",
            # names only: a reason is for the bearer of the token (see healthz)
            "problems": sorted(problems),
            "reasons": problems,
            "database": "ok" if db_ok else "unreachable",
            # the scheduler names itself "scheduler" among the problems while it is stopped
            "scheduler": "stopped" if "scheduler" in problems else "running",
            "last_successful_poll_age_seconds": age,
        }
        return not problems, body

    def details(self) -> dict[str, object]:
        """Who this instance is and what it leads: for operators only."""
        return {
            "instance": self.instance_id,
            "poll_leader": self.poll_lease.held,
            "send_leader": {name: lease.held for name, lease in self.send_leases.items()},
        }

    async def healthz(self, request: Request) -> Response:
        healthy, body = await self.check()
        if not self.bearer(request):
            del body["reasons"]
        if "details" in request.query_params:
            if not self.authorised(request):
                return JSONResponse({"error": "bearer token required"}, status_code=401)
            body.update(self.details())
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def metrics_endpoint(self, request: Request) -> Response:
        if not self.authorised(request):
            return JSONResponse({"error": "bearer token required"}, status_code=401)
        try:
            counts = await self.store.outbox_counts(self.clock())
            self.metrics.set_outbox(counts.by_status, counts.due)
            last = await self.store.last_success()
            if last is not None:
                self.metrics.last_poll_age.set((self.clock() - last).total_seconds())
        except Exception:
            log.exception("metrics: database figures unavailable")
        leases = {"poll": self.poll_lease.held}
        leases.update({f"send:{name}": lease.held for name, lease in self.send_leases.items()})
        self.metrics.set_leases(leases)
        return Response(self.metrics.render(), media_type=CONTENT_TYPE_LATEST)
