"""Schema migrations: Alembic, run as one real transaction on either database.

PostgreSQL runs DDL inside a transaction by itself. SQLite's driver (pysqlite, under
aiosqlite) sends no ``BEGIN`` before DDL, so each ``CREATE``/``ALTER``/``DROP`` committed on its
own and a kill halfway through a migration left a file that no later start could upgrade
("table channel_usage already exists"). On SQLite the migration connection therefore

- turns the driver's own transaction handling off (``isolation_level = None``, the recipe in
  SQLAlchemy's pysqlite notes) and sends ``BEGIN IMMEDIATE`` itself: the whole run, every
  revision and the ``alembic_version`` row with it, commits or vanishes together, and a second
  instance starting at the same time waits for the first and then finds nothing to do;
- turns foreign keys off first (the pragma is ignored inside a transaction): a batch rebuild
  of a table drops the old one, and with foreign keys on that ``DROP`` deletes every row that
  references it (a downgrade through 0005 rebuilt ``chats`` and lost all deliveries and
  subscriptions). ``PRAGMA foreign_key_check`` must then find nothing before ``COMMIT``.

The connection gets its usual settings back afterwards; nothing else of the store changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.records import MigrationError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

Direction = Literal["upgrade", "downgrade"]


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (None before the first)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


async def migrate(engine: AsyncEngine, direction: Direction, revision: str) -> str:
    """Upgrade or downgrade to ``revision`` in one transaction; return the revision now
    current (``"base"`` when none). Raises :class:`MigrationError`, the database unchanged."""

    def run(conn: Connection) -> str:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn
        getattr(command, direction)(cfg, revision)
        return current_revision(conn) or "base"

    try:
        async with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return await conn.run_sync(_in_sqlite_transaction, run)
            async with conn.begin():
                return await conn.run_sync(run)
    except MigrationError:
        raise
    except Exception as exc:
        raise MigrationError(f"{direction} to {revision} failed: {exc}") from exc


def _in_sqlite_transaction(conn: Connection, run: Callable[[Connection], str]) -> str:
    """``run`` inside ``BEGIN IMMEDIATE`` … ``COMMIT`` with foreign keys off (see the module
    docstring), checked before the commit; the connection's settings are restored after."""
    dbapi: Any = conn.connection.dbapi_connection
    usual = dbapi.isolation_level
    dbapi.isolation_level = None
    try:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            start = current_revision(conn) or "base"
            now = run(conn)
            if now != start:
                _check_foreign_keys(conn)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        return now
    finally:
        try:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()
            dbapi.isolation_level = usual
        except Exception:
            conn.invalidate()  # the pool opens a fresh connection, with the usual pragmas


def _check_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({str(r[0]) for r in broken})
        raise MigrationError(
            f"the migration would leave {len(broken)} rows whose foreign key points nowhere"
            f" (in {', '.join(tables)}; PRAGMA foreign_key_check lists them); nothing was changed"
        )
