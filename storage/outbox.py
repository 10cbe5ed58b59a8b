"""The outbox: claiming deliveries for a sender, recording each outcome, and following a chat
that moved (messages are queued by :mod:`storage.broadcasts`, articles by
``save_articles``). Every status written or compared here is a :class:`DeliveryStatus`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.base import ARTICLE_COLS, RELEASE_CLAIM, A, StoreBase, row_to_article, row_to_chat
from storage.records import UNFINISHED, CancelReason, Chat, DeliveryJob, DeliveryStatus
from storage.tables import ARTICLE_T, CHAT_T, DELIVERY_T, MESSAGE_T, SUBSCRIPTION_T

#: ``last_error`` of the deliveries cancelled because their chat became unreachable (for
#: people: ``cancel_reason`` is what the counts read)
CHAT_UNREACHABLE = "chat unreachable: "


class OutboxMixin(StoreBase):
    """Rows of ``deliveries``."""

    async def requeue_expired(self, now: datetime, *, lease_seconds: float = 60.0) -> int:
        """Deliveries left 'sending' longer than the lease (their worker crashed) become due.

        A worker finishes a send well within the lease (the platform timeouts are shorter),
        so a live worker's claims are never taken from it, even by another instance.
        """
        d = DELIVERY_T
        cutoff = now - timedelta(seconds=lease_seconds)
        stale = or_(d.c.claimed_at.is_(None), d.c.claimed_at <= cutoff)
        return await self._hand_back(now, stale, next_attempt_at=now)

    async def requeue_channel(self, channel: str, now: datetime) -> int:
        """The new sender of a channel takes back every claim on it: whoever held them is gone
        (it lost or let expire the channel's lease), so those sends are retried."""
        c = CHAT_T
        on_channel = DELIVERY_T.c.chat_id.in_(select(c.c.id).where(c.c.channel == channel))
        return await self._hand_back(now, on_channel, next_attempt_at=now)

    async def release_claims(self, owner: str, now: datetime) -> int:
        """A worker stopping cleanly hands back what it had claimed but not sent."""
        return await self._hand_back(now, DELIVERY_T.c.claimed_by == owner)

    async def _hand_back(self, now: datetime, *where: Any, **values: Any) -> int:
        """Deliveries being sent that match ``where`` go back to pending, claimed by no one."""
        d = DELIVERY_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(d)
                .where(d.c.status == DeliveryStatus.SENDING, *where)
                .values(status=DeliveryStatus.PENDING, updated_at=now, **RELEASE_CLAIM, **values)
            )
        return int(result.rowcount or 0)

    async def claim_due(
        self,
        channel: str,
        now: datetime,
        *,
        owner: str = "",
        limit: int = 100,
        group_max: int = 1,
    ) -> list[DeliveryJob]:
        """Claim due deliveries of up to ``limit`` chats on ``channel`` ('sending', by ``owner``).

        Per chat only the oldest unfinished delivery can be due, which keeps per-chat order
        across workers and instances. With ``group_max`` > 1, article deliveries that follow
        it and are due too come along (one grouped message). The claim is a conditional
        UPDATE, so two workers racing for a row never both get it.
        """
        async with self.engine.begin() as conn:
            heads = (await conn.execute(_due_heads(channel, now, limit))).all()
            if not heads:
                return []
            groups: dict[int, list[int]] = {h.id: [h.id] for h in heads}
            if group_max > 1:
                await _group_following(conn, heads, groups, now, group_max)
            claimed = await _claim(conn, [i for ids in groups.values() for i in ids], owner, now)
            if not claimed:
                return []
            jobs_ids = [tuple(i for i in ids if i in claimed) for ids in groups.values()]
            jobs_ids = [ids for ids in jobs_ids if ids]
            return await self._load_jobs(conn, jobs_ids)

    async def _load_jobs(
        self, conn: AsyncConnection, jobs_ids: Sequence[tuple[int, ...]]
    ) -> list[DeliveryJob]:
        d = DELIVERY_T
        c = CHAT_T
        m = MESSAGE_T
        all_ids = [i for ids in jobs_ids for i in ids]
        rows: dict[int, Any] = {}
        for i in range(0, len(all_ids), 500):
            q = (
                select(
                    d.c.id.label("delivery_id"),
                    d.c.attempts,
                    d.c.message_id,
                    d.c.thread_id.label("delivery_thread_id"),
                    c,
                    m.c.kind.label("message_kind"),
                    m.c.text.label("message_text"),
                    *[col.label(f"a_{col.name}") for col in ARTICLE_COLS],
                )
                .join(c, c.c.id == d.c.chat_id)
                .outerjoin(ARTICLE_T, A.id == d.c.article_id)
                .outerjoin(m, m.c.id == d.c.message_id)
                .where(d.c.id.in_(all_ids[i : i + 500]))
            )
            rows.update((r.delivery_id, r) for r in await conn.execute(q))
        jobs = []
        for ids in jobs_ids:
            first = rows[ids[0]]
            articles = tuple(
                row_to_article(r, "a_") for r in (rows[i] for i in ids) if r.a_id is not None
            )
            jobs.append(
                DeliveryJob(
                    ids=ids,
                    attempts=max(rows[i].attempts for i in ids),
                    chat=row_to_chat(first),
                    articles=articles,
                    message_kind=first.message_kind,
                    message_text=first.message_text,
                    message_id=first.message_id,
                    thread_id=first.delivery_thread_id,
                )
            )
        return jobs

    async def mark_sent(
        self, ids: Sequence[int], now: datetime, platform_message_id: str | None = None
    ) -> None:
        """The platform accepted the message: these deliveries are done."""
        d = DELIVERY_T
        c = CHAT_T
        async with self.engine.begin() as conn:
            await conn.execute(
                update(d)
                .where(d.c.id.in_(list(ids)))
                .values(
                    status=DeliveryStatus.SENT,
                    sent_at=now,
                    updated_at=now,
                    # only kept for reference; a longer id must not fail the mark (a resend)
                    platform_message_id=platform_message_id[:100] if platform_message_id else None,
                    last_error=None,
                    **RELEASE_CLAIM,
                )
            )
            await conn.execute(
                update(c)
                .where(
                    c.c.id == select(d.c.chat_id).where(d.c.id == ids[0]).scalar_subquery(),
                    c.c.unreachable_count != 0,
                )
                .values(unreachable_count=0)
            )

    async def mark_retry(
        self,
        ids: Sequence[int],
        now: datetime,
        *,
        next_attempt_at: datetime,
        error: str,
        undo_attempt: bool = False,
    ) -> None:
        """Back to 'pending' until ``next_attempt_at``; ``undo_attempt`` when nothing was tried
        (held for a digest, quiet hours or a rate limit), so it does not count towards giving up."""
        d = DELIVERY_T
        values: dict[str, Any] = {
            "status": DeliveryStatus.PENDING,
            "next_attempt_at": next_attempt_at,
            "last_error": error[:1000] or None,
            "updated_at": now,
            **RELEASE_CLAIM,
        }
        if undo_attempt:
            values["attempts"] = d.c.attempts - 1
        async with self.engine.begin() as conn:
            # Only rows still in flight: one cancelled meanwhile (a migration merge) stays so.
            await conn.execute(
                update(d)
                .where(d.c.id.in_(list(ids)), d.c.status == DeliveryStatus.SENDING)
                .values(**values)
            )

    async def mark_failed(self, ids: Sequence[int], now: datetime, *, reason: str) -> None:
        d = DELIVERY_T
        async with self.engine.begin() as conn:
            await conn.execute(
                update(d)
                .where(d.c.id.in_(list(ids)))
                .values(
                    status=DeliveryStatus.FAILED,
                    last_error=reason[:1000],
                    updated_at=now,
                    **RELEASE_CLAIM,
                )
            )

    async def mark_unreachable(
        self, ids: Sequence[int], now: datetime, *, reason: str, deactivate_after: int = 3
    ) -> bool:
        """Fail the deliveries and count one more 'unreachable' for their chat.

        After ``deactivate_after`` in a row the chat is deactivated and its pending
        deliveries are cancelled; returns True when that happened.
        """
        d = DELIVERY_T
        c = CHAT_T
        async with self.engine.begin() as conn:
            chat_pk = (await conn.execute(select(d.c.chat_id).where(d.c.id == ids[0]))).scalar_one()
            await conn.execute(
                update(d)
                .where(d.c.id.in_(list(ids)))
                .values(
                    status=DeliveryStatus.UNREACHABLE,
                    last_error=reason[:1000],
                    updated_at=now,
                    **RELEASE_CLAIM,
                )
            )
            count = (
                await conn.execute(
                    update(c)
                    .where(c.c.id == chat_pk)
                    .values(unreachable_count=c.c.unreachable_count + 1)
                    .returning(c.c.unreachable_count)
                )
            ).scalar_one()
            if count < deactivate_after:
                return False
            await _deactivate_unreachable(conn, chat_pk, reason, now)
            return True

    async def release_held(self, channel: str, chat_id: str, now: datetime) -> int:
        """The chat's pending deliveries held for later become due now (a Zalo OA member
        wrote: what waited for their window goes). Returns how many."""
        d, c = DELIVERY_T, CHAT_T
        chat = select(c.c.id).where(c.c.channel == channel, c.c.chat_id == chat_id)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(d)
                .where(
                    d.c.chat_id.in_(chat.scalar_subquery()),
                    d.c.status == DeliveryStatus.PENDING,
                    d.c.next_attempt_at > now,
                )
                .values(next_attempt_at=now, updated_at=now)
            )
        return int(result.rowcount or 0)

    async def stop_chat(self, channel: str, chat_id: str, reason: str, now: datetime) -> bool:
        """The chat left the bot (unfollowed the OA): deactivated, its pending deliveries
        cancelled as unreachable; ``/start`` (a follow) brings it back. False: no such chat."""
        c = CHAT_T
        async with self.engine.begin() as conn:
            found = select(c.c.id).where(c.c.channel == channel, c.c.chat_id == chat_id)
            pk = (await conn.execute(found)).scalar_one_or_none()
            if pk is None:
                return False
            await _deactivate_unreachable(conn, pk, reason, now)
        return True

    async def migrate_chat(
        self, channel: str, old_chat_id: str, new_chat_id: str, now: datetime
    ) -> Chat | None:
        """A group moved to another id: its row, subscriptions and pending deliveries follow.

        If the new id is already known (the bot saw a message there first), the old chat's
        subscriptions and pending deliveries are merged into it and the old row is retired.
        """
        c = CHAT_T
        async with self.engine.begin() as conn:
            old = await _chat_row(conn, channel, old_chat_id)
            new = await _chat_row(conn, channel, new_chat_id)
            if old is None:
                return row_to_chat(new) if new else None
            if new is None:
                await conn.execute(
                    update(c).where(c.c.id == old.id).values(chat_id=new_chat_id, updated_at=now)
                )
            else:
                await self._merge_chat(conn, old.id, new.id, now)
                await conn.execute(
                    update(c)
                    .where(c.c.id == old.id)
                    .values(
                        active=False,
                        deactivated_reason=f"migrated to {new_chat_id}",
                        updated_at=now,
                    )
                )
            r = await _chat_row(conn, channel, new_chat_id)
        return row_to_chat(r)

    async def _merge_chat(
        self, conn: AsyncConnection, old_pk: int, new_pk: int, now: datetime
    ) -> None:
        """The old chat's subscriptions are added to the new one's and its unfinished
        deliveries move there, except those the new chat has already (they are cancelled)."""
        s = SUBSCRIPTION_T
        d = DELIVERY_T
        subs = (
            await conn.execute(select(s.c.kind, s.c.value, s.c.key).where(s.c.chat_id == old_pk))
        ).all()
        if subs:
            await conn.execute(
                self._insert(s).on_conflict_do_nothing(),
                [
                    {
                        "chat_id": new_pk,
                        "kind": r.kind,
                        "value": r.value,
                        "key": r.key,
                        "created_at": now,
                    }
                    for r in subs
                ],
            )
        pending = (
            await conn.execute(
                select(d.c.id, d.c.article_id, d.c.message_id).where(
                    d.c.chat_id == old_pk, d.c.status.in_(UNFINISHED)
                )
            )
        ).all()
        for r in pending:
            clash = select(d.c.id).where(
                d.c.chat_id == new_pk,
                d.c.article_id == r.article_id
                if r.article_id is not None
                else d.c.message_id == r.message_id,
            )
            if (await conn.execute(clash)).first() is None:
                await conn.execute(
                    update(d).where(d.c.id == r.id).values(chat_id=new_pk, updated_at=now)
                )
            else:
                await conn.execute(
                    update(d)
                    .where(d.c.id == r.id)
                    .values(
                        status=DeliveryStatus.CANCELLED,
                        cancel_reason=CancelReason.MIGRATED,
                        last_error="chat migrated",
                        updated_at=now,
                    )
                )
        await conn.execute(delete(s).where(s.c.chat_id == old_pk))


def _due_heads(channel: str, now: datetime, limit: int) -> Select[Any]:
    """The due deliveries of ``channel`` that head their chat's queue, oldest first: no
    earlier delivery of the same class (articles, or messages) is unfinished."""
    d = DELIVERY_T
    c = CHAT_T
    older = d.alias("older")
    # Order is kept within a class: articles after articles, messages (broadcasts,
    # alerts) after messages. An article held for a digest or quiet hours must not hold
    # up an announcement, and the rate limiter still spaces two sends to one chat.
    same_class = (older.c.article_id.is_(None)) == (d.c.article_id.is_(None))
    earlier_unfinished = (
        select(older.c.id)
        .where(
            older.c.chat_id == d.c.chat_id,
            older.c.status.in_(UNFINISHED),
            older.c.id < d.c.id,
            same_class,
        )
        .exists()
    )
    return (
        select(d.c.id, d.c.chat_id, d.c.article_id, d.c.thread_id)
        .join(c, c.c.id == d.c.chat_id)
        .where(
            d.c.status == DeliveryStatus.PENDING,
            d.c.next_attempt_at <= now,
            c.c.channel == channel,
            ~earlier_unfinished,
        )
        .order_by(d.c.id)
        .limit(limit)
    )


async def _group_following(
    conn: AsyncConnection,
    heads: Sequence[Any],
    groups: dict[int, list[int]],
    now: datetime,
    group_max: int,
) -> None:
    """Add to each article head's group (``groups[head id]``) the run of article deliveries
    that follow it, due too and into the same forum topic, up to ``group_max`` in all."""
    d = DELIVERY_T
    article_head = {h.chat_id: h.id for h in heads if h.article_id is not None}
    head_thread = {h.chat_id: h.thread_id for h in heads if h.article_id is not None}
    grouped = list(article_head)
    for i in range(0, len(grouped), 500):
        chunk = grouped[i : i + 500]
        following = await conn.execute(
            select(d.c.id, d.c.chat_id, d.c.article_id, d.c.next_attempt_at, d.c.thread_id)
            .where(
                d.c.chat_id.in_(chunk),
                d.c.status == DeliveryStatus.PENDING,
                d.c.article_id.is_not(None),
            )
            .order_by(d.c.chat_id, d.c.id)
        )
        stopped: set[int] = set()
        for r in following:
            ids = groups[article_head[r.chat_id]]
            if r.id <= ids[0] or r.chat_id in stopped:
                continue
            # Only a run of due articles joins the head: the order stays intact.
            # ... and only into the same forum topic.
            if (
                r.next_attempt_at > now
                or len(ids) >= group_max
                or r.thread_id != head_thread[r.chat_id]
            ):
                stopped.add(r.chat_id)
                continue
            ids.append(r.id)


async def _claim(
    conn: AsyncConnection, wanted: Sequence[int], owner: str, now: datetime
) -> set[int]:
    """Claim those of ``wanted`` still pending for ``owner``: a conditional UPDATE, so two
    workers racing for a row never both get it. Returns the ids claimed."""
    d = DELIVERY_T
    claimed: set[int] = set()
    for i in range(0, len(wanted), 500):
        claimed.update(
            r[0]
            for r in await conn.execute(
                update(d)
                .where(d.c.id.in_(wanted[i : i + 500]), d.c.status == DeliveryStatus.PENDING)
                .values(
                    status=DeliveryStatus.SENDING,
                    attempts=d.c.attempts + 1,
                    updated_at=now,
                    claimed_by=owner,
                    claimed_at=now,
                )
                .returning(d.c.id)
            )
        )
    return claimed


async def _chat_row(conn: AsyncConnection, channel: str, chat_id: str) -> Any:
    """The ``chats`` row of (``channel``, ``chat_id``), or None."""
    c = CHAT_T
    return (
        await conn.execute(select(c).where(c.c.channel == channel, c.c.chat_id == chat_id))
    ).first()


async def _deactivate_unreachable(
    conn: AsyncConnection, chat_pk: int, reason: str, now: datetime
) -> None:
    """Deactivate the chat and cancel its pending deliveries as unreachable (one place for
    both a chat given up after repeated failures and one that left the bot)."""
    c, d = CHAT_T, DELIVERY_T
    await conn.execute(
        update(c)
        .where(c.c.id == chat_pk)
        .values(active=False, deactivated_reason=reason[:500], updated_at=now)
    )
    await conn.execute(
        update(d)
        .where(d.c.chat_id == chat_pk, d.c.status == DeliveryStatus.PENDING)
        .values(
            status=DeliveryStatus.CANCELLED,
            cancel_reason=CancelReason.UNREACHABLE,
            last_error=CHAT_UNREACHABLE + reason[:900],
            updated_at=now,
        )
    )
