"""Shared fixtures: real SQLite files, real PostgreSQL when one answers, a fixed clock."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from storage.store import Store, open_store

PG_URL = os.environ.get("BANTIN_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


class Clock:
    """A settable UTC clock for code that takes ``now``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def _pg_available(url: str) -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed"
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), 3)
    except Exception as exc:
        return f"no PostgreSQL at {dsn} ({type(exc).__name__}: {exc})"
    await conn.close()
    return None


_pg_reason: list[str | None] = []


def pg_skip_reason() -> str | None:
    if not _pg_reason:
        _pg_reason.append(asyncio.run(_pg_available(PG_URL)))
    return _pg_reason[0]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throw-away database on the test server for this session, dropped at the end."""
    reason = pg_skip_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason} (set BANTIN_TEST_PG_URL)")
    import asyncpg

    admin_dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"bantin_test_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    base, _, _ = PG_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _reset_pg(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty database URL: a SQLite file, and PostgreSQL when one answers."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bantin.sqlite3'}"
    url = request.getfixturevalue("pg_database")
    asyncio.run(_reset_pg(url))
    return url


#: ``make test`` runs the suite twice: on SQLite, then with BANTIN_TEST_DB=postgresql
TEST_DB = os.environ.get("BANTIN_TEST_DB", "sqlite")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """The database of one test: a SQLite file, or (BANTIN_TEST_DB=postgresql) an emptied
    PostgreSQL schema. Every test that needs "the" database takes this fixture."""
    if TEST_DB == "postgresql":
        url = request.getfixturevalue("pg_database")
        asyncio.run(_reset_pg(url))
        return url
    return f"sqlite+aiosqlite:///{tmp_path / 'bantin.sqlite3'}"


@pytest.fixture
def sqlite_url(database_url: str) -> str:
    """Older name of :func:`database_url`."""
    return database_url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    st = await open_store(db_url)
    try:
        yield st
    finally:
        await st.close()


_DB_FIXTURES = {"database_url", "sqlite_url", "db_url", "store"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the PostgreSQL run, keep only the tests that touch a database (the rest already ran)."""
    if TEST_DB != "postgresql":
        return
    keep, drop = [], []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        (keep if names & _DB_FIXTURES else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    return f"bantin test database: {TEST_DB}" + (f" ({PG_URL})" if TEST_DB == "postgresql" else "")
