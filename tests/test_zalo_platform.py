"""The Zalo adapter against the Bot Platform's documentation, through the fake built from it:
getUpdates' ``timeout`` as a String, setWebhook's secret of 8-256 characters, every request
within the methods' parameter tables, protected users' messages handed on as unreadable, and
group commands written with the @mention Zalo requires there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fake_zalo import DOCUMENTED, FakeZalo
from helpers import wait_for

from bot.channels.base import Incoming, OutMessage, Reply
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_api import Meaning, ZaloApiError, ZaloClient
from bot.settings import ConfigError, load_settings

TOKEN = "3141592653589793238:zalo-TEST-token-abcdefghijklmnopqrstuv"
WEBHOOK_URL = "https://bot.example.vn/zalo/webhook"


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeZalo, str]]:
    zalo = FakeZalo(TOKEN, display_name="Bản tin", account_name="bot.bantin")
    async with zalo.running() as url:
        yield zalo, url


async def started(url: str, received: list[Incoming]) -> ZaloChannel:
    async def on_message(msg: Incoming, reply: Reply) -> None:
        received.append(msg)

    channel = ZaloChannel(TOKEN, base_url=url, poll_timeout=1, poll_floor=0.02)
    await channel.start(on_message)
    return channel


async def test_get_updates_sends_its_timeout_as_a_string(fake: tuple[FakeZalo, str]) -> None:
    zalo, url = fake
    channel = await started(url, [])
    try:
        await wait_for(lambda: zalo.calls["getUpdates"] >= 2)
    finally:
        await channel.stop()
    polls = [params for method, params in zalo.requests if method == "getUpdates"]
    assert polls and all(params == {"timeout": "1"} for params in polls)
    # The fake holds to the table: a number is refused, as the docs' String would be.
    client = ZaloClient(TOKEN, base_url=url)
    try:
        with pytest.raises(ZaloApiError) as info:
            await client.call("getUpdates", {"timeout": 1})
        assert info.value.code == 400 and info.value.meaning is Meaning.BAD_REQUEST
    finally:
        await client.aclose()


async def test_every_request_is_in_the_parameter_tables(fake: tuple[FakeZalo, str]) -> None:
    zalo, url = fake
    received: list[Incoming] = []
    channel = await started(url, received)
    try:
        zalo.push_text("c-1", "/help")
        await wait_for(lambda: received)
        await channel.send("c-1", OutMessage("tin " * 700))  # two parts
        await channel.client.send_photo("c-1", "https://portal.example/a.png", "Ảnh")
        await channel.client.send_chat_action("c-1")
        await channel.client.get_webhook_info()
    finally:
        await channel.stop()
    hook = ZaloChannel(TOKEN, base_url=url, webhook_url=WEBHOOK_URL, webhook_secret="s" * 8)
    await hook.start(lambda msg, reply: asyncio.sleep(0))
    await hook.stop()
    methods = {method for method, _ in zalo.requests}
    assert {"getMe", "getUpdates", "deleteWebhook", "sendMessage", "setWebhook"} <= methods
    assert methods <= set(DOCUMENTED)
    assert zalo.undocumented == []
    texts = [p["text"] for m, p in zalo.requests if m == "sendMessage"]
    assert all(1 <= len(text) <= 2000 for text in texts)


async def test_unknown_method_is_a_bad_request(fake: tuple[FakeZalo, str]) -> None:
    _, url = fake
    client = ZaloClient(TOKEN, base_url=url)
    try:
        with pytest.raises(ZaloApiError) as info:
            await client.call("sendSticker", {"chat_id": "c-1"})
    finally:
        await client.aclose()
    assert info.value.meaning is Meaning.BAD_REQUEST
    assert "invalid API name" in info.value.description


@pytest.mark.parametrize("length", [7, 257])
async def test_webhook_secret_of_8_to_256_characters(
    fake: tuple[FakeZalo, str], length: int
) -> None:
    zalo, url = fake
    client = ZaloClient(TOKEN, base_url=url)
    try:
        with pytest.raises(ZaloApiError) as info:
            await client.set_webhook(WEBHOOK_URL, "s" * length)
        assert info.value.code == 400
        await client.set_webhook(WEBHOOK_URL, "s" * 8)
        await client.set_webhook(WEBHOOK_URL, "s" * 256)
    finally:
        await client.aclose()
    assert zalo.webhook == {"url": WEBHOOK_URL, "secret_token": "s" * 256}
    with pytest.raises(ValueError, match="8-256"):
        ZaloChannel(TOKEN, webhook_url=WEBHOOK_URL, webhook_secret="s" * length)


def test_settings_refuse_a_zalo_secret_outside_8_to_256() -> None:
    env = {"ZALO_WEBHOOK_URL": WEBHOOK_URL, "ZALO_WEBHOOK_SECRET": "short7s"}
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert "ZALO_WEBHOOK_SECRET" in str(info.value) and "8-256" in str(info.value)
    assert load_settings({**env, "ZALO_WEBHOOK_SECRET": "eight-ok"}).zalo.webhook_secret
    # Telegram's rule stays its own: 1-256 characters.
    telegram = {"TELEGRAM_WEBHOOK_URL": WEBHOOK_URL, "TELEGRAM_WEBHOOK_SECRET": "short"}
    assert load_settings(telegram).telegram.webhook_secret == "short"


def test_plan_settings() -> None:
    zalo = load_settings({}).zalo
    assert (zalo.monthly_quota, zalo.max_users, zalo.daily_replies) == (3000, 50, 10)
    assert zalo.push_reserve == 0.6 and zalo.overflow_url == ""
    for name, value in (
        ("ZALO_PUSH_RESERVE", "1"),
        ("ZALO_MAX_USERS", "-1"),
        ("ZALO_OVERFLOW_URL", "t.me/x"),
    ):
        with pytest.raises(ConfigError, match=name):
            load_settings({name: value})


async def test_protected_users_messages_are_handed_on_as_unreadable(
    fake: tuple[FakeZalo, str],
) -> None:
    zalo, url = fake
    received: list[Incoming] = []
    channel = await started(url, received)
    try:
        zalo.push_update(zalo.make_event("c-5", "message.sticker.received"))
        zalo.push_update(zalo.make_event("c-5", "message.image.received"))
        zalo.push_update(zalo.make_event("c-5", "message.unsupported.received"))
        zalo.push_text("c-5", "sau đó")
        await wait_for(lambda: len(received) >= 2)
        await asyncio.sleep(0.1)
    finally:
        await channel.stop()
    assert [(m.unreadable, m.text) for m in received] == [(True, ""), (False, "sau đó")]
    assert received[0].chat_id == "c-5" and channel.unreadable == 1


async def test_group_commands_come_without_the_mention(fake: tuple[FakeZalo, str]) -> None:
    zalo, url = fake
    received: list[Incoming] = []
    channel = await started(url, received)
    try:
        zalo.push_text("g-1", "@Bản tin /topics", chat_type="GROUP", user_id="u-1")
        zalo.push_text("g-1", "/latest 5 @bot.bantin", chat_type="GROUP", user_id="u-2")
        zalo.push_text("g-1", "@Bản tin cảm ơn nhé", chat_type="GROUP", user_id="u-3")
        zalo.push_text("g-1", "@Tin Tức /help", chat_type="GROUP", user_id="u-4")
        await wait_for(lambda: len(received) >= 3)
        await asyncio.sleep(0.1)
    finally:
        await channel.stop()
    assert [m.text for m in received] == ["/topics", "/latest 5", "/help"]
    assert {m.chat_kind for m in received} == {"group"}
