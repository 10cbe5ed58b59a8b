"""The outbox reads of the console and of a broadcast's progress seek an index (0009), on a
seeded outbox: the plan of each statement the store runs names its index and no scan of
``deliveries`` (``EXPLAIN (FORMAT JSON)`` on PostgreSQL after ``ANALYZE``, ``EXPLAIN QUERY
PLAN`` on SQLite)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.articles import sent_count_query
from storage.broadcasts import broadcast_counts_query
from storage.records import DeliveryStatus
from storage.store import Store
from storage.tables import ARTICLE_T, CHAT_T, DELIVERY_T, MESSAGE_T, SOURCE_T

CHATS, ARTICLES, BROADCASTS = 1000, 60, 5  # 65,000 deliveries, 5,000 of them broadcasts


async def _seed(store: Store, now: Any) -> tuple[list[int], list[int]]:
    """Chats, articles and broadcasts, each sent to every chat (a third of the chats got theirs).
    Returns (article ids, message ids)."""
    async with store.engine.begin() as conn:
        await conn.execute(SOURCE_T.insert(), [_source(now)])
        await conn.execute(
            CHAT_T.insert(),
            [
                {"channel": "telegram", "chat_id": str(i), "created_at": now, "updated_at": now}
                for i in range(CHATS)
            ],
        )
        await conn.execute(ARTICLE_T.insert(), [_article(i, now) for i in range(ARTICLES)])
        await conn.execute(
            MESSAGE_T.insert(),
            [{"kind": "broadcast", "text": f"m{i}", "created_at": now} for i in range(BROADCASTS)],
        )
        for ref, table in (("article_id", ARTICLE_T), ("message_id", MESSAGE_T)):
            await _fan_out(store, conn, ref, table, now)
        d = DELIVERY_T
        await conn.execute(
            update(d).where(d.c.chat_id % 3 == 0).values(status=DeliveryStatus.SENT, sent_at=now)
        )
        articles = list((await conn.execute(select(ARTICLE_T.c.id))).scalars())
        messages = list((await conn.execute(select(MESSAGE_T.c.id))).scalars())
        if store.dialect == "postgresql":
            await conn.exec_driver_sql("ANALYZE")
    return articles, messages


def _source(now: Any) -> dict[str, Any]:
    return {
        "id": "s1",
        "name": "Nguồn",
        "kind": "rss",
        "url": "https://portal.example/rss",
        "consecutive_failures": 0,
        "last_item_count": 0,
        "alerted": False,
        "created_at": now,
    }


def _article(i: int, now: Any) -> dict[str, Any]:
    return {
        "source_id": "s1",
        "key": f"k{i}",
        "url": f"https://portal.example/{i}",
        "title": f"Tin {i}",
        "body": "",
        "summary": "",
        "topics": "",
        "seeded": False,
        "first_seen_at": now,
        "sort_at": now,
    }


async def _fan_out(store: Store, conn: AsyncConnection, ref: str, table: Any, now: Any) -> None:
    """One pending delivery of every row of ``table`` to every chat, as the store queues them."""
    targets = select(CHAT_T.c.id, table.c.id.label(ref)).select_from(
        CHAT_T.join(table, literal(True))
    )
    await store._queue_pending(conn, targets, ref, now)


async def _plan(conn: AsyncConnection, stmt: Select[Any]) -> tuple[list[str], list[str]]:
    """(how each access to ``deliveries`` reads it, the indexes the plan names)."""
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "postgresql":
        raw = (await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}")).scalar()
        nodes = list(_nodes((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]))
        reads = [n["Node Type"] for n in nodes if n.get("Relation Name") == "deliveries"]
        return reads, [n["Index Name"] for n in nodes if "Index Name" in n]
    details = [str(r[-1]) for r in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    reads = [d.split()[0] for d in details if " deliveries" in f" {d}"]
    indexes = [w for d in details for w in d.split() if w.startswith("ix_")]
    return reads, indexes


def _nodes(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


async def test_the_console_and_progress_reads_seek_their_index(db_url: str, clock: Any) -> None:
    store = Store.open(db_url)
    try:
        await store.upgrade()
        articles, messages = await _seed(store, clock())
        queries = {
            "a broadcast's progress": (broadcast_counts_query(messages[-1:]), "message"),
            "the broadcast history": (broadcast_counts_query(messages), "message"),
            "an article page": (sent_count_query(articles[len(articles) // 2]), "article"),
        }
        async with store.engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(DELIVERY_T))).scalar()
            assert total == CHATS * (ARTICLES + BROADCASTS)
            for name, (stmt, index) in queries.items():
                reads, indexes = await _plan(conn, stmt)
                assert reads, f"{name}: the plan does not read deliveries: {reads}"
                assert not {"Seq Scan", "SCAN"} & set(reads), f"{name} scans: {reads}"
                assert f"ix_deliveries_{index}" in indexes, f"{name}: {indexes}"
        # The figures those statements give are still right.
        progress = await store.broadcast_progress(messages[-1])
        assert progress.total == CHATS
        assert progress.sent + progress.pending == CHATS and 0 < progress.sent < CHATS
        detail = await store.article_detail(articles[0])
        assert detail is not None and 0 < detail.sent_to < CHATS
    finally:
        await store.close()
