"""Commands, channel-agnostic: a scripted conversation against a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.channels.base import Incoming
from bot.chat.commands import Commands
from feeds.models import Topic
from storage.records import NewArticle
from storage.store import open_store

TOPICS = (
    Topic("dan-van", "Dân vận", ("dân vận",)),
    Topic("tuyen-giao", "Tuyên giáo"),
    Topic("xay-dung-dang", "Xây dựng Đảng"),
    Topic("kiem-tra", "Kiểm tra"),
)


@dataclass
class FakeReport:
    source_id: str
    ok: bool
    new: int
    seconds: float
    reason: str = ""


@pytest.fixture
async def commands(sqlite_url: str, clock) -> AsyncIterator[Commands]:  # type: ignore[no-untyped-def]
    store = await open_store(sqlite_url)

    async def poll_now() -> list[FakeReport]:
        return [FakeReport("a", True, 2, 0.5), FakeReport("b", False, 0, 1.0, "HTTP 500")]

    yield Commands(
        store,
        TOPICS,
        admins=frozenset({("telegram", "100")}),
        tz=ZoneInfo("Asia/Ho_Chi_Minh"),
        clock=clock,
        poll_now=poll_now,
        source_names={"a": "A"},
    )
    await store.close()


def member(text: str, chat_id: str = "7", **kw) -> Incoming:  # type: ignore[no-untyped-def]
    return Incoming(channel="telegram", chat_id=chat_id, user_id=chat_id, text=text, **kw)


async def say(commands: Commands, text: str, **kw) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(m.text for m in await commands.handle(member(text, **kw)))


async def test_start_registers_and_shows_topic_menu(commands: Commands) -> None:
    replies = await commands.handle(member("/start"))
    assert "Xin chào" in replies[0].text
    menu = replies[-1]
    assert [c.data for row in menu.choices for c in row] == [f"topic:{t.slug}" for t in TOPICS]
    assert await commands.store.get_chat("telegram", "7") is not None


async def test_subscribe_by_name_without_accents_and_toggle_by_button(commands: Commands) -> None:
    assert "Đã đăng ký chủ đề «Dân vận»" in await say(commands, "/subscribe dan van")
    assert "đã đăng ký chủ đề «Dân vận» rồi" in await say(commands, "/subscribe Dân Vận")
    assert "«Xây dựng Đảng»" in await say(commands, "/subscribe@bantin_bot xay-dung-dang")
    menu = (await commands.handle(member("", callback_data="topic:kiem-tra")))[0]
    labels = [c.label for row in menu.choices for c in row]
    assert "✅ Kiểm tra" in labels and "✅ Dân vận" in labels and "▫️ Tuyên giáo" in labels
    menu = (await commands.handle(member("", callback_data="topic:kiem-tra")))[0]
    assert "▫️ Kiểm tra" in [c.label for row in menu.choices for c in row]
    mysubs = await say(commands, "/mysubs")
    assert "Dân vận" in mysubs and "Xây dựng Đảng" in mysubs and "Kiểm tra" not in mysubs


async def test_unknown_topic_and_bad_arguments_get_hints(commands: Commands) -> None:
    assert "Không có chủ đề «thể thao»" in await say(commands, "/subscribe thể thao")
    assert "Cách dùng: /subscribe" in await say(commands, "/subscribe")
    assert "Cách dùng: /latest" in await say(commands, "/latest 99")
    assert "Không hiểu lệnh «/foo»" in await say(commands, "/foo bar")
    assert "/help" in await say(commands, "xin chào")
    assert "ít nhất 2" in await say(commands, "/follow a")


async def test_follow_unfollow_and_unsubscribe_all(commands: Commands) -> None:
    assert "«Chuyển đổi số»" in await say(commands, "/follow Chuyển đổi số")
    await say(commands, "/subscribe kiem tra")
    subs = await commands.store.subscriptions(await commands.store.get_chat("telegram", "7"))  # type: ignore[arg-type]
    assert {(s.kind, s.key) for s in subs} == {("keyword", "chuyển đổi số"), ("topic", "kiem-tra")}
    assert "Đã bỏ theo dõi" in await say(commands, "/unsubscribe chuyển đổi số")
    assert "Đã hủy tất cả 1" in await say(commands, "/unsubscribe tất cả")
    assert "chưa đăng ký gì" in await say(commands, "/mysubs")


async def test_latest_lists_articles(commands: Commands, clock) -> None:  # type: ignore[no-untyped-def]
    assert "Chưa có tin" in await say(commands, "/latest")
    store = commands.store
    await store.sync_sources(
        [type("S", (), {"id": "a", "name": "A", "kind": "rss", "url": "https://p/"})()], clock()
    )
    now = clock()
    await store.save_articles(
        [
            NewArticle(
                "a",
                f"k{i}",
                f"https://p/{i}",
                f"Bài số {i}",
                now - timedelta(hours=i),
                "",
                "",
                ("dan-van",) if i % 2 else ("kiem-tra",),
            )
            for i in range(1, 8)
        ],
        now,
        seeded=True,
    )
    text = await say(commands, "/latest")
    assert text.count("https://p/") == 5 and text.index("Bài số 1") < text.index("Bài số 2")
    text = await say(commands, "/search bai so 3")
    assert "Bài số 3" in text and "Bài số 4" not in text
    assert "Không tìm thấy" in await say(commands, "/search không có đâu")
    assert "Cách dùng: /search" in await say(commands, "/search ...")
    text = await say(commands, "/latest 2 dan van")
    assert (
        "Dân vận" in text and "Bài số 1" in text and "Bài số 3" in text and "Bài số 2" not in text
    )


async def test_language_switch_and_english_default(commands: Commands) -> None:
    text = "\n".join(
        m.text for m in await commands.handle(member("/start", chat_id="8", language_code="en-US"))
    )
    assert "Hello" in text
    assert "Tiếng" not in await say(commands, "/lang en")
    assert "Subscribed to “Dân vận”" in await say(commands, "/subscribe dan van")
    assert "Đã chuyển sang tiếng Việt" in await say(commands, "/lang vi")
    assert "Cách dùng: /lang" in await say(commands, "/lang fr")


async def test_stop_pauses_and_start_resumes(commands: Commands) -> None:
    await say(commands, "/start")
    assert "tạm dừng" in await say(commands, "/stop")
    assert (await commands.store.get_chat("telegram", "7")).paused  # type: ignore[union-attr]
    assert "Đã bật lại" in await say(commands, "/start")
    assert not (await commands.store.get_chat("telegram", "7")).paused  # type: ignore[union-attr]


async def test_admin_commands_refuse_members_and_serve_admins(commands: Commands) -> None:
    assert "chỉ dành cho quản trị viên" in await say(commands, "/poll")
    assert "chỉ dành cho quản trị viên" in await say(commands, "/broadcast Xin chào")
    text = await say(commands, "/poll", chat_id="100")
    assert "✅ a: 2 tin mới" in text and "❌ b: lỗi" in text and "HTTP 500" in text
    await say(commands, "/start")
    assert "tới 2 cuộc trò chuyện" in await say(
        commands, "/broadcast Họp chi bộ lúc 14:00", chat_id="100"
    )
    assert "Thống kê" in await say(commands, "/stats", chat_id="100")
    assert "Lệnh quản trị" in await say(commands, "/help", chat_id="100")
    assert "Lệnh quản trị" not in await say(commands, "/help")


async def test_group_members_cannot_change_group_subscriptions(commands: Commands) -> None:
    async def no() -> bool:
        return False

    async def yes() -> bool:
        return True

    text = "\n".join(
        m.text
        for m in await commands.handle(
            member("/subscribe dan van", chat_id="-5", chat_kind="group", chat_admin_check=no)
        )
    )
    assert "quản trị viên của nhóm" in text
    text = "\n".join(
        m.text
        for m in await commands.handle(
            member("/subscribe dan van", chat_id="-5", chat_kind="group", chat_admin_check=yes)
        )
    )
    assert "Đã đăng ký" in text


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("/start", "Hello"),
        ("/help", "Commands:"),
        ("/topics", "Topics (✅ = subscribed)"),
        ("/subscribe", "Usage: /subscribe"),
        ("/subscribe dan van", "Subscribed to “Dân vận”"),
        ("/subscribe sport", "No topic “sport”"),
        ("/unsubscribe", "Usage: /unsubscribe"),
        ("/unsubscribe kiem tra", "You are not subscribed to “Kiểm tra”"),
        ("/follow", "Usage: /follow"),
        ("/follow chuyển đổi số", "You will get articles containing “chuyển đổi số”"),
        ("/unfollow chuyển đổi số", "You do not follow “chuyển đổi số”"),
        ("/mysubs", "You have no subscriptions"),
        ("/latest", "No articles yet"),
        ("/latest 50", "Usage: /latest"),
        ("/search", "Usage: /search"),
        ("/search hội nghị", "No article contains “hội nghị”"),
        ("/digest 7:05", "one digest a day at 07:05"),
        ("/digest off", "Back to instant pushes"),
        ("/digest noon", "Usage: /digest"),
        ("/quiet off", "during quiet hours too"),
        ("/quiet maybe", "Usage: /quiet"),
        ("/lang xx", "Usage: /lang"),
        ("/stop", "All notifications paused"),
        ("/stats", "for administrators only"),
        ("/broadcast hi", "for administrators only"),
        ("/sources", "for administrators only"),
        ("/poll", "for administrators only"),
        ("/frobnicate", "Unknown command “/frobnicate”"),
        ("hello", "Type /help"),
    ],
)
async def test_every_command_answers_in_english(
    commands: Commands, text: str, english: str
) -> None:
    await commands.handle(member("/lang en", chat_id="55"))
    replies = "\n".join(m.text for m in await commands.handle(member(text, chat_id="55")))
    assert english in replies


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("/stats", "Statistics:"),
        ("/sources", "Sources:"),
        ("/poll", "✅ a: 2 new"),
        ("/broadcast", "Usage: /broadcast"),
        ("/broadcast kiem-tra Meeting at 2 pm", "Announcement queued for 0 chats"),
    ],
)
async def test_admin_commands_in_english(commands: Commands, text: str, english: str) -> None:
    await commands.handle(member("/lang en", chat_id="100"))
    replies = "\n".join(m.text for m in await commands.handle(member(text, chat_id="100")))
    assert english in replies
