"""What every resource mixin of the store shares: the engine, dialect helpers, row converters,
and the two statements written once (queue pending deliveries, release a claim)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.records import Chat, DeliveryStatus, SourceState, StoredArticle
from storage.tables import ARTICLE_T, DELIVERY_T

A = ARTICLE_T.c
#: the columns a :class:`StoredArticle` is built from (the body stays in the database)
ARTICLE_COLS = (
    A.id,
    A.source_id,
    A.key,
    A.url,
    A.title,
    A.published_at,
    A.summary,
    A.topics,
    A.first_seen_at,
)

#: the values that hand a claimed delivery back (no worker holds it any more)
RELEASE_CLAIM: dict[str, Any] = {"claimed_by": None, "claimed_at": None}


class StoreBase:
    """The engine and dialect the mixins run on; :class:`storage.store.Store` opens them."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def _insert(self, table: Any) -> Any:
        """``INSERT`` of this dialect, which has ``on_conflict_do_nothing``."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    async def _queue_pending(
        self,
        conn: AsyncConnection,
        targets: Select[Any],
        ref: str,
        now: datetime,
        extra: tuple[str, ...] = (),
    ) -> int:
        """``INSERT INTO deliveries ... SELECT``: one pending delivery per row of ``targets``,
        which selects (chat id, ``ref``, ``*extra``) where ``ref`` is ``article_id`` or
        ``message_id`` and ``extra`` names more delivery columns (``thread_id``).
        Rows already queued are skipped; returns how many were queued."""
        d = DELIVERY_T
        sel = targets.add_columns(
            literal(DeliveryStatus.PENDING.value).label("status"),
            literal(0).label("attempts"),
            literal(now, d.c.next_attempt_at.type).label("next_attempt_at"),
            literal(now, d.c.created_at.type).label("created_at"),
            literal(now, d.c.updated_at.type).label("updated_at"),
            # A WHERE keeps SQLite from reading ON CONFLICT as part of the SELECT's join.
        ).where(literal(True))
        columns = [
            "chat_id",
            ref,
            *extra,
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "updated_at",
        ]
        result = await conn.execute(
            self._insert(d).from_select(columns, sel).on_conflict_do_nothing()
        )
        return max(result.rowcount or 0, 0)


def row_to_state(r: Any) -> SourceState:
    return SourceState(
        id=r.id,
        name=r.name,
        kind=r.kind,
        url=r.url,
        etag=r.etag,
        last_modified=r.last_modified,
        next_check_at=r.next_check_at,
        consecutive_failures=r.consecutive_failures,
        last_error=r.last_error,
        last_error_at=r.last_error_at,
        last_success_at=r.last_success_at,
        last_item_count=r.last_item_count,
        seeded_at=r.seeded_at,
        alerted=r.alerted,
        listing_hash=r.listing_hash,
    )


def row_to_chat(r: Any) -> Chat:
    return Chat(
        id=r.id,
        channel=r.channel,
        chat_id=r.chat_id,
        title=r.title,
        kind=r.kind,
        language=r.language,
        active=bool(r.active),
        paused=bool(r.paused),
        digest_time=r.digest_time,
        last_digest_at=r.last_digest_at,
        quiet_hours=bool(r.quiet_hours),
        format=r.format or "full",
        added_by=r.added_by,
    )


def row_to_article(r: Any, prefix: str = "") -> StoredArticle:
    """A :class:`StoredArticle` from a row of :data:`ARTICLE_COLS`, each labelled
    ``prefix + name`` when it was selected alongside other tables."""
    topics = getattr(r, prefix + "topics")
    return StoredArticle(
        id=getattr(r, prefix + "id"),
        source_id=getattr(r, prefix + "source_id"),
        key=getattr(r, prefix + "key"),
        url=getattr(r, prefix + "url"),
        title=getattr(r, prefix + "title"),
        published_at=getattr(r, prefix + "published_at"),
        summary=getattr(r, prefix + "summary"),
        topics=tuple(topics.split()) if topics else (),
        first_seen_at=getattr(r, prefix + "first_seen_at"),
    )
