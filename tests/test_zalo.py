"""Zalo channel end to end: our httpx client against the fake Zalo Bot API on 127.0.0.1 (through
``base_url``), the webhook endpoint through an in-process Starlette app."""

from __future__ import annotations

import asyncio
import logging
import traceback
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fake_zalo import FakeZalo
from starlette.applications import Starlette
from starlette.routing import Route

from bot.channels.base import (
    ChannelDown,
    ChatUnreachable,
    Choice,
    DeliveryError,
    Incoming,
    OutMessage,
    QuotaSpent,
    Rejected,
    Reply,
    RetryLater,
    split_text,
)
from bot.channels.common import CHOICES_HINT, parse_numbers
from bot.channels.zalo import (
    NOT_FOUND_GAP,
    PHOTO_NOTE,
    SECRET_HEADER,
    ZaloApiError,
    ZaloAuthError,
    ZaloChannel,
    ZaloClient,
    ZaloNetworkError,
)
from bot.channels.zalo_api import ERROR_TABLE, Meaning

TOKEN = "3141592653589793238:zalo-TEST-token-abcdefghijklmnopqrstuv"
SECRET = "webhook-Secret_123"
WEBHOOK_URL = "https://bot.example.vn/zalo/webhook"
MENU = (
    (Choice("✅ Dân vận", "topic:dan-van"),),
    (Choice("▫️ Kiểm tra", "topic:kiem-tra"),),
    (Choice("▫️ Y tế", "topic:y-te"),),
)


@dataclass
class Bot:
    fake: FakeZalo
    channel: ZaloChannel
    url: str
    received: list[Incoming] = field(default_factory=list)


async def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def handler(received: list[Incoming]):  # type: ignore[no-untyped-def]
    """A stand-in for the application: records messages, answers like our commands do."""

    async def on_message(msg: Incoming, reply: Reply) -> None:
        received.append(msg)
        if msg.callback_data is not None:
            await reply(OutMessage(f"Chủ đề (sau {msg.callback_data}):", choices=MENU))
        elif msg.text == "/menu":
            await reply(OutMessage("Chọn chủ đề:", choices=MENU))
        else:
            await reply(OutMessage(f"echo: {msg.text}"))

    return on_message


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    fake = FakeZalo(TOKEN)
    async with fake.running() as url:
        channel = ZaloChannel(TOKEN, base_url=url, poll_timeout=1, poll_floor=0.02)
        b = Bot(fake, channel, url)
        await channel.start(handler(b.received))
        try:
            yield b
        finally:
            await channel.stop()


@pytest.fixture
async def sender() -> AsyncIterator[Bot]:
    """A channel that is not started: for send() and its outcomes."""
    fake = FakeZalo(TOKEN)
    async with fake.running() as url:
        channel = ZaloChannel(TOKEN, base_url=url)
        try:
            yield Bot(fake, channel, url)
        finally:
            await channel.stop()


def texts(fake: FakeZalo, chat_id: str) -> list[str]:
    return [s.text or "" for s in fake.sent_to(chat_id)]


def no_token(exc: BaseException) -> None:
    """The token is in no message, repr or traceback of ``exc`` and its chain."""
    for text in (str(exc), repr(exc), "".join(traceback.format_exception(exc))):
        assert TOKEN not in text
        assert TOKEN.split(":", 1)[1] not in text


# -- start ------------------------------------------------------------------------------


async def test_start_checks_token_and_polls(bot: Bot) -> None:
    assert bot.fake.calls["getMe"] == 1
    assert bot.fake.calls["deleteWebhook"] == 1
    assert bot.channel.me["account_name"] == "bot.bantin"
    assert bot.channel.webhook_path is None
    await wait_for(lambda: bot.fake.calls["getUpdates"] >= 1)


async def test_bad_token_fails_start_without_the_token() -> None:
    fake = FakeZalo(TOKEN)
    async with fake.running() as url:
        wrong = "2718281828459045235:WRONG-token-zyxwvutsrqponmlkjihgf"
        channel = ZaloChannel(wrong, base_url=url)
        with pytest.raises(ZaloAuthError) as info:
            await channel.start(handler([]))
        await channel.stop()
    exc = info.value
    assert exc.status == 401
    assert "ZALO_BOT_TOKEN" in str(exc)
    for text in (str(exc), repr(exc), "".join(traceback.format_exception(exc))):
        assert wrong not in text and "WRONG-token" not in text
    assert fake.calls["getUpdates"] == 0


async def test_webhook_without_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        ZaloChannel(TOKEN, webhook_url=WEBHOOK_URL)


# -- long polling -----------------------------------------------------------------------


async def test_polling_receives_and_replies(bot: Bot) -> None:
    bot.fake.push_text("c-1", "xin chào", display_name="Lan")
    await wait_for(lambda: texts(bot.fake, "c-1"))
    msg = bot.received[0]
    assert (msg.channel, msg.chat_id, msg.user_id, msg.user_name) == ("zalo", "c-1", "c-1", "Lan")
    assert (msg.chat_kind, msg.language_code, msg.callback_data) == ("private", None, None)
    assert msg.chat_admin_check is None
    assert texts(bot.fake, "c-1") == ["echo: xin chào"]


async def test_text_is_nfc(bot: Bot) -> None:
    decomposed = unicodedata.normalize("NFD", "Hoà Bình")
    bot.fake.push_text("c-1", decomposed, display_name=unicodedata.normalize("NFD", "Lê Thị Thủy"))
    await wait_for(lambda: bot.received)
    assert bot.received[0].text == unicodedata.normalize("NFC", "Hoà Bình")
    assert bot.received[0].user_name == unicodedata.normalize("NFC", "Lê Thị Thủy")


async def test_duplicate_message_id_is_handled_once(bot: Bot) -> None:
    update = bot.fake.push_text("c-1", "một lần", message_id="dup-1")
    bot.fake.push_update(update)
    bot.fake.push_text("c-1", "sau đó")
    await wait_for(lambda: len(bot.received) >= 2)
    await asyncio.sleep(0.2)
    assert [m.text for m in bot.received] == ["một lần", "sau đó"]


async def test_group_chat_and_other_events(bot: Bot) -> None:
    bot.fake.push_text("g-1", "chuyện phiếm giữa các thành viên", chat_type="GROUP")
    sticker = bot.fake.make_text_update("g-1", "", chat_type="GROUP")
    sticker["event_name"] = "message.sticker.received"
    bot.fake.push_update(sticker)
    bot.fake.push_text("g-1", "/topics", chat_type="GROUP", user_id="u-7")
    await wait_for(lambda: bot.received)
    await asyncio.sleep(0.2)
    assert len(bot.received) == 1
    msg = bot.received[0]
    assert (msg.chat_id, msg.user_id, msg.chat_kind, msg.text) == ("g-1", "u-7", "group", "/topics")
    assert await msg.sender_is_chat_admin() is False  # no admin lookup on Zalo


async def test_polling_survives_errors(bot: Bot) -> None:
    bot.fake.script(
        "getUpdates", 500, {"ok": False, "error_code": 500, "description": "boom"}, times=2
    )
    bot.fake.script("getUpdates", 502, "<html>Bad Gateway</html>")
    bot.fake.push_text("c-2", "vẫn nhận")
    await wait_for(lambda: bot.received, timeout=8)
    assert bot.received[0].text == "vẫn nhận"


async def test_get_updates_408_is_none() -> None:
    fake = FakeZalo(TOKEN)
    async with fake.running() as url:
        client = ZaloClient(TOKEN, base_url=url)
        try:
            assert await client.get_updates(0) is None
            update = fake.push_text("c-1", "có")
            assert await client.get_updates(1) == update
        finally:
            await client.aclose()


# -- webhook ----------------------------------------------------------------------------


@pytest.fixture
async def hook() -> AsyncIterator[tuple[Bot, httpx.AsyncClient]]:
    fake = FakeZalo(TOKEN)
    async with fake.running() as url:
        channel = ZaloChannel(TOKEN, base_url=url, webhook_url=WEBHOOK_URL, webhook_secret=SECRET)
        b = Bot(fake, channel, url)
        await channel.start(handler(b.received))
        assert channel.webhook_path == "/zalo/webhook"
        app = Starlette(
            routes=[Route(channel.webhook_path, channel.webhook_endpoint, methods=["POST"])]
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot")
        try:
            yield b, client
        finally:
            await client.aclose()
            await channel.stop()


async def test_webhook_mode_sets_webhook_and_does_not_poll(
    hook: tuple[Bot, httpx.AsyncClient],
) -> None:
    b, _ = hook
    assert b.fake.webhook == {"url": WEBHOOK_URL, "secret_token": SECRET}
    await asyncio.sleep(0.1)
    assert b.fake.calls["getUpdates"] == 0
    assert b.fake.calls["deleteWebhook"] == 0


async def test_webhook_secret_and_shapes(hook: tuple[Bot, httpx.AsyncClient]) -> None:
    b, client = hook
    path = "/zalo/webhook"
    bare = b.fake.make_text_update("c-9", "bare")
    wrapped = {"ok": True, "result": b.fake.make_text_update("c-9", "wrapped")}

    r = await client.post(path, json=bare)
    assert r.status_code == 401
    r = await client.post(path, json=bare, headers={SECRET_HEADER: "nope"})
    assert r.status_code == 403
    r = await client.post(path, content=b"{not json", headers={SECRET_HEADER: SECRET})
    assert r.status_code == 400
    await asyncio.sleep(0.05)
    assert b.received == []

    r = await client.post(path, json=bare, headers={SECRET_HEADER: SECRET})
    assert (r.status_code, r.json()) == (200, {"ok": True})
    r = await client.post(path, json=wrapped, headers={SECRET_HEADER: SECRET})
    assert r.status_code == 200
    r = await client.post(path, json=bare, headers={SECRET_HEADER: SECRET})  # Zalo retrying
    assert r.status_code == 200
    await wait_for(lambda: len(texts(b.fake, "c-9")) >= 2)
    await asyncio.sleep(0.1)
    assert [m.text for m in b.received] == ["bare", "wrapped"]
    assert texts(b.fake, "c-9") == ["echo: bare", "echo: wrapped"]


async def test_webhook_answers_before_handling(hook: tuple[Bot, httpx.AsyncClient]) -> None:
    b, client = hook
    gate = asyncio.Event()

    async def slow(msg: Incoming, reply: Reply) -> None:
        await gate.wait()
        b.received.append(msg)

    b.channel._on_message = slow
    update = b.fake.make_text_update("c-9", "chậm")
    async with asyncio.timeout(2):
        r = await client.post("/zalo/webhook", json=update, headers={SECRET_HEADER: SECRET})
    assert r.status_code == 200 and b.received == []
    gate.set()
    await wait_for(lambda: b.received)


# -- numbered choices -------------------------------------------------------------------


async def test_choices_become_numbered_options_answered_by_number(bot: Bot) -> None:
    bot.fake.push_text("c-3", "/menu")
    await wait_for(lambda: texts(bot.fake, "c-3"))
    menu = texts(bot.fake, "c-3")[0]
    assert menu == ("Chọn chủ đề:\n\n1. ✅ Dân vận\n2. ▫️ Kiểm tra\n3. ▫️ Y tế\n" + CHOICES_HINT)

    bot.fake.push_text("c-3", "2")
    await wait_for(lambda: len(texts(bot.fake, "c-3")) >= 2)
    press = bot.received[-1]
    assert (press.callback_data, press.text, press.chat_id) == ("topic:kiem-tra", "2", "c-3")

    # Several numbers: one press each, in order; only the last menu is sent back (quota).
    bot.fake.push_text("c-3", "1 3")
    await wait_for(lambda: len(bot.received) >= 4)
    await asyncio.sleep(0.2)
    assert [m.callback_data for m in bot.received[2:]] == ["topic:dan-van", "topic:y-te"]
    assert len(texts(bot.fake, "c-3")) == 3
    assert texts(bot.fake, "c-3")[-1].startswith("Chủ đề (sau topic:y-te):")

    bot.fake.push_text("c-3", "1,3")
    await wait_for(lambda: len(bot.received) >= 6)
    assert [m.callback_data for m in bot.received[4:]] == ["topic:dan-van", "topic:y-te"]


async def test_numbers_without_a_menu_are_text(bot: Bot) -> None:
    bot.fake.push_text("c-4", "2")  # no menu offered in this chat
    bot.fake.push_text("c-5", "/menu")
    await wait_for(lambda: len(bot.received) >= 2)
    bot.fake.push_text("c-5", "7")  # out of range
    bot.fake.push_text("c-5", "/latest")  # the conversation moves on ...
    bot.fake.push_text("c-5", "1")  # ... so this is a number, not option 1
    await wait_for(lambda: len(bot.received) >= 5)
    assert [(m.text, m.callback_data) for m in bot.received] == [
        ("2", None),
        ("/menu", None),
        ("7", None),
        ("/latest", None),
        ("1", None),
    ]


async def test_choices_already_numbered_in_text_are_not_repeated(sender: Bot) -> None:
    text = (
        "Chủ đề:\n1. ✅ Dân vận (dan-van)\n2. ▫️ Kiểm tra (kiem-tra)\n"
        "3. ▫️ Y tế (y-te)\nGõ số thứ tự."
    )
    await sender.channel.send("c-1", OutMessage(text, choices=MENU))
    assert texts(sender.fake, "c-1") == [text]


def test_parse_numbers() -> None:
    assert parse_numbers("2") == [2]
    assert parse_numbers(" 1 3 ") == [1, 3]
    assert parse_numbers("1,3") == [1, 3]
    assert parse_numbers("1, 3;3") == [1, 3]
    assert parse_numbers("2 tin") is None
    assert parse_numbers("") is None


# -- sending ----------------------------------------------------------------------------


async def test_long_text_is_split_on_word_boundaries(sender: Bot) -> None:
    words = [f"chữ{i}" for i in range(800)]
    text = " ".join(words)
    assert 5000 <= len(text) <= 6000
    await sender.channel.send("c-1", OutMessage(text))
    pieces = texts(sender.fake, "c-1")
    assert len(pieces) == 3
    assert all(len(p) <= 2000 for p in pieces)
    assert " ".join(pieces) == text


def test_split_prefers_paragraphs() -> None:
    para = "Đoạn " + "x" * 1200
    text = f"{para}\n\n{para}\n\n{para}"
    assert split_text(text, 2000) == [para, para, para]
    assert split_text("y" * 4500, 2000) == ["y" * 2000, "y" * 2000, "y" * 500]
    assert split_text("ngắn", 2000) == ["ngắn"]


async def test_photo_is_sent_as_text_with_a_note(sender: Bot) -> None:
    await sender.channel.send("c-1", OutMessage("Thống kê tuần", photo=b"\x89PNG\r\n\x1a\n"))
    assert texts(sender.fake, "c-1") == [f"Thống kê tuần\n\n{PHOTO_NOTE}"]
    assert sender.fake.calls["sendPhoto"] == 0


async def test_send_returns_message_id_and_edit_is_a_no_op(sender: Bot) -> None:
    sent_id = await sender.channel.send("c-1", OutMessage("một"))
    assert sent_id == sender.fake.sent[-1].message_id
    await sender.channel.edit("c-1", sent_id or "", OutMessage("hai"))
    assert texts(sender.fake, "c-1") == ["một"]


async def test_empty_message_is_rejected_locally(sender: Bot) -> None:
    with pytest.raises(Rejected):
        await sender.channel.send("c-1", OutMessage("  "))
    assert sender.fake.calls["sendMessage"] == 0


async def test_fake_refuses_long_and_empty_texts(sender: Bot) -> None:
    client = sender.channel.client
    with pytest.raises(ZaloApiError) as info:
        await client.send_message("c-1", "x" * 2001)
    assert (info.value.status, info.value.description) == (400, "text too long")
    with pytest.raises(ZaloApiError) as info:
        await client.send_message("c-1", "")
    assert info.value.status == 400


# -- outcomes ---------------------------------------------------------------------------


def error(code: int, description: str = "error") -> dict[str, object]:
    return {"ok": False, "error_code": code, "description": description}


async def send_error(b: Bot, chat_id: str = "c-1") -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        await b.channel.send(chat_id, OutMessage("tin"))
    no_token(info.value)
    return info.value


#: every row of Zalo's error table, and a few codes it does not list, with the outcome a send
#: raises (exactly that class: ChannelDown and QuotaSpent are RetryLaters too)
OUTCOMES: list[tuple[int, type[DeliveryError]]] = [
    (400, Rejected),
    (401, ChannelDown),
    (403, RetryLater),  # "Internal server error" in Zalo's table, not "forbidden"
    (404, RetryLater),  # ambiguous: once is never enough
    (408, RetryLater),
    (429, QuotaSpent),  # "Quota exceeded": the plan's messages, not a passing rate limit
    (409, Rejected),  # not in the table: a bad request of ours
    (500, RetryLater),
    (502, RetryLater),
    (503, RetryLater),
]


def test_the_table_is_zalos() -> None:
    assert {code: meaning for code, (meaning, _) in ERROR_TABLE.items()} == {
        400: Meaning.BAD_REQUEST,
        401: Meaning.TOKEN,
        403: Meaning.SERVER,
        404: Meaning.NOT_FOUND,
        408: Meaning.TIMEOUT,
        429: Meaning.QUOTA,
    }
    assert set(ERROR_TABLE) <= {code for code, _ in OUTCOMES}


@pytest.mark.parametrize("in_body", [False, True], ids=["http-status", "ok-false-http-200"])
@pytest.mark.parametrize(("code", "outcome"), OUTCOMES, ids=[str(c) for c, _ in OUTCOMES])
async def test_each_code_has_its_outcome(
    sender: Bot, code: int, outcome: type[DeliveryError], in_body: bool
) -> None:
    description = ERROR_TABLE[code][1] if code in ERROR_TABLE else "other"
    sender.fake.script("sendMessage", 200 if in_body else code, error(code, description))
    exc = await send_error(sender)
    assert type(exc) is outcome, exc
    if isinstance(exc, RetryLater):
        scope = "channel" if code in (401, 429) else "chat"
        assert exc.scope == scope


async def test_403_never_drops_a_chat(sender: Bot) -> None:
    sender.fake.script("sendMessage", 403, error(403, "Internal server error"), times=20)
    for _ in range(20):
        exc = await send_error(sender)
        assert type(exc) is RetryLater and exc.after is None  # the sender's backoff decides


async def test_404_means_gone_only_when_it_repeats_a_minute_apart() -> None:
    now = [1000.0]
    fake = FakeZalo(TOKEN)
    async with fake.running() as url:
        b = Bot(fake, ZaloChannel(TOKEN, base_url=url, monotonic=lambda: now[0]), url)
        try:
            fake.script("sendMessage", 404, error(404), chat_id="c-1", times=5)
            first = await send_error(b)
            assert type(first) is RetryLater and first.after == 60 and first.scope == "chat"
            again = await send_error(b)  # at once: Zalo's trouble may not have passed
            assert type(again) is RetryLater and again.after == NOT_FOUND_GAP
            now[0] += NOT_FOUND_GAP / 2
            assert type(await send_error(b)) is RetryLater
            now[0] += NOT_FOUND_GAP / 2
            assert isinstance(await send_error(b), ChatUnreachable)  # a minute apart: gone
            # The count starts again after that, and a success in between forgets a 404.
            assert type(await send_error(b)) is RetryLater
            now[0] += 2 * NOT_FOUND_GAP
            await b.channel.send("c-1", OutMessage("được"))
            fake.script("sendMessage", 404, error(404), chat_id="c-1")
            assert type(await send_error(b)) is RetryLater
            # Other chats keep their own count.
            fake.script("sendMessage", 404, error(404), chat_id="c-2")
            assert type(await send_error(b, "c-2")) is RetryLater
        finally:
            await b.channel.stop()


async def test_429_is_the_quota_spent(sender: Bot) -> None:
    sender.fake.script("sendMessage", 429, error(429, "Quota exceeded"))
    exc = await send_error(sender)
    assert type(exc) is QuotaSpent and exc.scope == "channel" and exc.after is None
    # Not in the docs: a 429 that says when to come back is a rate limit, and passes.
    sender.fake.script(
        "sendMessage", 429, error(429, "Too Many Requests"), headers={"Retry-After": "7"}
    )
    exc = await send_error(sender)
    assert type(exc) is RetryLater and exc.scope == "channel" and exc.after == 7.0
    body = {**error(429), "parameters": {"retry_after": 5}}
    sender.fake.script("sendMessage", 429, body)
    exc = await send_error(sender)
    assert type(exc) is RetryLater and exc.after == 5.0


async def test_the_fake_counts_its_quota() -> None:
    fake = FakeZalo(TOKEN, monthly_quota=2, errors_in_body=True)
    async with fake.running() as url:
        channel = ZaloChannel(TOKEN, base_url=url)
        try:
            await channel.send("c-1", OutMessage("một"))
            await channel.send("c-2", OutMessage("hai"))
            with pytest.raises(QuotaSpent):
                await channel.send("c-1", OutMessage("ba"))
        finally:
            await channel.stop()
    assert len(fake.sent) == 2


@pytest.mark.parametrize("status", [408, 500, 502, 503])
async def test_server_errors_retry(sender: Bot, status: int) -> None:
    sender.fake.script("sendMessage", status, error(status))
    exc = await send_error(sender)
    assert isinstance(exc, RetryLater) and exc.scope == "chat"


async def test_non_json_error_page_retries(sender: Bot) -> None:
    sender.fake.script("sendMessage", 502, "<html>Bad Gateway</html>")
    assert isinstance(await send_error(sender), RetryLater)


async def test_ok_false_with_http_200(sender: Bot) -> None:
    sender.fake.script("sendMessage", 200, error(400, "Invalid parameter"))
    exc = await send_error(sender)
    assert isinstance(exc, Rejected) and "Invalid parameter" in str(exc)
    # The body's error_code is what the docs define; an HTTP status only stands in for it.
    sender.fake.script("sendMessage", 400, error(429, "Quota exceeded"))
    assert type(await send_error(sender)) is QuotaSpent


async def test_other_4xx_is_rejected(sender: Bot) -> None:
    sender.fake.script("sendMessage", 400, error(400, "Bad Request"))
    assert isinstance(await send_error(sender), Rejected)


async def test_revoked_token_holds_the_channel(sender: Bot) -> None:
    sender.fake.script("sendMessage", 401, error(401, "Unauthorized"))
    exc = await send_error(sender)
    assert type(exc) is ChannelDown and exc.scope == "channel" and exc.after == 300


async def test_network_down_retries() -> None:
    fake = FakeZalo(TOKEN)
    async with fake.running() as url:
        pass  # the server is gone: connection refused
    channel = ZaloChannel(TOKEN, base_url=url)
    try:
        with pytest.raises(RetryLater) as info:
            await channel.send("c-1", OutMessage("tin"))
        no_token(info.value)
        with pytest.raises(ZaloNetworkError) as raw:
            await channel.client.get_me()
        no_token(raw.value)
        assert raw.value.__suppress_context__
    finally:
        await channel.stop()


async def test_timeout_retries() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(hang))
    channel = ZaloChannel(TOKEN, http=http)
    try:
        with pytest.raises(RetryLater) as info:
            await channel.send("c-1", OutMessage("tin"))
        no_token(info.value)
        assert isinstance(info.value.__cause__, ZaloNetworkError) and info.value.__cause__.timed_out
    finally:
        await channel.stop()
        await http.aclose()


# -- the token never shows --------------------------------------------------------------


async def test_token_reaches_no_log_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="httpcore")
    fake = FakeZalo(TOKEN)
    async with fake.running() as url:
        channel = ZaloChannel(TOKEN, base_url=url, poll_timeout=1, poll_floor=0.02)
        received: list[Incoming] = []
        fake.script("getUpdates", 500, error(500, f"echoing {TOKEN}"))
        await channel.start(handler(received))
        fake.push_text("c-1", "xin chào")
        await wait_for(lambda: fake.sent)
        fake.script("sendMessage", 400, error(400, f"echoing {TOKEN}"))
        with pytest.raises(Rejected):
            await channel.send("c-1", OutMessage("tin"))
        await channel.stop()
    bad = ZaloChannel(TOKEN, base_url=url)  # the server is gone now
    with pytest.raises(RetryLater):
        await bad.send("c-1", OutMessage("tin"))
    await bad.stop()

    assert any(r.name == "httpx" for r in caplog.records), "httpx logged nothing: test is moot"
    assert any(
        r.name == "bot.channels.zalo" and "getUpdates failed" in r.getMessage()
        for r in caplog.records
    )
    secret_part = TOKEN.split(":", 1)[1]
    for record in caplog.records:
        assert secret_part not in record.getMessage(), record.name
    assert secret_part not in caplog.text
