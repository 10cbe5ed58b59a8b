"""Tests of the fake Bot API server (tests/fake_telegram.py) driven by the real
python-telegram-bot over loopback: shapes PTB accepts, update delivery, scripted errors and the
exceptions PTB turns them into, rate limits on an injected clock, Telegram's text rules."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import AsyncIterator

import httpx
import pytest
from fake_telegram import ANY_SEND, FakeTelegram, HtmlError, parse_html
from starlette.types import Receive, Scope, Send
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.warnings import PTBDeprecationWarning

from bot.ops.httpserver import serve

# PTB 22 warns whenever a RetryAfter is *constructed* (its __init__ reads the deprecated int
# property), so the warning is PTB's noise, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # binary, with CR/LF and "--" inside


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def connected(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A real PTB Bot talking to ``fake`` over loopback (initialize() calls getMe)."""
    async with fake.running() as url, Bot(fake.token, base_url=f"{url}/bot") as bot:
        yield bot


def retry_after_seconds(exc: RetryAfter) -> float:
    """PTB 22 warns on reading ``retry_after`` unless PTB_TIMEDELTA is set (it will become a
    timedelta); read it quietly and normalise to seconds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value if isinstance(value, int | float) else value.total_seconds()


KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Thời sự ✓", callback_data="topic:thoi-su")],
        [InlineKeyboardButton("Mở bài", url="https://dangbo.example/bai-duk1.aspx")],
    ]
)


# -- basics --------------------------------------------------------------------------------


async def test_get_me_answers_the_bot_user() -> None:
    fake = FakeTelegram(username="bantin_test_bot")
    async with connected(fake) as bot:
        me = await bot.get_me()
    assert me.id == 123456 and me.is_bot and me.username == "bantin_test_bot"
    assert me.can_join_groups is True and me.supports_inline_queries is False
    assert fake.calls["getMe"] == 2  # Bot.initialize() asks once, the test once more


async def test_wrong_token_and_unknown_method() -> None:
    fake = FakeTelegram()
    async with fake.running() as url:
        # Bot.initialize() re-raises the 401 with the token in the message (beware of logging
        # it); the server's own words are on the cause.
        with pytest.raises(InvalidToken, match="999:wrong") as rejected:
            async with Bot("999:wrong", base_url=f"{url}/bot") as bot:
                pass
        assert str(rejected.value.__cause__) == "Unauthorized"
        async with Bot(fake.token, base_url=f"{url}/bot") as bot:
            with pytest.raises(EndPointNotFound):
                await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
        async with httpx.AsyncClient(base_url=url) as client:
            answer = await client.post(f"/bot{fake.token}/noSuchMethod")
            assert answer.status_code == 404
            assert answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
            answer = await client.get(f"/bot{fake.token}/GETME")  # names are case-insensitive
            assert answer.json()["result"]["username"] == "bantin_test_bot"


async def test_ptb_sends_form_urlencoded_and_multipart_for_files() -> None:
    fake = FakeTelegram()
    seen: list[tuple[str, str]] = []

    async def spy(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            content_type = headers.get(b"content-type", b"").decode()
            seen.append((scope["path"].rsplit("/", 1)[-1], content_type.partition(";")[0]))
        await fake.app(scope, receive, send)

    server = await serve(spy)
    try:
        async with Bot(fake.token, base_url=f"{server.base_url}/bot") as bot:
            await bot.send_message(1, "x", reply_markup=KEYBOARD)
            await bot.send_photo(1, PNG, caption="y")
            await bot.get_updates(timeout=0)
    finally:
        await server.stop()
    assert seen == [
        ("getMe", ""),  # no parameters: no body and no content type
        ("sendMessage", "application/x-www-form-urlencoded"),
        ("sendPhoto", "multipart/form-data"),
        ("getUpdates", "application/x-www-form-urlencoded"),
    ]


async def test_json_bodies_are_accepted_too() -> None:
    fake = FakeTelegram()
    async with fake.running() as url, httpx.AsyncClient(base_url=url) as client:
        answer = await client.post(
            f"/bot{fake.token}/sendMessage",
            json={
                "chat_id": 5,
                "text": "<i>hi</i>",
                "parse_mode": "HTML",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]},
            },
        )
    assert answer.status_code == 200
    assert answer.json()["result"]["text"] == "hi"
    assert fake.sent[0].reply_markup == {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}


# -- sending -------------------------------------------------------------------------------


async def test_send_message_with_html_keyboard_and_link_preview() -> None:
    clock = FakeClock()
    fake = FakeTelegram(clock=clock)
    text = '<b>Tin mới</b> &amp; <a href="https://dangbo.example/a?x=1&amp;y=2">đọc</a> 🇻🇳'
    async with connected(fake) as bot:
        message = await bot.send_message(
            77,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=KEYBOARD,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        second = await bot.send_message(77, "plain", disable_web_page_preview=False)

    # What PTB got back is a real Message: parsed text, entities in UTF-16, the keyboard.
    assert message.message_id == 1 and second.message_id == 2
    assert message.chat.id == 77 and message.chat.type == "private"
    assert message.from_user is not None and message.from_user.is_bot
    assert message.text == "Tin mới & đọc 🇻🇳"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 7),
        ("text_link", 10, 3),
    ]
    assert message.entities[1].url == "https://dangbo.example/a?x=1&y=2"
    assert message.text_html.startswith("<b>Tin mới</b> &amp; <a href=")
    assert message.reply_markup == KEYBOARD

    (sent, plain) = fake.sent
    assert sent.method == "sendMessage" and sent.chat_id == 77 and sent.message_id == 1
    assert sent.text == text and sent.parse_mode == "HTML"
    assert sent.reply_markup == KEYBOARD.to_dict()
    assert sent.link_preview_disabled is True and sent.photo is None and sent.at == 500.0
    assert plain.link_preview_disabled is False and plain.parse_mode is None
    assert fake.sent_to(77) == [sent, plain] and fake.sent_to(78) == []


async def test_send_photo_uploads_bytes_or_takes_a_url() -> None:
    fake = FakeTelegram()
    async with connected(fake) as bot:
        message = await bot.send_photo(
            -100, PNG, caption="<b>Ảnh</b> bài viết", parse_mode="HTML", reply_markup=KEYBOARD
        )
        by_url = await bot.send_photo(-100, "https://dangbo.example/images/1.jpg")
    assert message.photo[-1].file_size == len(PNG)
    assert message.caption == "Ảnh bài viết" and message.caption_entities[0].type == "bold"
    assert message.chat.type == "group" and message.chat.title
    assert by_url.caption is None
    first, second = fake.sent_to(-100)
    assert first.photo == PNG and first.caption == "<b>Ảnh</b> bài viết" and first.text is None
    assert first.reply_markup == KEYBOARD.to_dict()
    assert second.photo == "https://dangbo.example/images/1.jpg"


async def test_edit_message_text_and_markup() -> None:
    fake = FakeTelegram()
    async with connected(fake) as bot:
        message = await bot.send_message(9, "Chọn chủ đề", reply_markup=KEYBOARD)
        edited = await bot.edit_message_text(
            "<i>Đã chọn</i>", chat_id=9, message_id=message.message_id, parse_mode="HTML"
        )
        # Telegram drops the keyboard on an edit that does not resend it.
        assert edited.text == "Đã chọn" and edited.reply_markup is None
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text("<i>Đã chọn</i>", 9, message.message_id, parse_mode="HTML")
        again = await bot.edit_message_reply_markup(9, message.message_id, reply_markup=KEYBOARD)
        assert again.reply_markup == KEYBOARD
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=9, message_id=999)
    assert [(e.method, e.text, e.parse_mode) for e in fake.edits] == [
        ("editMessageText", "<i>Đã chọn</i>", "HTML"),
        ("editMessageReplyMarkup", None, None),
    ]
    assert fake.edits[1].reply_markup == KEYBOARD.to_dict()
    assert fake.message(9, message.message_id)["text"] == "Đã chọn"  # type: ignore[index]


async def test_keyboard_callback_data_over_64_bytes_is_refused() -> None:
    fake = FakeTelegram()
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="đ" * 33)]])
    async with connected(fake) as bot:
        with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(1, "x", reply_markup=too_long)
    assert fake.sent == []


# -- updates -------------------------------------------------------------------------------


async def test_get_updates_offset_limit_and_shapes() -> None:
    fake = FakeTelegram()
    first = fake.push_message(42, "/start@bantin_test_bot xin chào", first_name="Lan")
    fake.push_message(-500, "/topics", chat_type="group", chat_title="Chi bộ 3", user_id=7)
    assert first["update_id"] == 1
    async with connected(fake) as bot:
        updates = await bot.get_updates(limit=1)
        assert [u.update_id for u in updates] == [1]
        command = updates[0].message
        assert command.text == "/start@bantin_test_bot xin chào"
        assert command.entities[0].type == "bot_command"
        assert (command.entities[0].offset, command.entities[0].length) == (0, 22)
        assert command.from_user.language_code == "vi" and command.chat.first_name == "Lan"

        updates = await bot.get_updates()  # no offset: nothing confirmed yet
        assert [u.update_id for u in updates] == [1, 2]
        group = updates[1].message
        assert group.chat.type == "group" and group.chat.title == "Chi bộ 3"
        assert group.from_user.id == 7

        assert await bot.get_updates(offset=3) == ()
        assert fake.pending_updates == 0

        fake.push_message(42, "a")
        fake.push_callback(42, 1, "b")
        fake.push_message(42, "c")
        only = await bot.get_updates(allowed_updates=["callback_query"])
        assert [u.callback_query.data for u in only] == ["b"]
        everything = await bot.get_updates(allowed_updates=[])  # [] = the default again
        assert len(everything) == 3
        assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["c"]
        assert fake.pending_updates == 1
    assert fake.calls["getUpdates"] == 6


async def test_long_poll_returns_as_soon_as_an_update_arrives() -> None:
    fake = FakeTelegram()
    async with connected(fake) as bot:
        started = time.perf_counter()
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.sleep(0.1)
        assert not poll.done()
        fake.push_message(42, "xin chào")
        updates = await asyncio.wait_for(poll, 2)
        assert [u.message.text for u in updates] == ["xin chào"]
        assert time.perf_counter() - started < 1.0

        started = time.perf_counter()
        assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == ()
        assert 0.9 < time.perf_counter() - started < 2.0  # an empty long poll waits it out


async def test_a_newer_get_updates_ends_the_waiting_one_with_conflict() -> None:
    fake = FakeTelegram()
    async with (
        fake.running() as url,
        Bot(fake.token, base_url=f"{url}/bot") as bot,
        # A second Bot: one Bot's getUpdates pool has a single connection, so a second
        # concurrent call on the same Bot would only time out ("Pool timeout") waiting for it.
        Bot(fake.token, base_url=f"{url}/bot") as other,
    ):
        first = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.sleep(0.1)
        assert await other.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await asyncio.wait_for(first, 2)


async def test_callback_query_carries_the_bot_message_and_is_answered_once() -> None:
    fake = FakeTelegram()
    async with connected(fake) as bot:
        sent = await bot.send_message(42, "Chọn", reply_markup=KEYBOARD)
        fake.push_callback(42, sent.message_id, "topic:thoi-su")
        (update,) = await bot.get_updates()
        query = update.callback_query
        assert query.data == "topic:thoi-su" and query.from_user.id == 42
        assert query.message.message_id == sent.message_id and query.message.text == "Chọn"
        assert query.message.reply_markup == KEYBOARD
        assert await bot.answer_callback_query(query.id, text="Đã lưu") is True
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(query.id)
    assert fake.callback_answers == [{"callback_query_id": query.id, "text": "Đã lưu"}]


async def test_make_update_builds_without_queuing_for_webhook_tests() -> None:
    fake = FakeTelegram()
    one = fake.make_message_update(1, "/help")
    two = fake.make_callback_update(1, 99, "x")  # never sent: an inaccessible message
    assert two["update_id"] > one["update_id"] and fake.pending_updates == 0
    async with connected(fake) as bot:
        parsed = Update.de_json(two, bot)
    assert parsed.callback_query.message.chat.id == 1
    assert not parsed.callback_query.message.is_accessible


async def test_webhook_excludes_polling() -> None:
    fake = FakeTelegram()
    fake.push_message(1, "old")
    async with connected(fake) as bot:
        with pytest.raises(BadRequest, match="(?i)HTTPS URL"):
            await bot.set_webhook("http://insecure.example/hook")
        await bot.set_webhook("https://bot.example/hook", secret_token="s3cret")
        assert fake.webhook == {"url": "https://bot.example/hook", "secret_token": "s3cret"}
        info = await bot.get_webhook_info()
        assert info.url == "https://bot.example/hook" and info.pending_update_count == 1
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        await bot.delete_webhook(drop_pending_updates=True)
        assert fake.webhook is None and fake.pending_updates == 0


# -- commands and chats --------------------------------------------------------------------


async def test_set_my_commands_per_language_and_scope() -> None:
    fake = FakeTelegram()
    async with connected(fake) as bot:
        await bot.set_my_commands(
            [BotCommand("start", "Bắt đầu"), BotCommand("latest", "Tin mới nhất")],
            language_code="vi",
        )
        await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
        await bot.set_my_commands(
            [BotCommand("settings", "Cài đặt")], scope=BotCommandScopeAllPrivateChats()
        )
        vi = await bot.get_my_commands(language_code="vi")
        assert [c.command for c in vi] == ["start", "latest"]
        assert await bot.get_my_commands() == ()  # default scope, no language: not set
        with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([BotCommand("Latest-News", "x")])
        await bot.delete_my_commands(language_code="en")
    assert fake.commands == {
        "vi": [
            {"command": "start", "description": "Bắt đầu"},
            {"command": "latest", "description": "Tin mới nhất"},
        ]
    }
    assert fake.scoped_commands[("all_private_chats", "")] == [
        {"command": "settings", "description": "Cài đặt"}
    ]


async def test_chat_member_status_and_get_chat() -> None:
    fake = FakeTelegram()
    fake.set_chat_admins(-300, [7, 8], creator=9)
    fake.push_message(-300, "hi", chat_type="supergroup", chat_title="Ban biên tập", user_id=7)
    async with connected(fake) as bot:
        assert (await bot.get_chat_member(-300, 7)).status == "administrator"
        assert (await bot.get_chat_member(-300, 9)).status == "creator"
        assert (await bot.get_chat_member(-300, 10)).status == "member"
        chat = await bot.get_chat(-300)
        assert chat.type == "supergroup" and chat.title == "Ban biên tập"
        assert await bot.send_chat_action(-300, "typing") is True
        assert await bot.close() is True and await bot.log_out() is True


# -- scripted failures and what PTB raises -------------------------------------------------


async def test_scripted_errors_surface_as_ptb_exceptions() -> None:
    fake = FakeTelegram()
    fake.flood(chat_id=1, retry_after=3)
    fake.block(2)
    fake.chat_not_found(3)
    fake.migrate(-4, -1004)
    async with connected(fake) as bot:
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(1, "x")
        assert retry_after_seconds(flood.value) == 3
        await bot.send_message(1, "x")  # times=1: the next send goes through

        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(2, "x")
        with pytest.raises(Forbidden):
            await bot.send_photo(2, PNG)  # every send, not just the next
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(3, "x")
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(-4, "x")
        assert migrated.value.new_chat_id == -1004

        fake.fail("sendMessage", status=500)
        # A 5xx is a plain NetworkError with the description as its message: not TimedOut
        # (that is only for httpx timeouts) and not BadRequest (a NetworkError subclass!).
        with pytest.raises(NetworkError) as server_error:
            await bot.send_message(5, "x")
        assert type(server_error.value) is NetworkError
        assert server_error.value.message == "Internal Server Error"
        assert not isinstance(server_error.value, TimedOut)

        fake.restore(2)
        await bot.send_message(2, "back")
    assert [(s.chat_id, s.text) for s in fake.sent] == [(1, "x"), (2, "back")]
    assert fake.rejected_429 == 0  # scripted 429s are not the rate limiter's


async def test_502_and_429_without_retry_after_are_plain_network_errors() -> None:
    fake = FakeTelegram()
    fake.fail("getMe", status=502)
    fake.script(
        ANY_SEND,
        {"ok": False, "error_code": 429, "description": "Too Many Requests: retry later"},
    )
    async with fake.running() as url:
        bot = Bot(fake.token, base_url=f"{url}/bot")
        with pytest.raises(NetworkError, match="Bad Gateway") as bad_gateway:
            await bot.initialize()
        assert type(bad_gateway.value) is NetworkError
        async with bot:
            with pytest.raises(NetworkError, match="retry later") as no_retry_after:
                await bot.send_message(1, "x")
            assert not isinstance(no_retry_after.value, RetryAfter)
    assert fake.sent == []


# -- rate limits ---------------------------------------------------------------------------


async def test_private_chat_interval() -> None:
    clock = FakeClock()
    fake = FakeTelegram(per_chat_interval=1.0, clock=clock)
    async with connected(fake) as bot:
        await bot.send_message(10, "một")
        clock.now += 0.3
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(10, "hai")
        assert retry_after_seconds(refused.value) == 1
        await bot.send_message(11, "other chat")  # per chat
        await bot.send_message(-12, "groups are not private chats")
        clock.now += 0.7
        await bot.send_message(10, "hai")
    assert [s.text for s in fake.sent_to(10)] == ["một", "hai"]
    assert fake.rejected_429 == 1


async def test_global_token_bucket() -> None:
    clock = FakeClock()
    fake = FakeTelegram(global_rate=2, clock=clock)  # burst of 2, then 2 per second
    async with connected(fake) as bot:
        await bot.send_message(1, "a")
        await bot.send_message(2, "b")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(3, "c")
        assert retry_after_seconds(refused.value) == 1  # 0.5 s, rounded up
        clock.now += 0.5
        await bot.send_message(3, "c")
        with pytest.raises(RetryAfter):
            await bot.send_message(4, "d")
        clock.now += 10  # refills to the burst, not beyond
        for chat in (4, 5):
            await bot.send_message(chat, "e")
        with pytest.raises(RetryAfter):
            await bot.send_message(6, "f")
    assert len(fake.sent) == 5 and fake.rejected_429 == 3


async def test_group_per_minute_is_a_rolling_window() -> None:
    clock = FakeClock()
    fake = FakeTelegram(group_per_minute=3, clock=clock)
    async with connected(fake) as bot:
        for _ in range(3):
            await bot.send_message(-7, "x")
            clock.now += 10
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(-7, "x")
        assert retry_after_seconds(refused.value) == 30  # the first send leaves at t+60
        await bot.send_message(7, "a private chat is not limited per minute")
        clock.now += 30
        await bot.send_message(-7, "x")
    assert len(fake.sent_to(-7)) == 4


# -- Telegram's text rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>a & b", "does not start an HTML entity"),
        ("<b>a &amp; b", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("a<br>b", 'Unsupported start tag "br"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("x</b>", 'Unexpected end tag "b"'),
        ('<span class="x">s</span>', 'must have class "tg-spoiler"'),
        ("it&apos;s", "does not start an HTML entity"),
        ('<a href="https://x.vn/?a=1&b=2">x</a>', 'attribute of the tag "a"'),
    ],
)
async def test_malformed_html_is_refused(html: str, reason: str) -> None:
    with pytest.raises(HtmlError, match=reason.replace("(", r"\(")):
        parse_html(html)


async def test_html_validation_through_ptb() -> None:
    fake = FakeTelegram()
    async with connected(fake) as bot:
        ok = await bot.send_message(1, "<b>a &amp; b</b>", parse_mode="HTML")
        assert ok.text == "a & b"
        with pytest.raises(BadRequest, match="(?i)can.t parse entities"):
            await bot.send_message(1, "<b>a & b", parse_mode="HTML")
        # Without a parse mode nothing is markup.
        assert (await bot.send_message(1, "<b>a & b")).text == "<b>a & b"
    assert len(fake.sent) == 2


def test_parse_html_entities_and_offsets() -> None:
    text, entities = parse_html(
        '😀<b>đậm <i>nghiêng</i></b> <pre><code class="language-python">x&lt;1</code></pre>'
        "<blockquote expandable>q</blockquote><tg-spoiler>s</tg-spoiler>&#8364;&#x41;&quot;"
    )
    assert text == '😀đậm nghiêng x<1qs€A"'
    assert entities == [
        {"type": "bold", "offset": 2, "length": 11},
        {"type": "italic", "offset": 6, "length": 7},
        {"type": "pre", "offset": 14, "length": 3, "language": "python"},
        {"type": "expandable_blockquote", "offset": 17, "length": 1},
        {"type": "spoiler", "offset": 18, "length": 1},
    ]


async def test_text_and_caption_limits() -> None:
    fake = FakeTelegram()
    async with connected(fake) as bot:
        await bot.send_message(1, "x" * 4096)
        # Markup does not count, entities count as one character.
        await bot.send_message(1, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(1, "x" * 4097)
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(1, "<b>" + "ư" * 4097 + "</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)message text is empty"):
            await bot.send_message(1, "<b> </b>", parse_mode="HTML")
        await bot.send_photo(1, PNG, caption="c" * 1024)
        with pytest.raises(BadRequest, match="(?i)message caption is too long"):
            await bot.send_photo(1, PNG, caption="c" * 1025)
    assert len(fake.sent) == 3


# -- PTB's Application in our own event loop -----------------------------------------------


async def test_application_polling_in_our_loop_and_quick_shutdown() -> None:
    fake = FakeTelegram()
    async with fake.running() as url:

        async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.effective_chat.send_message("Chào mừng", reply_markup=KEYBOARD)

        async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.callback_query.answer("OK")

        app = ApplicationBuilder().token(fake.token).base_url(f"{url}/bot").build()
        app.add_handler(CommandHandler("start", start))
        app.add_handler(CallbackQueryHandler(press))
        # The order run_polling uses, without its signal handlers and loop ownership.
        await app.initialize()
        await app.start()
        await app.updater.start_polling(timeout=10)
        try:
            fake.push_message(42, "/start")
            for _ in range(200):
                if fake.sent:
                    break
                await asyncio.sleep(0.01)
            fake.push_callback(42, fake.sent[0].message_id, "topic:thoi-su")
            for _ in range(200):
                if fake.callback_answers:
                    break
                await asyncio.sleep(0.01)
        finally:
            started = time.perf_counter()
            await app.updater.stop()  # cancels the long poll, then confirms with offset
            await app.stop()
            await app.shutdown()
            stopped_in = time.perf_counter() - started
    assert [s.text for s in fake.sent] == ["Chào mừng"]
    assert fake.callback_answers[0]["text"] == "OK"
    assert fake.pending_updates == 0  # the final getUpdates confirmed both updates
    assert fake.calls["deleteWebhook"] == 1  # start_polling's bootstrap
    assert stopped_in < 1.5
    assert not fake.crashes


async def test_ptb_and_httpx_log_the_token(caplog: pytest.LogCaptureFixture) -> None:
    """Why our adapter must quieten loggers: the token is part of every request URL."""
    fake = FakeTelegram()
    with caplog.at_level(logging.DEBUG):
        async with connected(fake) as bot:
            await bot.send_message(1, "x")
    leaking = {r.name for r in caplog.records if fake.token in r.getMessage()}
    assert "httpx" in leaking  # INFO "HTTP Request: POST http://.../bot<token>/sendMessage"
    assert "telegram.Bot" in leaking  # DEBUG "Set Bot API URL: .../bot<token>"
    info_level = {
        r.name for r in caplog.records if fake.token in r.getMessage() and r.levelno >= logging.INFO
    }
    assert info_level == {"httpx"}


# -- throughput --------------------------------------------------------------------------


async def test_the_fake_answers_a_send_in_well_under_a_millisecond_or_two() -> None:
    """The fake's own work per request (no sockets): far below the 2 ms that 500/s allows."""
    fake = FakeTelegram(global_rate=1000, per_chat_interval=1.0, group_per_minute=20)
    text = "<b>Tin mới</b> " + "chữ " * 200
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        started = time.perf_counter()
        for chat_id in range(1, 1001):
            answer = await client.post(
                f"/bot{fake.token}/sendMessage",
                data={"chat_id": str(chat_id), "text": text, "parse_mode": "HTML"},
            )
            assert answer.status_code in (200, 429)
        elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"1000 sends took {elapsed:.2f}s in-process"


async def test_loopback_latency_and_concurrent_sends() -> None:
    fake = FakeTelegram()
    async with connected(fake) as bot:
        # Sequential round trips: ~1 ms each. A regression to ~44 ms means Nagle's algorithm
        # is back on the server socket (see _NoDelayStarlette).
        latencies = []
        for _ in range(20):
            started = time.perf_counter()
            await bot.send_message(1, "x")
            latencies.append(time.perf_counter() - started)
        assert sorted(latencies)[10] < 0.02, latencies

        semaphore = asyncio.Semaphore(32)

        async def one(chat_id: int) -> None:
            async with semaphore:
                await bot.send_message(chat_id, "<b>Tin mới</b> " + "chữ " * 50, parse_mode="HTML")

        await asyncio.gather(*(one(100 + n % 20) for n in range(200)))
    for chat_id in range(100, 120):
        assert sorted(s.message_id for s in fake.sent_to(chat_id)) == list(range(1, 11))
    assert len(fake.sent) == 220


async def test_leaving_running_ends_a_long_poll_in_flight() -> None:
    fake = FakeTelegram()
    started = time.perf_counter()
    async with fake.running() as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        body = {"timeout": "25"}
        poll = asyncio.create_task(client.post(f"/bot{fake.token}/getUpdates", data=body))
        await asyncio.sleep(0.1)
        fake.release_pollers()  # what leaving running() does before stopping uvicorn
        answer = await asyncio.wait_for(poll, 2)
        assert answer.json() == {"ok": True, "result": []}
    assert time.perf_counter() - started < 2
