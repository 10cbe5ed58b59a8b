"""Messages (broadcasts and alerts): the one way to queue a message to its targets, the
scheduled broadcasts of the web console (queued exactly once when due, whichever instance
gets there first), and the one way to count a broadcast's deliveries, which the chat's
progress and the console's history both read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.base import StoreBase
from storage.records import (
    UNFINISHED,
    BroadcastProgress,
    BroadcastRecord,
    CancelReason,
    DeliveryStatus,
    Queued,
    ScheduledBroadcast,
    SubscriptionKind,
)
from storage.tables import (
    CHAT_T,
    DELIVERY_T,
    MESSAGE_T,
    SCHEDULED_BROADCAST_T,
    SUBSCRIPTION_T,
)

TARGETS = ("all", "topics", "channels")


class BroadcastsMixin(StoreBase):
    """Rows of ``messages`` and ``scheduled_broadcasts``; the counts of a message's deliveries.
    A new way to queue a message or to count one goes here, nowhere else."""

    async def enqueue_message(
        self,
        kind: str,
        text: str,
        now: datetime,
        *,
        target: str = "all",
        values: Sequence[str] = (),
        chats: Sequence[tuple[str, str]] | None = None,
        created_by: str | None = None,
    ) -> Queued:
        """Queue a broadcast or alert; returns its message id and deliveries queued. It goes to the
        given (channel, chat id) pairs when ``chats`` is given (active chats, paused or not),
        else to the active chats not paused: all of them, the subscribers of the topics in
        ``values`` (``target="topics"``) or the chats of the channels in ``values``
        (``target="channels"``)."""
        async with self.engine.begin() as conn:
            return await self._enqueue(
                conn, kind, text, now, target, values, chats=chats, created_by=created_by
            )

    async def _enqueue(
        self,
        conn: AsyncConnection,
        kind: str,
        text: str,
        now: datetime,
        target: str,
        values: Sequence[str],
        *,
        chats: Sequence[tuple[str, str]] | None,
        created_by: str | None,
    ) -> Queued:
        """:meth:`enqueue_message` inside the caller's transaction."""
        if target not in TARGETS:
            raise ValueError(f"unknown broadcast target {target!r}")
        m = MESSAGE_T
        c = CHAT_T
        s = SUBSCRIPTION_T
        topic = values[0] if target == "topics" and len(values) == 1 else None
        message_id = int(
            (
                await conn.execute(
                    m.insert()
                    .values(
                        kind=kind, text=text, topic=topic, created_by=created_by, created_at=now
                    )
                    .returning(m.c.id)
                )
            ).scalar_one()
        )
        chosen = select(c.c.id.label("chat_id")).where(c.c.active.is_(True))
        if chats is not None:
            if not chats:
                return Queued(message_id, 0)
            pairs = (and_(c.c.channel == ch, c.c.chat_id == cid) for ch, cid in chats)
            chosen = chosen.where(or_(*pairs))
        else:
            chosen = chosen.where(c.c.paused.is_(False))
            if target == "topics":
                subscribers = select(s.c.chat_id).where(
                    s.c.kind == SubscriptionKind.TOPIC, s.c.key.in_(values)
                )
                chosen = chosen.where(c.c.id.in_(subscribers))
            elif target == "channels":
                chosen = chosen.where(c.c.channel.in_(values))
        sub = chosen.subquery()
        targets = select(sub.c.chat_id, literal(message_id).label("message_id"))
        return Queued(message_id, await self._queue_pending(conn, targets, "message_id", now))

    async def schedule_broadcast(
        self,
        text: str,
        target: str,
        values: Sequence[str],
        created_by: str,
        now: datetime,
        send_at: datetime,
    ) -> int:
        if target not in TARGETS:
            raise ValueError(f"unknown broadcast target {target!r}")
        b = SCHEDULED_BROADCAST_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                b.insert()
                .values(
                    text=text,
                    target=target,
                    target_values=" ".join(values),
                    created_by=created_by,
                    created_at=now,
                    send_at=send_at,
                    status="scheduled",
                    queued=0,
                )
                .returning(b.c.id)
            )
            return int(result.scalar_one())

    async def cancel_broadcast(self, broadcast_id: int) -> bool:
        b = SCHEDULED_BROADCAST_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(b)
                .where(b.c.id == broadcast_id, b.c.status == "scheduled")
                .values(status="cancelled")
            )
        return bool(result.rowcount)

    async def queue_due_broadcasts(self, now: datetime) -> list[tuple[int, int, int]]:
        """Queue every scheduled broadcast whose time has come; (id, message id, deliveries)
        each. The status flip and the queueing share one transaction, so a broadcast goes
        out once even when several instances (or a restart) race for it."""
        b = SCHEDULED_BROADCAST_T
        async with self.engine.connect() as conn:
            due = [
                r[0]
                for r in await conn.execute(
                    select(b.c.id)
                    .where(b.c.status == "scheduled", b.c.send_at <= now)
                    .order_by(b.c.send_at, b.c.id)
                )
            ]
        done = []
        for broadcast_id in due:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        update(b)
                        .where(b.c.id == broadcast_id, b.c.status == "scheduled")
                        .values(status="queued")
                        .returning(b.c.text, b.c.target, b.c.target_values, b.c.created_by)
                    )
                ).first()
                if row is None:
                    continue  # another instance took it
                queued = await self._enqueue(
                    conn,
                    "broadcast",
                    row.text,
                    now,
                    row.target,
                    row.target_values.split(),
                    chats=None,
                    created_by=row.created_by,
                )
                await conn.execute(
                    update(b)
                    .where(b.c.id == broadcast_id)
                    .values(message_id=queued.message_id, queued=queued.deliveries)
                )
            done.append((broadcast_id, queued.message_id, queued.deliveries))
        return done

    async def scheduled_broadcasts(self, limit: int = 50) -> list[ScheduledBroadcast]:
        b = SCHEDULED_BROADCAST_T
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(b).order_by(b.c.send_at.desc()).limit(limit))
            return [
                ScheduledBroadcast(
                    id=r.id,
                    text=r.text,
                    target=r.target,
                    target_values=tuple(r.target_values.split()),
                    created_by=r.created_by,
                    created_at=r.created_at,
                    send_at=r.send_at,
                    status=r.status,
                    message_id=r.message_id,
                    queued=r.queued,
                )
                for r in rows
            ]

    async def broadcast_progress(self, message_id: int) -> BroadcastProgress:
        """The counts of one message's deliveries (see :meth:`broadcast_counts`)."""
        return (await self.broadcast_counts([message_id]))[message_id]

    async def broadcast_counts(self, message_ids: Iterable[int]) -> dict[int, BroadcastProgress]:
        """The counts of each message's deliveries by outcome, by message id (every id given,
        zeros for one with no delivery). Deliveries cancelled because their chat became
        unreachable count as unreachable, by ``cancel_reason``."""
        ids = list(message_ids)
        q = broadcast_counts_query(ids)
        counts = {i: dict.fromkeys(_OUTCOMES, 0) for i in ids}
        if ids:
            async with self.engine.connect() as conn:
                for message_id, status, reason, n in await conn.execute(q):
                    counts[message_id][_outcome(status, reason)] += n
        return {i: BroadcastProgress(total=sum(c.values()), **c) for i, c in counts.items()}

    async def broadcast_history(self, limit: int = 50) -> list[BroadcastRecord]:
        """The newest broadcasts (console and ``/broadcast``) with their delivery counts."""
        m = MESSAGE_T
        q = (
            select(m.c.id, m.c.text, m.c.created_by, m.c.created_at)
            .where(m.c.kind == "broadcast")
            .order_by(m.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        counts = await self.broadcast_counts(r.id for r in rows)
        return [
            BroadcastRecord(
                message_id=r.id,
                text=r.text,
                created_by=r.created_by or "",
                created_at=r.created_at,
                counts=counts[r.id],
            )
            for r in rows
        ]


def broadcast_counts_query(message_ids: list[int]) -> Select[Any]:
    """(message id, status, cancel reason, count) of the deliveries of these messages: read
    from ``ix_deliveries_message`` alone (tests/test_outbox_indexes.py checks the plan)."""
    d = DELIVERY_T
    return (
        select(d.c.message_id, d.c.status, d.c.cancel_reason, func.count())
        .where(d.c.message_id.in_(message_ids))
        .group_by(d.c.message_id, d.c.status, d.c.cancel_reason)
    )


_OUTCOMES = ("sent", "failed", "unreachable", "cancelled", "pending")


def _outcome(status: str, cancel_reason: Any) -> str:
    """The field of :class:`BroadcastProgress` a delivery counts under."""
    if status in UNFINISHED:
        return "pending"
    if status == DeliveryStatus.UNREACHABLE or cancel_reason == CancelReason.UNREACHABLE:
        return "unreachable"
    return str(status)
