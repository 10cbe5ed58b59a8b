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
Rejected -> failed at once with the reason. ChannelDown (the token refused) and QuotaSpent
(the plan's messages spent) park the whole channel with its rows pending, alert the admins
once, and probe with one send: a refused token after 30 s doubling to 15 min, a spent quota
when its period rolls over.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from datetime import time as dtime

from bot.channels.base import Channel, OutMessage
from bot.chat.render import cards, formatted
from bot.delivery.holding import HoldPolicy
from bot.delivery.ratelimit import Limits, RateLimiter
from bot.delivery.sender import (
    DIGEST_MAX,
    HOLD_MAX,
    MAX_ATTEMPTS,
    PARK_AFTER,
    UNREACHABLE_LIMIT,
    ChannelSender,
    retry_delay,
)
from bot.i18n import t
from bot.jobs import Retry, Supervisor
from bot.ops.alerts import Alert
from bot.ops.leader import DEFAULT_TTL
from bot.ops.metrics import Metrics
from storage.records import DeliveryJob
from storage.store import Store

log = logging.getLogger(__name__)

#: how often expired claims are looked for
HOUSEKEEPING_EVERY = 30.0
#: at stop, how long a sender's round may take to end by itself before it is cancelled
STOP_GRACE = 10.0

__all__ = [
    "DIGEST_MAX",
    "HOLD_MAX",
    "MAX_ATTEMPTS",
    "PARK_AFTER",
    "UNREACHABLE_LIMIT",
    "ChannelSender",
    "DeliveryWorker",
    "HoldPolicy",
    "Limits",
    "RateLimiter",
    "retry_delay",
]


class DeliveryWorker:
    """One :class:`ChannelSender` per channel, run as background tasks. Each is paced by
    the limits its channel declares (``capabilities``) unless ``limits`` names others."""

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
        quota_resets_in: Callable[[], float] | None = None,
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
                limits=limits.get(name) or Limits.of(channel.capabilities),
                render=self.render,
                policy=policy,
                clock=clock,
                owner=self.owner,
                concurrency=concurrency,
                alert=alert,
                lease_ttl=lease_ttl,
                metrics=metrics,
                forced_digest=(forced_digest or {}).get(name),
                quota_resets_in=quota_resets_in,
            )
            for name, channel in channels.items()
        }
        self.metrics = metrics
        #: claims of crashed workers (any instance) expire and become due again
        self.housekeeping = Supervisor(
            "housekeeping",
            "outbox",
            self._housekeep,
            retry=Retry(base=HOUSEKEEPING_EVERY, cap=10 * HOUSEKEEPING_EVERY),
            metrics=metrics,
        )

    @property
    def name(self) -> str:
        return "delivery"

    def render(self, job: DeliveryJob) -> OutMessage:
        lang = job.chat.language
        if job.articles:
            key = "digest_header" if job.chat.digest_time else "group_header"
            # The chat's /format decides the layout, of one article or of a group of them.
            message = formatted(
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
            return dataclasses.replace(message, cards=cards(job.articles, self.tz))
        return OutMessage(text=job.message_text or "")

    def wake(self) -> None:
        for sender in self.senders.values():
            sender.wake()

    async def drain(self, *, timeout: float = 60.0) -> None:
        """Send everything due now on every channel."""
        await asyncio.gather(*(s.drain(timeout) for s in self.senders.values()))

    async def start(self) -> None:
        """Run every sender's loop and the outbox housekeeping, each supervised: a loop that
        dies anyway (a bug past every except) is restarted."""
        for sender in self.senders.values():
            sender.start()
        self.housekeeping.start()

    def problems(self) -> dict[str, str]:
        """What is wrong with sending, by component (empty when all is well)."""
        out = self.housekeeping.problems()
        for name, sender in self.senders.items():
            problem = sender.loop.problem()
            if problem is None and sender.down is not None:
                problem = f"parked: {sender.down}"[:200]
            if problem is not None:
                out[f"sender:{name}"] = problem
        return out

    async def _housekeep(self) -> float:
        if await self.store.requeue_expired(self.clock()):
            self.wake()
        return HOUSEKEEPING_EVERY

    async def stop(self) -> None:
        """The loops finish their round and return; only what is still running after a
        grace is cancelled. Then each sender waits for its sends in flight, keeping its lease."""
        for sender in self.senders.values():
            sender.request_stop()
        loops = [self.housekeeping, *(s.loop for s in self.senders.values())]
        await asyncio.gather(*(loop.stop(STOP_GRACE) for loop in loops))
        for sender in self.senders.values():
            await sender.stop()
