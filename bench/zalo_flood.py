"""Benchmark: one member floods the Zalo channel with commands; what does it cost the plan?

The whole bot (App, SQLite file) runs against the fake Zalo Bot Platform (tests/fake_zalo.py)
on 127.0.0.1. Twenty long articles are stored, ``--members`` members are subscribed, and one
of them sends ``--commands`` commands (``/latest 20``, ``/search``, ``/help``, ``/topics`` in
turn) as fast as getUpdates hands them out, under the default plan (3,000 messages a month,
10 replies a day per chat, 60 % of the month kept for pushes) and a command budget high
enough (600 a minute) that only the plan limits the flood. Then one article is pushed to
every member. A second run has ``--flooders`` members flood at once on a month of
``--small-quota`` messages, so that replies spend their whole share.

Printed: commands answered, messages the flooder cost (against the daily allowance), the one
notice, replies cut to two parts, how fast the flood was handled; the month's replies against
their share and whether every push still went out (the push reserve untouched).

No figure is printed (errors on stderr, exit status 1) when the flooder got more messages
than the allowance, not exactly one notice, replies spent more than their share, or a push
did not arrive.

Usage: .venv/bin/python bench/zalo_flood.py [--commands 500] [--members 40] [--flooders 30]
       [--small-quota 200] [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.outcome import Outcome, add_tiny, apply_sizes  # noqa: E402

TOKEN = "zalo-bench-token-0123456789"
TOPICS = '[[topics]]\nslug = "dan-van"\nname = "Dân vận"\n'
COMMANDS = ("/latest 20", "/search nghị quyết", "/help", "/topics")
ALLOWANCE = 10


@contextlib.asynccontextmanager
async def bot(db: Path, env: dict[str, str]) -> AsyncIterator[tuple[object, object]]:
    """The app on a fresh SQLite file against the fake Zalo; yields (app, fake)."""
    from fake_zalo import FakeZalo

    from bot.app import App
    from bot.config import Config, load_settings

    fake = FakeZalo(TOKEN)
    async with fake.running() as url:
        settings = {
            "BANTIN_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
            "BANTIN_HTTP": "off",
            "BANTIN_ADMINS": "zalo:admin",
            "BANTIN_REPLY_RATE_PER_MINUTE": "600",
            "ZALO_BOT_TOKEN": TOKEN,
            "ZALO_API_BASE_URL": url,
            "ZALO_RATE": "1000",
            **env,
        }
        config = Config(load_settings(settings), (), (), Path("b.toml")).with_sources_text(
            TOPICS, filename="b.toml"
        )
        app = App(config)
        limiter = app.worker.senders["zalo"].limiter  # the per-chat pace is not measured here
        limiter.limits = dataclasses.replace(limiter.limits, private_interval=0.0)
        await app.start()
        try:
            yield app, fake
        finally:
            await app.stop()


async def publish(app: object, key: str, title: str) -> None:
    from storage.records import NewArticle

    store = app.store  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    source = type("S", (), {"id": "b", "name": "B", "kind": "rss", "url": "https://p/"})()
    await store.sync_sources([source], now)
    article = NewArticle(
        "b", key, f"https://portal.example/{key}", title, now, "", "Tóm tắt.", ("dan-van",)
    )
    await store.save_articles([article], now)
    app.worker.wake()  # type: ignore[attr-defined]


async def members(app: object, count: int) -> list[str]:
    from storage.records import SubscriptionKind

    store = app.store  # type: ignore[attr-defined]
    ids = [f"m-{i}" for i in range(count)]
    for chat_id in ids:
        now = datetime.now(UTC)
        chat = await store.upsert_chat("zalo", chat_id, now)
        await store.subscribe(chat, SubscriptionKind.TOPIC, "dan-van", "dan-van", now)
    return ids


async def settled(app: object, fake: object) -> float:
    """Wait until every update was handled and nothing more is sent; when the last was."""
    channel = app.channels["zalo"]  # type: ignore[attr-defined]
    async with asyncio.timeout(300):
        while fake.pending_updates or not channel._queue.empty():  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
        handled = time.perf_counter()
        count = -1
        while count != len(fake.sent):  # type: ignore[attr-defined]
            count = len(fake.sent)  # type: ignore[attr-defined]
            await asyncio.sleep(0.5)
    return handled


async def month_usage(app: object) -> tuple[int, int, int | None]:
    """(messages this month, of which replies, the replies' share)."""
    from bot.delivery.quota import replies_key

    quota = app.quota  # type: ignore[attr-defined]
    store = app.store  # type: ignore[attr-defined]
    month = quota.month()
    sent = (await store.usage("zalo", month)).sent
    replies = (await store.usage(replies_key("zalo"), month)).sent
    return sent, replies, quota.plans["zalo"].reply_cap


async def pushed_to_all(app: object, fake: object, ids: list[str], key: str) -> int:
    """Push one article; how many of ``ids`` received it."""
    await publish(app, key, f"Tin đẩy {key}")
    url = f"portal.example/{key}"
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(60):
            while not all(any(url in (s.text or "") for s in fake.sent_to(c)) for c in ids):  # type: ignore[attr-defined]
                await asyncio.sleep(0.05)
    return sum(any(url in (s.text or "") for s in fake.sent_to(c)) for c in ids)  # type: ignore[attr-defined]


async def one_flooder(db: Path, args: argparse.Namespace, out: Outcome) -> None:
    async with bot(db, {"ZALO_DAILY_REPLIES": str(ALLOWANCE)}) as (app, fake):
        for i in range(20):
            await publish(app, f"a{i}", "Hội nghị " + "quán triệt nghị quyết " * 12 + str(i))
        ids = await members(app, args.members)
        flooder = ids[0]
        await settled(app, fake)
        before = len(fake.sent_to(flooder))  # type: ignore[attr-defined]
        started = time.perf_counter()
        for i in range(args.commands):
            fake.push_text(flooder, COMMANDS[i % len(COMMANDS)])  # type: ignore[attr-defined]
        handled = await settled(app, fake)
        texts = [s.text or "" for s in fake.sent_to(flooder)[before:]]  # type: ignore[attr-defined]
        notices = sum("đã dùng hết" in t for t in texts)
        cut = sum("\n…\n" in t for t in texts)
        got = await pushed_to_all(app, fake, ids, "after")
        await settled(app, fake)
        sent, replies, cap = await month_usage(app)
        seconds = handled - started
        out.check(len(texts) <= ALLOWANCE, f"the flooder got {len(texts)} > {ALLOWANCE}")
        out.check(notices == 1, f"{notices} notices, not 1")
        out.check(cap is None or replies <= cap, f"replies {replies} over their share {cap}")
        out.check(got == len(ids), f"the push after the flood reached {got}/{len(ids)}")
        out.figure(
            f"one member, {args.commands} commands: messages={len(texts)} "
            f"(allowance {ALLOWANCE}) notices={notices} cut={cut} "
            f"handled in {seconds:.2f}s ({args.commands / seconds:.0f} commands/s)"
        )
        out.figure(
            f"month: replies={replies}/{cap} sent={sent} pushes_after_flood={got}/{len(ids)} "
            f"reserve_untouched={got == len(ids) and (cap is None or replies <= cap)}"
        )


async def many_flooders(db: Path, args: argparse.Namespace, out: Outcome) -> None:
    env = {"ZALO_DAILY_REPLIES": str(ALLOWANCE), "ZALO_MONTHLY_QUOTA": str(args.small_quota)}
    async with bot(db, env) as (app, fake):
        ids = await members(app, args.flooders)
        for _ in range(ALLOWANCE * 2):
            for chat_id in ids:
                fake.push_text(chat_id, "/help")  # type: ignore[attr-defined]
        await settled(app, fake)
        got = await pushed_to_all(app, fake, ids, "share")
        await settled(app, fake)
        total, replies, cap = await month_usage(app)
        out.check(cap is not None and replies <= cap, f"replies {replies} over their share {cap}")
        out.check(got == len(ids), f"the push after the floods reached {got}/{len(ids)}")
        out.check(total <= args.small_quota, f"{total} messages sent > {args.small_quota}")
        out.figure(
            f"reply share: {args.flooders} members x {ALLOWANCE * 2} commands, quota "
            f"{args.small_quota}: replies={replies}/{cap} pushes={got}/{len(ids)} "
            f"sent={total}/{args.small_quota} reserve_untouched={got == len(ids)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=None)
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--flooders", type=int, default=None)
    parser.add_argument("--small-quota", type=int, default=None)
    add_tiny(parser, "60 commands, 5 members")
    args = parser.parse_args()
    apply_sizes(
        args,
        {
            "commands": (500, 60),
            "members": (40, 5),
            "flooders": (30, 6),
            "small_quota": (200, 40),
        },
    )
    logging.basicConfig(level=logging.ERROR)  # the admins' alerts are expected here
    out = Outcome("bench/zalo_flood.py")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(one_flooder(Path(tmp) / "one.sqlite3", args, out))
        asyncio.run(many_flooders(Path(tmp) / "many.sqlite3", args, out))
    return out.finish()


if __name__ == "__main__":
    sys.exit(main())
