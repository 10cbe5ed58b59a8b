"""Benchmark at deployment scale, on PostgreSQL: 50,000 chats and 200,000 articles.

Prints the time to enqueue one article to 50,000 chats (the fan-out INSERT ... SELECT),
p50/p95 of ``/latest`` and ``/search`` queries through the store, the peak RSS of this
process, which runs the bot's store and command code (generation is batched so it does not
inflate the figure), and the server time (p50/p95) of every page of the web console.

Usage: .venv/bin/python bench/scale.py [--pg URL] [--chats 50000] [--articles 200000]
The PostgreSQL database given is emptied first. Default: a scratch database bantin_scale on
127.0.0.1 (created if missing; ``--scratch NAME`` for another, ``--drop`` drops it at the end).
``--sqlite`` runs the same on a temporary SQLite file. No figure is printed (errors on stderr,
exit status 1) when PostgreSQL does not answer, when the fan-out queues other than one
delivery per chat, when nothing can be claimed or found, or when a console page fails.
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

from bench.outcome import Outcome, add_tiny, apply_sizes  # noqa: E402


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


async def drop_pg(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def run(url: str, n_chats: int, n_articles: int, rounds: int, out: Outcome) -> None:
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
    search_ms, hits = [], 0
    for q in qs:
        t = time.perf_counter()
        hits += bool(await store.search(q, 10))
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
    stored = await store.article_count()
    console_line = await console_pages(store, now, saved.new_ids[0], out, rounds)
    await store.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.check(stored == n_articles + 1, f"{stored} of {n_articles + 1} articles stored")
    out.check(
        saved.deliveries == n_chats,
        f"enqueue: {saved.deliveries} deliveries queued for {n_chats} chats",
    )
    out.check(len(jobs) == min(500, n_chats), f"claim: {len(jobs)} of {min(500, n_chats)} claimed")
    out.check(hits > 0, f"none of the {len(qs)} queries found anything")
    out.figure(
        f"{backend}: chats={n_chats} articles={n_articles} "
        f"(fill {fill_articles:.0f}s + {fill_chats:.0f}s) "
        f"enqueue 1 article -> {saved.deliveries} deliveries in {enqueue:.2f}s; "
        f"claim 500 of them {claim_ms:.0f}ms ({len(jobs)}); "
        f"/latest p50={pct(latest_ms, 50):.1f}ms p95={pct(latest_ms, 95):.1f}ms; "
        f"/search p50={pct(search_ms, 50):.1f}ms p95={pct(search_ms, 95):.1f}ms; "
        f"peak RSS={rss_mb:.0f}MB"
    )
    out.figure(console_line)


async def console_pages(
    store: object, now: datetime, article_id: int, out: Outcome, rounds: int = 20
) -> str:
    """p50/p95 of each console page, signed in, through the ASGI app (server time only)."""
    from zoneinfo import ZoneInfo

    import httpx
    from starlette.applications import Starlette

    from bot.delivery.quota import Plan
    from bot.web.auth import issue_link
    from bot.web.site import WebConsole, WebConsoleDeps
    from feeds.models import Source, Topic

    deps = WebConsoleDeps(
        store=store,  # type: ignore[arg-type]
        topics=(Topic("dan-van", "Dân vận"), Topic("kiem-tra", "Kiểm tra")),
        sources=(Source("bench", "Bench", "rss", "https://portal.example/rss"),),
        channels=("telegram", "zalo"),
        admins=frozenset({("telegram", "1")}),
        tz=ZoneInfo("Asia/Ho_Chi_Minh"),
        clock=lambda: now,
        plans={"zalo": Plan(monthly_quota=3000, max_users=50)},
    )
    app = Starlette(routes=[WebConsole(deps).mount()])
    lines = []
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
                out.check(r.status_code == 200, f"console {page}: status {r.status_code}")
            lines.append(
                f"{page} first={times[0]:.0f}ms p50={pct(times, 50):.0f}ms "
                f"p95={pct(times, 95):.0f}ms"
            )
    return "console pages: " + "; ".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        help="a server/database to create the scratch database from",
    )
    parser.add_argument("--scratch", default="bantin_scale", help="the scratch database's name")
    parser.add_argument("--drop", action="store_true", help="drop the scratch database at the end")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--chats", type=int, default=None, help="default 50000 (--tiny: 200)")
    parser.add_argument("--articles", type=int, default=None, help="default 200000 (--tiny: 500)")
    add_tiny(parser, "200 chats, 500 articles, 3 rounds of console pages")
    args = parser.parse_args()
    apply_sizes(args, {"chats": (50_000, 200), "articles": (200_000, 500)})
    rounds = 3 if args.tiny else 20
    out = Outcome("bench/scale.py")
    if args.sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/scale.sqlite3"
            asyncio.run(run(url, args.chats, args.articles, rounds, out))
        return out.finish()
    try:
        url = asyncio.run(scratch_pg(args.pg, args.scratch))
    except Exception as exc:
        out.error(
            f"cannot create the scratch database {args.scratch!r} from {args.pg} "
            f"({type(exc).__name__}: {exc}); is PostgreSQL up? (or give --pg URL, or --sqlite)"
        )
        return out.finish()
    try:
        asyncio.run(run(url, args.chats, args.articles, rounds, out))
    finally:
        if args.drop:
            asyncio.run(drop_pg(args.pg, args.scratch))
    return out.finish()


if __name__ == "__main__":
    sys.exit(main())
