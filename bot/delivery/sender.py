"""One channel's sender: claims due deliveries, paces them, sends, records the outcome.

See :mod:`bot.delivery.worker` for the engine as a whole and what each outcome does to a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from bot.channels.base import (
    Channel,
    ChannelDown,
    ChatMigrated,
    ChatUnreachable,
    Held,
    OutMessage,
    QuotaSpent,
    Rejected,
    RetryLater,
    ThreadGone,
)
from bot.delivery.holding import HoldPolicy
from bot.delivery.ratelimit import Limits, RateLimiter
from bot.i18n import t
from bot.jobs import Retry, Supervisor
from bot.ops.alerts import Alert
from bot.ops.backoff import backoff
from bot.ops.leader import DEFAULT_TTL, Lease
from bot.ops.metrics import Metrics
from storage.records import DeliveryJob
from storage.store import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
UNREACHABLE_LIMIT = 3
#: at stop, how long a send already handed to the platform may take to finish and be recorded
COMMITTED_GRACE = 60.0
#: a wait longer than this parks the delivery (and alerts the admins) instead of holding a worker
PARK_AFTER = 3600.0
#: due articles to one chat (several new at once, or a digest) go as one message of at most
#: this many; channels split a long one on text boundaries
DIGEST_MAX = 50
#: the longest a send waits for its slot while holding its claim. A claim left 'sending'
#: for 60 s counts as a crashed worker's and is handed to another sender
#: (``requeue_expired``), so a longer wait hands the row back, due at its slot, instead.
HOLD_MAX = 20.0
#: a refused token is tried again after this long at first, doubling up to TOKEN_RETRY_MAX
TOKEN_RETRY_MAX = 900.0

T = TypeVar("T")


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> float:
    """A delivery's wait after ``attempts`` tries: ~5 s, 10 s, 20 s ... one hour, ±20 %."""
    return backoff(attempts, base=5.0, cap=3600.0, jitter=0.2, rng=rng)


class ChannelSender:
    """Claims and sends one channel's deliveries; at most ``concurrency`` in flight."""

    def __init__(
        self,
        store: Store,
        channel: Channel,
        *,
        limits: Limits,
        render: Callable[[DeliveryJob], OutMessage],
        policy: HoldPolicy,
        clock: Callable[[], datetime],
        owner: str,
        concurrency: int = 16,
        alert: Alert | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        lease_ttl: float = DEFAULT_TTL,
        metrics: Metrics | None = None,
        forced_digest: Callable[[], str | None] | None = None,
        quota_resets_in: Callable[[], float] | None = None,
    ) -> None:
        self.store = store
        self.channel = channel
        self.metrics = metrics
        self.forced_digest = forced_digest
        #: seconds until the plan's quota period rolls over (a QuotaSpent channel waits so long)
        self.quota_resets_in = quota_resets_in
        self.lease = Lease(store, f"send:{channel.name}", owner, clock=clock, ttl=lease_ttl)
        self.limiter = RateLimiter(limits, clock=monotonic, sleep=sleep)
        self.render = render
        self.policy = policy
        self.clock = clock
        self.owner = owner
        self.concurrency = concurrency
        self.alert = alert
        self.sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()
        #: sends past the point of no return: the request may have reached the platform, so
        #: cancelling before the outcome is written would send the row again later
        self._committed: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._parked_alerted_at: float = -1e9
        #: why the channel cannot send (its token refused), or None while it can
        self.down: str | None = None
        self._down_count = 0
        #: how long a round waits for a wake-up before it looks for due rows again
        self.idle_seconds = 1.0
        #: the claim-and-send loop: any exception of one round (the database gone, a bug) is
        #: logged, counted, and the round is tried again with backoff; the sender never dies
        self.loop = Supervisor(
            "sender", channel.name, self._round, retry=Retry(base=0.5, cap=30.0), metrics=metrics
        )

    @property
    def failing(self) -> int:
        """Rounds that raised, in a row (health: red after a few)."""
        return self.loop.faults.count

    def wake(self) -> None:
        self._wake.set()

    async def claim(self) -> int:
        """Claim as many due jobs as there is room for and start them; return how many."""
        room = self.concurrency - len(self._tasks)
        if self.down is not None:  # the token was refused: one send probes whether it works
            room = min(room, 1 - len(self._tasks))
        if room <= 0:
            return 0
        jobs = await self.store.claim_due(
            self.channel.name, self.clock(), owner=self.owner, limit=room, group_max=DIGEST_MAX
        )
        for job in jobs:
            task = asyncio.create_task(self._handle(job), name=f"send:{self.channel.name}:{job.id}")
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return len(jobs)

    def start(self) -> None:
        """Claim and send in the background while this instance holds the channel's lease."""
        self.loop.start()

    def request_stop(self) -> None:
        """End the loop after the round under way (a cancel could land inside a database
        transaction and, on SQLite, leave its write lock held)."""
        self.loop.request_stop()
        self._wake.set()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._committed.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    @property
    def name(self) -> str:
        return self.channel.name

    async def _round(self) -> None:
        """One round of the loop: keep the lease, claim what is due, wait for a wake-up."""
        idle_seconds = self.idle_seconds
        lease = await self.lease.check()
        if not lease.held:
            await self.loop.rest(min(5.0, self.lease.ttl / 4))
            return
        if lease.acquired:
            # Whatever the previous sender had claimed is ours to retry now.
            requeued = await self.store.requeue_channel(self.channel.name, self.clock())
            if requeued:
                log.info(
                    "%s: %d deliveries in flight at the previous sender are retried",
                    self.channel.name,
                    requeued,
                )
        blocked = self.limiter.departure_wait()
        if blocked > idle_seconds:
            # The platform paused the whole channel (a long 429, a refused token): claiming
            # now would only hand the rows back. Sleep in short steps to keep the lease.
            await self.loop.rest(min(blocked, self.lease.ttl / 4))
            return
        room = self.concurrency - len(self._tasks)
        claimed = 0
        # Claim in batches (half the window at least): a claim is a query, and claiming
        # one job per finished send would cost a query per message at high rates.
        if not self._tasks or room >= max(1, self.concurrency // 2):
            claimed = await self.claim()
        if claimed and claimed == room:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(idle_seconds):
                await self._wake.wait()
        self._wake.clear()

    async def drain(self, timeout: float = 60.0) -> None:
        """Send everything due now and wait for it (``poll-once``, tests, benchmarks)."""
        async with asyncio.timeout(timeout):
            while True:
                claimed = await self.claim()
                if not claimed and not self._tasks:
                    return
                if self._tasks:
                    await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)

    async def stop(self) -> None:
        """Wait briefly for sends in flight; what is still unsent goes back to the queue.

        A send already handed to the platform is never cancelled before its outcome is
        written (it would be sent again by whoever takes the row next); only sends still
        waiting for their slot are, after a short grace.
        """
        # The lease is renewed while we wait: if it lapsed, the next sender would take back
        # these very claims and send them a second time.
        keeper = asyncio.create_task(self._keep_lease(), name=f"lease-keeper:{self.name}")
        try:
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=5)
            for task in list(self._tasks - self._committed):
                task.cancel()
            if self._committed:  # bounded by the HTTP timeout and the retries of the write
                await asyncio.wait(set(self._committed), timeout=COMMITTED_GRACE)
            for task in list(self._tasks):
                task.cancel()
        finally:
            keeper.cancel()
        with contextlib.suppress(Exception):
            await self.store.release_claims(self.owner, self.clock())
        await self.lease.release()

    async def _keep_lease(self) -> None:
        while self.lease.held:
            await asyncio.sleep(max(0.2, self.lease.ttl / 4))
            with contextlib.suppress(Exception):
                await self.lease.check()

    # -- one job --------------------------------------------------------------------------

    async def _handle(self, job: DeliveryJob) -> None:
        try:
            await self._send_job(job)
        except Exception:
            # The row stays 'sending' and is handed back when its claim expires.
            log.exception("sender %s: delivery %s failed", self.name, job.ids)
            self.loop.faults.counted()

    async def _persist(self, what: str, write: Callable[[], Awaitable[T]]) -> T:
        """Run a database write, retried for a while: a send already made must be recorded,
        or it would be made again once the claim expires."""
        for attempt in range(1, 8):
            try:
                return await write()
            except Exception:
                if attempt == 7:
                    raise
                log.warning("sender %s: %s failed (try %d); retrying", self.name, what, attempt)
                await asyncio.sleep(backoff(attempt, base=0.5, cap=8.0, jitter=0.2))
        raise AssertionError("unreachable")

    async def _hand_back(self, job: DeliveryJob, wait: float, error: str) -> None:
        now = self.clock()
        await self.store.mark_retry(
            job.ids,
            now,
            next_attempt_at=now + timedelta(seconds=wait),
            error=error,
            undo_attempt=True,
        )

    async def _cleared(self, job: DeliveryJob, forced: str | None) -> bool:
        """Whether the job may go now: not held (digest, quiet hours), and its slot came
        within the claim's life; else the row is handed back, due when it may go."""
        now = self.clock()
        hold = self.policy.hold_until(job, now, forced_digest=forced)
        if hold is not None:
            await self.store.mark_retry(
                job.ids, now, next_attempt_at=hold, error="", undo_attempt=True
            )
            return False
        # A channel is paced like a group: Telegram applies the same per-chat limit.
        wait = self.limiter.reserve(job.chat.chat_id, group=job.chat.kind in ("group", "channel"))
        if wait > PARK_AFTER:
            await self._park(job, wait, "rate limit")
            return False
        if wait > HOLD_MAX:  # never outlive the claim waiting: the row comes back at its slot
            await self._hand_back(job, wait, "")
            return False
        if wait > 0:
            await self.sleep(wait)
        # A channel-wide pause may have begun while we slept (a 429 to another send).
        if (paused := self.limiter.departure_wait()) > HOLD_MAX:
            await self._hand_back(job, paused, "")
            return False
        return True

    async def _send_job(self, job: DeliveryJob) -> None:
        forced = self.forced_digest() if self.forced_digest is not None else None
        if not await self._cleared(job, forced):
            return
        await self.limiter.depart()
        task = asyncio.current_task()
        if task is not None:
            self._committed.add(task)
        started = time.perf_counter()
        try:
            message = self.render(job)
            if job.thread_id:
                message = dataclasses.replace(message, thread_id=job.thread_id)
            sent_id = await self.channel.send(job.chat.chat_id, message)
        except ChannelDown as exc:
            self._record("channel_down")
            await self._channel_down(job, exc)
        except RetryLater as exc:
            self._record("rate_limited" if exc.after is not None else "retry")
            await self._retry_later(job, exc)
        except ChatMigrated as exc:
            self._record("migrated")
            moved = await self.store.migrate_chat(
                self.channel.name, job.chat.chat_id, exc.new_chat_id, self.clock()
            )
            log.info("chat %s moved to %s", job.chat.chat_id, exc.new_chat_id)
            if moved is None:
                await self.store.mark_failed(
                    job.ids, self.clock(), reason=f"migrated chat not found: {exc}"
                )
            else:  # the rows now belong to the new chat: send again, right away
                await self.store.mark_retry(
                    job.ids,
                    self.clock(),
                    next_attempt_at=self.clock(),
                    error=str(exc),
                    undo_attempt=True,
                )
        except ChatUnreachable as exc:
            self._record("unreachable")
            # A broadcast channel that refuses the bot has removed it: one failure is enough.
            limit = 1 if job.chat.kind == "channel" else UNREACHABLE_LIMIT
            if await self.store.mark_unreachable(
                job.ids, self.clock(), reason=str(exc), deactivate_after=limit
            ):
                log.info("chat %s:%s deactivated: %s", self.channel.name, job.chat.chat_id, exc)
        except ThreadGone as exc:
            self._record("thread_gone")
            await self._thread_gone(job, exc)
        except Rejected as exc:
            self._record("rejected")
            await self.store.mark_failed(job.ids, self.clock(), reason=f"rejected: {exc}")
        except Held as exc:
            # Not now, by the platform's price or rules (Zalo OA): no attempt, no alert.
            self._record("held")
            await self.store.mark_retry(
                job.ids, self.clock(), next_attempt_at=exc.until, error=str(exc), undo_attempt=True
            )
        except Exception as exc:  # an adapter bug must not stop the engine; the row keeps it
            log.exception("channel %s raised an unexpected error", self.channel.name)
            await self._retry_later(job, RetryLater(f"unexpected {type(exc).__name__}: {exc}"))
        else:
            self._record("sent", time.perf_counter() - started)
            if self.down is not None:
                await self._channel_up()
            await self._persist(
                "marking sent", lambda: self.store.mark_sent(job.ids, self.clock(), sent_id)
            )
            if (job.chat.digest_time or forced) and job.articles:
                await self._persist(
                    "recording the digest",
                    lambda: self.store.set_last_digest(job.chat.id, self.clock()),
                )

    async def _channel_down(self, job: DeliveryJob, exc: ChannelDown) -> None:
        """The token is refused: park the whole channel (rows stay pending), tell the admins
        once, and try again with backoff until it works."""
        # The rows stay due: the paused limiter keeps them unclaimed, and after a restart
        # with a new token they go at once.
        await self._hand_back(job, 0.0, str(exc))
        if self.down is not None and self.limiter.departure_wait() > 1.0:
            return  # another send in flight met the refusal first and set the pause
        self._down_count += 1
        wait = self._down_wait(exc)
        self.limiter.block_all(wait)
        if self.metrics is not None:
            self.metrics.channel_down.labels(self.name).set(1)
        if self.down is None:
            self.down = str(exc)
            log.error("channel %s parked: %s; trying again in %.0f s", self.name, exc, wait)
            if self.alert is not None and isinstance(exc, QuotaSpent):
                until = self.clock() + timedelta(seconds=wait)
                await self.alert("alert_quota_spent", {"channel": self.name, "until": until})
            elif self.alert is not None:
                await self.alert("alert_channel_down", {"channel": self.name, "reason": str(exc)})
        else:
            log.warning("channel %s still refused (%s); next try in %.0f s", self.name, exc, wait)

    def _down_wait(self, exc: ChannelDown) -> float:
        """How long a parked channel waits before one send probes it again: a spent quota
        until its period rolls over; a refused token 30 s (or what it said), doubling."""
        if isinstance(exc, QuotaSpent) and exc.after is None and self.quota_resets_in is not None:
            return self.quota_resets_in()
        first = exc.after if exc.after is not None else 30.0
        return min(TOKEN_RETRY_MAX, first * 2 ** (self._down_count - 1))

    async def _channel_up(self) -> None:
        log.warning("channel %s sends again after: %s", self.name, self.down)
        self.down = None
        self._down_count = 0
        if self.metrics is not None:
            self.metrics.channel_down.labels(self.name).set(0)
        if self.alert is not None:
            await self.alert("alert_channel_up", {"channel": self.name})

    async def _thread_gone(self, job: DeliveryJob, exc: ThreadGone) -> None:
        """The forum topic closed: its subscriptions fall back to the General topic, this
        message is sent again there, and the group's admins are told once."""
        now = self.clock()
        if job.thread_id is None:
            await self.store.mark_failed(job.ids, now, reason=f"rejected: {exc}")
            return
        moved = await self.store.unbind_thread(job.chat.id, job.thread_id, now)
        await self.store.mark_retry(
            job.ids, now, next_attempt_at=now, error=str(exc), undo_attempt=True
        )
        log.info("chat %s: forum topic %s gone (%s)", job.chat.chat_id, job.thread_id, exc)
        if moved:
            text = t(job.chat.language, "thread_closed_notice", thread=job.thread_id)
            await self.store.enqueue_message(
                "alert", text, now, chats=[(job.chat.channel, job.chat.chat_id)]
            )
            self.wake()

    def _record(self, outcome: str, seconds: float | None = None) -> None:
        if self.metrics is not None:
            self.metrics.record_send(self.channel.name, outcome, seconds)

    async def _retry_later(self, job: DeliveryJob, exc: RetryLater) -> None:
        now = self.clock()
        if exc.after is not None:
            # A flood-control answer says when, and is no fault of the message: it does not
            # count towards giving up.
            if exc.scope == "channel":
                self.limiter.block_all(exc.after)
            else:
                self.limiter.block_chat(job.chat.chat_id, exc.after)
            if exc.after > PARK_AFTER:
                await self._park(job, exc.after, str(exc))
                return
            await self.store.mark_retry(
                job.ids,
                now,
                next_attempt_at=now + timedelta(seconds=exc.after),
                error=str(exc),
                undo_attempt=True,
            )
            return
        if job.attempts >= MAX_ATTEMPTS:
            await self.store.mark_failed(
                job.ids, now, reason=f"gave up after {job.attempts} attempts: {exc}"
            )
            return
        delay = retry_delay(job.attempts)
        await self.store.mark_retry(
            job.ids, now, next_attempt_at=now + timedelta(seconds=delay), error=str(exc)
        )

    async def _park(self, job: DeliveryJob, wait: float, why: str) -> None:
        now = self.clock()
        await self.store.mark_retry(
            job.ids,
            now,
            next_attempt_at=now + timedelta(seconds=wait),
            error=f"parked for {wait:.0f}s: {why}",
            undo_attempt=True,
        )
        mono = self.limiter.clock()
        if self.alert is not None and mono - self._parked_alerted_at > 3600:
            self._parked_alerted_at = mono
            await self.alert(
                "alert_parked",
                {"channel": self.channel.name, "minutes": round(wait / 60), "reason": why[:200]},
            )
