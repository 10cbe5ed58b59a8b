"""Benchmark at deployment scale, on PostgreSQL: 50,000 chats and 200,000 articles.

Prints the time to enqueue one article to 50,000 chats (the fan-out INSERT ... SELECT),
p50/p95 of ``/latest`` and ``/search`` queries through the store, the peak RSS of this
process, which runs the bot's store and command code (generation is batched so it does not
inflate the figure), and the server time (p50/p95) of every page of the web console.

Usage: .venv/bin/python bench/scale.py [--pg URL] [--chats 50000] [--articles 200000]
The PostgreSQL database given is emptied first. Default: a scratch database bantin_scale on
127.0.0.1 (created if missing). ``--sqlite`` runs the same on a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from search import make_article, queries  # noqa: E402  (the same synthetic articles as bench/search.py)


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


async def scratch_pg(admin_url: str, name: str) -> str:
    import asyncpg

    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def run(url: str, n_chats: int, n_articles: int) -> None:
    from sqlalchemy import insert

    from feeds.models import Source
    from storage.records import NewArticle
    from storage.store import open_store
    from storage.tables import ChatRow, SubscriptionRow

    store = await open_store(url)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    await store.sync_sources([Source("bench", "Bench", "rss", "https://portal.example/rss")], now)
    rng = random.Random(1)
    t0 = time.perf_counter()
    for start in range(0, n_articles, 2000):
        batch = [make_article(rng, i, now) for i in range(start, min(start + 2000, n_articles))]
        await store.save_articles(batch, now, seeded=True)
    fill_articles = time.perf_counter() - t0
    t0 = time.perf_counter()
    async with store.engine.begin() as conn:
        for start in range(0, n_chats, 10_000):
            ids = range(start + 1, min(start + 10_000, n_chats) + 1)
            await conn.execute(
                insert(ChatRow),
                [
                    {
                        "id": i,
                        "channel": "telegram",
                        "chat_id": str(10_000_000 + i),
                        "title": "",
                        "kind": "private",
                        "language": "vi",
                        "active": True,
                        "paused": False,
                        "unreachable_count": 0,
                        "quiet_hours": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(SubscriptionRow),
                [
                    {
                        "chat_id": i,
                        "kind": "topic",
                        "value": "dan-van",
                        "key": "dan-van",
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
    fill_chats = time.perf_counter() - t0

    article = NewArticle(
        "bench",
        "scale:new",
        "https://portal.example/moi-duk999999.aspx",
        "Tin mới cho mọi người",
        now,
        "Nội dung.",
        "Tóm tắt.",
        ("dan-van",),
    )
    t0 = time.perf_counter()
    saved = await store.save_articles([article], now)
    enqueue = time.perf_counter() - t0

    qs = queries(random.Random(7), 200)
    for q in qs[:10]:
        await store.search(q)
    search_ms = []
    for q in qs:
        t = time.perf_counter()
        await store.search(q, 10)
        search_ms.append((time.perf_counter() - t) * 1000)
    latest_ms = []
    topics = (None, "dan-van", "kiem-tra", "tuyen-giao")
    for i in range(200):
        t = time.perf_counter()
        await store.latest(topics[i % 4], 5 + i % 16)
        latest_ms.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    jobs = await store.claim_due("telegram", now, limit=500)
    claim_ms = (time.perf_counter() - t) * 1000
    backend = store.dialect
    console_line = await console_pages(store, now, saved.new_ids[0])
    await store.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{backend}: chats={n_chats} articles={n_articles} "
        f"(fill {fill_articles:.0f}s + {fill_chats:.0f}s) "
        f"enqueue 1 article -> {saved.deliveries} deliveries in {enqueue:.2f}s; "
        f"claim 500 of them {claim_ms:.0f}ms ({len(jobs)}); "
        f"/latest p50={pct(latest_ms, 50):.1f}ms p95={pct(latest_ms, 95):.1f}ms; "
        f"/search p50={pct(search_ms, 50):.1f}ms p95={pct(search_ms, 95):.1f}ms; "
        f"peak RSS={rss_mb:.0f}MB",
        flush=True,
    )
    print(console_line, flush=True)


async def console_pages(store: object, now: datetime, article_id: int, rounds: int = 20) -> str:
    """p50/p95 of each console page, signed in, through the ASGI app (server time only)."""
    from zoneinfo import ZoneInfo

    import httpx
    from starlette.applications import Starlette

    from bot.web.auth import issue_link
    from bot.web.console import Console, ConsoleDeps
    from feeds.models import Source, Topic

    deps = ConsoleDeps(
        store=store,  # type: ignore[arg-type]
        topics=(Topic("dan-van", "Dân vận"), Topic("kiem-tra", "Kiểm tra")),
        sources=(Source("bench", "Bench", "rss", "https://portal.example/rss"),),
        channels=("telegram", "zalo"),
        admins=frozenset({("telegram", "1")}),
        tz=ZoneInfo("Asia/Ho_Chi_Minh"),
        clock=lambda: now,
        quotas={"zalo": 3000},
    )
    app = Starlette(routes=[Console(deps).mount()])
    out = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        link = await issue_link(store, "telegram:1", "http://bench", now)  # type: ignore[arg-type]
        await client.post("/admin/login", data={"token": link.rsplit("/", 1)[1]})
        pages = [
            "/admin/",
            "/admin/sources",
            "/admin/broadcasts",
            "/admin/articles",
            "/admin/articles?page=100",
            "/admin/articles?q=dan+van",
            f"/admin/articles/{article_id}",
            "/admin/chats",
            "/admin/chats?q=10004&state=active",
            "/admin/sessions",
            "/admin/audit",
        ]
        for page in pages:
            times = []
            for _ in range(rounds):
                t = time.perf_counter()
                r = await client.get(page)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (page, r.status_code)
            out.append(
                f"{page} first={times[0]:.0f}ms p50={pct(times, 50):.0f}ms "
                f"p95={pct(times, 95):.0f}ms"
            )
    return "console pages: " + "; ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        help="a server/database to create the scratch database bantin_scale from",
    )
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--chats", type=int, default=50_000)
    parser.add_argument("--articles", type=int, default=200_000)
    args = parser.parse_args()
    if args.sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(f"sqlite+aiosqlite:///{tmp}/scale.sqlite3", args.chats, args.articles))
        return
    url = asyncio.run(scratch_pg(args.pg, "bantin_scale"))
    asyncio.run(run(url, args.chats, args.articles))


if __name__ == "__main__":
    main()
