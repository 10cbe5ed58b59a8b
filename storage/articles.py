"""Articles: storing what the poller found (one transaction that also fans it out to the
outbox), reading the newest ones back, and the console's archive and article pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.base import ARTICLE_COLS, A, StoreBase, row_to_article
from storage.records import (
    ArticleDetail,
    DeliveryStatus,
    NewArticle,
    SaveResult,
    StoredArticle,
    SubscriptionKind,
)
from storage.search import search_index
from storage.tables import (
    ARTICLE_KEYWORD_T,
    ARTICLE_T,
    ARTICLE_TOPIC_T,
    CHAT_T,
    DELIVERY_T,
    SUBSCRIPTION_T,
)


class ArticlesMixin(StoreBase):
    """Rows of ``articles`` with their topics, keywords and search-index entries."""

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` already stored (from any source)."""
        if not keys:
            return set()
        out: set[str] = set()
        async with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i : i + 500])
                rows = await conn.execute(select(A.key).where(A.key.in_(chunk)))
                out.update(r[0] for r in rows)
        return out

    async def save_articles(
        self, articles: Sequence[NewArticle], now: datetime, *, seeded: bool = False
    ) -> SaveResult:
        """Store new articles and, unless ``seeded``, queue their deliveries: one transaction.

        Articles whose key is already stored are skipped (the unique key decides, so two
        pollers racing on one article still store it once and queue it once). Everything is
        batched: one multi-row INSERT for the articles, one for their topics and keywords,
        and one INSERT ... SELECT that fans the new articles out to their subscribers.
        """
        if not articles:
            return SaveResult((), 0)
        t = ARTICLE_T
        sort_at = {a.key: min(a.published_at, now) if a.published_at else now for a in articles}
        rows = [
            {
                "source_id": a.source_id,
                "key": a.key,
                "url": a.url,
                "title": a.title,
                "published_at": a.published_at,
                "body": a.body,
                "summary": a.summary,
                "topics": " ".join(a.topics),
                "seeded": seeded,
                "first_seen_at": now,
                "sort_at": sort_at[a.key],
            }
            for a in articles
        ]
        by_key = {a.key: a for a in articles}
        insert = (
            self._insert(t)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(t.c.id, t.c.key)
        )
        async with self.engine.begin() as conn:
            inserted = (await conn.execute(insert, rows)).all()
            if not inserted:
                return SaveResult((), 0)
            topic_rows = [
                {"article_id": i, "topic": tp, "sort_at": sort_at[k]}
                for i, k in inserted
                for tp in by_key[k].topics
            ]
            keyword_rows = [
                {"article_id": i, "keyword": kw} for i, k in inserted for kw in by_key[k].keywords
            ]
            if topic_rows:
                await conn.execute(ARTICLE_TOPIC_T.insert(), topic_rows)
            if keyword_rows:
                await conn.execute(ARTICLE_KEYWORD_T.insert(), keyword_rows)
            await search_index(self.dialect).add(
                conn, [(i, sort_at[k], by_key[k].title, by_key[k].body) for i, k in inserted]
            )
            new_ids = tuple(sorted(i for i, _ in inserted))
            queued = 0
            if not seeded and (topic_rows or keyword_rows):
                queued = await self._fan_out(conn, new_ids, now)
        return SaveResult(new_ids, queued)

    async def _fan_out(
        self, conn: AsyncConnection, article_ids: Sequence[int], now: datetime
    ) -> int:
        """Queue one delivery per (active chat, article) where the chat follows a topic or a
        keyword of the article and mutes none of its keywords: a single INSERT ... SELECT,
        whatever the number of chats. The delivery goes to the forum topic (thread) of the
        matching subscription (one of them, when several match).
        """
        s = SUBSCRIPTION_T
        c = CHAT_T
        at = ARTICLE_TOPIC_T
        ak = ARTICLE_KEYWORD_T
        by_topic = (
            select(s.c.chat_id, at.c.article_id, s.c.thread_id)
            .join(at, and_(s.c.kind == SubscriptionKind.TOPIC, s.c.key == at.c.topic))
            .where(at.c.article_id.in_(list(article_ids)))
        )
        by_keyword = (
            select(s.c.chat_id, ak.c.article_id, s.c.thread_id)
            .join(ak, and_(s.c.kind == SubscriptionKind.KEYWORD, s.c.key == ak.c.keyword))
            .where(ak.c.article_id.in_(list(article_ids)))
        )
        pairs = by_topic.union_all(by_keyword).subquery()
        mute = s.alias("mute")
        muted_kw = ak.alias("muted_kw")
        # A mute beats every topic and keyword that matched.
        muted = (
            select(mute.c.id)
            .join(muted_kw, muted_kw.c.keyword == mute.c.key)
            .where(
                mute.c.kind == SubscriptionKind.MUTE,
                mute.c.chat_id == pairs.c.chat_id,
                muted_kw.c.article_id == pairs.c.article_id,
            )
            .exists()
        )
        targets = (
            select(pairs.c.chat_id, pairs.c.article_id, func.max(pairs.c.thread_id))
            .join(c, c.c.id == pairs.c.chat_id)
            .where(c.c.active.is_(True), c.c.paused.is_(False), ~muted)
            .group_by(pairs.c.chat_id, pairs.c.article_id)
            # Order by article then chat: each chat gets articles in their order of arrival.
            .order_by(pairs.c.article_id, pairs.c.chat_id)
        )
        return await self._queue_pending(conn, targets, "article_id", now, ("thread_id",))

    async def latest(self, topic: str | None = None, limit: int = 5) -> list[StoredArticle]:
        """Newest articles first (by ``sort_at``: publish date, else first sight), optionally
        of one topic; each form walks one index backwards."""
        if topic:
            at = ARTICLE_TOPIC_T
            q = (
                select(*ARTICLE_COLS)
                .select_from(at.join(ARTICLE_T, A.id == at.c.article_id))
                .where(at.c.topic == topic)
                .order_by(at.c.sort_at.desc(), at.c.article_id.desc())
            )
        else:
            q = select(*ARTICLE_COLS).order_by(A.sort_at.desc(), A.id.desc())
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.limit(limit))).all()
        return [row_to_article(r) for r in rows]

    async def article_count(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(ARTICLE_T))).scalar() or 0
            )

    # -- the console's archive -------------------------------------------------------------

    async def articles_by_source(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(A.source_id, func.count()).group_by(A.source_id))
            return {r[0]: int(r[1]) for r in rows}

    async def articles_since(self, since: datetime) -> int:
        async with self.engine.connect() as conn:
            q = select(func.count()).select_from(ARTICLE_T).where(A.first_seen_at >= since)
            return int((await conn.execute(q)).scalar() or 0)

    async def archive(self, limit: int = 50, offset: int = 0) -> list[StoredArticle]:
        """Newest articles first, a page at a time."""
        q = select(*ARTICLE_COLS).order_by(A.sort_at.desc(), A.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.offset(offset))).all()
        return [row_to_article(r) for r in rows]

    async def article_detail(self, article_id: int) -> ArticleDetail | None:
        """The article with its body and the number of chats it was sent to, or None."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(*ARTICLE_COLS, A.body).where(A.id == article_id))
            ).first()
            if row is None:
                return None
            sent = (await conn.execute(sent_count_query(article_id))).scalar()
        return ArticleDetail(row_to_article(row), row.body, int(sent or 0))


def sent_count_query(article_id: int) -> Select[Any]:
    """How many chats an article was sent to, from ``ix_deliveries_article`` (the article
    page; tests/test_outbox_indexes.py checks the plan)."""
    d = DELIVERY_T
    return (
        select(func.count())
        .select_from(d)
        .where(d.c.article_id == article_id, d.c.status == DeliveryStatus.SENT)
    )
