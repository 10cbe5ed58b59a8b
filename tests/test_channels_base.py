"""Channel capabilities as data: every adapter declares them, the delivery limiter paces by
them (a configured rate still wins), and the web console's broadcast preview splits a text
into exactly the messages the Telegram and Zalo adapters send."""

from __future__ import annotations

import html
from pathlib import Path
from zoneinfo import ZoneInfo

from fake_telegram import FakeTelegram
from fake_zalo import FakeZalo

from bot.app import App, known_channels, platforms
from bot.channels.base import Capabilities, Channel, OutMessage
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_oa import ZaloOAChannel
from bot.config import Config, load_settings
from bot.delivery.worker import DeliveryWorker, Limits
from bot.web.broadcasts import preview
from storage.store import open_store

TG_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
ZALO_TOKEN = "3141592653589793238:zalo-TEST-token-abcdefghijklmnopqrstuv"

#: paragraphs with markup-looking text: escaped, "&" is five characters of HTML but one that
#: Telegram counts, so splitting the escaped text by its length would cut elsewhere
PARAGRAPH = "Thông báo <b>khẩn</b> & họp chi bộ lúc 14:00, mang sổ & bút. " * 12
#: text (stripped, as a broadcast is kept) -> how many messages Telegram and Zalo get
TEXTS = {
    "\n\n".join([PARAGRAPH.strip()] * 9): (2, 5),
    # 3,999 characters Telegram counts, 7,999 of escaped HTML: one message
    ("Q&A " * 1000).strip(): (1, 2),
    " ".join(["từ"] * 1500): (2, 3),
    "a <b> & c": (1, 1),
}


def test_every_adapter_declares_its_capabilities() -> None:
    adapters: list[type[Channel]] = [TelegramChannel, ZaloChannel, ZaloOAChannel, ConsoleChannel]
    assert known_channels() == {c.name: c.capabilities for c in adapters}
    # the terminal chat is not previewed
    assert set(platforms()) == {"telegram", "zalo", "zalo_oa"}
    for adapter in adapters:
        caps = adapter.capabilities
        assert isinstance(caps, Capabilities) and caps.title and caps.chat_kinds
    tg, zalo = TelegramChannel.capabilities, ZaloChannel.capabilities
    assert (tg.text_limit, tg.markup, tg.caption_limit, tg.rate) == (4096, "html", 1024, 30.0)
    assert tg.buttons and tg.photos and tg.link_previews and tg.edits and tg.inline
    assert "channel" in tg.chat_kinds
    assert (zalo.text_limit, zalo.markup, zalo.rate) == (2000, "plain", 5.0)
    assert not (zalo.buttons or zalo.photos or zalo.link_previews or zalo.edits or zalo.inline)
    oa = ZaloOAChannel.capabilities
    assert (oa.text_limit, oa.markup, oa.chat_kinds) == (2000, "plain", ("private",))
    console = ConsoleChannel.capabilities
    assert (console.rate, console.private_interval, console.chat_kinds) == (
        1000.0,
        0.0,
        ("console",),
    )


async def test_the_limiter_reads_the_capabilities_and_a_configured_rate_wins(
    sqlite_url: str,
) -> None:
    store = await open_store(sqlite_url)
    try:
        channels: dict[str, Channel] = {
            "telegram": TelegramChannel(TG_TOKEN, rate=60.0),
            "zalo": ZaloChannel(ZALO_TOKEN),
            "console": ConsoleChannel(),
        }
        worker = DeliveryWorker(
            store,
            channels,
            clock=lambda: None,  # type: ignore[arg-type,return-value]
            tz=ZoneInfo("Asia/Ho_Chi_Minh"),
            topic_names={},
            limits={"console": Limits(rate=7.0)},
        )
        limits = {name: s.limiter.limits for name, s in worker.senders.items()}
        assert limits["telegram"] == Limits(rate=60.0, private_interval=1.0, group_per_minute=20)
        assert TelegramChannel.capabilities.rate == 30.0  # the class keeps the published rate
        assert limits["zalo"] == Limits.of(ZaloChannel.capabilities) == Limits(rate=5.0)
        assert limits["console"] == Limits(rate=7.0)  # an explicit limit still wins
        await channels["zalo"].stop()
    finally:
        await store.close()


async def test_the_app_paces_each_platform_by_its_settings(sqlite_url: str) -> None:
    env = {
        "BANTIN_DATABASE_URL": sqlite_url,
        "TELEGRAM_BOT_TOKEN": TG_TOKEN,
        "TELEGRAM_RATE": "60",
        "ZALO_BOT_TOKEN": ZALO_TOKEN,
    }
    app = App(Config(load_settings(env), (), (), Path("t.toml")))
    try:
        senders = app.worker.senders
        assert senders["telegram"].limiter.limits.rate == 60.0
        assert senders["zalo"].limiter.limits.rate == 5.0  # the setting's default, as before
        assert app.console.deps.platforms == platforms()
    finally:
        await app.close()


async def test_broadcast_preview_splits_as_telegram_sends() -> None:
    fake = FakeTelegram(TG_TOKEN)
    async with fake.running() as url:
        channel = TelegramChannel(TG_TOKEN, base_url=url)
        await channel.application.initialize()
        try:
            for chat_id, (text, (count, _)) in enumerate(TEXTS.items(), 1):
                await channel.send(str(chat_id), OutMessage(text=text))
                sent = fake.sent_to(chat_id)
                assert len(sent) == count and all(s.parse_mode == "HTML" for s in sent)
                # A member reads the HTML as its text: the typed markup, never bold.
                shown = [html.unescape(s.text or "") for s in sent]
                assert preview(text, platforms())["telegram"] == shown
        finally:
            await channel.application.shutdown()


async def test_broadcast_preview_splits_as_zalo_sends() -> None:
    fake = FakeZalo(ZALO_TOKEN)
    async with fake.running() as url:
        channel = ZaloChannel(ZALO_TOKEN, base_url=url)
        try:
            for chat_id, (text, (_, count)) in enumerate(TEXTS.items(), 1):
                await channel.send(f"u-{chat_id}", OutMessage(text=text))
                sent = [s.text or "" for s in fake.sent_to(f"u-{chat_id}")]
                assert len(sent) == count and all(len(piece) <= 2000 for piece in sent)
                assert preview(text, platforms())["zalo"] == sent
        finally:
            await channel.stop()
