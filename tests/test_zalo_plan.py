"""Zalo's plan in the assembled app, against the fake Bot Platform: the user cap (a polite
answer with the Telegram link, alerts at 80 % and 100 %), the daily reply allowance under a
flood of commands, replies of at most two parts, the share of the month kept for pushes, a
429 that parks the channel until the month rolls over, unreadable messages acknowledged, and
/stats and the console showing users and messages against the plan."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import Clock
from fake_telegram import FakeTelegram
from fake_zalo import FakeZalo
from helpers import eventually, wait_for

from bot.app import App
from bot.channels.base import OutMessage
from bot.config import Config, load_settings
from bot.delivery.allowance import merge, shorten
from bot.delivery.quota import PROBE_EARLY, Plan, QuotaTracker, replies_key
from storage.records import DeliveryStatus, NewArticle, SubscriptionKind

TG_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
ZALO_TOKEN = "zalo-test-token-0123456789"
TOPICS = """
[[topics]]
slug = "dan-van"
name = "Dân vận"
"""
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: 10:00 in Hanoi, the middle of June
MID_JUNE = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
SETTLE = 0.4  # seconds in which a message that should get no answer would have got one


@dataclass
class Bot:
    zalo: FakeZalo
    app: App
    clock: Clock
    tg: FakeTelegram | None = None

    def texts(self, chat_id: str) -> list[str]:
        return [s.text or "" for s in self.zalo.sent_to(chat_id)]

    def rationed(self, reason: str) -> float:
        value = self.app.metrics.registry.get_sample_value(
            "bantin_replies_rationed_total", {"channel": "zalo", "reason": reason}
        )
        return value or 0.0


@contextlib.asynccontextmanager
async def running(
    database_url: str,
    env: dict[str, str] | None = None,
    *,
    zalo: FakeZalo | None = None,
    telegram: bool = False,
) -> AsyncIterator[Bot]:
    """The app with the fake Zalo (and the fake Telegram), on a clock set to mid-June."""
    zalo = zalo or FakeZalo(ZALO_TOKEN)
    tg = FakeTelegram(TG_TOKEN) if telegram else None
    clock = Clock(MID_JUNE)
    async with contextlib.AsyncExitStack() as stack:
        zalo_url = await stack.enter_async_context(zalo.running())
        settings = {
            "BANTIN_DATABASE_URL": database_url,
            "BANTIN_HTTP": "off",
            "BANTIN_ADMINS": "zalo:admin-1",
            "ZALO_BOT_TOKEN": ZALO_TOKEN,
            "ZALO_API_BASE_URL": zalo_url,
            "ZALO_RATE": "1000",
            **(env or {}),
        }
        if tg is not None:
            settings["TELEGRAM_BOT_TOKEN"] = TG_TOKEN
            settings["TELEGRAM_API_BASE_URL"] = await stack.enter_async_context(tg.running())
        config = Config(load_settings(settings), (), (), Path("t.toml")).with_sources_text(
            TOPICS, filename="t.toml"
        )
        app = App(config, clock=clock)
        for sender in app.worker.senders.values():  # one message a second per chat: not
            limiter = sender.limiter  # under test here, and it would make the tests slow
            limiter.limits = dataclasses.replace(limiter.limits, private_interval=0.0)
        await app.start()
        try:
            yield Bot(zalo, app, clock, tg)
        finally:
            await app.stop()


async def say(b: Bot, chat_id: str, text: str) -> str:
    """``text`` from ``chat_id``; the answer (every message of it), or "" when none came."""
    before = len(b.zalo.sent_to(chat_id))
    b.zalo.push_text(chat_id, text)
    with contextlib.suppress(TimeoutError):
        await wait_for(lambda: len(b.zalo.sent_to(chat_id)) > before, timeout=3)
    await asyncio.sleep(0.2)
    return "\n".join(b.texts(chat_id)[before:])


async def settled(b: Bot) -> None:
    """Every queued update handled, and no answer on its way."""
    await wait_for(lambda: b.zalo.pending_updates == 0, timeout=60)
    channel = b.app.channels["zalo"]
    queue = channel._queue  # type: ignore[attr-defined]
    await wait_for(lambda: queue.empty(), timeout=60)
    count = -1
    while count != len(b.zalo.sent):
        count = len(b.zalo.sent)
        await asyncio.sleep(SETTLE)


async def publish(b: Bot, key: str, title: str = "Tin mới") -> None:
    """One new article of topic dan-van, queued to its subscribers."""
    now = b.clock()
    store = b.app.store
    await store.sync_sources(
        [type("S", (), {"id": "x", "name": "X", "kind": "rss", "url": "https://p/"})()], now
    )
    article = NewArticle(
        "x", key, f"https://portal.example/{key}", title, now, "", "Tóm tắt.", ("dan-van",)
    )
    await store.save_articles([article], now)
    b.app.worker.wake()


async def subscribed(b: Bot, chat_id: str) -> None:
    """``chat_id`` registered and subscribed to dan-van without a word (no reply spent)."""
    store = b.app.store
    chat = await store.upsert_chat("zalo", chat_id, b.clock())
    await store.subscribe(chat, SubscriptionKind.TOPIC, "dan-van", "dan-van", b.clock())


# -- the user cap -----------------------------------------------------------------------


async def test_a_full_channel_answers_newcomers_politely_once_a_day(database_url: str) -> None:
    env = {"ZALO_MAX_USERS": "5", "ZALO_OVERFLOW_URL": "https://t.me/bantin_bot"}
    async with running(database_url, env) as b:
        store = b.app.store
        assert await b.app.rations["zalo"].users() == 1  # the admin's chat
        for chat_id in ("u-1", "u-2", "u-3"):
            assert "Xin chào! Tôi là bot" in await say(b, chat_id, "/start")
        await wait_for(lambda: any("4/5 người dùng" in t for t in b.texts("admin-1")))
        assert "Xin chào! Tôi là bot" in await say(b, "u-4", "/start")
        await wait_for(lambda: any("đã đủ 5/5 người dùng" in t for t in b.texts("admin-1")))

        full = await say(b, "u-5", "/start")
        assert "đã đủ 5 người dùng" in full and "https://t.me/bantin_bot" in full
        assert await store.get_chat("zalo", "u-5") is None  # not registered
        assert await say(b, "u-5", "/help") == ""  # told once a day, not every time
        assert b.rationed("full") == 2

        # A known chat that left speaks English: it is told in English.
        gone = await store.upsert_chat("zalo", "u-6", b.clock(), language="en")
        await store.update_chat(gone, b.clock(), active=False)
        assert "has reached the 5 users" in await say(b, "u-6", "/start")

        b.clock.advance(86400)  # the next day: told again
        assert "đã đủ 5 người dùng" in await say(b, "u-5", "/help")
        # A place freed (a chat deactivated) lets the next one in.
        leaving = await store.get_chat("zalo", "u-1")
        assert leaving is not None
        await store.update_chat(leaving, b.clock(), active=False)
        assert "Xin chào! Tôi là bot" in await say(b, "u-5", "/start")
        assert (await store.get_chat("zalo", "u-5")) is not None
        alerts = [t for t in b.texts("admin-1") if "người dùng" in t]
        assert len(alerts) == 2  # 80 % and 100 %, each once this month


async def test_the_telegram_link_comes_from_the_running_telegram_bot(database_url: str) -> None:
    async with running(database_url, {"ZALO_MAX_USERS": "1"}, telegram=True) as b:
        full = await say(b, "u-1", "/start")
        assert "Telegram: https://t.me/bantin_test_bot" in full


# -- the daily allowance and the parts of a reply ----------------------------------------


async def test_a_flood_of_500_commands_spends_one_days_allowance(database_url: str) -> None:
    env = {"ZALO_DAILY_REPLIES": "10", "BANTIN_REPLY_RATE_PER_MINUTE": "600"}
    async with running(database_url, env) as b:
        store = b.app.store
        for i in range(20):  # /latest 20 of these is about 6,000 characters: 4 parts
            await publish(b, f"k{i}", "Hội nghị " + "quán triệt nghị quyết " * 12 + str(i))
        await subscribed(b, "u-1")
        await settled(b)
        pushed = len(b.zalo.sent_to("u-1"))  # none: the articles came before the subscription
        for _ in range(500):
            b.zalo.push_text("u-1", "/latest 20")
        await settled(b)

        answers = b.texts("u-1")[pushed:]
        assert len(answers) == 10  # the allowance, the notice included
        assert "đã dùng hết 10 tin trả lời" in answers[-1]
        assert sum("đã dùng hết" in a for a in answers) == 1
        assert all(len(a) <= 2000 for a in answers)
        # Two parts per /latest 20, the second ending in "…" and where to read the rest.
        assert answers[1].endswith("/search <từ khóa>.)") and "\n…\n" in answers[1]
        month = b.app.quota.month()
        assert (await store.usage(replies_key("zalo"), month)).sent == 10
        assert b.rationed("allowance") >= 490 - 10

        # Pushes are not replies: the next article still reaches the member.
        await publish(b, "after", "Tin sau cơn lũ lệnh")
        await wait_for(lambda: any("Tin sau cơn lũ lệnh" in t for t in b.texts("u-1")))
        # The next day the member is answered again.
        b.clock.advance(86400)
        assert "Các lệnh" in await say(b, "u-1", "/help")


async def test_admins_have_no_daily_allowance(database_url: str) -> None:
    async with running(database_url, {"ZALO_DAILY_REPLIES": "3"}) as b:
        for _ in range(5):
            assert "Các lệnh" in await say(b, "admin-1", "/help")


async def test_a_command_with_several_answers_is_one_message(database_url: str) -> None:
    async with running(database_url) as b:
        before = len(b.zalo.sent_to("u-1"))
        b.zalo.push_text("u-1", "/start")  # welcome and the topic menu
        await settled(b)
        (answer,) = b.texts("u-1")[before:]
        assert "Xin chào! Tôi là bot" in answer and "1. ▫️ Dân vận" in answer


# -- the share of the month kept for pushes ----------------------------------------------


async def test_replies_never_reach_into_the_push_reserve(database_url: str) -> None:
    env = {
        "ZALO_MONTHLY_QUOTA": "40",
        "ZALO_PUSH_RESERVE": "0.5",  # replies may spend 20
        "ZALO_DAILY_REPLIES": "10",
        "BANTIN_REPLY_RATE_PER_MINUTE": "600",
    }
    async with running(database_url, env) as b:
        store = b.app.store
        members = ("u-1", "u-2", "u-3")
        for chat_id in members:
            await subscribed(b, chat_id)
        for _ in range(15):
            for chat_id in members:
                b.zalo.push_text(chat_id, "/help")
        await settled(b)
        month = b.app.quota.month()
        replies = (await store.usage(replies_key("zalo"), month)).sent
        assert replies == 20
        assert sum(len(b.zalo.sent_to(c)) for c in members) == 20
        await wait_for(lambda: any("để dành cho tin đẩy" in t for t in b.texts("admin-1")))
        assert b.rationed("replies_share") >= 1

        await publish(b, "p1", "Tin cho mọi người")
        for chat_id in members:
            await wait_for(lambda c=chat_id: any("Tin cho mọi người" in t for t in b.texts(c)))
        assert (await store.usage("zalo", month)).sent <= 40
        assert (await store.usage(replies_key("zalo"), month)).sent == 20


# -- 429: the plan's quota spent ------------------------------------------------------------


async def test_a_429_parks_zalo_until_next_month_and_tells_the_admins_once(
    database_url: str,
) -> None:
    env = {"BANTIN_ADMINS": "zalo:admin-1,telegram:77"}
    zalo = FakeZalo(ZALO_TOKEN, monthly_quota=0)  # Zalo says "Quota exceeded" to every send
    async with running(database_url, env, zalo=zalo, telegram=True) as b:
        assert b.tg is not None
        await subscribed(b, "u-1")
        await publish(b, "q1", "Tin không gửi được")
        sender = b.app.worker.senders["zalo"]
        await wait_for(lambda: sender.down is not None)
        await wait_for(lambda: any("01/07/2026 00:00" in (s.text or "") for s in b.tg.sent_to(77)))
        july = datetime(2026, 7, 1, tzinfo=TZ)
        parked = sender.limiter.departure_wait()
        assert abs(parked - (july - MID_JUNE).total_seconds()) < 60
        problems = b.app.worker.problems()
        assert "sender:zalo" in problems and "quota exceeded" in problems["sender:zalo"]

        await publish(b, "q2", "Tin thứ hai")
        await asyncio.sleep(1.0)
        alerts = [s for s in b.tg.sent_to(77) if "hết hạn mức" in (s.text or "")]
        assert len(alerts) == 1

        async def pending() -> bool:  # held, not failed: sent when the month rolls over
            counts = (await b.app.store.stats(b.clock())).deliveries_by_status
            return counts.get(DeliveryStatus.PENDING, 0) >= 2 and not counts.get("failed")

        await eventually(pending)


def test_the_quota_period_rolls_over_at_midnight_on_the_first_in_hanoi() -> None:
    clock = Clock(MID_JUNE)

    async def alert(key: str, values: dict[str, object]) -> None:
        raise AssertionError("no alert expected")

    quota = QuotaTracker(
        None,  # type: ignore[arg-type]
        {"zalo": Plan(3000)},
        clock=clock,
        tz=TZ,
        digest_time="07:00",
        alert=alert,
    )
    assert quota.rollover_at() == datetime(2026, 6, 30, 17, 0, tzinfo=UTC)
    assert (
        quota.resets_in() == (datetime(2026, 6, 30, 17, 0, tzinfo=UTC) - MID_JUNE).total_seconds()
    )
    # Just past our rollover Zalo may still count the old month (UTC is 7 hours behind): an
    # hour, not another month.
    clock.now = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)  # 03:00 on July 1st in Hanoi
    assert quota.month() == "2026-07" and quota.resets_in() == PROBE_EARLY
    clock.now = datetime(2026, 12, 15, tzinfo=UTC)
    assert quota.rollover_at() == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)


# -- unreadable messages ----------------------------------------------------------------


async def test_an_unreadable_message_is_acknowledged_once_a_day(database_url: str) -> None:
    async with running(database_url) as b:
        for _ in range(3):
            b.zalo.push_update(b.zalo.make_event("u-9", "message.unsupported.received"))
        await settled(b)
        (answer,) = b.texts("u-9")
        assert "chưa đọc được loại tin nhắn này" in answer and "/help" in answer
        assert b.rationed("unreadable") == 3
        b.clock.advance(86400)
        b.zalo.push_update(b.zalo.make_event("u-9", "message.unsupported.received"))
        await settled(b)
        assert len(b.texts("u-9")) == 2


# -- what admins see ----------------------------------------------------------------------


async def test_stats_show_users_messages_and_replies_against_the_plan(database_url: str) -> None:
    async with running(database_url, {"ZALO_MAX_USERS": "5"}) as b:
        await say(b, "u-1", "/start")
        stats = await say(b, "admin-1", "/stats")
        assert "Zalo: 2/5 người dùng (40%)" in stats
        assert "Zalo: đã gửi 1/3000 tin trong tháng 2026-06" in stats
        assert "Zalo: lệnh trả lời đã dùng 1/1200 tin" in stats


async def test_the_dashboard_shows_users_and_messages(store: Any, clock: Any) -> None:
    from test_web import SOURCES, Web

    await store.sync_sources(SOURCES, clock())
    plans = {"zalo": Plan(monthly_quota=3000, max_users=50, push_reserve=0.6)}
    web = Web(store, clock, plans=plans)
    try:
        await store.upsert_chat("zalo", "u-1", clock())
        await store.add_usage("zalo", clock().astimezone(TZ).strftime("%Y-%m"), 12)
        await web.sign_in()
        page = (await web.client.get("/admin/")).text
    finally:
        await web.close()
    assert "zalo: 12/3000 (0%) tin đã gửi" in page
    assert "zalo: 1/50 (2%) người dùng" in page
    assert "trong đó trả lời lệnh: 0/1200" in page


# -- pieces ---------------------------------------------------------------------------------


def test_merge_keeps_the_last_choices_and_the_tracked_broadcast() -> None:
    from bot.channels.base import Choice

    menu = ((Choice("a", "topic:a"),),)
    merged = merge(
        [OutMessage("một"), OutMessage("hai", choices=menu), OutMessage("ba", track_broadcast=7)]
    )
    assert merged.text == "một\n\nhai\n\nba"
    assert merged.choices == menu and merged.track_broadcast == 7


def test_shorten_cuts_at_a_line_and_ends_with_the_pointer() -> None:
    text = "\n".join(f"dòng {i} " + "x" * 50 for i in range(100))
    cut = shorten(text, "(còn nữa)", lambda s: len(s) <= 500)
    assert len(cut) <= 500 and cut.endswith("\n…\n(còn nữa)")
    head = cut.removesuffix("\n…\n(còn nữa)")
    assert text.startswith(head) and text[len(head)] == "\n"  # ended at a line
    assert shorten("y" * 1000, "(còn)", lambda s: len(s) <= 5) == "…\n(còn)"


@pytest.mark.parametrize(("quota", "reserve", "cap"), [(3000, 0.6, 1200), (0, 0.6, None)])
def test_reply_cap(quota: int, reserve: float, cap: int | None) -> None:
    assert Plan(quota, push_reserve=reserve).reply_cap == cap
