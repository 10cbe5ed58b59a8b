"""Leadership by lease: exactly one instance polls, and one sends per channel, at a time.

Every instance serves webhooks and commands; the work that must not be done twice is
guarded by a named lease in the database (:meth:`storage.store.Store.acquire_lease`). A
holder renews it well before it expires; a dead holder's lease expires and another instance
takes over within ``ttl`` plus one retry interval.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from storage.store import Store

log = logging.getLogger(__name__)

DEFAULT_TTL = 20.0
#: The longest instance id: ``deliveries.claimed_by`` is ``VARCHAR(64)`` (``leases.holder`` 100).
MAX_INSTANCE_ID = 64


def instance_id(host: str | None = None, pid: int | None = None, suffix: str | None = None) -> str:
    """This process's name as a lease holder and outbox claimer: ``{host}-{pid}-{random}``.

    The host part is cut so the whole fits ``MAX_INSTANCE_ID``; pid and the random suffix are
    always kept, so two processes on hosts with one long common prefix still differ.
    """
    host = socket.gethostname() if host is None else host
    pid = os.getpid() if pid is None else pid
    suffix = uuid.uuid4().hex[:6] if suffix is None else suffix
    tail = f"-{pid}-{suffix}"[-MAX_INSTANCE_ID:]
    return host[: max(0, MAX_INSTANCE_ID - len(tail))] + tail


@dataclass(frozen=True)
class LeaseState:
    """What :meth:`Lease.check` found: whether this holder has the lease now, and whether it
    has just taken it (so it should take over what the previous holder left in flight)."""

    held: bool
    acquired: bool


class Lease:
    """One named lease as seen by one holder; ``check()`` is cheap to call often."""

    def __init__(
        self,
        store: Store,
        name: str,
        holder: str,
        *,
        clock: Callable[[], datetime],
        ttl: float = DEFAULT_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.name = name
        self.holder = holder
        self.clock = clock
        self.ttl = ttl
        self.monotonic = monotonic
        self.held = False
        self._renewed_at = -1e18

    async def check(self) -> LeaseState:
        """Held now, and just taken? Renews at a third of the TTL; asks the database only then."""
        now = self.monotonic()
        if self.held and now - self._renewed_at < self.ttl / 3:
            return LeaseState(held=True, acquired=False)
        try:
            ok = await self.store.acquire_lease(self.name, self.holder, self.clock(), self.ttl)
        except Exception:
            log.exception("lease %s: could not reach the database", self.name)
            ok = False
        was = self.held
        self.held = ok
        if ok:
            self._renewed_at = now
        if ok and not was:
            log.info("lease %s: now held by %s", self.name, self.holder)
        elif was and not ok:
            log.warning("lease %s: lost by %s", self.name, self.holder)
        return LeaseState(held=ok, acquired=ok and not was)

    async def release(self) -> None:
        if self.held:
            self.held = False
            try:
                await self.store.release_lease(self.name, self.holder)
            except Exception:
                log.exception("lease %s: could not release", self.name)
