"""Zalo in the assembled app: the plain-text conversation, both channels in one process,
and the monthly quota (warning at 80 %, daily digest above 95 %)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_telegram import FakeTelegram
from fake_zalo import FakeZalo
from helpers import eventually, wait_for

from bot.app import App
from bot.config import Config, load_settings
from storage.records import DeliveryStatus, NewArticle

TG_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
ZALO_TOKEN = "zalo-test-token-0123456789"
TOPICS = """
[[topics]]
slug = "dan-van"
name = "Dân vận"

[[topics]]
slug = "kiem-tra"
name = "Kiểm tra"
"""


@dataclass
class Both:
    tg: FakeTelegram
    zalo: FakeZalo
    app: App


@pytest.fixture
async def both(database_url: str) -> AsyncIterator[Both]:
    tg, zalo = FakeTelegram(TG_TOKEN), FakeZalo(ZALO_TOKEN)
    async with tg.running() as tg_url, zalo.running() as zalo_url:
        env = {
            "BANTIN_DATABASE_URL": database_url,
            "BANTIN_HTTP_HOST": "127.0.0.1",
            "BANTIN_HTTP_PORT": "0",
            "BANTIN_ADMINS": "zalo:admin-1",
            "TELEGRAM_BOT_TOKEN": TG_TOKEN,
            "TELEGRAM_API_BASE_URL": tg_url,
            "ZALO_BOT_TOKEN": ZALO_TOKEN,
            "ZALO_API_BASE_URL": zalo_url,
            "ZALO_MONTHLY_QUOTA": "20",
            "ZALO_RATE": "100",
        }
        config = Config(load_settings(env), (), (), Path("t.toml")).with_sources_text(
            TOPICS, filename="t.toml"
        )
        app = App(config)
        await app.start()
        try:
            yield Both(tg, zalo, app)
        finally:
            await app.stop()


async def zalo_say(b: Both, chat_id: str, text: str, **kw) -> str:  # type: ignore[no-untyped-def]
    before = len(b.zalo.sent)
    b.zalo.push_text(chat_id, text, **kw)
    await wait_for(lambda: len(b.zalo.sent) > before)
    await asyncio.sleep(0.3)
    return "\n".join(s.text or "" for s in b.zalo.sent[before:])


async def test_plain_text_conversation_with_numbered_topics(both: Both) -> None:
    menu = await zalo_say(both, "u-1", "/topics")
    assert "1. ▫️ Dân vận" in menu and "2. ▫️ Kiểm tra" in menu
    toggled = await zalo_say(both, "u-1", "2")
    assert "2. ✅ Kiểm tra" in toggled
    assert "Đã đăng ký chủ đề «Dân vận»" in await zalo_say(both, "u-1", "/subscribe dan van")
    mysubs = await zalo_say(both, "u-1", "/mysubs")
    assert "Dân vận" in mysubs and "Kiểm tra" in mysubs
    assert "chỉ dành cho quản trị viên" in await zalo_say(both, "u-1", "/stats")
    stats = await zalo_say(both, "admin-1", "/stats")
    assert "Thống kê" in stats and "Zalo: đã gửi" in stats


async def test_one_article_reaches_telegram_and_zalo_subscribers(both: Both) -> None:
    await zalo_say(both, "u-2", "/subscribe kiem tra")
    both.tg.push_message(77, "/subscribe kiem tra")
    await wait_for(lambda: bool(both.tg.sent_to(77)))
    now = datetime.now(UTC)
    store = both.app.store
    await store.sync_sources(
        [type("S", (), {"id": "x", "name": "X", "kind": "rss", "url": "https://p/"})()], now
    )
    summary = " ".join(
        ["Ủy ban Kiểm tra họp kỳ thứ 21 & xem xét kỷ luật."] * 110
    )  # ~5,400 characters
    await store.save_articles(
        [
            NewArticle(
                "x",
                "k1",
                "https://portal.example/ky-hop-duk7.aspx",
                "Kỳ họp thứ 21",
                now,
                "",
                summary,
                ("kiem-tra",),
            )
        ],
        now,
    )
    await wait_for(lambda: any("Kỳ họp thứ 21" in (s.text or "") for s in both.tg.sent_to(77)))
    await wait_for(
        lambda: any("ky-hop-duk7.aspx" in (s.text or "") for s in both.zalo.sent_to("u-2"))
    )
    zalo_parts = [s.text or "" for s in both.zalo.sent_to("u-2")][-3:]
    assert all(len(p) <= 2000 for p in zalo_parts)
    assert "portal.example/ky-hop-duk7.aspx" in "".join(zalo_parts)  # the link survives the split

    async def marked() -> bool:  # each row is marked right after its platform accepted it
        return (await store.stats(now)).deliveries_by_status == {DeliveryStatus.SENT: 2}

    await eventually(marked)


async def test_quota_warns_at_80_and_switches_to_digest_above_95(both: Both) -> None:
    app = both.app
    store = app.store
    await zalo_say(both, "u-3", "/subscribe dan van")  # one reply counted
    month = app.quota.month()
    await store.add_usage("zalo", month, 15)  # 16 of 20 used
    await zalo_say(both, "u-3", "/mysubs")  # 17/20 = 85 %: the admins are warned once
    await wait_for(
        lambda: any("85% hạn mức" in (s.text or "") for s in both.zalo.sent_to("admin-1"))
    )
    await zalo_say(
        both, "u-3", "/help"
    )  # 18 + the warning to the admin = 19/20 = 95 %: digest mode
    await wait_for(
        lambda: any(
            "bản tin mỗi ngày lúc 07:00" in (s.text or "") for s in both.zalo.sent_to("admin-1")
        )
    )
    assert app.quota.forced_digest("zalo") == "07:00"
    now = datetime.now(UTC)
    await store.sync_sources(
        [type("S", (), {"id": "x", "name": "X", "kind": "rss", "url": "https://p/"})()], now
    )
    await store.update_chat(await store.get_chat("zalo", "u-3"), now, last_digest_at=now)  # type: ignore[arg-type]
    await store.save_articles(
        [
            NewArticle(
                "x",
                "q1",
                "https://portal.example/q1",
                "Tin giữa tháng",
                now,
                "",
                "Tóm tắt.",
                ("dan-van",),
            )
        ],
        now,
    )
    await asyncio.sleep(2.5)
    assert not any(
        "Tin giữa tháng" in (s.text or "") for s in both.zalo.sent_to("u-3")
    )  # held for the digest
    pending = await store.claim_due("zalo", now + timedelta(days=1, hours=1), group_max=50)
    assert (
        len(pending) == 1 and pending[0].articles[0].title == "Tin giữa tháng"
    )  # due at the next 07:00
    usage = await store.usage("zalo", month)
    assert usage.sent >= 19 and usage.warned == 95


async def test_broadcast_from_zalo_reports_the_final_count_in_a_new_message(both: Both) -> None:
    await zalo_say(both, "u-5", "/start")
    queued = await zalo_say(both, "admin-1", "/broadcast Họp chi bộ lúc 14:00")
    assert "Đã xếp hàng gửi thông báo tới 2" in queued  # u-5 and the admin
    await wait_for(
        lambda: any("Họp chi bộ lúc 14:00" in (s.text or "") for s in both.zalo.sent_to("u-5"))
    )
    await wait_for(
        lambda: any("Đã gửi xong" in (s.text or "") for s in both.zalo.sent_to("admin-1")),
        timeout=15,
    )
