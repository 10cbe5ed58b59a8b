"""Async data-access object over SQLAlchemy 2: plain dataclasses out, ``now`` passed in.

Errors::

    StoreError            root of this package's errors
    └── MigrationError    the schema could not be brought to the current revision

Every query the bot runs on a hot path is a method here with an index behind it. SQLite
runs in WAL mode with a busy timeout; PostgreSQL runs through asyncpg.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, event, func, literal, literal_column, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from feeds.text import fold_key
from storage.tables import (
    ARTICLE_KEYWORD_T,
    ARTICLE_T,
    ARTICLE_TOPIC_T,
    CHANNEL_USAGE_T,
    CHAT_T,
    DELIVERY_T,
    LEASE_T,
    MESSAGE_T,
    SOURCE_T,
    SUBSCRIPTION_T,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class StoreError(Exception):
    """Root of the storage errors."""


class MigrationError(StoreError):
    """The database schema could not be upgraded."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class SourceState:
    """Poll state of one source."""

    id: str
    name: str
    kind: str
    url: str
    etag: str | None
    last_modified: str | None
    next_check_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    last_item_count: int
    seeded_at: datetime | None
    alerted: bool


@dataclass(frozen=True)
class NewArticle:
    """An article to store, with the keyword subscriptions it matched (as match keys)."""

    source_id: str
    key: str
    url: str
    title: str
    published_at: datetime | None
    body: str
    summary: str
    topics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredArticle:
    id: int
    source_id: str
    key: str
    url: str
    title: str
    published_at: datetime | None
    summary: str
    topics: tuple[str, ...]
    first_seen_at: datetime


@dataclass(frozen=True)
class SaveResult:
    """What :meth:`Store.save_articles` did: ids of new articles and deliveries queued."""

    new_ids: tuple[int, ...]
    deliveries: int


@dataclass(frozen=True)
class Chat:
    id: int
    channel: str
    chat_id: str
    title: str
    kind: str
    language: str
    active: bool
    paused: bool
    digest_time: str | None
    last_digest_at: datetime | None = None
    quiet_hours: bool = True


@dataclass(frozen=True)
class Subscription:
    kind: str  # "topic" | "keyword"
    value: str
    key: str


@dataclass(frozen=True)
class DeliveryJob:
    """Claimed deliveries to one chat, sent as one message: a broadcast or alert, one
    article, or several articles due together (grouped, or a digest)."""

    ids: tuple[int, ...]
    attempts: int
    chat: Chat
    articles: tuple[StoredArticle, ...]
    message_kind: str | None
    message_text: str | None
    message_id: int | None = None

    @property
    def id(self) -> int:
        return self.ids[0]

    @property
    def article(self) -> StoredArticle | None:
        return self.articles[0] if len(self.articles) == 1 else None


@dataclass(frozen=True)
class BroadcastProgress:
    total: int
    sent: int
    failed: int
    unreachable: int
    cancelled: int
    pending: int


@dataclass(frozen=True)
class Stats:
    chats_active: int
    chats_inactive: int
    subscriptions_by_topic: dict[str, int]
    keyword_subscriptions: int
    articles_by_source: dict[str, int]
    deliveries_by_status: dict[str, int]
    deliveries_by_day: dict[str, int] = field(default_factory=dict)
    sources_in_error: tuple[str, ...] = ()


# --------------------------------------------------------------------------- helpers


def normalise_url(url: str) -> str:
    """Accept plain ``sqlite:///`` / ``postgresql://`` URLs and pick the async drivers."""
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        u = u.set(drivername="postgresql+asyncpg")
    return u.render_as_string(hide_password=False)


MAX_SEARCH_WORDS = 8
_WORD = re.compile(r"[^\W_]+")


SEARCH_ID_BITS = 32
SEARCH_ID_MASK = (1 << SEARCH_ID_BITS) - 1


def search_rowid(sort_at: datetime, article_id: int) -> int:
    """The FTS5 rowid of an article: its sort minute in the high bits, its id in the low 32.

    Ordering by this rowid is ordering by (sort_at, id), which FTS5 can do without sorting;
    the article id comes back as ``rowid & SEARCH_ID_MASK``.
    """
    minute = max(int(sort_at.timestamp()) // 60, 0)
    return (minute << SEARCH_ID_BITS) | (article_id & SEARCH_ID_MASK)


def search_text(value: str) -> str:
    """What the full-text index sees: accent-folded words separated by spaces, so SQLite's and
    PostgreSQL's tokenizers split ``04-NQ/ĐUK`` the same way the query does."""
    return " ".join(_WORD.findall(fold_key(value)))


def search_words(query: str) -> list[str]:
    """The accent-folded words of a search query (at most ``MAX_SEARCH_WORDS``, deduplicated)."""
    out: list[str] = []
    for word in _WORD.findall(fold_key(query)):
        if word not in out:
            out.append(word)
    return out[:MAX_SEARCH_WORDS]


def _row_to_state(r: Any) -> SourceState:
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
    )


def _row_to_chat(r: Any) -> Chat:
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
    )


_A = ARTICLE_T.c
_ARTICLE_COLS = (_A.id, _A.source_id, _A.key, _A.url, _A.title, _A.published_at, _A.summary, _A.topics, _A.first_seen_at)


def _row_to_article(r: Any) -> StoredArticle:
    return StoredArticle(
        id=r.id,
        source_id=r.source_id,
        key=r.key,
        url=r.url,
        title=r.title,
        published_at=r.published_at,
        summary=r.summary,
        topics=tuple(r.topics.split()) if r.topics else (),
        first_seen_at=r.first_seen_at,
    )


# --------------------------------------------------------------------------- the store


class Store:
    """The DAO. Create with :meth:`open`; every method is a short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def open(cls, url: str, *, echo: bool = False) -> Store:
        url = normalise_url(url)
        u = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if u.get_backend_name() == "sqlite":
            if u.database and u.database != ":memory:":
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        engine = create_async_engine(url, **kwargs)
        if u.get_backend_name() == "sqlite":

            @event.listens_for(engine.sync_engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()

        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> bool:
        """True when the database answers."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(select(literal(1)))
            return True
        except Exception:
            return False

    # -- schema ---------------------------------------------------------------------------

    async def upgrade(self, revision: str = "head") -> str:
        """Apply Alembic migrations up to ``revision``; return the revision now current."""
        from alembic import command
        from alembic.config import Config as AlembicConfig
        from alembic.runtime.migration import MigrationContext

        def _run(sync_conn: Any) -> str:
            cfg = AlembicConfig()
            cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
            cfg.attributes["connection"] = sync_conn
            command.upgrade(cfg, revision)
            return MigrationContext.configure(sync_conn).get_current_revision() or "base"

        try:
            async with self.engine.begin() as conn:
                return await conn.run_sync(_run)
        except Exception as exc:
            raise MigrationError(f"migration to {revision} failed: {exc}") from exc

    async def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())

    @property
    def _search_insert(self) -> Any:
        if self.dialect == "sqlite":
            return text("INSERT INTO articles_fts(rowid, title, body) VALUES (:id, :title, :body)")
        return text(
            "INSERT INTO article_search(article_id, sort_key, title_doc, doc) VALUES (:id, :sort_key, "
            "to_tsvector('simple', :title), to_tsvector('simple', :title || ' ' || :body))"
        )

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # -- sources --------------------------------------------------------------------------

    async def sync_sources(self, sources: Iterable[Any], now: datetime) -> None:
        """Create rows for configured sources; refresh name/kind/url of existing ones.

        A source whose URL changed keeps its history but loses its validators (etag).
        """
        t = SOURCE_T
        async with self.engine.begin() as conn:
            existing = {r.id: r for r in (await conn.execute(select(t.c.id, t.c.url))).all()}
            for s in sources:
                if s.id not in existing:
                    await conn.execute(
                        t.insert().values(
                            id=s.id, name=s.name, kind=s.kind, url=s.url, consecutive_failures=0,
                            last_item_count=0, alerted=False, created_at=now,
                        )
                    )
                else:
                    values: dict[str, Any] = {"name": s.name, "kind": s.kind, "url": s.url}
                    if existing[s.id].url != s.url:
                        values.update(etag=None, last_modified=None)
                    await conn.execute(update(t).where(t.c.id == s.id).values(**values))

    async def source_state(self, source_id: str) -> SourceState | None:
        t = SOURCE_T
        async with self.engine.connect() as conn:
            r = (await conn.execute(select(t).where(t.c.id == source_id))).first()
        return _row_to_state(r) if r else None

    async def source_states(self) -> list[SourceState]:
        t = SOURCE_T
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(t).order_by(t.c.id))).all()
        return [_row_to_state(r) for r in rows]

    async def record_poll_success(
        self,
        source_id: str,
        now: datetime,
        *,
        next_check_at: datetime,
        etag: str | None,
        last_modified: str | None,
        item_count: int | None,
        seeded: bool = False,
    ) -> None:
        """Reset the failure streak; ``item_count`` None means 304 (keep the last count)."""
        t = SOURCE_T
        values: dict[str, Any] = {
            "last_success_at": now,
            "next_check_at": next_check_at,
            "consecutive_failures": 0,
            "etag": etag,
            "last_modified": last_modified,
        }
        if item_count is not None:
            values["last_item_count"] = item_count
        if seeded:
            values["seeded_at"] = now
        async with self.engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == source_id).values(**values))

    async def record_poll_failure(
        self, source_id: str, now: datetime, *, error: str, next_check_at: datetime
    ) -> SourceState:
        """Count one more failure in a row and remember the error; return the new state."""
        t = SOURCE_T
        async with self.engine.begin() as conn:
            r = (
                await conn.execute(
                    update(t)
                    .where(t.c.id == source_id)
                    .values(
                        consecutive_failures=t.c.consecutive_failures + 1,
                        last_error=error[:2000],
                        last_error_at=now,
                        next_check_at=next_check_at,
                    )
                    .returning(*t.c)
                )
            ).one()
        return _row_to_state(r)

    async def set_source_alerted(self, source_id: str, alerted: bool) -> None:
        t = SOURCE_T
        async with self.engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == source_id).values(alerted=alerted))

    # -- articles -------------------------------------------------------------------------

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` already stored (from any source)."""
        if not keys:
            return set()
        out: set[str] = set()
        async with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i : i + 500])
                rows = await conn.execute(select(_A.key).where(_A.key.in_(chunk)))
                out.update(r[0] for r in rows)
        return out

    async def keyword_keys(self) -> list[str]:
        """Distinct keyword match keys followed by at least one active chat."""
        s = SUBSCRIPTION_T
        c = CHAT_T
        q = (
            select(s.c.key)
            .join(c, c.c.id == s.c.chat_id)
            .where(s.c.kind == "keyword", c.c.active.is_(True))
            .distinct()
        )
        async with self.engine.connect() as conn:
            return [r[0] for r in await conn.execute(q)]

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
                "source_id": a.source_id, "key": a.key, "url": a.url, "title": a.title,
                "published_at": a.published_at, "body": a.body, "summary": a.summary,
                "topics": " ".join(a.topics), "seeded": seeded, "first_seen_at": now,
                "sort_at": sort_at[a.key],
            }
            for a in articles
        ]
        by_key = {a.key: a for a in articles}
        insert = self._insert(t).on_conflict_do_nothing(index_elements=["key"]).returning(t.c.id, t.c.key)
        async with self.engine.begin() as conn:
            inserted = (await conn.execute(insert, rows)).all()
            if not inserted:
                return SaveResult((), 0)
            topic_rows = [
                {"article_id": i, "topic": tp, "sort_at": sort_at[k]} for i, k in inserted for tp in by_key[k].topics
            ]
            keyword_rows = [{"article_id": i, "keyword": kw} for i, k in inserted for kw in by_key[k].keywords]
            if topic_rows:
                await conn.execute(ARTICLE_TOPIC_T.insert(), topic_rows)
            if keyword_rows:
                await conn.execute(ARTICLE_KEYWORD_T.insert(), keyword_rows)
            await conn.execute(
                self._search_insert,
                [
                    {"id": search_rowid(sort_at[k], i) if self.dialect == "sqlite" else i,
                     "sort_key": search_rowid(sort_at[k], i),
                     "title": search_text(by_key[k].title), "body": search_text(by_key[k].body)}
                    for i, k in inserted
                ],
            )
            new_ids = tuple(sorted(i for i, _ in inserted))
            queued = 0
            if not seeded and (topic_rows or keyword_rows):
                queued = await self._fan_out(conn, new_ids, now)
        return SaveResult(new_ids, queued)

    async def _fan_out(self, conn: AsyncConnection, article_ids: Sequence[int], now: datetime) -> int:
        """Queue one delivery per (active chat, article) where the chat follows a topic or a
        keyword of the article: a single INSERT ... SELECT, whatever the number of chats.
        """
        s = SUBSCRIPTION_T
        c = CHAT_T
        d = DELIVERY_T
        at = ARTICLE_TOPIC_T
        ak = ARTICLE_KEYWORD_T
        by_topic = (
            select(s.c.chat_id, at.c.article_id)
            .join(at, and_(s.c.kind == "topic", s.c.key == at.c.topic))
            .where(at.c.article_id.in_(list(article_ids)))
        )
        by_keyword = (
            select(s.c.chat_id, ak.c.article_id)
            .join(ak, and_(s.c.kind == "keyword", s.c.key == ak.c.keyword))
            .where(ak.c.article_id.in_(list(article_ids)))
        )
        pairs = by_topic.union(by_keyword).subquery()
        sel = (
            select(
                pairs.c.chat_id,
                pairs.c.article_id,
                literal("pending").label("status"),
                literal(0).label("attempts"),
                literal(now, d.c.next_attempt_at.type).label("next_attempt_at"),
                literal(now, d.c.created_at.type).label("created_at"),
                literal(now, d.c.updated_at.type).label("updated_at"),
            )
            .join(c, c.c.id == pairs.c.chat_id)
            .where(c.c.active.is_(True), c.c.paused.is_(False))
            # Order by article then chat: each chat gets articles in their order of arrival.
            .order_by(pairs.c.article_id, pairs.c.chat_id)
        )
        stmt = (
            self._insert(d)
            .from_select(
                ["chat_id", "article_id", "status", "attempts", "next_attempt_at", "created_at", "updated_at"],
                sel,
            )
            .on_conflict_do_nothing()
        )
        result = await conn.execute(stmt)
        return max(result.rowcount or 0, 0)

    async def latest(self, topic: str | None = None, limit: int = 5) -> list[StoredArticle]:
        """Newest articles first (by ``sort_at``: publish date, else first sight), optionally
        of one topic; each form walks one index backwards."""
        if topic:
            at = ARTICLE_TOPIC_T
            q = (
                select(*_ARTICLE_COLS)
                .select_from(at.join(ARTICLE_T, _A.id == at.c.article_id))
                .where(at.c.topic == topic)
                .order_by(at.c.sort_at.desc(), at.c.article_id.desc())
            )
        else:
            q = select(*_ARTICLE_COLS).order_by(_A.sort_at.desc(), _A.id.desc())
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.limit(limit))).all()
        return [_row_to_article(r) for r in rows]

    async def search(self, query: str, limit: int = 10) -> list[StoredArticle]:
        """Articles containing every word of ``query``, accents and case optional.

        Title hits (every word in the title) rank above body hits; newer first among equals.
        Served by the full-text index (FTS5 on SQLite, a GIN tsvector on PostgreSQL).
        """
        words = search_words(query)
        if not words or limit < 1:
            return []
        async with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                ids = await self._search_ids_sqlite(conn, words, limit)
            else:
                ids = await self._search_ids_postgresql(conn, words, limit)
            if not ids:
                return []
            rows = {r.id: r for r in await conn.execute(select(*_ARTICLE_COLS).where(_A.id.in_(ids)))}
        return [_row_to_article(rows[i]) for i in ids if i in rows]

    @staticmethod
    async def _search_ids_sqlite(conn: AsyncConnection, words: Sequence[str], limit: int) -> list[int]:
        # FTS5 rowids sort like (sort_at, id) (see search_rowid), so "ORDER BY rowid DESC
        # LIMIT n" walks the index newest-first and stops early: no sort over every match,
        # however common the words. Title hits first, then the other matches.
        every = " AND ".join(f'"{w}"' for w in words)
        in_title = f"title : ({every})"
        sql = text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q ORDER BY rowid DESC LIMIT :n")
        found = [r[0] for r in await conn.execute(sql, {"q": in_title, "n": limit})]
        if len(found) < limit:
            rest = {"q": f"({every}) NOT {in_title}", "n": limit - len(found)}
            found += [r[0] for r in await conn.execute(sql, rest)]
        return [rowid & SEARCH_ID_MASK for rowid in found]

    async def _search_ids_postgresql(self, conn: AsyncConnection, words: Sequence[str], limit: int) -> list[int]:
        # Same two tiers as on SQLite: the title's own GIN index answers the first (no
        # recheck against the body), the title+body index the second. Each is one bitmap
        # scan and a top-N sort on sort_key, which orders like (sort_at, id).
        query = " & ".join(words)
        title_sql = text(
            "SELECT article_id FROM article_search WHERE title_doc @@ to_tsquery('simple', :q) "
            "ORDER BY sort_key DESC LIMIT :n"
        )
        found = [r[0] for r in await conn.execute(title_sql, {"q": query, "n": limit})]
        if len(found) < limit:
            rest_sql = text(
                "SELECT article_id FROM article_search WHERE doc @@ to_tsquery('simple', :q) "
                "AND NOT title_doc @@ to_tsquery('simple', :q) ORDER BY sort_key DESC LIMIT :n"
            )
            found += [r[0] for r in await conn.execute(rest_sql, {"q": query, "n": limit - len(found)})]
        return found

    async def article_count(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(ARTICLE_T))).scalar() or 0)

    # -- chats and subscriptions ----------------------------------------------------------

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
                    channel=channel, chat_id=chat_id, title=title, kind=kind,
                    language=language or "vi", active=True, paused=False,
                    unreachable_count=0, created_at=now, updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["channel", "chat_id"])
            )
            if reactivate:
                await conn.execute(
                    update(c)
                    .where(c.c.channel == channel, c.c.chat_id == chat_id)
                    .values(active=True, paused=False, unreachable_count=0, deactivated_reason=None, updated_at=now)
                )
            r = (await conn.execute(select(c).where(c.c.channel == channel, c.c.chat_id == chat_id))).one()
        return _row_to_chat(r)

    async def get_chat(self, channel: str, chat_id: str) -> Chat | None:
        c = CHAT_T
        async with self.engine.connect() as conn:
            r = (await conn.execute(select(c).where(c.c.channel == channel, c.c.chat_id == chat_id))).first()
        return _row_to_chat(r) if r else None

    async def update_chat(self, chat: Chat, now: datetime, **values: Any) -> Chat:
        """Change ``language``, ``paused``, ``digest_time``, ``active`` of one chat."""
        allowed = {"language", "paused", "digest_time", "active", "title", "deactivated_reason", "quiet_hours",
                   "last_digest_at"}
        if not set(values) <= allowed:
            raise ValueError(f"cannot update {set(values) - allowed}")
        c = CHAT_T
        async with self.engine.begin() as conn:
            await conn.execute(update(c).where(c.c.id == chat.id).values(updated_at=now, **values))
            r = (await conn.execute(select(c).where(c.c.id == chat.id))).one()
        return _row_to_chat(r)

    async def set_last_digest(self, chat_pk: int, now: datetime) -> None:
        c = CHAT_T
        async with self.engine.begin() as conn:
            await conn.execute(update(c).where(c.c.id == chat_pk).values(last_digest_at=now))

    async def subscribe(self, chat: Chat, kind: str, value: str, key: str, now: datetime) -> bool:
        """Add a subscription; False when the chat already had it."""
        s = SUBSCRIPTION_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                self._insert(s)
                .values(chat_id=chat.id, kind=kind, value=value, key=key, created_at=now)
                .on_conflict_do_nothing(index_elements=["chat_id", "kind", "key"])
            )
        return bool(result.rowcount)

    async def unsubscribe(self, chat: Chat, kind: str | None, key: str | None) -> int:
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
                select(s.c.kind, s.c.value, s.c.key).where(s.c.chat_id == chat.id).order_by(s.c.kind.desc(), s.c.id)
            )
            return [Subscription(r.kind, r.value, r.key) for r in rows]

    # -- outbox ---------------------------------------------------------------------------

    async def enqueue_message(
        self,
        kind: str,
        text: str,
        now: datetime,
        *,
        chats: Sequence[tuple[str, str]] | None = None,
        topic: str | None = None,
        created_by: str | None = None,
    ) -> tuple[int, int]:
        """Queue a broadcast or alert to the given (channel, chat_id) pairs, a topic's
        subscribers, or (neither given) every active chat. Returns (message id, deliveries).
        """
        m = MESSAGE_T
        c = CHAT_T
        s = SUBSCRIPTION_T
        d = DELIVERY_T
        async with self.engine.begin() as conn:
            message_id = (
                await conn.execute(
                    m.insert()
                    .values(kind=kind, text=text, topic=topic, created_by=created_by, created_at=now)
                    .returning(m.c.id)
                )
            ).scalar_one()
            target = select(c.c.id.label("chat_id")).where(c.c.active.is_(True))
            if chats is not None:
                if not chats:
                    return message_id, 0
                target = target.where(
                    or_(*(and_(c.c.channel == ch, c.c.chat_id == cid) for ch, cid in chats))
                )
            elif topic is not None:
                target = target.where(
                    c.c.paused.is_(False),
                    c.c.id.in_(select(s.c.chat_id).where(s.c.kind == "topic", s.c.key == topic)),
                )
            else:
                target = target.where(c.c.paused.is_(False))
            sub = target.subquery()
            sel = select(
                sub.c.chat_id,
                literal(message_id).label("message_id"),
                literal("pending").label("status"),
                literal(0).label("attempts"),
                literal(now, d.c.next_attempt_at.type).label("next_attempt_at"),
                literal(now, d.c.created_at.type).label("created_at"),
                literal(now, d.c.updated_at.type).label("updated_at"),
            ).where(literal(True))
            result = await conn.execute(
                self._insert(d)
                .from_select(
                    ["chat_id", "message_id", "status", "attempts", "next_attempt_at", "created_at", "updated_at"],
                    sel,
                )
                .on_conflict_do_nothing()
            )
            return message_id, max(result.rowcount or 0, 0)

    async def requeue_expired(self, now: datetime, *, lease_seconds: float = 60.0) -> int:
        """Deliveries left 'sending' longer than the lease (their worker crashed) become due.

        A worker finishes a send well within the lease (the platform timeouts are shorter),
        so a live worker's claims are never taken from it, even by another instance.
        """
        d = DELIVERY_T
        cutoff = now - timedelta(seconds=lease_seconds)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(d)
                .where(d.c.status == "sending", or_(d.c.claimed_at.is_(None), d.c.claimed_at <= cutoff))
                .values(status="pending", next_attempt_at=now, updated_at=now, claimed_by=None, claimed_at=None)
            )
        return int(result.rowcount or 0)

    async def requeue_channel(self, channel: str, now: datetime) -> int:
        """The new sender of a channel takes back every claim on it: whoever held them is gone
        (it lost or let expire the channel's lease), so those sends are retried."""
        d = DELIVERY_T
        c = CHAT_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(d)
                .where(d.c.status == "sending", d.c.chat_id.in_(select(c.c.id).where(c.c.channel == channel)))
                .values(status="pending", next_attempt_at=now, updated_at=now, claimed_by=None, claimed_at=None)
            )
        return int(result.rowcount or 0)

    # -- leases ---------------------------------------------------------------------------

    async def acquire_lease(self, name: str, holder: str, now: datetime, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``ttl`` seconds; False while another holds it.

        One conditional statement, so two instances racing for a free lease cannot both win.
        """
        t = LEASE_T
        expires = now + timedelta(seconds=ttl)
        async with self.engine.begin() as conn:
            taken = await conn.execute(
                update(t)
                .where(t.c.name == name, or_(t.c.holder == holder, t.c.expires_at <= now))
                .values(holder=holder, expires_at=expires)
            )
            if taken.rowcount:
                return True
            inserted = await conn.execute(
                self._insert(t).values(name=name, holder=holder, expires_at=expires).on_conflict_do_nothing()
            )
            return bool(inserted.rowcount)

    async def release_lease(self, name: str, holder: str) -> None:
        t = LEASE_T
        async with self.engine.begin() as conn:
            await conn.execute(delete(t).where(t.c.name == name, t.c.holder == holder))

    async def lease_holders(self, now: datetime) -> dict[str, str]:
        """Current (unexpired) holders by lease name."""
        t = LEASE_T
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(t.c.name, t.c.holder).where(t.c.expires_at > now))
            return {r.name: r.holder for r in rows}

    async def release_claims(self, owner: str, now: datetime) -> int:
        """A worker stopping cleanly hands back what it had claimed but not sent."""
        d = DELIVERY_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(d)
                .where(d.c.status == "sending", d.c.claimed_by == owner)
                .values(status="pending", updated_at=now, claimed_by=None, claimed_at=None)
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
        d = DELIVERY_T
        c = CHAT_T
        older = d.alias("older")
        # Order is kept within a class: articles after articles, messages (broadcasts,
        # alerts) after messages. An article held for a digest or quiet hours must not hold
        # up an announcement, and the rate limiter still spaces two sends to one chat.
        same_class = (older.c.article_id.is_(None)) == (d.c.article_id.is_(None))
        earlier_unfinished = (
            select(older.c.id)
            .where(older.c.chat_id == d.c.chat_id, older.c.status.in_(("pending", "sending")), older.c.id < d.c.id,
                   same_class)
            .exists()
        )
        heads_q = (
            select(d.c.id, d.c.chat_id, d.c.article_id)
            .join(c, c.c.id == d.c.chat_id)
            .where(d.c.status == "pending", d.c.next_attempt_at <= now, c.c.channel == channel, ~earlier_unfinished)
            .order_by(d.c.id)
            .limit(limit)
        )
        async with self.engine.begin() as conn:
            heads = (await conn.execute(heads_q)).all()
            if not heads:
                return []
            groups: dict[int, list[int]] = {h.id: [h.id] for h in heads}
            if group_max > 1:
                article_head = {h.chat_id: h.id for h in heads if h.article_id is not None}
                grouped = list(article_head)
                for i in range(0, len(grouped), 500):
                    chunk = grouped[i : i + 500]
                    following = await conn.execute(
                        select(d.c.id, d.c.chat_id, d.c.article_id, d.c.next_attempt_at)
                        .where(d.c.chat_id.in_(chunk), d.c.status == "pending", d.c.article_id.is_not(None))
                        .order_by(d.c.chat_id, d.c.id)
                    )
                    stopped: set[int] = set()
                    for r in following:
                        ids = groups[article_head[r.chat_id]]
                        if r.id <= ids[0] or r.chat_id in stopped:
                            continue
                        # Only a run of due articles joins the head: the order stays intact.
                        if r.next_attempt_at > now or len(ids) >= group_max:
                            stopped.add(r.chat_id)
                            continue
                        ids.append(r.id)
            wanted = [i for ids in groups.values() for i in ids]
            claimed: set[int] = set()
            for i in range(0, len(wanted), 500):
                claimed.update(
                    r[0]
                    for r in await conn.execute(
                        update(d)
                        .where(d.c.id.in_(wanted[i : i + 500]), d.c.status == "pending")
                        .values(status="sending", attempts=d.c.attempts + 1, updated_at=now,
                                claimed_by=owner, claimed_at=now)
                        .returning(d.c.id)
                    )
                )
            if not claimed:
                return []
            jobs_ids = [tuple(i for i in ids if i in claimed) for ids in groups.values()]
            jobs_ids = [ids for ids in jobs_ids if ids]
            return await self._load_jobs(conn, jobs_ids)

    async def _load_jobs(self, conn: AsyncConnection, jobs_ids: Sequence[tuple[int, ...]]) -> list[DeliveryJob]:
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
                    c,
                    m.c.kind.label("message_kind"),
                    m.c.text.label("message_text"),
                    *[col.label(f"a_{col.name}") for col in _ARTICLE_COLS],
                )
                .join(c, c.c.id == d.c.chat_id)
                .outerjoin(ARTICLE_T, _A.id == d.c.article_id)
                .outerjoin(m, m.c.id == d.c.message_id)
                .where(d.c.id.in_(all_ids[i : i + 500]))
            )
            rows.update((r.delivery_id, r) for r in await conn.execute(q))
        jobs = []
        for ids in jobs_ids:
            first = rows[ids[0]]
            articles = tuple(
                StoredArticle(
                    id=r.a_id, source_id=r.a_source_id, key=r.a_key, url=r.a_url, title=r.a_title,
                    published_at=r.a_published_at, summary=r.a_summary,
                    topics=tuple(r.a_topics.split()) if r.a_topics else (), first_seen_at=r.a_first_seen_at,
                )
                for r in (rows[i] for i in ids)
                if r.a_id is not None
            )
            jobs.append(
                DeliveryJob(
                    ids=ids, attempts=max(rows[i].attempts for i in ids), chat=_row_to_chat(first),
                    articles=articles, message_kind=first.message_kind, message_text=first.message_text,
                    message_id=first.message_id,
                )
            )
        return jobs

    async def mark_sent(self, ids: Sequence[int], now: datetime, platform_message_id: str | None = None) -> None:
        """The platform accepted the message: these deliveries are done."""
        d = DELIVERY_T
        c = CHAT_T
        async with self.engine.begin() as conn:
            await conn.execute(
                update(d)
                .where(d.c.id.in_(list(ids)))
                .values(status="sent", sent_at=now, updated_at=now, platform_message_id=platform_message_id,
                        last_error=None, claimed_by=None, claimed_at=None)
            )
            await conn.execute(
                update(c)
                .where(c.c.id == select(d.c.chat_id).where(d.c.id == ids[0]).scalar_subquery(), c.c.unreachable_count != 0)
                .values(unreachable_count=0)
            )

    async def mark_retry(self, ids: Sequence[int], now: datetime, *, next_attempt_at: datetime, error: str,
                         undo_attempt: bool = False) -> None:
        """Back to 'pending' until ``next_attempt_at``; ``undo_attempt`` when nothing was tried
        (held for a digest, quiet hours or a rate limit), so it does not count towards giving up."""
        d = DELIVERY_T
        values: dict[str, Any] = {
            "status": "pending", "next_attempt_at": next_attempt_at, "last_error": error[:1000] or None,
            "updated_at": now, "claimed_by": None, "claimed_at": None,
        }
        if undo_attempt:
            values["attempts"] = d.c.attempts - 1
        async with self.engine.begin() as conn:
            # Only rows still in flight: one cancelled meanwhile (a migration merge) stays so.
            await conn.execute(update(d).where(d.c.id.in_(list(ids)), d.c.status == "sending").values(**values))

    async def mark_failed(self, ids: Sequence[int], now: datetime, *, reason: str) -> None:
        d = DELIVERY_T
        async with self.engine.begin() as conn:
            await conn.execute(
                update(d)
                .where(d.c.id.in_(list(ids)))
                .values(status="failed", last_error=reason[:1000], updated_at=now, claimed_by=None, claimed_at=None)
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
                .values(status="failed", last_error="unreachable: " + reason[:1000], updated_at=now,
                        claimed_by=None, claimed_at=None)
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
            await conn.execute(
                update(c).where(c.c.id == chat_pk).values(active=False, deactivated_reason=reason[:500], updated_at=now)
            )
            await conn.execute(
                update(d)
                .where(d.c.chat_id == chat_pk, d.c.status == "pending")
                .values(status="cancelled", last_error="chat unreachable: " + reason[:900], updated_at=now)
            )
            return True

    async def migrate_chat(self, channel: str, old_chat_id: str, new_chat_id: str, now: datetime) -> Chat | None:
        """A group moved to another id: its row, subscriptions and pending deliveries follow.

        If the new id is already known (the bot saw a message there first), the old chat's
        subscriptions and pending deliveries are merged into it and the old row is retired.
        """
        c = CHAT_T
        s = SUBSCRIPTION_T
        d = DELIVERY_T
        async with self.engine.begin() as conn:
            old = (await conn.execute(select(c).where(c.c.channel == channel, c.c.chat_id == old_chat_id))).first()
            new = (await conn.execute(select(c).where(c.c.channel == channel, c.c.chat_id == new_chat_id))).first()
            if old is None:
                return _row_to_chat(new) if new else None
            if new is None:
                await conn.execute(update(c).where(c.c.id == old.id).values(chat_id=new_chat_id, updated_at=now))
            else:
                subs = (await conn.execute(select(s.c.kind, s.c.value, s.c.key).where(s.c.chat_id == old.id))).all()
                if subs:
                    await conn.execute(
                        self._insert(s).on_conflict_do_nothing(),
                        [{"chat_id": new.id, "kind": r.kind, "value": r.value, "key": r.key, "created_at": now}
                         for r in subs],
                    )
                pending = (
                    await conn.execute(
                        select(d.c.id, d.c.article_id, d.c.message_id).where(
                            d.c.chat_id == old.id, d.c.status.in_(("pending", "sending"))
                        )
                    )
                ).all()
                for r in pending:
                    clash = select(d.c.id).where(
                        d.c.chat_id == new.id,
                        d.c.article_id == r.article_id if r.article_id is not None else d.c.message_id == r.message_id,
                    )
                    if (await conn.execute(clash)).first() is None:
                        await conn.execute(update(d).where(d.c.id == r.id).values(chat_id=new.id, updated_at=now))
                    else:
                        await conn.execute(
                            update(d).where(d.c.id == r.id).values(status="cancelled", last_error="chat migrated",
                                                                   updated_at=now)
                        )
                await conn.execute(delete(s).where(s.c.chat_id == old.id))
                await conn.execute(
                    update(c).where(c.c.id == old.id).values(active=False, deactivated_reason=f"migrated to {new_chat_id}",
                                                             updated_at=now)
                )
            r = (await conn.execute(select(c).where(c.c.channel == channel, c.c.chat_id == new_chat_id))).one()
        return _row_to_chat(r)

    async def broadcast_progress(self, message_id: int) -> BroadcastProgress:
        """Counts of a broadcast's deliveries by outcome (unreachable = failed as unreachable)."""
        d = DELIVERY_T
        unreachable = d.c.last_error.like("unreachable:%") | d.c.last_error.like("chat unreachable:%")
        q = select(d.c.status, unreachable.label("unreachable"), func.count()).where(d.c.message_id == message_id)
        q = q.group_by(d.c.status, "unreachable")
        counts = {"sent": 0, "failed": 0, "unreachable": 0, "cancelled": 0, "pending": 0}
        total = 0
        async with self.engine.connect() as conn:
            for status, is_unreachable, n in await conn.execute(q):
                total += n
                if status in ("pending", "sending"):
                    counts["pending"] += n
                elif status in ("failed", "cancelled") and is_unreachable:
                    counts["unreachable"] += n
                else:
                    counts[status] += n
        return BroadcastProgress(total=total, **counts)

    def _local_day(self, column: Any, offset: timedelta) -> Any:
        """SQL for the local calendar day (``YYYY-MM-DD``) of a UTC column, at a fixed offset."""
        minutes = int(offset.total_seconds() // 60)
        if self.dialect == "sqlite":
            return func.date(column, f"{minutes:+d} minutes")
        # The offset is an int we computed, so it can be spelled into the SQL safely.
        return func.to_char(column + literal_column(f"interval '{minutes} minutes'"), "YYYY-MM-DD")

    async def daily_activity(self, now: datetime, tz: Any, days: int = 14) -> list[tuple[Any, int, int]]:
        """(local date, new articles that were pushed, deliveries sent) for each of the last
        ``days`` days, counted in SQL (the zone's offset now; DST shifts are ignored)."""
        d = DELIVERY_T
        local_now = now.astimezone(tz)
        offset = local_now.utcoffset() or timedelta(0)
        first_day = local_now.date() - timedelta(days=days - 1)
        since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=tz)
        a_day = self._local_day(_A.first_seen_at, offset)
        d_day = self._local_day(d.c.sent_at, offset)
        async with self.engine.connect() as conn:
            articles = {
                str(r[0]): int(r[1])
                for r in await conn.execute(
                    select(a_day, func.count())
                    .where(_A.first_seen_at >= since, ARTICLE_T.c.seeded.is_(False))
                    .group_by(a_day)
                )
            }
            sent = {
                str(r[0]): int(r[1])
                for r in await conn.execute(
                    select(d_day, func.count()).where(d.c.status == "sent", d.c.sent_at >= since).group_by(d_day)
                )
            }
        out = []
        for i in range(days):
            day = first_day + timedelta(days=i)
            key = day.isoformat()
            out.append((day, articles.get(key, 0), sent.get(key, 0)))
        return out

    async def outbox_counts(self, now: datetime) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
        """(channel, status, count) for every outbox row, and (channel, due now) for metrics."""
        d = DELIVERY_T
        c = CHAT_T
        async with self.engine.connect() as conn:
            rows = [
                (r[0], r[1], int(r[2]))
                for r in await conn.execute(
                    select(c.c.channel, d.c.status, func.count()).join(c, c.c.id == d.c.chat_id)
                    .group_by(c.c.channel, d.c.status)
                )
            ]
            due = [
                (r[0], int(r[1]))
                for r in await conn.execute(
                    select(c.c.channel, func.count()).join(c, c.c.id == d.c.chat_id)
                    .where(d.c.status == "pending", d.c.next_attempt_at <= now).group_by(c.c.channel)
                )
            ]
        return rows, due

    async def last_success(self) -> datetime | None:
        """The most recent successful poll of any source."""
        t = SOURCE_T
        async with self.engine.connect() as conn:
            return (await conn.execute(select(func.max(t.c.last_success_at)))).scalar()

    # -- channel usage (quotas) -----------------------------------------------------------

    async def add_usage(self, channel: str, month: str, count: int = 1) -> int:
        """Count ``count`` more messages sent on ``channel`` in ``month``; the new total."""
        u = CHANNEL_USAGE_T
        async with self.engine.begin() as conn:
            await conn.execute(
                self._insert(u).values(channel=channel, month=month, sent=0, warned=0)
                .on_conflict_do_nothing(index_elements=["channel", "month"])
            )
            return int(
                (
                    await conn.execute(
                        update(u).where(u.c.channel == channel, u.c.month == month)
                        .values(sent=u.c.sent + count).returning(u.c.sent)
                    )
                ).scalar_one()
            )

    async def usage(self, channel: str, month: str) -> tuple[int, int]:
        """(messages sent, highest warning threshold already announced) in ``month``."""
        u = CHANNEL_USAGE_T
        async with self.engine.connect() as conn:
            r = (await conn.execute(select(u.c.sent, u.c.warned).where(u.c.channel == channel, u.c.month == month))).first()
        return (int(r.sent), int(r.warned)) if r else (0, 0)

    async def mark_usage_warned(self, channel: str, month: str, percent: int) -> bool:
        """Record that ``percent`` was announced; False if it (or a higher one) already was."""
        u = CHANNEL_USAGE_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(u).where(u.c.channel == channel, u.c.month == month, u.c.warned < percent)
                .values(warned=percent)
            )
        return bool(result.rowcount)

    # -- backup ---------------------------------------------------------------------------

    async def export_chats(self) -> list[dict[str, Any]]:
        """Every chat with its settings and subscriptions, as plain JSON-able data."""
        c = CHAT_T
        s = SUBSCRIPTION_T
        async with self.engine.connect() as conn:
            subs: dict[int, list[dict[str, str]]] = {}
            for r in await conn.execute(select(s.c.chat_id, s.c.kind, s.c.value, s.c.key).order_by(s.c.id)):
                subs.setdefault(r.chat_id, []).append({"kind": r.kind, "value": r.value, "key": r.key})
            chats = (await conn.execute(select(c).order_by(c.c.id))).all()
        return [
            {
                "channel": r.channel, "chat_id": r.chat_id, "title": r.title, "kind": r.kind,
                "language": r.language, "active": bool(r.active), "paused": bool(r.paused),
                "digest_time": r.digest_time, "quiet_hours": bool(r.quiet_hours),
                "subscriptions": subs.get(r.id, []),
            }
            for r in chats
        ]

    async def import_chats(self, chats: Sequence[dict[str, Any]], now: datetime) -> tuple[int, int]:
        """Create or update chats and add their subscriptions (idempotent); (chats, subscriptions)."""
        c = CHAT_T
        s = SUBSCRIPTION_T
        n_subs = 0
        async with self.engine.begin() as conn:
            for item in chats:
                values = {
                    "title": item.get("title", ""), "kind": item.get("kind", "private"),
                    "language": item.get("language", "vi"), "active": bool(item.get("active", True)),
                    "paused": bool(item.get("paused", False)), "digest_time": item.get("digest_time"),
                    "quiet_hours": bool(item.get("quiet_hours", True)),
                }
                await conn.execute(
                    self._insert(c)
                    .values(channel=item["channel"], chat_id=str(item["chat_id"]), unreachable_count=0,
                            created_at=now, updated_at=now, **values)
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
                        .values(chat_id=chat_pk, kind=sub["kind"], value=sub["value"], key=sub["key"], created_at=now)
                        .on_conflict_do_nothing(index_elements=["chat_id", "kind", "key"])
                    )
                    n_subs += int(result.rowcount or 0)
        return len(chats), n_subs

    # -- statistics -----------------------------------------------------------------------

    async def stats(self, now: datetime, days: int = 14) -> Stats:
        c = CHAT_T
        s = SUBSCRIPTION_T
        d = DELIVERY_T
        src = SOURCE_T
        since = now - timedelta(days=days)
        async with self.engine.connect() as conn:
            active = dict(
                (bool(r[0]), int(r[1]))
                for r in await conn.execute(select(c.c.active, func.count()).group_by(c.c.active))
            )
            by_topic = {
                r[0]: int(r[1])
                for r in await conn.execute(
                    select(s.c.key, func.count()).where(s.c.kind == "topic").group_by(s.c.key).order_by(s.c.key)
                )
            }
            keywords = int(
                (await conn.execute(select(func.count()).select_from(s).where(s.c.kind == "keyword"))).scalar() or 0
            )
            by_source = {
                r[0]: int(r[1])
                for r in await conn.execute(
                    select(_A.source_id, func.count()).group_by(_A.source_id).order_by(_A.source_id)
                )
            }
            by_status = {r[0]: int(r[1]) for r in await conn.execute(select(d.c.status, func.count()).group_by(d.c.status))}
            day = func.date(d.c.sent_at) if self.dialect == "sqlite" else func.to_char(d.c.sent_at, "YYYY-MM-DD")
            by_day = {
                str(r[0]): int(r[1])
                for r in await conn.execute(
                    select(day, func.count()).where(d.c.status == "sent", d.c.sent_at >= since).group_by(day).order_by(day)
                )
            }
            in_error = tuple(
                r[0]
                for r in await conn.execute(select(src.c.id).where(src.c.consecutive_failures > 0).order_by(src.c.id))
            )
        return Stats(
            chats_active=active.get(True, 0),
            chats_inactive=active.get(False, 0),
            subscriptions_by_topic=by_topic,
            keyword_subscriptions=keywords,
            articles_by_source=by_source,
            deliveries_by_status=by_status,
            deliveries_by_day=by_day,
            sources_in_error=in_error,
        )


async def open_store(url: str, *, upgrade: bool = True) -> Store:
    """Open the database and (by default) bring its schema to the current revision."""
    store = Store.open(url)
    if upgrade:
        await store.upgrade()
    return store


__all__ = [
    "Chat",
    "DeliveryJob",
    "MigrationError",
    "NewArticle",
    "SaveResult",
    "SourceState",
    "Stats",
    "Store",
    "StoreError",
    "StoredArticle",
    "Subscription",
    "open_store",
]
