"""Delivery worker: the three outcomes, per-chat order, rendering, on a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from bot.channels.base import ChatUnreachable, OutMessage, Rejected, RetryLater
from bot.delivery import DeliveryWorker
from storage.store import NewArticle, Store, open_store


class FakeChannel:
    name = "fake"
    max_text = 4096

    def __init__(self) -> None:
        self.sent: list[tuple[str, OutMessage]] = []
        self.script: dict[str, list[Exception]] = {}

    async def start(self, on_message) -> None:  # type: ignore[no-untyped-def]
        pass

    async def stop(self) -> None:
        pass

    async def send(self, chat_id: str, message: OutMessage) -> str | None:
        errors = self.script.get(chat_id)
        if errors:
            raise errors.pop(0)
        self.sent.append((chat_id, message))
        return str(len(self.sent))


@pytest.fixture
async def setup(sqlite_url: str, clock) -> AsyncIterator[tuple[Store, FakeChannel, DeliveryWorker]]:  # type: ignore[no-untyped-def]
    store = await open_store(sqlite_url)
    await store.sync_sources([type("S", (), {"id": "s", "name": "S", "kind": "rss", "url": "https://p/"})()], clock())
    channel = FakeChannel()
    worker = DeliveryWorker(
        store, {"fake": channel}, clock=clock, tz=ZoneInfo("Asia/Ho_Chi_Minh"),
        topic_names={"dan-van": "Dân vận"},
    )
    yield store, channel, worker
    await store.close()


async def add_chat(store: Store, chat_id: str, clock) -> None:  # type: ignore[no-untyped-def]
    chat = await store.upsert_chat("fake", chat_id, clock())
    await store.subscribe(chat, "topic", "dan-van", "dan-van", clock())


async def publish(store: Store, key: str, clock, title: str = "Tin") -> None:  # type: ignore[no-untyped-def]
    await store.save_articles(
        [NewArticle("s", key, f"https://p/{key}?a=1&b=2", f"{title} {key}", clock(), "Thân bài.", "Tóm tắt ngắn.", ("dan-van",))],
        clock(),
    )


async def test_articles_are_sent_in_order_with_summary_and_link(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "1", clock)
    for key in ("a", "b", "c"):
        await publish(store, key, clock, title="<Hội nghị> & tập huấn")
    await worker.drain()
    assert [m.text.splitlines()[0] for _, m in channel.sent] == [f"📰 <Hội nghị> & tập huấn {k}" for k in "abc"]
    first = channel.sent[0][1]
    assert "Tóm tắt ngắn." in first.text and "Đọc tiếp: https://p/a?a=1&b=2" in first.text
    assert first.html is not None and "&lt;Hội nghị&gt; &amp; tập huấn" in first.html
    assert 'href="https://p/a?a=1&amp;b=2"' in first.html and "#dan_van" in first.text
    assert (await store.stats(clock())).deliveries_by_status == {"sent": 3}


async def test_retry_later_waits_and_does_not_block_other_chats(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "slow", clock)
    await add_chat(store, "fast", clock)
    channel.script["slow"] = [RetryLater("429 Too Many Requests", after=30)]
    await publish(store, "a", clock)
    await publish(store, "b", clock)
    await worker.drain()
    assert [c for c, _ in channel.sent] == ["fast", "fast"]
    clock.advance(31)
    await worker.drain()
    assert [c for c, _ in channel.sent][2:] == ["slow", "slow"]
    assert [m.text.splitlines()[0] for c, m in channel.sent if c == "slow"] == ["📰 Tin a", "📰 Tin b"]


async def test_rejected_fails_at_once_and_unreachable_deactivates(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "bad", clock)
    await add_chat(store, "gone", clock)
    channel.script["bad"] = [Rejected("message is too long")]
    channel.script["gone"] = [ChatUnreachable("bot was blocked by the user")] * 3
    for key in "abcd":
        await publish(store, key, clock)
    await worker.drain()
    gone = await store.get_chat("fake", "gone")
    assert gone is not None and gone.active is False
    stats = await store.stats(clock())
    # bad: 1 rejected + 3 sent; gone: 3 failed + 1 cancelled
    assert stats.deliveries_by_status == {"failed": 4, "sent": 3, "cancelled": 1}


async def test_retry_gives_up_after_max_attempts(setup, clock) -> None:  # type: ignore[no-untyped-def]
    from bot.delivery import MAX_ATTEMPTS

    store, channel, worker = setup
    await add_chat(store, "1", clock)
    channel.script["1"] = [RetryLater("timeout")] * (MAX_ATTEMPTS + 2)
    await publish(store, "a", clock)
    for _ in range(MAX_ATTEMPTS + 1):
        await worker.drain()
        clock.advance(3600 * 2)
    stats = await store.stats(clock())
    assert stats.deliveries_by_status == {"failed": 1}


async def test_broadcast_goes_through_the_outbox(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "1", clock)
    await add_chat(store, "2", clock)
    _, count = await store.enqueue_message("broadcast", "Họp chi bộ lúc 14:00", clock())
    assert count == 2
    await worker.drain()
    assert sorted(c for c, _ in channel.sent) == ["1", "2"]
    assert {m.text for _, m in channel.sent} == {"Họp chi bộ lúc 14:00"}
