"""Telegram channel end to end: the real python-telegram-bot stack against our fake Bot API
server on 127.0.0.1 (through TELEGRAM_API_BASE_URL), with the whole app on a SQLite file."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fake_telegram import FakeTelegram, Sent
from helpers import eventually, wait_for
from telegram import Update

from bot.app import App
from bot.channels.base import ChatMigrated, ChatUnreachable, OutMessage, Rejected, RetryLater
from bot.channels.telegram import TelegramChannel
from bot.config import Config, load_settings
from bot.ops.logs import setup_logging
from storage.records import DeliveryStatus, NewArticle

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
ADMIN = 100
TOPICS = """
[[topics]]
slug = "dan-van"
name = "Dân vận"
keywords = ["dân vận"]

[[topics]]
slug = "kiem-tra"
name = "Kiểm tra"
"""


@dataclass
class Bot:
    fake: FakeTelegram
    app: App
    url: str


def settings_env(database_url: str, url: str, **extra: str) -> dict[str, str]:
    env = {
        "BANTIN_DATABASE_URL": database_url,
        "BANTIN_ADMINS": f"telegram:{ADMIN}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": url,
        "BANTIN_HTTP_HOST": "127.0.0.1",
        "BANTIN_HTTP_PORT": "0",
    }
    env.update(extra)
    return env


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Bot]:
    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        settings = load_settings(settings_env(database_url, url))
        config = Config(settings, (), (), Path("t.toml")).with_sources_text(
            TOPICS, filename="t.toml"
        )
        app = App(config)
        await app.start()
        try:
            yield Bot(fake, app, url)
        finally:
            await app.stop()


async def say(bot: Bot, chat_id: int, text: str, *, settle: float = 0.3, **kw) -> list[Sent]:  # type: ignore[no-untyped-def]
    """Send a text as a user and return what the bot answered."""
    before = len(bot.fake.sent)
    bot.fake.push_message(chat_id, text, **kw)
    await wait_for(lambda: len(bot.fake.sent) > before)
    await asyncio.sleep(settle)
    return bot.fake.sent[before:]


def texts(sent: list[Sent]) -> str:
    return "\n".join((s.text or s.caption or "") for s in sent)


async def test_start_shows_menu_and_a_tap_toggles_in_place(bot: Bot) -> None:
    replies = await say(bot, 7, "/start")
    assert "Xin chào" in texts(replies)
    menu = replies[-1]
    assert menu.reply_markup is not None
    buttons = [b["callback_data"] for row in menu.reply_markup["inline_keyboard"] for b in row]
    assert buttons == ["topic:dan-van", "topic:kiem-tra"]
    bot.fake.push_callback(7, menu.message_id, "topic:kiem-tra")
    await wait_for(lambda: len(bot.fake.edits) >= 1)
    edit = bot.fake.edits[-1]
    assert edit.message_id == menu.message_id
    labels = [b["text"] for row in edit.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
    assert "✅ Kiểm tra" in labels and "▫️ Dân vận" in labels
    chat = await bot.app.store.get_chat("telegram", "7")
    assert chat is not None and [s.key for s in await bot.app.store.subscriptions(chat)] == [
        "kiem-tra"
    ]
    assert bot.fake.callback_answers  # the tap is acknowledged


async def test_conversation_in_vietnamese(bot: Bot) -> None:
    assert "Đã đăng ký chủ đề «Dân vận»" in texts(await say(bot, 7, "/subscribe dan van"))
    assert "«chuyển đổi số»" in texts(await say(bot, 7, "/follow chuyển đổi số"))
    mysubs = texts(await say(bot, 7, "/mysubs"))
    assert "Dân vận" in mysubs and "chuyển đổi số" in mysubs
    assert "Chưa có tin" in texts(await say(bot, 7, "/latest"))
    assert "Không tìm thấy" in texts(await say(bot, 7, "/search hội nghị"))
    assert "lúc 07:30" in texts(await say(bot, 7, "/digest 7:30"))
    assert "Cách dùng: /digest" in texts(await say(bot, 7, "/digest sáng mai"))
    assert "tạm dừng" in texts(await say(bot, 7, "/stop"))
    assert "Không hiểu lệnh «/xyz»" in texts(await say(bot, 7, "/xyz"))
    assert "chỉ dành cho quản trị viên" in texts(await say(bot, 7, "/stats"))
    assert "Language set to English" in texts(await say(bot, 7, "/lang en"))
    assert "Subscribed to “Kiểm tra”" in texts(await say(bot, 7, "/subscribe kiem tra"))


async def test_english_speaker_gets_english(bot: Bot) -> None:
    assert "Hello" in texts(await say(bot, 8, "/start", language_code="en"))
    assert "Usage: /subscribe" in texts(await say(bot, 8, "/subscribe", language_code="en"))


async def test_menu_is_registered_in_both_languages(bot: Bot) -> None:
    commands = bot.fake.commands
    assert {"vi", "en", ""} <= set(commands)
    assert any(
        c["command"] == "subscribe" and "Đăng ký" in c["description"] for c in commands["vi"]
    )
    assert any(
        c["command"] == "subscribe" and "Subscribe" in c["description"] for c in commands["en"]
    )


async def test_admin_stats_has_a_chart_and_broadcast_reports_progress(bot: Bot) -> None:
    await say(bot, 7, "/start")
    await say(bot, 8, "/start")
    stats = await say(bot, ADMIN, "/stats", settle=0.5)
    assert "Thống kê" in texts(stats) and any(s.method == "sendPhoto" and s.photo for s in stats)
    replies = await say(bot, ADMIN, "/broadcast Họp chi bộ lúc 14:00 & đúng giờ")
    progress = replies[0]
    assert "Đã xếp hàng" in (progress.text or "")
    await wait_for(lambda: len(bot.fake.sent_to(7)) >= 3 and len(bot.fake.sent_to(8)) >= 3)
    assert any("Họp chi bộ lúc 14:00 &amp; đúng giờ" in (s.text or "") for s in bot.fake.sent_to(7))
    await wait_for(
        lambda: any(
            e.message_id == progress.message_id and "Đã gửi xong" in (e.text or "")
            for e in bot.fake.edits
        ),
        timeout=15,
    )
    final = [e for e in bot.fake.edits if e.message_id == progress.message_id][-1]
    assert "đã gửi 3" in (final.text or "")  # chats 7, 8 and the admin's own


async def test_group_rules(bot: Bot) -> None:
    group = -500
    bot.fake.set_chat_admins(group, [42])
    refused = await say(
        bot,
        group,
        "/subscribe@bantin_test_bot dan van",
        chat_type="supergroup",
        user_id=43,
        chat_title="Chi bộ 1",
    )
    assert "quản trị viên của nhóm" in texts(refused)
    ok = await say(
        bot,
        group,
        "/subscribe@bantin_test_bot dan van",
        chat_type="supergroup",
        user_id=42,
        chat_title="Chi bộ 1",
    )
    assert "Đã đăng ký" in texts(ok)
    before = len(bot.fake.sent)
    bot.fake.push_message(group, "/start@another_bot", chat_type="supergroup", user_id=42)
    bot.fake.push_message(group, "chào cả nhà", chat_type="supergroup", user_id=43)
    await asyncio.sleep(0.5)
    assert len(bot.fake.sent) == before  # neither is for us


async def test_articles_render_as_valid_html_and_long_ones_are_split(bot: Bot) -> None:
    await say(bot, 7, "/subscribe dan van")
    store = bot.app.store
    now = datetime.now(UTC)
    await store.sync_sources(
        [type("S", (), {"id": "x", "name": "X", "kind": "rss", "url": "https://p/"})()], now
    )
    long_summary = " ".join(["Hội nghị <quan trọng> & cần thiết."] * 330)  # ~11,000 characters
    await store.save_articles(
        [
            NewArticle(
                "x",
                "k1",
                "https://portal.example/a?x=1&y=<2>",
                'Tin <b>nóng</b> & "mới"',
                now,
                "",
                "Tóm tắt.",
                ("dan-van",),
            )
        ],
        now,
    )
    await wait_for(lambda: any("Tin &lt;b&gt;nóng" in (s.text or "") for s in bot.fake.sent_to(7)))
    await store.save_articles(
        [
            NewArticle(
                "x",
                "k2",
                "https://portal.example/b",
                "Bài rất dài",
                now,
                "",
                long_summary,
                ("dan-van",),
            )
        ],
        now,
    )
    await wait_for(
        lambda: (
            sum("Hội nghị &lt;quan trọng&gt;" in (s.text or "") for s in bot.fake.sent_to(7)) >= 3
        )
    )
    await wait_for(
        lambda: any(
            'href="https://portal.example/b"' in (s.text or "") for s in bot.fake.sent_to(7)
        )
    )
    parts = [s for s in bot.fake.sent_to(7) if "quan trọng" in (s.text or "")]
    assert all(s.parse_mode == "HTML" for s in parts)

    async def both_marked_sent() -> bool:
        return (await store.stats(now)).deliveries_by_status == {DeliveryStatus.SENT: 2}

    await eventually(both_marked_sent)


async def test_webhook_checks_the_secret(database_url: str) -> None:
    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        env = settings_env(
            database_url,
            url,
            TELEGRAM_WEBHOOK_URL="https://bot.example.org/tg/hook-1",
            TELEGRAM_WEBHOOK_SECRET="s3cret_value",
        )
        config = Config(load_settings(env), (), (), Path("t.toml")).with_sources_text(
            TOPICS, filename="t.toml"
        )
        app = App(config)
        await app.start()
        try:
            assert (
                fake.webhook is not None
                and fake.webhook["url"] == "https://bot.example.org/tg/hook-1"
            )
            assert fake.webhook.get("secret_token") == "s3cret_value"
            assert app.http is not None
            hook = f"http://127.0.0.1:{app.http.port}/tg/hook-1"
            update = fake.make_message_update(9, "/help")
            async with httpx.AsyncClient() as client:
                assert (await client.post(hook, json=update)).status_code == 401
                bad = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
                assert (await client.post(hook, json=update, headers=bad)).status_code == 403
                assert fake.sent_to(9) == []
                good = {"X-Telegram-Bot-Api-Secret-Token": "s3cret_value"}
                assert (await client.post(hook, json=update, headers=good)).status_code == 200
            await wait_for(lambda: bool(fake.sent_to(9)))
            assert "/subscribe" in (fake.sent_to(9)[0].text or "")
        finally:
            await app.stop()


async def test_send_errors_become_the_three_outcomes() -> None:
    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        channel = TelegramChannel(TOKEN, base_url=url)
        await channel.application.initialize()
        try:
            msg = OutMessage("Xin chào")
            assert await channel.send("5", msg)
            fake.flood(5, retry_after=3)
            with pytest.raises(RetryLater) as flood:
                await channel.send("5", msg)
            assert flood.value.after == 3
            fake.block(6)
            with pytest.raises(ChatUnreachable):
                await channel.send("6", msg)
            fake.chat_not_found(7)
            with pytest.raises(ChatUnreachable):
                await channel.send("7", msg)
            fake.migrate(-8, -1008)
            with pytest.raises(ChatMigrated) as moved:
                await channel.send("-8", msg)
            assert moved.value.new_chat_id == "-1008"
            fake.fail("sendMessage", status=502)
            with pytest.raises(RetryLater) as down:
                await channel.send("5", msg)
            assert down.value.after is None
            fake.script(
                "sendMessage",
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty",
                },
            )
            with pytest.raises(Rejected):
                await channel.send("5", msg)
        finally:
            await channel.application.shutdown()


async def test_group_migration_moves_subscriptions(bot: Bot) -> None:
    await say(bot, -600, "/subscribe@bantin_test_bot dan van", chat_type="group", user_id=42)
    bot.fake.set_chat_admins(-600, [42])
    await say(bot, -600, "/subscribe@bantin_test_bot dan van", chat_type="group", user_id=42)
    update = bot.fake.make_message_update(-600, "", chat_type="group")
    update["message"].pop("text", None)
    update["message"]["migrate_to_chat_id"] = -100600
    application = bot.app.channels["telegram"].application  # type: ignore[attr-defined]
    await application.update_queue.put(Update.de_json(update, application.bot))
    for _ in range(50):
        moved = await bot.app.store.get_chat("telegram", "-100600")
        if moved:
            break
        await asyncio.sleep(0.05)
    assert moved is not None and [s.key for s in await bot.app.store.subscriptions(moved)] == [
        "dan-van"
    ]


async def test_token_never_reaches_the_log(
    database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        setup_logging("DEBUG", secrets=[TOKEN])
        try:
            settings = load_settings(settings_env(database_url, url))
            config = Config(settings, (), (), Path("t.toml")).with_sources_text(
                TOPICS, filename="t.toml"
            )
            app = App(config)
            await app.start()
            await say(Bot(fake, app, url), 7, "/help")
            logging.getLogger("httpx").warning("GET %s/bot%s/getMe", url, TOKEN)  # as httpx would
            await app.stop()
        finally:
            logging.getLogger().handlers.clear()
    err = capfd.readouterr().err
    assert "getMe" in err and "***" in err
    assert TOKEN not in err and TOKEN.split(":")[1] not in err


async def test_a_rejected_token_stops_the_bot_without_printing_it(
    database_url: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    fake = FakeTelegram(TOKEN)
    wrong = "987654:WRONG-token-abcdefghijklmnopqrstuvwxyz"
    async with fake.running() as url:
        (tmp_path / "t.toml").write_text(TOPICS, encoding="utf-8")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BANTIN_", "TELEGRAM_", "ZALO_"))
        }
        env.update(
            settings_env(
                database_url, url, TELEGRAM_BOT_TOKEN=wrong, BANTIN_CONFIG=str(tmp_path / "t.toml")
            )
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).resolve().parents[1] / "run_bot.py"),
            "run",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    text = out.decode() + err.decode()
    assert "could not run" in text
    assert wrong not in text and wrong.split(":")[1] not in text
