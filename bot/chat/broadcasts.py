"""Broadcasts in the background: :class:`BroadcastTracker` keeps the admin's reply to
``/broadcast`` up to date until it is done, and :class:`BroadcastDispatcher` queues the
scheduled broadcasts (composed in the web console) into the outbox when they are due.

Where the platform can edit a sent message (Telegram, console) the reply is edited with the
progress; where it cannot (Zalo) one more message carries the final count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from bot.channels.base import Channel, OutMessage, Reply
from bot.i18n import t
from bot.jobs import LoopJob, Retry, Supervisor
from bot.ops.metrics import Metrics
from storage.records import BroadcastProgress
from storage.store import Store

log = logging.getLogger(__name__)


def progress_text(language: str, p: BroadcastProgress) -> str:
    """The progress message of a broadcast, from the counts the console's history shows."""
    key = "broadcast_done" if p.pending == 0 else "broadcast_progress"
    return t(
        language,
        key,
        done=p.done,
        total=p.total,
        sent=p.sent,
        failed=p.undelivered,
        unreachable=p.unreachable,
    )


#: (channel, chat id, is a group, send) -> that send paced by the channel's limiter, as the
#: replies to commands are (wired by the app; by default not paced)
Pace = Callable[[str, str, bool, Reply], Reply]


class BroadcastTracker:
    """One background task per tracked broadcast; :meth:`stop` cancels them all. Each edit
    (or final message) goes through ``pace``, under the platform's limits like a reply."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        *,
        every: float = 2.0,
        pace: Pace | None = None,
    ) -> None:
        self.store = store
        self.channels = channels
        self.every = every
        self.pace: Pace = pace or (lambda channel, chat_id, group, send: send)
        self._tasks: set[asyncio.Task[None]] = set()

    def track(self, channel: str, chat_id: str, message_id: str, broadcast_id: int) -> None:
        """Follow ``broadcast_id`` in the message ``message_id`` of that chat."""
        task = asyncio.create_task(
            self._follow(channel, chat_id, message_id, broadcast_id),
            name=f"broadcast-progress:{broadcast_id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def _follow(
        self, channel_name: str, chat_id: str, message_id: str, broadcast_id: int
    ) -> None:
        channel = self.channels.get(channel_name)
        chat = await self.store.get_chat(channel_name, chat_id)
        if channel is None or chat is None:
            return

        async def edit_now(out: OutMessage) -> str | None:
            await channel.edit(chat_id, message_id, out)
            return message_id

        async def send_now(out: OutMessage) -> str | None:
            return await channel.send(chat_id, out)

        group = chat.kind == "group"
        edit = self.pace(channel_name, chat_id, group, edit_now)
        send = self.pace(channel_name, chat_id, group, send_now)
        last = ""
        while True:
            await asyncio.sleep(self.every)
            p = await self.store.broadcast_progress(broadcast_id)
            text = progress_text(chat.language, p)
            if channel.capabilities.edits and text != last:
                await edit(OutMessage(text))
                last = text
            if p.pending == 0:
                # No edits on this platform: one message with the final count.
                if not channel.capabilities.edits:
                    with contextlib.suppress(Exception):
                        await send(OutMessage(text))
                return


class BroadcastDispatcher(LoopJob):
    """Every ``every`` seconds, queue the scheduled broadcasts that are due, then wake the
    delivery worker. Safe on several instances at once (see ``queue_due_broadcasts``).
    A supervised loop: a failure is logged, counted and tried again with backoff."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        wake: Callable[[], None],
        every: float = 5.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.wake = wake
        self.every = every
        self.loop = Supervisor(
            "broadcasts",
            "scheduled",
            self._round,
            retry=Retry(base=every, cap=300.0),
            metrics=metrics,
        )

    async def run_once(self) -> int:
        done = await self.store.queue_due_broadcasts(self.clock())
        for broadcast_id, message_id, count in done:
            log.info(
                "broadcast %d queued as message %d to %d chats", broadcast_id, message_id, count
            )
        if done:
            self.wake()
        return len(done)

    async def _round(self) -> float:
        await self.run_once()
        return self.every
