"""Benchmark: a fan-out while retention prunes a million old deliveries (SQLite file).

Inserts ``--old`` sent deliveries dated 40 days back, then fans one article out to
``--chats`` chats through the real delivery engine (an in-process channel that accepts at
once, rate limits off) twice: alone, and while the retention job deletes the old rows in
its batches. Printed: pruning time and rows/s, the fan-out's time per send alone and while
pruning, the added delay per send and the worst gap between two sends.

No figure is printed (errors on stderr, exit status 1) when a fan-out misses a chat or
retention leaves old rows behind.

Usage: .venv/bin/python bench/retention.py [--old 1000000] [--chats 2000] [--db URL] [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.outcome import Outcome, add_tiny, apply_sizes  # noqa: E402


class Channel:
    name = "fake"
    max_text = 4096

    def __init__(self) -> None:
        self.at: list[float] = []

    async def start(self, on_message) -> None:  # type: ignore[no-untyped-def]
        pass

    async def stop(self) -> None:
        pass

    async def send(self, chat_id: str, message: object) -> str:
        self.at.append(time.perf_counter())
        return str(len(self.at))


async def prepare(url: str, old: int, chats: int) -> int:
    """The old sent deliveries, the chats and their subscriptions; how many old rows."""
    from sqlalchemy import insert

    from storage.store import open_store
    from storage.tables import ArticleRow, ChatRow, DeliveryRow, SourceRow, SubscriptionRow

    store = await open_store(url)
    now = datetime.now(UTC)
    then = now - timedelta(days=40)
    per_chat = max(1, old // chats)
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(SourceRow),
            [
                dict(
                    id="s",
                    name="S",
                    kind="rss",
                    url="https://x/",
                    consecutive_failures=0,
                    last_item_count=0,
                    alerted=False,
                    created_at=now,
                )
            ],
        )
        await conn.execute(
            insert(ChatRow),
            [
                dict(
                    id=i,
                    channel="fake",
                    chat_id=f"c{i}",
                    title="",
                    kind="private",
                    language="vi",
                    active=True,
                    paused=False,
                    unreachable_count=0,
                    quiet_hours=False,
                    created_at=now,
                    updated_at=now,
                )
                for i in range(1, chats + 1)
            ],
        )
        await conn.execute(
            insert(SubscriptionRow),
            [
                dict(chat_id=i, kind="topic", value="tin", key="tin", created_at=now)
                for i in range(1, chats + 1)
            ],
        )
        await conn.execute(
            insert(ArticleRow),
            [
                dict(
                    id=a,
                    source_id="s",
                    key=f"old{a}",
                    url=f"https://x/{a}",
                    title=f"Cũ {a}",
                    body="",
                    summary="",
                    published_at=then,
                    first_seen_at=then,
                    sort_at=then,
                    seeded=False,
                )
                for a in range(1, per_chat + 1)
            ],
        )
    rows = 0
    for a in range(1, per_chat + 1):
        async with store.engine.begin() as conn:
            await conn.execute(
                insert(DeliveryRow),
                [
                    dict(
                        chat_id=c,
                        article_id=a,
                        status="sent",
                        attempts=1,
                        next_attempt_at=then,
                        created_at=then,
                        updated_at=then,
                        sent_at=then,
                    )
                    for c in range(1, chats + 1)
                ],
            )
        rows += chats
    print(f"prepared: {rows} old sent deliveries, {chats} chats", file=sys.stderr)
    await store.close()
    return rows


async def fan_out(url: str, key: str, prune: bool, out: Outcome) -> tuple[float, float, int, int]:
    """One fan-out (and the pruning beside it): seconds, worst gap, sends, rows pruned."""
    from bot.delivery.retention import Retention
    from bot.delivery.worker import DeliveryWorker, Limits
    from storage.records import NewArticle
    from storage.store import open_store

    store = await open_store(url)
    now = datetime.now(UTC)
    saved = await store.save_articles(
        [NewArticle("s", key, f"https://x/{key}", f"Mới {key}", now, "", "Tóm tắt.", ("tin",))],
        now,
    )
    channel = Channel()
    worker = DeliveryWorker(
        store,
        {"fake": channel},
        clock=lambda: datetime.now(UTC),
        tz=ZoneInfo("Asia/Ho_Chi_Minh"),
        topic_names={"tin": "Tin"},
        limits={"fake": Limits(rate=100_000, private_interval=0)},
    )
    retention = Retention(store, 30, clock=lambda: datetime.now(UTC))
    pruned = 0
    prune_seconds = 0.0

    async def pruning() -> None:
        nonlocal pruned, prune_seconds
        t = time.perf_counter()
        pruned = await retention.prune()
        prune_seconds = time.perf_counter() - t

    task = asyncio.create_task(pruning()) if prune else None
    if task is not None:
        await asyncio.sleep(0.5)  # pruning under way
    t0 = time.perf_counter()
    await worker.drain(timeout=600)
    took = time.perf_counter() - t0
    gaps = [b - a for a, b in zip(channel.at, channel.at[1:], strict=False)]
    if task is not None:
        await task
    await store.close()
    n = len(channel.at)
    label = "while pruning" if prune else "alone"
    out.check(
        n == saved.deliveries > 0,
        f"fan-out {label}: {n} sends of {saved.deliveries} deliveries queued",
    )
    out.figure(
        f"fan-out {'while pruning' if prune else 'alone':>13}: {n} sends in {took:.2f}s "
        f"({1000 * took / max(n, 1):.2f} ms/send), worst gap {1000 * max(gaps, default=0):.0f} ms"
        + (
            f"; pruned {pruned} rows in {prune_seconds:.1f}s "
            f"({pruned / max(prune_seconds, 1e-9):.0f} rows/s)"
            if prune
            else ""
        )
    )
    return took, max(gaps, default=0.0), n, pruned


async def run(args: argparse.Namespace, url: str, out: Outcome) -> None:
    old = 0 if args.reuse else await prepare(url, args.old, args.chats)
    tag = str(int(time.time()))
    alone, _, n, _ = await fan_out(url, f"new-{tag}-1", False, out)
    during, gap, n2, pruned = await fan_out(url, f"new-{tag}-2", True, out)
    if not args.reuse:  # a reused database may have been pruned already
        out.check(pruned == old, f"retention pruned {pruned} of the {old} old rows")
    added = 1000 * (during / max(n2, 1) - alone / max(n, 1))
    out.figure(
        f"retention: added delay {added:.2f} ms per send (target <= 100 ms), "
        f"worst gap while pruning {1000 * gap:.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=int, default=None, help="default 1000000 (--tiny: 2000)")
    parser.add_argument("--chats", type=int, default=None, help="default 2000 (--tiny: 20)")
    parser.add_argument("--db", default="", help="a database URL (default: a new SQLite file)")
    parser.add_argument("--reuse", action="store_true", help="--db is already prepared")
    add_tiny(parser, "2,000 old rows, 20 chats")
    args = parser.parse_args()
    apply_sizes(args, {"old": (1_000_000, 2000), "chats": (2000, 20)})
    out = Outcome("bench/retention.py")
    with tempfile.TemporaryDirectory(prefix="bantin-retention-") as tmp:
        url = args.db or f"sqlite+aiosqlite:///{tmp}/retention.sqlite3"
        asyncio.run(run(args, url, out))
    return out.finish()


if __name__ == "__main__":
    sys.exit(main())
