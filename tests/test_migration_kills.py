"""A kill at any statement of any migration leaves a SQLite database that the next start
upgrades, with every row it had (issue 21: "table channel_usage already exists").

For every revision a database may be at (none, 0001, …, the one before the head), a forked
child runs the bot's upgrade and kills itself with SIGKILL just before its Nth statement, for
every N until the upgrade completes; then the normal start (``Store.upgrade``) runs on what is
left and must reach the head with the schema and the rows of a clean upgrade from that same
revision. The same is done for a downgrade from the head to 0001. The kill is exact (counted
statements, no timer), and a fork makes each child cheap (no new interpreter).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from migration_rows import AT_0001, AT_0001_COUNTS, revisions, write
from sqlalchemy import event

from storage.schema import Direction
from storage.store import Store

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


REVISIONS = revisions()
HEAD = REVISIONS[-1]
#: where a database may be when a start upgrades it: nothing yet, or any older revision
STARTS = ["base", *REVISIONS[:-1]]


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _copy(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        target = Path(f"{dst}{suffix}")
        target.unlink(missing_ok=True)
        if Path(f"{src}{suffix}").exists():
            shutil.copyfile(f"{src}{suffix}", target)


async def _template(path: Path, start: str) -> None:
    """A database at ``start``, with the rows of revision 0001 (none for ``base``)."""
    if start == "base":
        return
    store = Store.open(_url(path))
    try:
        await store.upgrade("0001")
        async with store.engine.begin() as conn:
            await write(conn, AT_0001, NOW)
        await store.upgrade(start)
    finally:
        await store.close()


async def _start(path: Path) -> str:
    """What the bot does at start: open the database and upgrade it."""
    store = Store.open(_url(path))
    try:
        return await store.upgrade()
    finally:
        await store.close()


def _snapshot(path: Path) -> dict[str, Any]:
    """The schema by name (tables, columns, indexes, foreign keys) and every row of every
    table, in an order that does not depend on how the rows were written (read with the
    standard library: the bot's own path is what :func:`_start` tests)."""
    conn = sqlite3.connect(path)
    try:
        names = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        return {name: _table(conn, name) for (name,) in names}
    finally:
        conn.close()


def _table(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
    def rows(sql: str) -> list[Any]:
        return conn.execute(sql).fetchall()

    # A unique constraint's index is named by its place in the table's SQL, which a batch
    # rebuild (a downgrade) may reorder: such an index is known by its columns alone.
    indexes = sorted(
        (
            "sqlite_autoindex" if r[1].startswith("sqlite_autoindex_") else r[1],
            tuple(c[2] for c in rows(f'PRAGMA index_info("{r[1]}")')),
        )
        for r in rows(f'PRAGMA index_list("{name}")')
    )
    cursor = conn.execute(f'SELECT * FROM "{name}"')
    keys = [c[0] for c in cursor.description]
    return {
        "columns": sorted(r[1:6] for r in rows(f'PRAGMA table_info("{name}")')),
        "indexes": indexes,
        "foreign_keys": sorted(r[2:6] for r in rows(f'PRAGMA foreign_key_list("{name}")')),
        "rows": sorted(repr(sorted(zip(keys, r, strict=True))) for r in cursor),
    }


def _killed_at(path: Path, direction: Direction, revision: str, n: int) -> bool:
    """Run the migration in a forked child that SIGKILLs itself just before its ``n``-th
    statement; True when it was killed, False when the migration ended first."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            asyncio.run(_migrate_until(path, direction, revision, n))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.WEXITSTATUS(status) == 0, f"the {direction} failed without a kill (n={n})"
    return False


async def _migrate_until(path: Path, direction: Direction, revision: str, n: int) -> None:
    store = Store.open(_url(path))
    seen = 0

    @event.listens_for(store.engine.sync_engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        nonlocal seen
        seen += 1
        if seen == n:
            os.kill(os.getpid(), signal.SIGKILL)

    await (store.upgrade(revision) if direction == "upgrade" else store.downgrade(revision))
    await store.close()


def _kill_everywhere(
    tmp_path: Path, template: Path, direction: Direction, revision: str, expected: Any
) -> int:
    """Kill the migration at each statement in turn; after each, the next start must leave
    ``expected``. Returns how many kill points there were."""
    work = tmp_path / "work.sqlite3"
    n = 1
    while True:
        _copy(template, work)
        killed = _killed_at(work, direction, revision, n)
        assert asyncio.run(_start(work)) == HEAD, f"{direction} killed at statement {n}"
        assert (_snapshot(work)) == expected, f"{direction} killed at statement {n}"
        if not killed:
            return n - 1
        n += 1


@pytest.mark.parametrize("start", STARTS)
def test_a_kill_at_any_statement_of_an_upgrade_leaves_a_database_the_next_start_upgrades(
    tmp_path: Path, start: str
) -> None:
    template = tmp_path / "template.sqlite3"
    asyncio.run(_template(template, start))
    clean = tmp_path / "clean.sqlite3"
    _copy(template, clean)
    assert asyncio.run(_start(clean)) == HEAD
    expected = _snapshot(clean)
    if start != "base":
        counts = {t: len(expected[t]["rows"]) for t in AT_0001_COUNTS}
        assert counts == AT_0001_COUNTS
    points = _kill_everywhere(tmp_path, template, "upgrade", "head", expected)
    assert points >= 3  # BEGIN, the version read and at least one migration statement


def test_a_kill_at_any_statement_of_a_downgrade_leaves_the_data(tmp_path: Path) -> None:
    template = tmp_path / "template.sqlite3"
    asyncio.run(_template(template, "0001"))
    assert asyncio.run(_start(template)) == HEAD
    expected = _snapshot(template)
    points = _kill_everywhere(tmp_path, template, "downgrade", "0001", expected)
    assert points >= len(REVISIONS)
