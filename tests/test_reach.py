"""Reaching members where they are (issue 14), end to end through the fake Bot API: deep
links, backfill, forum topics, channels, inline search, mutes and /format."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Clock
from fake_telegram import FakeTelegram, Sent
from helpers import eventually, wait_for
from test_telegram import ADMIN, TOKEN, TOPICS, Bot, settings_env, texts

from bot.app import App
from bot.chat.deeplinks import make_payload, parse_payload, start_link
from bot.config import Config, load_settings
from feeds.topics import keyword_matches
from storage.records import NewArticle

FORUM = -1001234567890
CHANNEL = -1009876543210


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Bot]:
    fake = FakeTelegram(TOKEN, supports_inline_queries=True)
    async with fake.running() as url:
        settings = load_settings(settings_env(database_url, url))
        config = Config(settings, (), (), Path("t.toml")).with_sources_text(
            TOPICS, filename="t.toml"
        )
        app = App(config)
        await app.start()
        await app.store.sync_sources(
            [type("S", (), {"id": "x", "name": "X", "kind": "rss", "url": "https://p/"})()],
            datetime.now(UTC),
        )
        try:
            yield Bot(fake, app, url)
        finally:
            await app.stop()


_keys = iter(range(1, 10_000))


async def publish(
    bot: Bot, *titles: str, topics: tuple[str, ...] = ("dan-van",), body: str = ""
) -> None:
    """Store new articles (one transaction) as the poller would: keywords matched against
    what chats follow or mute."""
    store = bot.app.store
    keys = await store.keyword_keys()
    now = datetime.now(UTC)
    articles = []
    for title in titles:
        n = next(_keys)
        articles.append(
            NewArticle(
                "x",
                f"k{n}",
                f"https://portal.example/a-{n}",
                title,
                now - timedelta(minutes=10_000 - n),
                body,
                f"Tóm tắt {title}.",
                topics,
                tuple(keyword_matches(title, body, keys)),
            )
        )
    await store.save_articles(articles, now)
    bot.app.worker.wake()


async def say(bot: Bot, chat_id: int, text: str, *, settle: float = 0.4, **kw: Any) -> list[Sent]:
    before = len(bot.fake.sent)
    bot.fake.push_message(chat_id, text, **kw)
    await wait_for(lambda: len(bot.fake.sent) > before)
    await asyncio.sleep(settle)
    return bot.fake.sent[before:]


def test_payloads_name_topics_within_telegrams_limits() -> None:
    known = ["dan-van", "kiem-tra"]
    payload = make_payload(known)
    assert payload == "dan-van_kiem-tra"
    assert parse_payload(payload, known) == known
    assert parse_payload("dan-van_nope", known) == []
    assert parse_payload("bad payload!", known) == []
    assert start_link("b_bot", "kiem-tra", group=True) == "https://t.me/b_bot?startgroup=kiem-tra"


async def test_deep_link_subscribes_backfills_once(bot: Bot) -> None:
    await publish(bot, *(f"Tin dân vận số {i}" for i in range(4)))
    replies = await say(bot, 7, "/start dan-van_kiem-tra", settle=0.8)
    body = texts(replies)
    assert "Đã đăng ký: Dân vận, Kiểm tra" in body
    chat = await bot.app.store.get_chat("telegram", "7")
    assert chat is not None
    assert {s.key for s in await bot.app.store.subscriptions(chat)} == {"dan-van", "kiem-tra"}
    backfill = [s for s in replies if "Tin gần đây - Dân vận" in (s.text or "")]
    assert len(backfill) == 1  # one grouped message, the latest 3 articles
    assert [f"Tin dân vận số {i}" in (backfill[0].text or "") for i in range(4)] == [
        False,
        True,
        True,
        True,
    ]
    # Not again for a topic it already had, even after leaving and coming back.
    await say(bot, 7, "/unsubscribe dan van")
    again = await say(bot, 7, "/subscribe dan van", settle=0.8)
    assert "Đã đăng ký" in texts(again) and "Tin gần đây" not in texts(again)


async def test_a_tap_in_topics_backfills_as_a_new_message(bot: Bot) -> None:
    await publish(bot, "Tin kiểm tra", topics=("kiem-tra",))
    menu = (await say(bot, 9, "/topics"))[-1]
    before = len(bot.fake.sent_to(9))
    bot.fake.push_callback(9, menu.message_id, "topic:kiem-tra")
    await wait_for(lambda: len(bot.fake.sent_to(9)) > before)
    assert "Tin gần đây - Kiểm tra" in (bot.fake.sent_to(9)[-1].text or "")
    assert bot.fake.edits and bot.fake.edits[-1].message_id == menu.message_id


async def test_startgroup_subscribes_a_group_when_an_admin_adds_the_bot(bot: Bot) -> None:
    group = -600
    bot.fake.set_chat_admins(group, [42])
    refused = await say(
        bot, group, "/start@bantin_test_bot kiem-tra", chat_type="supergroup", user_id=43
    )
    assert "quản trị viên của nhóm" in texts(refused)
    ok = await say(
        bot, group, "/start@bantin_test_bot kiem-tra", chat_type="supergroup", user_id=42
    )
    assert "Đã đăng ký: Kiểm tra" in texts(ok)
    chat = await bot.app.store.get_chat("telegram", str(group))
    assert chat is not None and chat.kind == "group"
    assert [s.key for s in await bot.app.store.subscriptions(chat)] == ["kiem-tra"]
    bad = await say(bot, 8, "/start khong-co")
    assert "Liên kết không hợp lệ" in texts(bad)


async def test_forum_topic_round_trip_and_fallback_to_general(bot: Bot) -> None:
    fake = bot.fake
    fake.make_forum(FORUM, "Chi bộ")
    fake.set_chat_admins(FORUM, [42])
    thread = fake.create_topic(FORUM, "Dân vận")
    replies = await say(bot, FORUM, "/subscribe dan van", user_id=42, thread_id=thread)
    assert "Đã đăng ký" in texts(replies)
    assert all(s.message_thread_id == thread for s in replies)  # answered in the topic
    where = await say(bot, FORUM, "/mysubs", user_id=42)
    assert f"Dân vận → chủ đề diễn đàn #{thread}" in texts(where)

    await publish(bot, "Hội nghị dân vận")
    await wait_for(lambda: any("Hội nghị dân vận" in (s.text or "") for s in fake.sent_to(FORUM)))
    push = next(s for s in fake.sent_to(FORUM) if "Hội nghị dân vận" in (s.text or ""))
    assert push.message_thread_id == thread

    fake.close_topic(FORUM, thread)
    await publish(bot, "Tin sau khi đóng chủ đề")
    await wait_for(
        lambda: (
            any("Tin sau khi đóng" in (s.text or "") for s in fake.sent_to(FORUM))
            and any("quản trị viên nhóm" in (s.text or "") for s in fake.sent_to(FORUM))
        )
    )
    fallback = next(s for s in fake.sent_to(FORUM) if "Tin sau khi đóng" in (s.text or ""))
    assert fallback.message_thread_id is None  # the General topic
    await publish(bot, "Tin thứ ba")
    await wait_for(lambda: any("Tin thứ ba" in (s.text or "") for s in fake.sent_to(FORUM)))
    await asyncio.sleep(0.3)
    notices = [s for s in fake.sent_to(FORUM) if "quản trị viên nhóm" in (s.text or "")]
    assert len(notices) == 1 and notices[0].message_thread_id is None  # told once
    where = await say(bot, FORUM, "/mysubs", user_id=42)
    assert "Dân vận" in texts(where) and f"#{thread}" not in texts(where)


async def test_forum_deleted_topic_also_falls_back(bot: Bot) -> None:
    fake = bot.fake
    fake.make_forum(FORUM)
    fake.set_chat_admins(FORUM, [42])
    thread = fake.create_topic(FORUM)
    await say(bot, FORUM, "/subscribe kiem tra", user_id=42, thread_id=thread)
    fake.delete_topic(FORUM, thread)
    await publish(bot, "Tin kiểm tra mới", topics=("kiem-tra",))
    await wait_for(lambda: any("Tin kiểm tra mới" in (s.text or "") for s in fake.sent_to(FORUM)))
    assert (
        next(
            s for s in fake.sent_to(FORUM) if "Tin kiểm tra mới" in (s.text or "")
        ).message_thread_id
        is None
    )


async def test_channel_add_posts_list_and_removal(bot: Bot) -> None:
    fake = bot.fake
    fake.add_channel(CHANNEL, "@tin_kenh", title="Kênh tin", admins=[55])
    fake.add_channel(-1005, "@kenh_khac", title="Kênh khác", admins=[55], bot_is_admin=False)
    refused = await say(bot, 56, "/channel add @tin_kenh dan-van")
    assert "không phải quản trị viên" in texts(refused)
    no_bot = await say(bot, 55, "/channel add @kenh_khac dan-van")
    assert "Bot chưa là quản trị viên" in texts(no_bot)
    missing = await say(bot, 55, "/channel add @khong_co dan-van")
    assert "Không tìm thấy kênh" in texts(missing)
    added = await say(bot, 55, "/channel add @tin_kenh dan-van kiem-tra")
    assert "Đã thêm kênh «Kênh tin»" in texts(added)
    listed = await say(bot, 55, "/channel list")
    assert "Kênh tin" in texts(listed) and "Dân vận, Kiểm tra" in texts(listed)
    assert "Chưa có kênh" in texts(await say(bot, 56, "/channel list"))
    group = await say(bot, -700, "/channel list", chat_type="supergroup", user_id=55)
    assert "trò chuyện riêng" in texts(group)

    await publish(bot, "Tin cho kênh")
    await wait_for(lambda: any("Tin cho kênh" in (s.text or "") for s in fake.sent_to(CHANNEL)))

    # A command posted in the channel by its admins is answered there.
    before = len(fake.sent_to(CHANNEL))
    fake.push_channel_post(CHANNEL, "/mysubs")
    await wait_for(lambda: len(fake.sent_to(CHANNEL)) > before)
    assert "Dân vận" in (fake.sent_to(CHANNEL)[-1].text or "")

    fake.remove_from_channel(CHANNEL)

    async def deactivated() -> bool:
        chat = await bot.app.store.get_chat("telegram", str(CHANNEL))
        return chat is not None and not chat.active

    await eventually(deactivated)
    assert "Chưa có kênh" in texts(await say(bot, 55, "/channel list"))


async def test_channel_remove_and_unreachable_channel_deactivates(bot: Bot) -> None:
    fake = bot.fake
    fake.add_channel(CHANNEL, "@tin_kenh", title="Kênh tin", admins=[55])
    await say(bot, 55, "/channel add @tin_kenh dan-van")
    removed = await say(bot, 55, "/channel remove @tin_kenh")
    assert "Đã ngừng đăng" in texts(removed)
    assert "chưa được thêm" in texts(await say(bot, 55, "/channel remove @tin_kenh"))
    # Added again, then the bot loses the channel without our seeing the update: the first
    # refused post deactivates it.
    await say(bot, 55, "/channel add @tin_kenh dan-van")
    fake.block(CHANNEL)  # every post answers 403, and no my_chat_member update comes
    await publish(bot, "Tin không tới")

    async def deactivated() -> bool:
        chat = await bot.app.store.get_chat("telegram", str(CHANNEL))
        return chat is not None and not chat.active

    await eventually(deactivated)


async def test_inline_query_answers_article_cards_cached_a_minute(bot: Bot) -> None:
    fake = bot.fake
    await publish(bot, "Hội nghị tổng kết công tác dân vận")
    await publish(bot, "Tin kiểm tra khác", topics=("kiem-tra",))
    qid = fake.push_inline_query(7, "hoi nghi")
    await wait_for(lambda: qid in fake.inline_answers)
    answer = fake.inline_answers[qid]
    results = answer["results"]
    assert [r["title"] for r in results] == ["Hội nghị tổng kết công tác dân vận"]
    card = results[0]
    assert card["type"] == "article" and card["description"]
    content = card["input_message_content"]
    assert "<b>Hội nghị tổng kết" in content["message_text"]
    assert "https://portal.example/" in content["message_text"]
    assert answer["cache_time"] == 60

    latest = fake.push_inline_query(8, "")
    await wait_for(lambda: latest in fake.inline_answers)
    assert len(fake.inline_answers[latest]["results"]) == 2

    # Within a minute the same query is served from the cache, new articles notwithstanding.
    await publish(bot, "Hội nghị thứ hai")
    again = fake.push_inline_query(9, "hội nghị")
    await wait_for(lambda: again in fake.inline_answers)
    assert len(fake.inline_answers[again]["results"]) == 1
    assert not fake.crashes


async def test_mute_beats_topics_and_keywords(bot: Bot) -> None:
    fake = bot.fake
    await say(bot, 7, "/subscribe dan van")
    await say(bot, 7, "/follow hội nghị")
    assert "Đã chặn «bao lu»" in texts(await say(bot, 7, "/mute bao lu"))
    assert "bao lu" in texts(await say(bot, 7, "/mysubs"))
    await say(bot, 8, "/subscribe dan van")  # not muted there

    await publish(bot, "Hội nghị ứng phó bão lũ", body="Dân vận giúp dân vùng bão lũ.")
    await publish(bot, "Hội nghị bình thường")
    await wait_for(lambda: any("Hội nghị bình thường" in (s.text or "") for s in fake.sent_to(7)))
    await wait_for(lambda: any("bão lũ" in (s.text or "") for s in fake.sent_to(8)))
    assert not any("bão lũ" in (s.text or "") for s in fake.sent_to(7))

    assert "Đã bỏ chặn" in texts(await say(bot, 7, "/unmute bão lũ"))
    await publish(bot, "Sau bão lũ")
    await wait_for(lambda: any("Sau bão lũ" in (s.text or "") for s in fake.sent_to(7)))


async def test_format_per_chat(bot: Bot) -> None:
    fake = bot.fake
    await say(bot, 7, "/subscribe dan van")
    assert "Cách dùng: /format" in texts(await say(bot, 7, "/format big"))
    assert "compact" in texts(await say(bot, 7, "/format compact"))
    await publish(bot, "Tin gọn")
    await wait_for(lambda: any("Tin gọn" in (s.text or "") for s in fake.sent_to(7)))
    compact = next(s for s in fake.sent_to(7) if "Tin gọn" in (s.text or ""))
    assert "Tóm tắt" not in (compact.text or "") and 'href="https://portal' in (compact.text or "")

    await say(bot, 7, "/format titles")
    await say(bot, 7, "/digest 00:00")
    chat = await bot.app.store.get_chat("telegram", "7")
    assert chat is not None
    # Due digest: the next articles go as one grouped message, a list of titles.
    await bot.app.store.update_chat(
        chat, datetime.now(UTC), last_digest_at=datetime.now(UTC) - timedelta(days=2)
    )
    await publish(bot, "Tiêu đề một", "Tiêu đề hai")
    await wait_for(lambda: any("Tiêu đề hai" in (s.text or "") for s in fake.sent_to(7)))
    grouped = next(s for s in fake.sent_to(7) if "Tiêu đề hai" in (s.text or ""))
    assert "Tiêu đề một" in (grouped.text or "") and "Tóm tắt" not in (grouped.text or "")
    assert "• " in (grouped.text or "")


async def test_help_and_menu_name_the_new_commands(bot: Bot) -> None:
    help_text = texts(await say(bot, 7, "/help"))
    for command in ("/mute", "/unmute", "/format", "/channel"):
        assert command in help_text
    vi = {c["command"] for c in bot.fake.commands["vi"]}
    en = {c["command"] for c in bot.fake.commands["en"]}
    assert {"mute", "unmute", "format", "channel"} <= vi & en
    assert ADMIN  # the admin chat exists in the settings


async def test_mutes_format_and_channels_on_zalo_and_the_console(
    sqlite_url: str, clock: Clock
) -> None:
    from zoneinfo import ZoneInfo

    from bot.channels.base import Incoming
    from bot.chat.commands import Commands
    from feeds.models import Topic
    from storage.store import Store

    store = Store.open(sqlite_url)
    await store.upgrade()
    topics = (Topic("dan-van", "Dân vận", ("dân vận",)),)
    commands = Commands(
        store, topics, admins=frozenset(), tz=ZoneInfo("Asia/Ho_Chi_Minh"), clock=clock
    )
    try:
        for channel, kind in (("zalo", "private"), ("console", "console")):

            async def say_(text: str, channel: str = channel, kind: str = kind) -> str:
                msg = Incoming(
                    channel=channel, chat_id="u1", user_id="u1", text=text, chat_kind=kind
                )
                return "\n".join(m.text for m in await commands.handle(msg))

            assert "Đã chặn" in await say_("/mute thời tiết")
            assert "Đã chặn: thời tiết" in await say_("/mysubs")
            assert "titles" in await say_("/format titles")
            assert "Nền tảng này không có kênh" in await say_("/channel list")
            assert "Đã bỏ chặn" in await say_("/unmute thoi tiet")
            chat = await store.get_chat(channel, "u1")
            assert chat is not None and chat.format == "titles"
            assert [s for s in await store.subscriptions(chat) if s.kind == "mute"] == []
    finally:
        await store.close()


async def test_links_prints_each_topic_and_writes_a_qr_png(tmp_path: Path) -> None:
    from test_cli import env_for, run_cli

    config = tmp_path / "bantin.toml"
    config.write_text(TOPICS, encoding="utf-8")
    fake = FakeTelegram(TOKEN, username="bantin_portal_bot")
    async with fake.running() as url:
        env = env_for(tmp_path, config, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=url)
        code, out, err = await run_cli("links", "-o", str(tmp_path / "qr"), env=env, cwd=tmp_path)
    assert code == 0, err
    assert fake.calls["getMe"] == 1
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0][:4] == [
        "dan-van",
        "Dân vận",
        "https://t.me/bantin_portal_bot?start=dan-van",
        "https://t.me/bantin_portal_bot?startgroup=dan-van",
    ]
    assert rows[-1][2] == "https://t.me/bantin_portal_bot?start=dan-van_kiem-tra"
    for slug in ("dan-van", "kiem-tra"):
        png = (tmp_path / "qr" / f"{slug}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 200
    assert TOKEN not in out + err

    code, out, err = await run_cli(
        "links", "--username", "@x_bot", "-o", str(tmp_path / "q2"), env=env, cwd=tmp_path
    )
    assert code == 0 and "https://t.me/x_bot?start=kiem-tra" in out


async def test_grouped_messages_never_mix_forum_topics(sqlite_url: str, clock: Clock) -> None:
    from storage.store import Store

    store = Store.open(sqlite_url)
    await store.upgrade()
    try:
        now = clock()
        await store.sync_sources(
            [type("S", (), {"id": "x", "name": "X", "kind": "rss", "url": "https://p/"})()], now
        )
        chat = await store.upsert_chat("telegram", str(FORUM), now, kind="group")
        await store.subscribe(chat, "topic", "a", "a", now, thread_id="5")
        await store.subscribe(chat, "topic", "b", "b", now)
        articles = [
            NewArticle("x", f"g{i}", f"https://p/{i}", f"T{i}", now, "", "", (topic,))
            for i, topic in enumerate(["a", "a", "b", "a"])
        ]
        await store.save_articles(articles, now)
        seen = []
        while jobs := await store.claim_due("telegram", now, owner="w", group_max=50):
            (job,) = jobs
            seen.append((job.thread_id, [a.title for a in job.articles]))
            await store.mark_sent(job.ids, now)
        assert seen == [("5", ["T0", "T1"]), (None, ["T2"]), ("5", ["T3"])]
        # Subscribing again from another topic moves the subscription there.
        assert not await store.subscribe(chat, "topic", "b", "b", now, thread_id="9")
        subs = {s.key: s.thread_id for s in await store.subscriptions(chat)}
        assert subs == {"a": "5", "b": "9"}
        assert await store.unbind_thread(chat.id, "5", now) == 1
        assert await store.unbind_thread(chat.id, "5", now) == 0
    finally:
        await store.close()
