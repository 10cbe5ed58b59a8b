"""Chats and their subscriptions: where their pushes go (backfills on subscribe, forum topics,
the Telegram channels admins registered), the console's chat list, and their backup
(export/import as plain JSON-able data). Mutes are plain subscriptions (kind "mute")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from storage.base import StoreBase, row_to_chat
from storage.records import (
    UNFINISHED,
    Chat,
    ChatListing,
    ChatPage,
    ImportResult,
    Subscription,
    SubscriptionKind,
)
from storage.tables import CHAT_BACKFILL_T, CHAT_T, DELIVERY_T, SUBSCRIPTION_T


class ChatsMixin(StoreBase):
    """Rows of ``chats``, ``subscriptions`` and ``chat_backfills``, and the thread of the
    deliveries waiting for a chat."""

    async def upsert_chat(
        self,
        channel: str,
        chat_id: str,
        now: datetime,
        *,
        title: str = "",
        kind: str = "private",
        language: str | None = None,
        reactivate: bool = False,
    ) -> Chat:
        """Register a chat the first time it talks to us; ``reactivate`` (on /start) resumes it."""
        c = CHAT_T
        async with self.engine.begin() as conn:
            await conn.execute(
                self._insert(c)
                .values(
                    channel=channel,
                    chat_id=chat_id,
                    title=title,
                    kind=kind,
                    language=language or "vi",
                    active=True,
                    paused=False,
                    unreachable_count=0,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["channel", "chat_id"])
            )
            if reactivate:
                await conn.execute(
                    update(c)
                    .where(c.c.channel == channel, c.c.chat_id == chat_id)
                    .values(
                        active=True,
                        paused=False,
                        unreachable_count=0,
                        deactivated_reason=None,
                        updated_at=now,
                    )
                )
            r = (
                await conn.execute(select(c).where(c.c.channel == channel, c.c.chat_id == chat_id))
            ).one()
        return row_to_chat(r)

    async def get_chat(self, channel: str, chat_id: str) -> Chat | None:
        c = CHAT_T
        async with self.engine.connect() as conn:
            r = (
                await conn.execute(select(c).where(c.c.channel == channel, c.c.chat_id == chat_id))
            ).first()
        return row_to_chat(r) if r else None

    async def update_chat(self, chat: Chat, now: datetime, **values: Any) -> Chat:
        """Change ``language``, ``paused``, ``digest_time``, ``active`` of one chat."""
        allowed = {
            "language",
            "paused",
            "digest_time",
            "active",
            "title",
            "deactivated_reason",
            "quiet_hours",
            "last_digest_at",
            "format",
            "added_by",
            "kind",
        }
        if not set(values) <= allowed:
            raise ValueError(f"cannot update {set(values) - allowed}")
        c = CHAT_T
        async with self.engine.begin() as conn:
            await conn.execute(update(c).where(c.c.id == chat.id).values(updated_at=now, **values))
            r = (await conn.execute(select(c).where(c.c.id == chat.id))).one()
        return row_to_chat(r)

    async def set_last_digest(self, chat_pk: int, now: datetime) -> None:
        c = CHAT_T
        async with self.engine.begin() as conn:
            await conn.execute(update(c).where(c.c.id == chat_pk).values(last_digest_at=now))

    async def subscribe(
        self,
        chat: Chat,
        kind: SubscriptionKind,
        value: str,
        key: str,
        now: datetime,
        *,
        thread_id: str | None = None,
    ) -> bool:
        """Add a subscription; False when the chat already had it. ``thread_id`` (a forum
        topic) is where its pushes go; subscribing again from elsewhere moves it there."""
        s = SUBSCRIPTION_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                self._insert(s)
                .values(
                    chat_id=chat.id,
                    kind=kind,
                    value=value,
                    key=key,
                    created_at=now,
                    thread_id=thread_id,
                )
                .on_conflict_do_nothing(index_elements=["chat_id", "kind", "key"])
            )
            added = bool(result.rowcount)
            if not added:
                await conn.execute(
                    update(s)
                    .where(
                        s.c.chat_id == chat.id,
                        s.c.kind == kind,
                        s.c.key == key,
                        s.c.thread_id.is_distinct_from(thread_id),
                    )
                    .values(thread_id=thread_id)
                )
        return added

    async def unsubscribe(self, chat: Chat, kind: SubscriptionKind | None, key: str | None) -> int:
        """Remove one subscription (or, with ``kind=None``, all of them); return how many."""
        s = SUBSCRIPTION_T
        q = delete(s).where(s.c.chat_id == chat.id)
        if kind is not None:
            q = q.where(s.c.kind == kind, s.c.key == key)
        async with self.engine.begin() as conn:
            result = await conn.execute(q)
        return int(result.rowcount or 0)

    async def subscriptions(self, chat: Chat) -> list[Subscription]:
        s = SUBSCRIPTION_T
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(s.c.kind, s.c.value, s.c.key, s.c.thread_id)
                .where(s.c.chat_id == chat.id)
                .order_by(s.c.kind.desc(), s.c.id)
            )
            return [
                Subscription(SubscriptionKind(r.kind), r.value, r.key, r.thread_id) for r in rows
            ]

    async def keyword_keys(self) -> list[str]:
        """Distinct keyword match keys followed (or muted) by at least one active chat."""
        s = SUBSCRIPTION_T
        c = CHAT_T
        q = (
            select(s.c.key)
            .join(c, c.c.id == s.c.chat_id)
            .where(
                s.c.kind.in_((SubscriptionKind.KEYWORD, SubscriptionKind.MUTE)),
                c.c.active.is_(True),
            )
            .distinct()
        )
        async with self.engine.connect() as conn:
            return [r[0] for r in await conn.execute(q)]

    async def keyword_rows_after(self, after_id: int, limit: int) -> list[tuple[int, str]]:
        """``(id, match key)`` of the keyword and mute subscriptions with an id above
        ``after_id``, at most ``limit`` of them in id order (a walk of the primary key, for
        the poller's keyword index to read in pages and then follow)."""
        s = SUBSCRIPTION_T
        q = (
            select(s.c.id, s.c.key)
            .where(
                s.c.id > after_id,
                s.c.kind.in_((SubscriptionKind.KEYWORD, SubscriptionKind.MUTE)),
            )
            .order_by(s.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [(int(r.id), str(r.key)) for r in await conn.execute(q)]

    # -- where pushes go: backfills, forum topics, registered channels --------------------

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

    # -- the console's chat list -----------------------------------------------------------

    async def active_chats_by_channel(self) -> dict[str, int]:
        c = CHAT_T
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(c.c.channel, func.count())
                .where(c.c.active.is_(True))
                .group_by(c.c.channel)
                .order_by(c.c.channel)
            )
            return {r[0]: int(r[1]) for r in rows}

    async def list_chats(
        self,
        *,
        query: str = "",
        channel: str = "",
        active: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> ChatPage:
        """A page of chats (newest first) matching the filters, and how many match."""
        c = CHAT_T
        s = SUBSCRIPTION_T
        where: list[Any] = []
        if query:
            like = f"%{query.lower()}%"
            where.append(or_(func.lower(c.c.title).like(like), c.c.chat_id.like(like)))
        if channel:
            where.append(c.c.channel == channel)
        if active is not None:
            where.append(c.c.active.is_(active))
        async with self.engine.connect() as conn:
            total = int(
                (await conn.execute(select(func.count()).select_from(c).where(*where))).scalar()
                or 0
            )
            rows = (
                await conn.execute(
                    select(c).where(*where).order_by(c.c.id.desc()).limit(limit).offset(offset)
                )
            ).all()
            subs: dict[int, list[tuple[str, str]]] = {}
            if rows:
                for chat_pk, kind, value in await conn.execute(
                    select(s.c.chat_id, s.c.kind, s.c.value)
                    .where(s.c.chat_id.in_([r.id for r in rows]))
                    .order_by(s.c.id)
                ):
                    subs.setdefault(chat_pk, []).append((kind, value))
        out = []
        for r in rows:
            mine = subs.get(r.id, [])
            out.append(
                ChatListing(
                    chat=row_to_chat(r),
                    topics=tuple(v for k, v in mine if k == SubscriptionKind.TOPIC),
                    keywords=tuple(v for k, v in mine if k == SubscriptionKind.KEYWORD),
                    created_at=r.created_at,
                )
            )
        return ChatPage(out, total)

    async def set_chat_active(self, chat_pk: int, active: bool, now: datetime) -> bool:
        c = CHAT_T
        values: dict[str, Any] = {"active": active, "updated_at": now}
        values["deactivated_reason"] = None if active else "deactivated by an admin"
        if active:
            values["unreachable_count"] = 0
        async with self.engine.begin() as conn:
            result = await conn.execute(update(c).where(c.c.id == chat_pk).values(**values))
        return bool(result.rowcount)

    # -- backup: the chats and what they follow, as JSON-able data -----------------------

    async def export_chats(self) -> list[dict[str, Any]]:
        """Every chat with its settings and subscriptions, as plain JSON-able data."""
        c = CHAT_T
        s = SUBSCRIPTION_T
        async with self.engine.connect() as conn:
            subs: dict[int, list[dict[str, str]]] = {}
            for r in await conn.execute(
                select(s.c.chat_id, s.c.kind, s.c.value, s.c.key, s.c.thread_id).order_by(s.c.id)
            ):
                sub = {"kind": r.kind, "value": r.value, "key": r.key}
                if r.thread_id:
                    sub["thread_id"] = r.thread_id
                subs.setdefault(r.chat_id, []).append(sub)
            chats = (await conn.execute(select(c).order_by(c.c.id))).all()
        return [
            {
                "channel": r.channel,
                "chat_id": r.chat_id,
                "title": r.title,
                "kind": r.kind,
                "language": r.language,
                "active": bool(r.active),
                "paused": bool(r.paused),
                "digest_time": r.digest_time,
                "quiet_hours": bool(r.quiet_hours),
                "format": r.format or "full",
                "subscriptions": subs.get(r.id, []),
            }
            for r in chats
        ]

    async def import_chats(self, chats: Sequence[dict[str, Any]], now: datetime) -> ImportResult:
        """Create or update chats and add their subscriptions (idempotent)."""
        c = CHAT_T
        s = SUBSCRIPTION_T
        n_subs = 0
        async with self.engine.begin() as conn:
            for item in chats:
                values = {
                    "title": item.get("title", ""),
                    "kind": item.get("kind", "private"),
                    "language": item.get("language", "vi"),
                    "active": bool(item.get("active", True)),
                    "paused": bool(item.get("paused", False)),
                    "digest_time": item.get("digest_time"),
                    "quiet_hours": bool(item.get("quiet_hours", True)),
                    "format": item.get("format") or None,
                }
                await conn.execute(
                    self._insert(c)
                    .values(
                        channel=item["channel"],
                        chat_id=str(item["chat_id"]),
                        unreachable_count=0,
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                    .on_conflict_do_nothing(index_elements=["channel", "chat_id"])
                )
                chat_pk = (
                    await conn.execute(
                        update(c)
                        .where(c.c.channel == item["channel"], c.c.chat_id == str(item["chat_id"]))
                        .values(updated_at=now, **values)
                        .returning(c.c.id)
                    )
                ).scalar_one()
                for sub in item.get("subscriptions", []):
                    result = await conn.execute(
                        self._insert(s)
                        .values(
                            chat_id=chat_pk,
                            kind=sub["kind"],
                            value=sub["value"],
                            key=sub["key"],
                            created_at=now,
                            thread_id=sub.get("thread_id"),
                        )
                        .on_conflict_do_nothing(index_elements=["chat_id", "kind", "key"])
                    )
                    n_subs += int(result.rowcount or 0)
        return ImportResult(len(chats), n_subs)
