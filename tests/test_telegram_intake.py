"""How Telegram updates come in, against the fake Bot API with the whole app: an update the
library cannot parse is logged, counted and skipped, polled or posted, and the next one is
handled; a webhook update sent twice runs once; the memory of ids stays bounded."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_telegram import FakeTelegram
from helpers import wait_for

from bot.app import App
from bot.channels.common import RecentIds
from bot.channels.telegram_updates import UpdateIntake
from bot.config import Config, load_settings

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
SECRET = "hook-secret_0123456789"
HOOK = "https://bot.example.org/tg/hook-2"
SKIPPED = 'bantin_updates_skipped_total{channel="telegram"}'
#: updates Update.de_json cannot read: a message without date nor a chat object, a message
#: that is not an object
UNPARSEABLE: list[dict[str, Any]] = [
    {"message": {"message_id": "x", "chat": 7}},
    {"message": "not an object"},
]


def make_config(database_url: str, url: str, **extra: str) -> Config:
    env = {
        "BANTIN_DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": url,
        "BANTIN_HTTP_HOST": "127.0.0.1",
        "BANTIN_HTTP_PORT": "0",
        **extra,
    }
    return Config(load_settings(env), (), (), Path("t.toml"))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    yield FakeTelegram(TOKEN)


async def metric(app: App, name: str) -> float:
    assert app.http is not None
    async with httpx.AsyncClient() as client:
        body = (await client.get(f"http://127.0.0.1:{app.http.port}/metrics")).text
    lines = [line for line in body.splitlines() if line.startswith(name)]
    return float(lines[0].split()[-1]) if lines else 0.0


async def test_polling_skips_an_update_it_cannot_parse_and_carries_on(
    database_url: str, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.channels.telegram_updates")
    async with fake.running() as url:
        # Waiting before the bot starts: a good one, a bad one between, a bad one last.
        fake.push_message(7, "/help")
        fake.push_raw_update(UNPARSEABLE[0])
        fake.push_message(8, "/help")
        fake.push_raw_update(UNPARSEABLE[1])
        app = App(make_config(database_url, url))
        await app.start()
        try:
            await wait_for(lambda: bool(fake.sent_to(7)) and bool(fake.sent_to(8)))
            # After a batch that ended with a bad update, and one that is only bad.
            polls_before = fake.calls["getUpdates"]
            fake.push_raw_update(UNPARSEABLE[0])
            fake.push_message(9, "/help")
            await wait_for(lambda: bool(fake.sent_to(9)))
            fake.push_raw_update(UNPARSEABLE[1])
            await wait_for(lambda: fake.pending_updates == 0)  # confirmed: the offset moved on
            fake.push_message(10, "/help")
            await wait_for(lambda: bool(fake.sent_to(10)))
            assert await metric(app, SKIPPED) == 4
            # Each update costs a poll or two, not hundreds of refetches of the same offset.
            assert fake.calls["getUpdates"] - polls_before <= 12
        finally:
            await app.stop()
    skipped = [r for r in caplog.records if "skipped update" in r.getMessage()]
    assert len(skipped) == 4
    assert all(len(r.getMessage()) < 1000 for r in skipped)


async def test_a_webhook_update_sent_twice_runs_once_and_a_bad_one_is_acknowledged(
    database_url: str, fake: FakeTelegram
) -> None:
    async with fake.running() as url:
        config = make_config(
            database_url, url, TELEGRAM_WEBHOOK_URL=HOOK, TELEGRAM_WEBHOOK_SECRET=SECRET
        )
        app = App(config)
        await app.start()
        try:
            assert app.http is not None
            hook = f"http://127.0.0.1:{app.http.port}/tg/hook-2"
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            update = fake.make_message_update(9, "/help")
            async with httpx.AsyncClient(headers=headers) as client:
                # Telegram resends an update whose answer failed or came late.
                assert (await client.post(hook, json=update)).status_code == 200
                assert (await client.post(hook, json=update)).status_code == 200
                # Anything else is acknowledged too, or Telegram would send it again.
                bad = {"update_id": 10_000, **UNPARSEABLE[0]}
                assert (await client.post(hook, json=bad)).status_code == 200
                assert (await client.post(hook, content=b"{not json")).status_code == 200
                # Updates are handled in order: once this one is answered, the repeat is past.
                after = fake.make_message_update(9, "/latest")
                assert (await client.post(hook, json=after)).status_code == 200
            await wait_for(lambda: any("Chưa có tin" in (s.text or "") for s in fake.sent_to(9)))
            helps = [s for s in fake.sent_to(9) if "/subscribe" in (s.text or "")]
            assert len(helps) == 1
            assert await metric(app, SKIPPED) == 2
        finally:
            await app.stop()


def test_the_memory_of_update_ids_is_bounded() -> None:
    intake = UpdateIntake(memory=100)
    for update_id in range(1, 1001):
        assert intake.admit({"update_id": update_id}, None) is not None
    assert len(intake.seen) == 100
    assert intake.admit({"update_id": 1000}, None) is None  # recent: a repeat
    assert intake.admit({"update_id": 1}, None) is not None  # long forgotten
    assert intake.next_offset == 1001
    ids = RecentIds(2)
    assert ids.first_sight("a") and ids.first_sight("b") and not ids.first_sight("a")
    assert ids.first_sight("c") and "a" not in ids and "b" in ids
