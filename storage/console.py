"""Read queries of the web console's pages (chats list, archive, article page, dashboard
figures not in ``stats``) and the one chat change it makes (deactivate / reactivate)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from storage.base import ARTICLE_COLS, A, StoreBase, row_to_article, row_to_chat
from storage.records import ChatListing, DeliveryStatus, StoredArticle
from storage.tables import ARTICLE_T, CHAT_T, DELIVERY_T, SOURCE_T, SUBSCRIPTION_T


class ConsoleMixin(StoreBase):
    """What the console's pages read."""

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

    async def dashboard_counts(self) -> dict[str, Any]:
        """What the dashboard shows of ``stats`` without its per-source article count (a scan
        of the whole archive the dashboard does not show)."""
        c = CHAT_T
        s = SUBSCRIPTION_T
        d = DELIVERY_T
        src = SOURCE_T
        async with self.engine.connect() as conn:
            inactive = (
                await conn.execute(select(func.count()).select_from(c).where(c.c.active.is_(False)))
            ).scalar()
            by_topic = {
                r[0]: int(r[1])
                for r in await conn.execute(
                    select(s.c.key, func.count())
                    .where(s.c.kind == "topic")
                    .group_by(s.c.key)
                    .order_by(s.c.key)
                )
            }
            keywords = (
                await conn.execute(select(func.count()).select_from(s).where(s.c.kind == "keyword"))
            ).scalar()
            by_status = {
                r[0]: int(r[1])
                for r in await conn.execute(
                    select(d.c.status, func.count()).group_by(d.c.status).order_by(d.c.status)
                )
            }
            in_error = [
                r[0]
                for r in await conn.execute(
                    select(src.c.id).where(src.c.consecutive_failures > 0).order_by(src.c.id)
                )
            ]
        return {
            "chats_inactive": int(inactive or 0),
            "subscriptions_by_topic": by_topic,
            "keyword_subscriptions": int(keywords or 0),
            "deliveries_by_status": by_status,
            "sources_in_error": in_error,
        }

    async def articles_by_source(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(A.source_id, func.count()).group_by(A.source_id))
            return {r[0]: int(r[1]) for r in rows}

    async def articles_since(self, since: datetime) -> int:
        async with self.engine.connect() as conn:
            q = select(func.count()).select_from(ARTICLE_T).where(A.first_seen_at >= since)
            return int((await conn.execute(q)).scalar() or 0)

    async def list_chats(
        self,
        *,
        query: str = "",
        channel: str = "",
        active: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[ChatListing], int]:
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
                    topics=tuple(v for k, v in mine if k == "topic"),
                    keywords=tuple(v for k, v in mine if k == "keyword"),
                    created_at=r.created_at,
                )
            )
        return out, total

    async def set_chat_active(self, chat_pk: int, active: bool, now: datetime) -> bool:
        c = CHAT_T
        values: dict[str, Any] = {"active": active, "updated_at": now}
        values["deactivated_reason"] = None if active else "deactivated by an admin"
        if active:
            values["unreachable_count"] = 0
        async with self.engine.begin() as conn:
            result = await conn.execute(update(c).where(c.c.id == chat_pk).values(**values))
        return bool(result.rowcount)

    async def archive(self, limit: int = 50, offset: int = 0) -> list[StoredArticle]:
        """Newest articles first, a page at a time."""
        q = select(*ARTICLE_COLS).order_by(A.sort_at.desc(), A.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.offset(offset))).all()
        return [row_to_article(r) for r in rows]

    async def article_detail(self, article_id: int) -> tuple[StoredArticle, str, int] | None:
        """(article, body, chats it was sent to) or None."""
        d = DELIVERY_T
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(*ARTICLE_COLS, A.body).where(A.id == article_id))
            ).first()
            if row is None:
                return None
            sent = (
                await conn.execute(
                    select(func.count())
                    .select_from(d)
                    .where(d.c.article_id == article_id, d.c.status == DeliveryStatus.SENT)
                )
            ).scalar()
        return row_to_article(row), row.body, int(sent or 0)
