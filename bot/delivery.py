"""Delivery worker: drains the outbox to the channels; retry / give up / deactivate policy.

The outbox is the only way anything is sent (articles, broadcasts, alerts). A delivery is
claimed ('sending'), handed to its channel, and marked 'sent' right after the platform
accepts it, so a crash repeats at most the sends in flight and loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, tzinfo

from bot.channels.base import Channel, ChatUnreachable, OutMessage, Rejected, RetryLater
from bot.render import article_message
from storage.store import DeliveryJob, Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
UNREACHABLE_LIMIT = 3


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: ~5 s, 10 s, 20 s ... capped at one hour."""
    base = min(5.0 * (2 ** max(attempts - 1, 0)), 3600.0)
    return base * (0.8 + 0.4 * (rng or random).random())


class DeliveryWorker:
    """Claims due deliveries and sends them, in order within each chat."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime],
        tz: tzinfo,
        topic_names: Mapping[str, str],
        link_previews: Mapping[str, bool] | None = None,
        batch: int = 50,
        idle_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.channels = dict(channels)
        self.clock = clock
        self.tz = tz
        self.topic_names = dict(topic_names)
        self.link_previews = dict(link_previews or {})
        self.batch = batch
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Something was queued: look now rather than at the next idle tick."""
        self._wake.set()

    def render(self, job: DeliveryJob) -> OutMessage:
        if job.article is not None:
            return article_message(
                job.article, lang=job.chat.language, tz=self.tz, topic_names=self.topic_names,
                link_preview=self.link_previews.get(job.article.source_id, False),
            )
        return OutMessage(text=job.message_text or "")

    async def run_once(self) -> int:
        """Claim and send one batch; return how many deliveries were handled."""
        jobs = await self.store.claim_due(list(self.channels), self.clock(), self.batch)
        for job in jobs:
            await self._send(job)
        return len(jobs)

    async def drain(self, *, timeout: float = 30.0) -> None:
        """Send everything due now (used by ``poll-once`` and tests)."""
        async with asyncio.timeout(timeout):
            while await self.run_once():
                pass

    async def _send(self, job: DeliveryJob) -> None:
        channel = self.channels[job.chat.channel]
        try:
            sent_id = await channel.send(job.chat.chat_id, self.render(job))
        except RetryLater as exc:
            now = self.clock()
            if job.attempts >= MAX_ATTEMPTS:
                await self.store.mark_failed(job.id, now, reason=f"gave up after {job.attempts} attempts: {exc}")
                return
            delay = exc.after if exc.after is not None else retry_delay(job.attempts)
            await self.store.mark_retry(job.id, now, next_attempt_at=now + timedelta(seconds=delay), error=str(exc))
        except ChatUnreachable as exc:
            deactivated = await self.store.mark_unreachable(
                job.id, self.clock(), reason=str(exc), deactivate_after=UNREACHABLE_LIMIT
            )
            if deactivated:
                log.info("chat %s:%s deactivated: %s", job.chat.channel, job.chat.chat_id, exc)
        except Rejected as exc:
            await self.store.mark_failed(job.id, self.clock(), reason=f"rejected: {exc}")
        except Exception as exc:  # an adapter bug must not stop the worker; the row keeps it
            log.exception("channel %s raised an unexpected error", channel.name)
            now = self.clock()
            await self.store.mark_retry(
                job.id, now, next_attempt_at=now + timedelta(seconds=retry_delay(job.attempts)),
                error=f"unexpected {type(exc).__name__}: {exc}",
            )
        else:
            await self.store.mark_sent(job.id, self.clock(), sent_id)

    async def _loop(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("delivery loop error; retrying shortly")
                handled = 0
            if handled:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.idle_seconds):
                    await self._wake.wait()
            self._wake.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="delivery-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
