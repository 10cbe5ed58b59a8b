"""Migrations: frozen (no project imports), 0003 and 0008 move rows written the old way both
ways, downgrades keep every row of what stays, and the head's indexes are those of the tables
(the kills during a migration: test_migration_kills.py)."""

from __future__ import annotations

import ast
import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from migration_rows import (
    AT_0001,
    AT_0001_COUNTS,
    AT_HEAD,
    Rows,
    every_row,
    on_columns,
    revisions,
    write,
)
from sqlalchemy import text

from storage.records import DeliveryStatus, MigrationError
from storage.search import search_rowid, search_text
from storage.store import MIGRATIONS_DIR, Store

VERSIONS = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
PROJECT = ("storage", "feeds", "bot")


def _project_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else ["(relative import)"]
        else:
            continue
        found += [n for n in names if n.split(".")[0] in PROJECT or n == "(relative import)"]
    return found


@pytest.mark.parametrize("path", VERSIONS, ids=[p.stem for p in VERSIONS])
def test_migration_imports_no_project_code(path: Path) -> None:
    # A revision must do forever what it did when written: live code may change under it.
    assert _project_imports(path) == [], f"{path.name} imports project code"


def test_new_revisions_start_without_project_imports() -> None:
    template = (MIGRATIONS_DIR / "script.py.mako").read_text(encoding="utf-8")
    assert not any(f"import {p}" in template or f"from {p}" in template for p in PROJECT)


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"revision_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_0002_frozen_helpers_match_the_live_index() -> None:
    """The copies in 0002 index existing articles exactly as save_articles indexes new ones."""
    frozen = _load(next(p for p in VERSIONS if p.stem.startswith("0002")))
    for value in ("Dân vận khéo", "HOÀ BÌNH hòa bình", "04-NQ/ĐUK", "a\u200bb\u00adc  d_e", ""):
        assert frozen.search_text(value) == search_text(value), value
    when = datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)
    assert frozen.search_rowid(when, 12345) == search_rowid(when, 12345)
    assert frozen.search_rowid(when.replace(tzinfo=None), 7) == search_rowid(when, 7)


async def _downgrade(store: Store, revision: str) -> None:
    assert await store.downgrade(revision) == revision


async def _rows(store: Store) -> list[tuple[str, str | None]]:
    async with store.engine.connect() as conn:
        q = text("SELECT status, last_error FROM deliveries ORDER BY id")
        return [(r[0], r[1]) for r in await conn.execute(q)]


async def test_0003_makes_unreachable_a_status_and_back(db_url: str, clock: Any) -> None:
    store = Store.open(db_url)
    try:
        assert await store.upgrade("0002") == "0002"
        now = clock()
        async with store.engine.begin() as conn:
            # Raw SQL: the live chats table has columns that revision 0002 does not.
            for chat_id in "12345":
                await conn.execute(
                    text(
                        "INSERT INTO chats (channel, chat_id, title, kind, language, active,"
                        " paused, quiet_hours, unreachable_count, created_at, updated_at)"
                        " VALUES ('telegram', :c, '', 'private', 'vi', true, false, true, 0,"
                        " :now, :now)"
                    ),
                    {"c": chat_id, "now": now},
                )
        sent_to = await store.enqueue_message("broadcast", "Tin", now)
        message_id, queued = sent_to.message_id, sent_to.deliveries
        assert queued == 5
        # Written the way the code before 0003 wrote them.
        old = [
            ("failed", "unreachable: Forbidden: bot was blocked by the user"),
            ("failed", "rejected: message is too long"),
            ("cancelled", "chat unreachable: Forbidden: bot was blocked by the user"),
            ("sent", None),
            ("failed", "unreachable: "),
        ]
        async with store.engine.begin() as conn:
            for i, (status, error) in enumerate(old, start=1):
                await conn.execute(
                    text("UPDATE deliveries SET status = :s, last_error = :e WHERE id = :id"),
                    {"s": status, "e": error, "id": i},
                )

        assert await store.upgrade("0003") == "0003"
        assert await _rows(store) == [
            (DeliveryStatus.UNREACHABLE, "Forbidden: bot was blocked by the user"),
            (DeliveryStatus.FAILED, "rejected: message is too long"),
            (DeliveryStatus.CANCELLED, "chat unreachable: Forbidden: bot was blocked by the user"),
            (DeliveryStatus.SENT, None),
            (DeliveryStatus.UNREACHABLE, ""),
        ]
        await _downgrade(store, "0002")
        assert await store.current_revision() == "0002"
        assert await _rows(store) == old
        await store.upgrade()  # again, to the head: /stats reads tables of later revisions
        # The figures read the same as before the migrations (0008 fills in cancel_reason).
        progress = await store.broadcast_progress(message_id)
        assert (progress.total, progress.sent, progress.failed) == (5, 1, 1)
        assert (progress.unreachable, progress.cancelled, progress.pending) == (3, 0, 0)
        stats = await store.stats(now)
        assert stats.deliveries_by_status == {
            DeliveryStatus.CANCELLED: 1,
            DeliveryStatus.FAILED: 3,
            DeliveryStatus.SENT: 1,
        }

    finally:
        await store.close()


async def test_0008_tells_why_a_delivery_was_cancelled_and_back(db_url: str, clock: Any) -> None:
    store = Store.open(db_url)
    try:
        assert await store.upgrade("0007") == "0007"
        now = clock()
        for chat_id in "1234":
            await store.upsert_chat("telegram", chat_id, now)
        sent_to = await store.enqueue_message("broadcast", "Tin", now)
        message_id, queued = sent_to.message_id, sent_to.deliveries
        assert queued == 4
        # Written the way the code before 0008 wrote them: only last_error told why.
        old = [
            ("cancelled", "chat unreachable: Forbidden: bot was blocked by the user"),
            ("cancelled", "chat migrated"),
            ("failed", "rejected: message is too long"),
            ("unreachable", "Forbidden: bot was blocked by the user"),
        ]
        async with store.engine.begin() as conn:
            for i, (status, error) in enumerate(old, start=1):
                await conn.execute(
                    text("UPDATE deliveries SET status = :s, last_error = :e WHERE id = :id"),
                    {"s": status, "e": error, "id": i},
                )

        assert await store.upgrade("0008") == "0008"
        async with store.engine.connect() as conn:
            q = text("SELECT cancel_reason FROM deliveries ORDER BY id")
            reasons = [r[0] for r in await conn.execute(q)]
        assert reasons == ["unreachable", "migrated", None, None]
        assert await _rows(store) == old  # last_error stays, for people
        progress = await store.broadcast_progress(message_id)
        assert (progress.total, progress.sent, progress.failed) == (4, 0, 1)
        assert (progress.unreachable, progress.cancelled, progress.pending) == (2, 1, 0)

        await _downgrade(store, "0007")
        assert await store.current_revision() == "0007"
        assert await _rows(store) == old

        async def columns() -> set[str]:
            from sqlalchemy import inspect

            async with store.engine.connect() as conn:
                return await conn.run_sync(
                    lambda c: {col["name"] for col in inspect(c).get_columns("deliveries")}
                )

        assert "cancel_reason" not in await columns()
        await store.upgrade()
        assert "cancel_reason" in await columns()
    finally:
        await store.close()


async def test_0002_indexes_articles_stored_before_it(db_url: str, clock: Any) -> None:
    from feeds.models import Source
    from storage.records import NewArticle
    from storage.tables import ARTICLE_T

    store = Store.open(db_url)
    try:
        assert await store.upgrade("0001") == "0001"
        now = clock()
        await store.sync_sources([Source("s1", "Nguồn", "rss", "https://portal.example/rss")], now)
        async with store.engine.begin() as conn:
            await conn.execute(
                ARTICLE_T.insert().values(
                    source_id="s1",
                    key="old",
                    url="https://portal.example/old",
                    title="Dân vận khéo",
                    published_at=None,
                    body="Nội dung cũ.",
                    summary="",
                    topics="",
                    seeded=False,
                    first_seen_at=now,
                    sort_at=now,
                )
            )
        await store.upgrade()
        later = clock.advance(60)
        await store.save_articles(
            [
                NewArticle(
                    "s1",
                    "new",
                    "https://portal.example/new",
                    "Dân vận mới",
                    None,
                    "Nội dung.",
                    "",
                )
            ],
            later,
        )
        assert [a.key for a in await store.search("dan van")] == ["new", "old"]
        assert [a.key for a in await store.search("noi dung cu")] == ["old"]
    finally:
        await store.close()


async def test_0006_web_console_tables_come_and_go(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        await store.upgrade("0006")
        tables = {
            "web_links",
            "web_sessions",
            "audit_log",
            "scheduled_broadcasts",
            "paused_sources",
        }

        async def present() -> set[str]:
            from sqlalchemy import inspect

            async with store.engine.connect() as conn:
                names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            return names & tables

        assert await present() == tables
        await _downgrade(store, "0003")
        assert await present() == set()
        await store.upgrade("0006")
        assert await present() == tables
    finally:
        await store.close()


async def test_downgrades_keep_the_rows_of_what_stays(db_url: str, clock: Any) -> None:
    """From the head down to 0001, one revision at a time: every table keeps every row on
    every column it still has (issue 21: on SQLite, 0005's rebuild of ``chats`` deleted every
    delivery through its foreign key); back at the head, the rows of 0001 are all there."""
    store = Store.open(db_url)
    try:
        await store.upgrade("0001")
        async with store.engine.begin() as conn:
            await write(conn, AT_0001, clock())
        await store.upgrade()
        async with store.engine.begin() as conn:
            await write(conn, AT_HEAD, clock())
        async with store.engine.connect() as conn:
            at_head = await every_row(conn)
        assert {t: len(at_head[t]) for t in AT_0001_COUNTS} == AT_0001_COUNTS
        at_revision: Rows = {}
        for revision in reversed(revisions()[:-1]):
            await _downgrade(store, revision)
            async with store.engine.connect() as conn:
                at_revision = await every_row(conn)
            for table, rows in at_revision.items():
                columns = set(rows[0]) if rows else set()
                assert on_columns(rows, columns) == on_columns(at_head[table], columns), (
                    f"{table} at {revision}"
                )
        await store.upgrade()
        async with store.engine.connect() as conn:
            again = await every_row(conn)
        for table, rows in at_revision.items():  # the tables and columns of 0001
            columns = set(rows[0]) if rows else set()
            assert on_columns(again[table], columns) == on_columns(rows, columns), table
        assert {t: len(again[t]) for t in AT_0001_COUNTS} == AT_0001_COUNTS
    finally:
        await store.close()


async def test_a_migration_leaves_the_sqlite_connection_as_the_store_opens_it(
    tmp_path: Path,
) -> None:
    """Foreign keys are off during a migration on SQLite (a table rebuild would cascade), and
    on again for every connection afterwards, in the driver's usual transaction mode."""
    store = Store.open(f"sqlite+aiosqlite:///{tmp_path / 'bantin.sqlite3'}")
    try:
        await store.upgrade("0004")
        await store.upgrade()
        async with store.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            raw = await conn.get_raw_connection()
            assert raw.dbapi_connection.isolation_level == ""  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_a_migration_that_breaks_a_foreign_key_changes_nothing(
    tmp_path: Path, clock: Any
) -> None:
    """The check before COMMIT (SQLite; PostgreSQL checks every statement): an orphan row
    refuses the upgrade, and the database stays at its revision."""
    store = Store.open(f"sqlite+aiosqlite:///{tmp_path / 'bantin.sqlite3'}")
    try:
        await store.upgrade("0008")
        async with store.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.execute(
                text(
                    "INSERT INTO chat_backfills (chat_id, topic, created_at)"
                    " VALUES (999, 'x', :now)"
                ),
                {"now": clock()},
            )
            await conn.commit()
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        with pytest.raises(MigrationError, match="chat_backfills"):
            await store.upgrade()
        assert await store.current_revision() == "0008"
    finally:
        await store.close()


async def test_the_head_schema_is_the_tables_module(db_url: str) -> None:
    """``storage/tables.py`` and the migrations agree at the head (tables, columns, types,
    indexes by name and columns: Alembic does not compare a partial index's ``WHERE``),
    apart from what only a migration makes."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.tables import Base

    store = Store.open(db_url)
    try:
        await store.upgrade()
        async with store.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await store.close()
    left = [d for d in diff if not _made_by_a_migration_only(d, store.dialect)]
    assert left == []


def _made_by_a_migration_only(d: Any, dialect: str) -> bool:
    """The search index (0002: FTS5 on SQLite, ``article_search`` on PostgreSQL), and the
    width of ``deliveries.status`` that 0003 leaves to PostgreSQL (SQLite ignores it)."""
    if isinstance(d, tuple) and d[0] in ("remove_table", "remove_index"):
        name = d[1].name if d[0] == "remove_table" else d[1].table.name
        return str(name).startswith(("articles_fts", "article_search"))
    if isinstance(d, list) and len(d) == 1 and d[0][0] == "modify_type":
        return dialect == "sqlite" and d[0][2:4] == ("deliveries", "status")
    return False
