"""Delivery engine: drains the outbox to the channels under each platform's limits.

The outbox is the only way anything is sent (articles, digests, broadcasts, alerts). Per
channel a :class:`ChannelSender` claims due deliveries (one chat at a time stays in order:
only the oldest unfinished delivery of a chat is claimable), waits for a slot from its
:class:`RateLimiter` (global rate, one message per second to a private chat, 20 per minute to
a group), sends, and marks the rows 'sent' right after the platform accepts them. A crash
therefore repeats at most the sends in flight (bounded by ``concurrency``) and loses none.

Outcomes: RetryLater -> retry with backoff and jitter (a 429 delays that chat, or the whole
channel, by its retry_after; waits over an hour park the delivery and alert the admins);
ChatUnreachable -> failed, and after three in a row the chat is deactivated and its pending
deliveries cancelled; ChatMigrated -> the chat moves and the message is sent again;
Rejected -> failed at once with the reason.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from datetime import time as dtime

from bot.alerts import Alert
from bot.backoff import backoff
from bot.channels.base import (
    Channel,
    ChatMigrated,
    ChatUnreachable,
    OutMessage,
    Rejected,
    RetryLater,
    ThreadGone,
)
from bot.i18n import t
from bot.leader import DEFAULT_TTL, Lease
from bot.metrics import Metrics
from bot.render import formatted
from bot.timeofday import parse_hhmm
from storage.records import DeliveryJob
from storage.store import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
UNREACHABLE_LIMIT = 3
#: a wait longer than this parks the delivery (and alerts the admins) instead of holding a worker
PARK_AFTER = 3600.0
#: due articles to one chat (several new at once, or a digest) go as one message of at most
#: this many; channels split a long one on text boundaries
DIGEST_MAX = 50


# --------------------------------------------------------------------------- rate limits


@dataclass(frozen=True)
class Limits:
    """A platform's published limits, enforced before sending."""

    rate: float = 30.0  # messages per second, whole bot
    private_interval: float = 1.0  # seconds between two messages to one private chat
    group_per_minute: int = 20  # messages per rolling minute to one group


class RateLimiter:
    """Books send slots so that no limit is ever exceeded, however many senders ask at once.

    ``reserve`` returns how long to wait for the booked slot. The global rate is paced
    evenly (slots at least ``1/rate`` apart, no burst), which a server enforcing a token
    bucket of burst >= 1 always accepts; a chat that must wait books a later slot without
    holding up the chats behind it.
    """

    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._gap = 1.0 / limits.rate if limits.rate > 0 else 0.0
        self._booked: list[float] = []  # future global slots, sorted
        self._blocked_until = 0.0
        self._next_chat: dict[str, float] = {}
        self._group_sends: dict[str, deque[float]] = {}

    def _global_slot(self, earliest: float, now: float) -> float:
        booked = self._booked
        while booked and booked[0] < now - self._gap:
            booked.pop(0)
        at = earliest
        for slot in booked:
            if slot + self._gap <= at:
                continue
            if slot >= at + self._gap:
                break  # the gap before this slot fits us
            at = slot + self._gap
        bisect.insort(booked, at)
        return at

    def reserve(self, chat: str, *, group: bool) -> float:
        """Book the earliest slot for one message to ``chat``; seconds from now until it."""
        now = self.clock()
        at = max(now, self._blocked_until, self._next_chat.get(chat, 0.0))
        if group:
            sent = self._group_sends.setdefault(chat, deque())
            while sent and sent[0] <= now - 60.0:
                sent.popleft()
            if len(sent) >= self.limits.group_per_minute:
                at = max(at, sent[-self.limits.group_per_minute] + 60.0)
        at = self._global_slot(at, now)
        if group:
            self._group_sends[chat].append(at)
        else:
            self._next_chat[chat] = at + self.limits.private_interval
        if len(self._next_chat) > 50_000:  # forget chats whose slot is long past
            self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}
        return at - now

    def block_chat(self, chat: str, seconds: float) -> None:
        """The platform asked us to leave this chat alone for ``seconds``."""
        until = self.clock() + seconds
        self._next_chat[chat] = max(self._next_chat.get(chat, 0.0), until)

    def block_all(self, seconds: float) -> None:
        """The platform asked the whole bot to pause for ``seconds``."""
        self._blocked_until = max(self._blocked_until, self.clock() + seconds)


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> float:
    """A delivery's wait after ``attempts`` tries: ~5 s, 10 s, 20 s ... one hour, ±20 %."""
    return backoff(attempts, base=5.0, cap=3600.0, jitter=0.2, rng=rng)


# --------------------------------------------------------------------------- holding policy


def _at(day: datetime, when: dtime, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, when.hour, when.minute, tzinfo=tz)


class HoldPolicy:
    """When an article may go to a chat: digest chats at their time, others outside quiet hours."""

    def __init__(self, tz: tzinfo, quiet_hours: tuple[dtime, dtime] | None = None) -> None:
        self.tz = tz
        self.quiet_hours = quiet_hours

    def last_digest_slot(self, digest_time: str, now: datetime) -> datetime:
        """The latest occurrence of the chat's digest time at or before ``now``."""
        local = now.astimezone(self.tz)
        slot = _at(local, parse_hhmm(digest_time), self.tz)
        if slot > local:
            slot = _at(local - timedelta(days=1), parse_hhmm(digest_time), self.tz)
        return slot

    def quiet_end(self, now: datetime) -> datetime | None:
        """The end of the quiet period ``now`` falls in, or None outside quiet hours."""
        if self.quiet_hours is None:
            return None
        start, end = self.quiet_hours
        local = now.astimezone(self.tz)
        t_now = local.time()
        if start < end:
            inside = start <= t_now < end
            end_day = local
        else:  # across midnight, e.g. 22:00-06:00
            inside = t_now >= start or t_now < end
            end_day = local + timedelta(days=1) if t_now >= start else local
        return _at(end_day, end, self.tz) if inside else None

    def hold_until(
        self, job: DeliveryJob, now: datetime, *, forced_digest: str | None = None
    ) -> datetime | None:
        """None to send now, else when to look at this job again. Only articles are held.

        ``forced_digest`` (HH:MM) turns instant pushes into a daily digest at that time (a
        channel about to run out of its monthly quota).
        """
        if not job.articles:
            return None
        chat = job.chat
        digest_time = chat.digest_time or forced_digest
        if digest_time:
            slot = self.last_digest_slot(digest_time, now)
            if chat.last_digest_at is None or chat.last_digest_at < slot:
                return None  # the digest is due: everything pending goes now
            return self.last_digest_slot(digest_time, slot + timedelta(days=1, minutes=1))
        if chat.quiet_hours:
            return self.quiet_end(now)
        return None


# --------------------------------------------------------------------------- sending


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
    ) -> None:
        self.store = store
        self.channel = channel
        self.metrics = metrics
        self.forced_digest = forced_digest
        self.lease = Lease(store, f"send:{channel.name}", owner, clock=clock, ttl=lease_ttl)
        self.limiter = RateLimiter(limits, clock=monotonic)
        self.render = render
        self.policy = policy
        self.clock = clock
        self.owner = owner
        self.concurrency = concurrency
        self.alert = alert
        self.sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._parked_alerted_at: float = -1e9

    def wake(self) -> None:
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def claim(self) -> int:
        """Claim as many due jobs as there is room for and start them; return how many."""
        room = self.concurrency - len(self._tasks)
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

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def run(self, idle_seconds: float = 1.0) -> None:
        """Claim and send until cancelled, while this instance holds the channel's lease."""
        while True:
            held, acquired = await self.lease.check()
            if not held:
                await asyncio.sleep(min(5.0, self.lease.ttl / 4))
                continue
            if acquired:
                # Whatever the previous sender had claimed is ours to retry now.
                requeued = await self.store.requeue_channel(self.channel.name, self.clock())
                if requeued:
                    log.info(
                        "%s: %d deliveries in flight at the previous sender are retried",
                        self.channel.name,
                        requeued,
                    )
            room = self.concurrency - len(self._tasks)
            claimed = 0
            # Claim in batches (half the window at least): a claim is a query, and claiming
            # one job per finished send would cost a query per message at high rates.
            if not self._tasks or room >= max(1, self.concurrency // 2):
                try:
                    claimed = await self.claim()
                except Exception:
                    log.exception("claiming deliveries for %s failed; retrying", self.channel.name)
            if claimed and claimed == room:
                continue
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
        """Wait briefly for sends in flight; what is still unsent goes back to the queue."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await self.store.release_claims(self.owner, self.clock())
        await self.lease.release()

    # -- one job --------------------------------------------------------------------------

    async def _handle(self, job: DeliveryJob) -> None:
        now = self.clock()
        forced = self.forced_digest() if self.forced_digest is not None else None
        hold = self.policy.hold_until(job, now, forced_digest=forced)
        if hold is not None:
            await self.store.mark_retry(
                job.ids, now, next_attempt_at=hold, error="", undo_attempt=True
            )
            return
        # A channel is paced like a group: Telegram applies the same per-chat limit.
        wait = self.limiter.reserve(job.chat.chat_id, group=job.chat.kind in ("group", "channel"))
        if wait > PARK_AFTER:
            await self._park(job, wait, "rate limit")
            return
        if wait > 0:
            await self.sleep(wait)
        started = time.perf_counter()
        try:
            message = self.render(job)
            if job.thread_id:
                message = dataclasses.replace(message, thread_id=job.thread_id)
            sent_id = await self.channel.send(job.chat.chat_id, message)
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
        except Exception as exc:  # an adapter bug must not stop the engine; the row keeps it
            log.exception("channel %s raised an unexpected error", self.channel.name)
            await self._retry_later(job, RetryLater(f"unexpected {type(exc).__name__}: {exc}"))
        else:
            self._record("sent", time.perf_counter() - started)
            await self.store.mark_sent(job.ids, self.clock(), sent_id)
            if (job.chat.digest_time or forced) and job.articles:
                await self.store.set_last_digest(job.chat.id, self.clock())

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


class DeliveryWorker:
    """One :class:`ChannelSender` per channel, run as background tasks."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime],
        tz: tzinfo,
        topic_names: Mapping[str, str],
        link_previews: Mapping[str, bool] | None = None,
        limits: Mapping[str, Limits] | None = None,
        quiet_hours: tuple[dtime, dtime] | None = None,
        concurrency: int = 16,
        alert: Alert | None = None,
        owner: str | None = None,
        lease_ttl: float = DEFAULT_TTL,
        metrics: Metrics | None = None,
        forced_digest: Mapping[str, Callable[[], str | None]] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.tz = tz
        self.topic_names = dict(topic_names)
        self.link_previews = dict(link_previews or {})
        self.owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
        policy = HoldPolicy(tz, quiet_hours)
        limits = limits or {}
        self.senders = {
            name: ChannelSender(
                store,
                channel,
                limits=limits.get(name, Limits()),
                render=self.render,
                policy=policy,
                clock=clock,
                owner=self.owner,
                concurrency=concurrency,
                alert=alert,
                lease_ttl=lease_ttl,
                metrics=metrics,
                forced_digest=(forced_digest or {}).get(name),
            )
            for name, channel in channels.items()
        }
        self._tasks: list[asyncio.Task[None]] = []

    def render(self, job: DeliveryJob) -> OutMessage:
        lang = job.chat.language
        if job.articles:
            key = "digest_header" if job.chat.digest_time else "group_header"
            # The chat's /format decides the layout, of one article or of a group of them.
            return formatted(
                job.articles,
                fmt=job.chat.format,
                lang=lang,
                tz=self.tz,
                topic_names=self.topic_names,
                header=t(lang, key, count=len(job.articles)),
                link_preview=(
                    len(job.articles) == 1
                    and self.link_previews.get(job.articles[0].source_id, False)
                ),
            )
        return OutMessage(text=job.message_text or "")

    def wake(self) -> None:
        for sender in self.senders.values():
            sender.wake()

    async def drain(self, *, timeout: float = 60.0) -> None:
        """Send everything due now on every channel."""
        await asyncio.gather(*(s.drain(timeout) for s in self.senders.values()))

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(s.run(), name=f"sender:{n}") for n, s in self.senders.items()
        ]
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="outbox-housekeeping"))

    async def _housekeeping(self) -> None:
        """Claims of crashed workers (any instance) expire and become due again."""
        while True:
            try:
                if await self.store.requeue_expired(self.clock()):
                    self.wake()
            except Exception:
                log.exception("outbox housekeeping failed")
            await asyncio.sleep(30)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for sender in self.senders.values():
            await sender.stop()
