"""Broadcast progress: keeps the admin's reply to ``/broadcast`` up to date until it is done.

Where the platform can edit a sent message (Telegram, console) the reply is edited with the
progress; where it cannot (Zalo) one more message carries the final count.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from bot.channels.base import Channel, OutMessage
from bot.i18n import t
from storage.store import Store


class BroadcastTracker:
    """One background task per tracked broadcast; :meth:`stop` cancels them all."""

    def __init__(
        self, store: Store, channels: Mapping[str, Channel], *, every: float = 2.0
    ) -> None:
        self.store = store
        self.channels = channels
        self.every = every
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
        last = ""
        while True:
            await asyncio.sleep(self.every)
            p = await self.store.broadcast_progress(broadcast_id)
            key = "broadcast_done" if p.pending == 0 else "broadcast_progress"
            text = t(
                chat.language,
                key,
                done=p.total - p.pending,
                total=p.total,
                sent=p.sent,
                failed=p.failed + p.cancelled,
                unreachable=p.unreachable,
            )
            if channel.can_edit and text != last:
                await channel.edit(chat_id, message_id, OutMessage(text))
                last = text
            if p.pending == 0:
                if not channel.can_edit:  # no edits here: one message with the final count
                    with contextlib.suppress(Exception):
                        await channel.send(chat_id, OutMessage(text))
                return
