"""Benchmark: one article fanned out to 5,000 Telegram chats under Telegram's limits.

A fake Bot API server (tests/fake_telegram.py) on 127.0.0.1 enforces a global rate and one
message per second per chat, answering 429 with retry_after when exceeded. The bot runs as a
real ``run_bot.py run`` subprocess against a SQLite file holding 5,000 subscribed chats and
one freshly ingested article (5,000 queued deliveries). Printed: seconds from first to last
delivery, achieved/allowed rate, 429s, duplicates and missing chats.

``--kill 3`` SIGKILLs the bot three times during the fan-out (at 25/50/75 %) and restarts
it: the figures to watch are missing (must be 0) and duplicates (at most the send
concurrency per kill).

``--strict`` makes the fake a strict sliding window (429 whenever more than ``rate`` messages
fall within any one second) instead of a token bucket; the target there is a ratio of at
least 0.97 with under 0.5 % 429s.

No figure is printed (errors on stderr, exit status 1) when a chat is missing, when there are
duplicates beyond that bound (none without kills), when a kill asked for did not happen, or
when the bot exits on its own or does not stop cleanly on SIGTERM. The 429s are a figure.

Usage: .venv/bin/python bench/fanout.py [--chats 5000] [--rate 30] [--concurrency 16] [--kill 0]
       [--strict] [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.outcome import Outcome, add_tiny, apply_sizes  # noqa: E402

TOKEN = "424242:BENCH-token-abcdefghijklmnopqrstuvwxyz"
TITLE = "Hội nghị toàn quốc quán triệt Nghị quyết"


async def prepare(db_url: str, chats: int, out: Outcome) -> None:
    from sqlalchemy import insert

    from storage.records import NewArticle
    from storage.store import open_store
    from storage.tables import ChatRow, SourceRow, SubscriptionRow

    store = await open_store(db_url)
    now = datetime.now(UTC)
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(SourceRow),
            [
                {
                    "id": "bench",
                    "name": "Bench",
                    "kind": "rss",
                    "url": "https://x/",
                    "consecutive_failures": 0,
                    "last_item_count": 0,
                    "alerted": False,
                    "created_at": now,
                }
            ],
        )
        await conn.execute(
            insert(ChatRow),
            [
                {
                    "id": i,
                    "channel": "telegram",
                    "chat_id": str(1_000_000 + i),
                    "title": "",
                    "kind": "private",
                    "language": "vi",
                    "active": True,
                    "paused": False,
                    "unreachable_count": 0,
                    "quiet_hours": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, chats + 1)
            ],
        )
        await conn.execute(
            insert(SubscriptionRow),
            [
                {"chat_id": i, "kind": "topic", "value": "tin", "key": "tin", "created_at": now}
                for i in range(1, chats + 1)
            ],
        )
    t0 = time.perf_counter()
    result = await store.save_articles(
        [
            NewArticle(
                "bench",
                "bench:1",
                "https://portal.example/hoi-nghi-duk1.aspx",
                TITLE,
                now,
                "Nội dung bài viết.",
                "Tóm tắt ngắn của bài viết.",
                ("tin",),
            )
        ],
        now,
    )
    out.check(
        result.deliveries == chats,
        f"ingest queued {result.deliveries} deliveries for {chats} chats",
    )
    out.figure(
        f"ingest: 1 article -> {result.deliveries} deliveries queued"
        f" in {time.perf_counter() - t0:.2f}s"
    )
    await store.close()


def start_bot(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_bot.py"), "run"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )


async def stopped(bot: subprocess.Popen[bytes], timeout: float) -> int | None:
    """Wait for the bot's exit without blocking the loop (the fake Bot API serves on it, and
    the bot's shutdown still calls it); its exit status, None if it is still running."""
    deadline = time.monotonic() + timeout
    while bot.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return bot.poll()


async def run(args: argparse.Namespace, out: Outcome) -> Path:
    """The fan-out; the scratch folder (the bot's log is there)."""
    from fake_telegram import FakeTelegram

    tmp = Path(tempfile.mkdtemp(prefix="bantin-fanout-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'fanout.sqlite3'}"
    await prepare(db_url, args.chats, out)
    (tmp / "bantin.toml").write_text('[[topics]]\nslug = "tin"\nname = "Tin"\n', encoding="utf-8")
    fake = FakeTelegram(
        TOKEN,
        global_rate=args.rate,
        per_chat_interval=1.0,
        group_per_minute=20,
        strict_window=args.strict,
    )
    async with fake.running() as url:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BANTIN_", "TELEGRAM_", "ZALO_"))
        }
        env.update(
            BANTIN_CONFIG=str(tmp / "bantin.toml"),
            BANTIN_DATABASE_URL=db_url,
            BANTIN_LOG_LEVEL="WARNING",
            BANTIN_SEND_CONCURRENCY=str(args.concurrency),
            BANTIN_LEASE_SECONDS=str(args.lease),
            BANTIN_HTTP_PORT="0",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=url,
            TELEGRAM_RATE=str(args.rate),
        )

        def delivered() -> Counter[int]:
            return Counter(s.chat_id for s in fake.sent if s.text and TITLE in s.text)

        bot = start_bot(env, tmp / "bot.log")
        kills = [args.chats * k // (args.kill + 1) for k in range(1, args.kill + 1)]
        killed = 0
        deadline = time.monotonic() + args.timeout
        try:
            while True:
                got = delivered()
                if len(got) >= args.chats:
                    break
                if time.monotonic() >= deadline:
                    out.error(f"timed out after {args.timeout:g}s with {len(got)} chats delivered")
                    break
                if kills and len(got) >= kills[0]:
                    kills.pop(0)
                    bot.send_signal(signal.SIGKILL)
                    await stopped(bot, 30)
                    killed += 1
                    print(f"  SIGKILL at {len(got)} chats delivered; restarting", file=sys.stderr)
                    bot = start_bot(env, tmp / "bot.log")
                if bot.poll() is not None:
                    out.error(f"the bot exited on its own with status {bot.returncode}")
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # let stragglers land, so duplicates are counted
        finally:
            running = bot.poll() is None
            bot.send_signal(signal.SIGTERM)
            status = await stopped(bot, 15)
            if status is None:
                bot.kill()
                await stopped(bot, 5)
            if running and status != 0:
                out.error(f"the bot did not stop cleanly on SIGTERM (status {status})")
        got = delivered()
        times = sorted(s.at for s in fake.sent if s.text and TITLE in s.text)
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        achieved = (len(times) - 1) / span if span else 0.0
        duplicates = sum(n - 1 for n in got.values() if n > 1)
        missing = args.chats - len(got)
        sends = len(fake.sent) + fake.rejected_429
        out.check(missing == 0, f"{missing} of {args.chats} chats got nothing")
        bound = args.concurrency * killed  # a kill repeats at most the sends in flight
        out.check(
            duplicates <= bound,
            f"{duplicates} duplicate deliveries (at most {bound} with {killed} kills)",
        )
        out.check(killed == args.kill, f"{killed} of {args.kill} kills happened")
        out.figure(
            f"fanout: chats={args.chats} rate={args.rate:g}/s concurrency={args.concurrency} "
            f"kills={args.kill} window={'strict' if args.strict else 'bucket'} "
            f"first->last={span:.1f}s achieved={achieved:.1f}/s ratio={achieved / args.rate:.3f} "
            f"429s={fake.rejected_429} ({100 * fake.rejected_429 / max(sends, 1):.2f}% of sends) "
            f"duplicates={duplicates} missing={missing}"
        )
    return tmp


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=None, help="default 5000 (--tiny: 20)")
    parser.add_argument("--rate", type=float, default=None, help="default 30 (--tiny: 100)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kill", type=int, default=0)
    parser.add_argument(
        "--lease",
        type=float,
        default=5.0,
        help="BANTIN_LEASE_SECONDS for the bot (takeover after a kill)",
    )
    parser.add_argument("--timeout", type=float, default=None, help="default 900 (--tiny: 60)")
    parser.add_argument(
        "--strict", action="store_true", help="the fake enforces a strict one-second window"
    )
    add_tiny(parser, "20 chats at 100/s")
    args = parser.parse_args()
    apply_sizes(args, {"chats": (5000, 20), "rate": (30.0, 100.0), "timeout": (900.0, 60.0)})
    out = Outcome("bench/fanout.py")
    tmp = asyncio.run(run(args, out))
    status = out.finish()
    if status:
        print(f"the bot's log and database are kept in {tmp}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
