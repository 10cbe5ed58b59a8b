"""Reaching chats where they are: backfills on subscribe, forum topics that closed, and the
Telegram channels admins registered (issue 14). Mutes are plain subscriptions (kind "mute")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from storage.base import StoreBase, row_to_chat
from storage.records import UNFINISHED, Chat
from storage.tables import CHAT_BACKFILL_T, CHAT_T, DELIVERY_T, SUBSCRIPTION_T


class ReachMixin(StoreBase):
    """Rows of ``chat_backfills``, and the thread and channel columns of chats and deliveries."""

    async def mark_backfilled(self, chat: Chat, topic: str, now: datetime) -> bool:
        """Record that ``chat`` got the latest articles of ``topic``; False if it already had."""
        b = CHAT_BACKFILL_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                self._insert(b)
                .values(chat_id=chat.id, topic=topic, created_at=now)
                .on_conflict_do_nothing(index_elements=["chat_id", "topic"])
            )
        return bool(result.rowcount)

    async def unbind_thread(self, chat_pk: int, thread_id: str, now: datetime) -> int:
        """A forum topic closed or vanished: its subscriptions and waiting deliveries move to
        the General topic. Returns how many subscriptions were bound to it (0: done before)."""
        s = SUBSCRIPTION_T
        d = DELIVERY_T
        async with self.engine.begin() as conn:
            moved = await conn.execute(
                update(s)
                .where(s.c.chat_id == chat_pk, s.c.thread_id == thread_id)
                .values(thread_id=None)
            )
            await conn.execute(
                update(d)
                .where(
                    d.c.chat_id == chat_pk,
                    d.c.thread_id == thread_id,
                    d.c.status.in_(UNFINISHED),
                )
                .values(thread_id=None, updated_at=now)
            )
        return int(moved.rowcount or 0)

    async def channels_added(self, channel: str, added_by: str | None = None) -> list[Chat]:
        """Active broadcast channels on ``channel`` (those ``added_by`` registered, if given)."""
        c = CHAT_T
        q = select(c).where(c.c.channel == channel, c.c.kind == "channel", c.c.active.is_(True))
        if added_by is not None:
            q = q.where(c.c.added_by == added_by)
        async with self.engine.connect() as conn:
            return [row_to_chat(r) for r in await conn.execute(q.order_by(c.c.id))]
