"""The one protocol every background job implements, and the one supervisor that runs it.

A :class:`Job` is started and stopped by the app (one list, stopped in reverse) and tells
``/healthz`` what is wrong with it (``problems``). :class:`Supervisor` runs one loop body
again and again: an exception is logged, counted in
``bantin_job_errors_total{component,name}`` (:class:`Faults`) and the body is run again
after a capped exponential backoff; a loop that ends without being asked to (cancelled from
outside, a bug past every ``except``) is restarted the same way, and reported "not running"
until it is. A new background job is one class with a :class:`Supervisor` (or a
:class:`LoopJob`) and one line in ``App._jobs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.ops.backoff import backoff
from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)

#: failures in a row after which a job is reported failing (health turns red)
FAILING_AFTER = 3


class Job(Protocol):
    """A background job: the app starts it, stops it, and asks it what is wrong."""

    @property
    def name(self) -> str:
        """What the logs call the job."""
        ...

    async def start(self) -> None:
        """Start the job's loops (returns at once; the loops run as tasks)."""
        ...

    async def stop(self) -> None:
        """End the job: its loops finish their round, then whatever still runs is cancelled."""
        ...

    def problems(self) -> dict[str, str]:
        """What is wrong, by component (``retention:deliveries`` ...); empty when all is well."""
        ...


@dataclass(frozen=True)
class Retry:
    """How long a failing job waits before its next try: :func:`bot.ops.backoff.backoff`."""

    base: float
    cap: float
    jitter: float = 0.2

    def delay(self, failures: int) -> float:
        return backoff(failures, base=self.base, cap=self.cap, jitter=self.jitter)


class Faults:
    """One job's failures in a row: each is logged, counted and answered with a backoff.

    ``component`` and ``name`` label the counter and name the job in ``/healthz``
    (``component:name``): ``sender:telegram``, ``poll:<source>``, ``retention:deliveries``.
    """

    def __init__(
        self, component: str, name: str, *, retry: Retry, metrics: Metrics | None = None
    ) -> None:
        self.component = component
        self.name = name
        self.retry = retry
        self.metrics = metrics
        #: failures in a row (0 after a round that went well)
        self.count = 0

    @property
    def key(self) -> str:
        return f"{self.component}:{self.name}"

    def failed(self) -> float:
        """Record the exception being handled; the seconds to wait before the next try.

        Call it inside ``except``: the traceback goes to the log, never to ``/healthz``
        (an exception's text may carry a URL with a token in it)."""
        self.count += 1
        delay = self.retry.delay(self.count)
        log.exception("%s failed (%d in a row); again in %.1f s", self.key, self.count, delay)
        self.counted()
        return delay

    def counted(self) -> None:
        """Count one error in ``bantin_job_errors_total{component,name}``."""
        if self.metrics is not None:
            self.metrics.record_job_error(self.component, self.name)

    def ok(self) -> None:
        self.count = 0


class Supervisor:
    """Runs ``body`` in a loop until stopped, surviving whatever it raises.

    ``body`` does one round and returns the seconds to rest before the next (``None``: go on
    at once; it waits inside, e.g. for a wake-up). A rest ends early at :meth:`request_stop`;
    a round under way is never cut short by it (a cancel could land inside a transaction).
    """

    def __init__(
        self,
        component: str,
        name: str,
        body: Callable[[], Awaitable[float | None]],
        *,
        retry: Retry,
        metrics: Metrics | None = None,
    ) -> None:
        self.faults = Faults(component, name, retry=retry, metrics=metrics)
        self.body = body
        self.task: asyncio.Task[None] | None = None
        #: times the loop ended without being asked to, in a row
        self.crashes = 0
        self._started = False
        self._stopping = False
        self._stop_event: asyncio.Event | None = None
        self._restart: asyncio.TimerHandle | None = None

    @property
    def key(self) -> str:
        return self.faults.key

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self) -> None:
        """Run the loop as a task (again, after a stop)."""
        if self.running:
            return
        self._started, self._stopping = True, False
        self._stop_event = asyncio.Event()
        self._spawn()

    def request_stop(self) -> None:
        """End the loop after the round under way; a rest ends at once."""
        self._stopping = True
        if self._stop_event is not None:
            self._stop_event.set()
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None

    async def stop(self, grace: float = 10.0) -> None:
        """Ask the loop to end, wait ``grace`` seconds for its round, then cancel it."""
        self.request_stop()
        task = self.task
        if task is None:
            return
        if not task.done():
            await asyncio.wait({task}, timeout=grace)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def rest(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when asked to stop."""
        if self._stop_event is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop_event.wait()

    def problem(self, unit: str = "rounds") -> str | None:
        """ "not running" (it died and waits for its restart), "failing (n rounds in a row)"
        after a few failures, else None. Nothing before the first start or after a stop."""
        if not self._started or self._stopping:
            return None
        if not self.running:
            return "not running"
        if self.faults.count >= FAILING_AFTER:
            return f"failing ({self.faults.count} {unit} in a row)"
        return None

    def problems(self) -> dict[str, str]:
        problem = self.problem()
        return {self.key: problem} if problem is not None else {}

    def _spawn(self) -> None:
        self._restart = None
        if self._stopping:
            return
        self.task = asyncio.create_task(self._loop(), name=self.key)
        self.task.add_done_callback(self._ended)

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                pause = await self.body()
                self.faults.ok()
                self.crashes = 0
            except Exception:
                pause = self.faults.failed()
            if pause:
                await self.rest(pause)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The loop's task ended: when nobody asked it to, log, count, restart after a while."""
        exc = None if task.cancelled() else task.exception()
        if self._stopping or task is not self.task:
            return
        self.crashes += 1
        delay = self.faults.retry.delay(self.crashes)
        log.error("%s stopped (%r); restarting it in %.1f s", self.key, exc, delay)
        self.faults.counted()
        with contextlib.suppress(RuntimeError):  # the event loop is closing: nothing to restart
            self._restart = asyncio.get_running_loop().call_later(delay, self._spawn)


class LoopJob:
    """A :class:`Job` that is one supervised loop: set ``self.loop`` in ``__init__``."""

    loop: Supervisor
    #: at stop, how long the round under way may take to end by itself
    stop_grace: float = 10.0

    @property
    def name(self) -> str:
        return self.loop.key

    async def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop(self.stop_grace)

    def problems(self) -> dict[str, str]:
        return self.loop.problems()
