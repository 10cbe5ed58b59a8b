"""Several instances on one database: one poller and one sender per channel; when the
leader stops another takes over, and no delivery is sent twice. Runs on PostgreSQL (and
SQLite), both instances in this process, Telegram in webhook mode as N > 1 requires."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from fake_telegram import FakeTelegram

from bot.app import App
from bot.config import Config, load_settings
from storage.records import DeliveryStatus, NewArticle

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
TOPICS = '[[topics]]\nslug = "tin"\nname = "Tin"\n'


def instance(db: str, url: str) -> App:
    env = {
        "BANTIN_DATABASE_URL": db,
        "BANTIN_HTTP_HOST": "127.0.0.1",
        "BANTIN_HTTP_PORT": "0",
        "BANTIN_LEASE_SECONDS": "3",
        "BANTIN_SEND_CONCURRENCY": "4",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": url,
        "TELEGRAM_RATE": "60",
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg",
        "TELEGRAM_WEBHOOK_SECRET": "s3cret",
    }
    return App(
        Config(load_settings(env), (), (), Path("t.toml")).with_sources_text(
            TOPICS, filename="t.toml"
        )
    )


async def wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


async def test_leader_handover_without_duplicates(db_url: str) -> None:
    fake = FakeTelegram(TOKEN, global_rate=80, per_chat_interval=1.0)
    async with fake.running() as url:
        a, b = instance(db_url, url), instance(db_url, url)
        await a.start()
        await b.start()
        try:
            store = a.store
            now = datetime.now(UTC)
            await store.sync_sources(
                [type("S", (), {"id": "x", "name": "X", "kind": "rss", "url": "https://p/"})()], now
            )
            for i in range(40):
                chat = await store.upsert_chat("telegram", str(5000 + i), now)
                await store.subscribe(chat, "topic", "tin", "tin", now)

            async def one_sender() -> bool:
                holders = await store.lease_holders(datetime.now(UTC))
                return holders.get("send:telegram") in (a.instance_id, b.instance_id)

            await wait_for(one_sender)
            holders = await store.lease_holders(datetime.now(UTC))
            leader, follower = (a, b) if holders["send:telegram"] == a.instance_id else (b, a)
            assert [s.lease.held for s in leader.worker.senders.values()] == [True]
            assert [s.lease.held for s in follower.worker.senders.values()] == [False]

            for n in range(3):  # three articles, one at a time: three messages per chat
                await store.save_articles(
                    [
                        NewArticle(
                            "x",
                            f"k{n}",
                            f"https://p/{n}",
                            f"Bài số {n}",
                            now,
                            "",
                            "Tóm tắt.",
                            ("tin",),
                        )
                    ],
                    datetime.now(UTC),
                )
                await asyncio.sleep(0.3)
            leader.worker.wake()

            async def some_sent() -> bool:
                return len(fake.sent) >= 20

            await wait_for(some_sent)
            stopped_at = time.monotonic()
            await leader.stop()  # the leader goes away in the middle of the fan-out

            async def all_sent() -> bool:
                # Every (chat, article) pair arrived: a message carrying several articles
                # counts once per article.
                got = {
                    (s.chat_id, k)
                    for s in fake.sent
                    for k in range(3)
                    if f"Bài số {k}" in (s.text or "")
                }
                return len(got) == 120

            await wait_for(all_sent, timeout=40)
            took_over = time.monotonic() - stopped_at
            assert took_over < 30
            holders = await follower.store.lease_holders(datetime.now(UTC))
            assert holders.get("send:telegram") == follower.instance_id
            # Every (chat, article) pair arrived exactly once, whichever instance sent it.
            pairs = Counter(
                (s.chat_id, k)
                for s in fake.sent
                for k in range(3)
                if f"Bài số {k}" in (s.text or "")
            )
            assert len(pairs) == 120 and set(pairs.values()) == {1}

            async def all_marked() -> bool:  # the last sends are marked right after they land
                stats = await follower.store.stats(datetime.now(UTC))
                return stats.deliveries_by_status == {DeliveryStatus.SENT: 120}

            await wait_for(all_marked, timeout=10)
        finally:
            for app in (a, b):
                if app._opened:
                    await app.stop()


def _grouped(fake: FakeTelegram) -> int:
    """Messages that carried several articles at once count once in fake.sent."""
    return sum(
        sum(f"Bài số {k}" in (s.text or "") for k in range(3)) - 1
        for s in fake.sent
        if sum(f"Bài số {k}" in (s.text or "") for k in range(3)) > 1
    )


async def test_only_the_poll_leader_polls(db_url: str) -> None:
    import httpx

    from bot.demo.portal import DemoPortal, demo_config_text, load_site

    portal = DemoPortal(load_site())
    text = demo_config_text("http://portal.test").replace("interval = 5", "interval = 1")
    apps = []
    for _ in range(2):
        env = {"BANTIN_DATABASE_URL": db_url, "BANTIN_LEASE_SECONDS": "3"}
        config = Config(load_settings(env), (), (), Path("t.toml")).with_sources_text(
            text, filename="t.toml"
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=portal.app))
        apps.append((App(config, channels=[], client=client), client))
    try:
        for app, _ in apps:
            await app.start()

        def polls(app: App) -> float:
            return sum(
                s.value
                for m in app.metrics.polls.collect()
                for s in m.samples
                if s.name.endswith("_total")
            )

        async def enough() -> bool:
            return sum(polls(a) for a, _ in apps) >= 12

        await wait_for(enough, timeout=20)
        counts = sorted(polls(a) for a, _ in apps)
        assert counts[0] == 0 and counts[1] >= 12  # one instance polled, the other only watched
        holders = await apps[0][0].store.lease_holders(datetime.now(UTC))
        assert holders["poll"] in {a.instance_id for a, _ in apps}
    finally:
        for app, client in apps:
            await app.stop()
            await client.aclose()
