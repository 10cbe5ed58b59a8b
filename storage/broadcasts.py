"""Broadcasts composed in the web console: scheduled rows, queued into the outbox exactly
once when due (whichever instance gets there first), to everyone, some topics or some
channels; and the history of every broadcast with its delivery counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal, select, update

from storage.base import StoreBase
from storage.records import BroadcastRecord, DeliveryStatus, ScheduledBroadcast
from storage.tables import (
    CHAT_T,
    DELIVERY_T,
    MESSAGE_T,
    SCHEDULED_BROADCAST_T,
    SUBSCRIPTION_T,
)

TARGETS = ("all", "topics", "channels")


class BroadcastsMixin(StoreBase):
    """Rows of ``scheduled_broadcasts``; broadcast messages and their deliveries."""

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
                message_id, count = await self._queue_broadcast(conn, row, now)
                await conn.execute(
                    update(b)
                    .where(b.c.id == broadcast_id)
                    .values(message_id=message_id, queued=count)
                )
            done.append((broadcast_id, message_id, count))
        return done

    async def _queue_broadcast(self, conn: Any, row: Any, now: datetime) -> tuple[int, int]:
        m = MESSAGE_T
        c = CHAT_T
        s = SUBSCRIPTION_T
        values = row.target_values.split()
        message_id = (
            await conn.execute(
                m.insert()
                .values(
                    kind="broadcast",
                    text=row.text,
                    topic=values[0] if row.target == "topics" and len(values) == 1 else None,
                    created_by=row.created_by,
                    created_at=now,
                )
                .returning(m.c.id)
            )
        ).scalar_one()
        target = select(c.c.id.label("chat_id")).where(c.c.active.is_(True), c.c.paused.is_(False))
        if row.target == "topics":
            subscribers = select(s.c.chat_id).where(s.c.kind == "topic", s.c.key.in_(values))
            target = target.where(c.c.id.in_(subscribers))
        elif row.target == "channels":
            target = target.where(c.c.channel.in_(values))
        sub = target.subquery()
        targets = select(sub.c.chat_id, literal(message_id).label("message_id"))
        return int(message_id), await self._queue_pending(conn, targets, "message_id", now)

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

    async def broadcast_history(self, limit: int = 50) -> list[BroadcastRecord]:
        """The newest broadcasts (console and ``/broadcast``) with their delivery counts."""
        m = MESSAGE_T
        d = DELIVERY_T
        recent = (
            select(m.c.id, m.c.text, m.c.created_by, m.c.created_at)
            .where(m.c.kind == "broadcast")
            .order_by(m.c.id.desc())
            .limit(limit)
            .subquery()
        )

        def count(*statuses: str) -> Any:
            return func.coalesce(func.sum(case((d.c.status.in_(statuses), 1), else_=0)), 0)

        q = (
            select(
                recent,
                func.count(d.c.id).label("total"),
                count(DeliveryStatus.SENT).label("sent"),
                count(DeliveryStatus.FAILED, DeliveryStatus.CANCELLED).label("failed"),
                count(DeliveryStatus.UNREACHABLE).label("unreachable"),
                count(DeliveryStatus.PENDING, DeliveryStatus.SENDING).label("pending"),
            )
            .select_from(recent.outerjoin(d, d.c.message_id == recent.c.id))
            .group_by(recent.c.id, recent.c.text, recent.c.created_by, recent.c.created_at)
            .order_by(recent.c.id.desc())
        )
        async with self.engine.connect() as conn:
            return [
                BroadcastRecord(
                    message_id=r.id,
                    text=r.text,
                    created_by=r.created_by or "",
                    created_at=r.created_at,
                    total=int(r.total),
                    sent=int(r.sent),
                    failed=int(r.failed),
                    unreachable=int(r.unreachable),
                    pending=int(r.pending),
                )
                for r in await conn.execute(q)
            ]
