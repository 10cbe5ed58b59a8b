"""The store: opens the database (engine, SQLite pragmas; migrations: ``storage.schema``) and
gathers the per-resource query mixins into one :class:`Store`, so callers write
``store.save_articles(...)``.

SQLite runs in WAL mode with a busy timeout; PostgreSQL runs through asyncpg. Queries live in
the resource modules (see the ``storage`` package docstring); this module adds none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, literal, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.articles import ArticlesMixin
from storage.broadcasts import BroadcastsMixin
from storage.chats import ChatsMixin
from storage.entries import EntriesMixin
from storage.leases import LeasesMixin
from storage.outbox import OutboxMixin
from storage.retention import RetentionMixin
from storage.schema import MIGRATIONS_DIR as MIGRATIONS_DIR
from storage.schema import current_revision, migrate
from storage.search import SearchMixin
from storage.sessions import SessionsMixin
from storage.sources import SourcesMixin
from storage.stats import StatsMixin
from storage.zalo_oa import ZaloOAMixin


def normalise_url(url: str) -> str:
    """Accept plain ``sqlite:///`` / ``postgresql://`` URLs and pick the async drivers."""
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        u = u.set(drivername="postgresql+asyncpg")
    return u.render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and for ``:memory:``)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


class Store(
    SourcesMixin,
    ArticlesMixin,
    SearchMixin,
    ChatsMixin,
    OutboxMixin,
    LeasesMixin,
    StatsMixin,
    RetentionMixin,
    SessionsMixin,
    BroadcastsMixin,
    EntriesMixin,
    ZaloOAMixin,
):
    """The data-access object. Create with :meth:`open`; every method is a short transaction,
    plain dataclasses out, ``now`` passed in.
    """

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
        """Apply migrations up to ``revision`` in one transaction (see :mod:`storage.schema`);
        return the revision now current."""
        return await migrate(self.engine, "upgrade", revision)

    async def downgrade(self, revision: str) -> str:
        """Undo migrations down to ``revision``, keeping the rows of the tables that stay."""
        return await migrate(self.engine, "downgrade", revision)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(current_revision)


async def open_store(url: str, *, upgrade: bool = True) -> Store:
    """Open the database and (by default) bring its schema to the current revision."""
    store = Store.open(url)
    if upgrade:
        await store.upgrade()
    return store
