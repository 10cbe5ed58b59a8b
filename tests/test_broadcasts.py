"""One broadcast path: ``/broadcast`` and the console queue through the same store call, and
the chat's progress message and the console's history show the same numbers for the same
broadcast, whatever became of its deliveries (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from test_web import SOURCES, TOPICS, TZ, Web

from bot.channels.base import Incoming, OutMessage, Reply, RetryLater
from bot.channels.telegram import TelegramChannel
from bot.chat.admin_commands import AdminCommands
from bot.chat.broadcasts import BroadcastTracker, progress_text
from bot.delivery.ratelimit import Limits, RateLimiter
from bot.delivery.replies import paced
from bot.i18n import t
from storage.records import CancelReason, DeliveryStatus
from storage.store import Store


@pytest.fixture
async def web(store: Store, clock: Any) -> AsyncIterator[Web]:
    """The console of ``test_web`` on this test's store."""
    await store.sync_sources(SOURCES, clock())
    w = Web(store, clock)
    try:
        yield w
    finally:
        await w.close()


class EditableChat:
    """A channel that edits messages in place and remembers the last text of each."""

    name = "telegram"
    capabilities = TelegramChannel.capabilities

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    async def edit(self, chat_id: str, message_id: str, message: OutMessage) -> None:
        self.texts[message_id] = message.text

    async def send(self, chat_id: str, message: OutMessage) -> str:
        raise AssertionError("an editable chat gets edits, not a new message")


async def _outcomes(store: Store, clock: Any) -> None:
    """Settle the deliveries of chats 1-4: 1 sent, 2 rejected, 3 unreachable; 4 had become
    unreachable on an earlier alert, so its pending delivery was cancelled for that."""
    claimed = {job.chat.chat_id: job for job in await store.claim_due("telegram", clock())}
    assert claimed["4"].message_kind == "alert"  # the alert came first, in the chat's order
    await store.mark_sent(claimed["1"].ids, clock())
    await store.mark_failed(claimed["2"].ids, clock(), reason="rejected: too long")
    assert not await store.mark_unreachable(claimed["3"].ids, clock(), reason="blocked")
    assert await store.mark_unreachable(
        claimed["4"].ids, clock(), reason="blocked", deactivate_after=1
    )


async def test_chat_progress_and_console_history_agree(web: Web, clock: Any) -> None:
    store = web.store
    admin = await store.upsert_chat("telegram", "42", clock(), language="en")
    for chat_id in "1234":
        chat = await store.upsert_chat("telegram", chat_id, clock())
        await store.subscribe(chat, "topic", "kinh-te", "kinh-te", clock())
    await store.enqueue_message("alert", "Nguồn lỗi", clock(), chats=[("telegram", "4")])
    commands = AdminCommands(store, TOPICS, tz=TZ, clock=clock)
    msg = Incoming(channel="telegram", chat_id="42", text="/broadcast", user_id="42")
    [reply] = await commands.broadcast(msg, admin, "kinh-te Họp chi bộ lúc 14:00")
    message_id = reply.track_broadcast
    assert message_id is not None
    await _outcomes(store, clock)

    # Deliveries cancelled for an unreachable chat are told by a column, not by last_error.
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT status, cancel_reason FROM deliveries WHERE message_id = :m"),
            {"m": message_id},
        )
        statuses = sorted((r[0], r[1] or "") for r in rows)
    assert (DeliveryStatus.CANCELLED, CancelReason.UNREACHABLE) in statuses

    # The chat's progress message, as the tracker edits it in place.
    channel = EditableChat()
    channels: dict[str, Any] = {"telegram": channel}
    tracker = BroadcastTracker(store, channels, every=0.01)
    tracker.track("telegram", "42", "900", message_id)
    for _ in range(200):
        if "900" in channel.texts:
            break
        await asyncio.sleep(0.01)
    await tracker.stop()
    expected = t("en", "broadcast_done", total=4, sent=1, failed=1, unreachable=2)
    assert channel.texts["900"] == expected
    assert progress_text("en", await store.broadcast_progress(message_id)) == expected

    # The console: the live figures and the history table of the page.
    await web.sign_in()
    figures = (await web.client.get("/admin/broadcasts/progress")).json()[str(message_id)]
    assert figures == {
        "total": 4,
        "sent": 1,
        "failed": 1,
        "unreachable": 2,
        "pending": 0,
    }
    page = (await web.client.get("/admin/broadcasts")).text
    row = re.search(rf'<tr data-progress="{message_id}">(.*?)</tr>', page, re.S)
    assert row is not None
    cells = dict(re.findall(r'<td data-k="(\w+)">(\d+)</td>', row.group(1)))
    assert cells == {"sent": "1", "failed": "1", "unreachable": "2", "pending": "0"}


async def test_console_send_now_queues_as_broadcast_does(web: Web, clock: Any) -> None:
    """The console's *send now* and ``/broadcast`` to one topic reach the same chats and
    record the same message."""
    store = web.store
    for chat_id in "123":
        chat = await store.upsert_chat("telegram", chat_id, clock())
        if chat_id != "3":
            await store.subscribe(chat, "topic", "kinh-te", "kinh-te", clock())
    admin = await store.upsert_chat("telegram", "42", clock())
    commands = AdminCommands(store, TOPICS, tz=TZ, clock=clock)
    msg = Incoming(channel="telegram", chat_id="42", text="/broadcast", user_id="42")
    [reply] = await commands.broadcast(msg, admin, "kinh-te Họp lúc 14:00")
    await web.sign_in()
    r = await web.post(
        "/admin/broadcasts",
        {"text": "Họp lúc 14:00", "target": "topics", "values": "kinh-te", "schedule": "0"},
    )
    assert r.status_code == 303 and web.woken == 1
    console, chat = await store.broadcast_history()
    assert chat.message_id == reply.track_broadcast
    assert console.counts == chat.counts and console.counts.total == 2
    assert (console.text, chat.text) == ("Họp lúc 14:00", "Họp lúc 14:00")


async def test_progress_edits_are_paced_and_wait_out_flood_control(
    store: Store, clock: Any
) -> None:
    """The progress message goes through the channel's limiter as a reply does: each edit
    books a slot, and a 429 on an edit blocks the chat and is tried again."""
    admin = await store.upsert_chat("telegram", "42", clock(), kind="group")
    sent_to = await store.enqueue_message("broadcast", "Tin", clock(), chats=[("telegram", "42")])
    message_id, queued = sent_to.message_id, sent_to.deliveries
    assert queued == 1
    [job] = await store.claim_due("telegram", clock())
    await store.mark_sent(job.ids, clock())

    class Flooded(EditableChat):
        def __init__(self) -> None:
            super().__init__()
            self.tries = 0

        async def edit(self, chat_id: str, message_id: str, message: OutMessage) -> None:
            self.tries += 1
            if self.tries == 1:
                raise RetryLater("Too Many Requests: retry after 0.01", after=0.01)
            await super().edit(chat_id, message_id, message)

    limiter = RateLimiter(Limits(rate=1000.0, private_interval=0.0))
    paced_for: list[tuple[str, str, bool]] = []

    def pace(channel: str, chat_id: str, group: bool, send: Reply) -> Reply:
        paced_for.append((channel, chat_id, group))
        return paced(send, lambda: limiter, chat_id, group=group)

    channel = Flooded()
    channels: dict[str, Any] = {"telegram": channel}
    tracker = BroadcastTracker(store, channels, every=0.01, pace=pace)
    tracker.track("telegram", admin.chat_id, "900", message_id)
    for _ in range(300):
        if "900" in channel.texts:
            break
        await asyncio.sleep(0.01)
    await tracker.stop()
    assert channel.tries == 2
    assert channel.texts["900"] == progress_text("vi", await store.broadcast_progress(message_id))
    assert ("telegram", "42", True) in paced_for
    assert limiter._group_sends.get("42")  # the edits took the group's slots
