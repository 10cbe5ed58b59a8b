"""Delivery engine: rate limits (injected clock), outcomes, per-chat order, grouping,
digests and quiet hours, crash recovery and two workers, on a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

import pytest

from bot.channels.base import ChatMigrated, ChatUnreachable, OutMessage, Rejected, RetryLater
from bot.chat.timeofday import parse_quiet_hours
from bot.delivery.worker import (
    MAX_ATTEMPTS,
    DeliveryWorker,
    HoldPolicy,
    Limits,
    RateLimiter,
)
from storage.records import DeliveryStatus, NewArticle
from storage.store import Store, open_store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class FakeChannel:
    name = "fake"

    def __init__(self) -> None:
        self.sent: list[tuple[str, OutMessage]] = []
        self.script: dict[str, list[Exception]] = {}
        self.delay = 0.0

    async def start(self, on_message) -> None:  # type: ignore[no-untyped-def]
        pass

    async def stop(self) -> None:
        pass

    async def edit(self, chat_id: str, message_id: str, message: OutMessage) -> None:
        pass

    async def send(self, chat_id: str, message: OutMessage) -> str | None:
        if self.delay:
            await asyncio.sleep(self.delay)
        errors = self.script.get(chat_id)
        if errors:
            raise errors.pop(0)
        self.sent.append((chat_id, message))
        return str(len(self.sent))


def make_worker(store: Store, channel: FakeChannel, clock, **kw) -> DeliveryWorker:  # type: ignore[no-untyped-def]
    kw.setdefault("limits", {"fake": Limits(rate=1000, private_interval=0)})
    return DeliveryWorker(
        store, {"fake": channel}, clock=clock, tz=TZ, topic_names={"dan-van": "Dân vận"}, **kw
    )


@pytest.fixture
async def setup(sqlite_url: str, clock) -> AsyncIterator[tuple[Store, FakeChannel, DeliveryWorker]]:  # type: ignore[no-untyped-def]
    store = await open_store(sqlite_url)
    await store.sync_sources(
        [type("S", (), {"id": "s", "name": "S", "kind": "rss", "url": "https://p/"})()], clock()
    )
    channel = FakeChannel()
    yield store, channel, make_worker(store, channel, clock)
    await store.close()


async def add_chat(store: Store, chat_id: str, clock, **values) -> None:  # type: ignore[no-untyped-def]
    chat = await store.upsert_chat(
        "fake", chat_id, clock(), kind="group" if chat_id.startswith("-") else "private"
    )
    await store.subscribe(chat, "topic", "dan-van", "dan-van", clock())
    if values:
        await store.update_chat(chat, clock(), **values)


async def publish(store: Store, key: str, clock, title: str = "Tin") -> None:  # type: ignore[no-untyped-def]
    await store.save_articles(
        [
            NewArticle(
                "s",
                key,
                f"https://p/{key}?a=1&b=2",
                f"{title} {key}",
                clock(),
                "Thân bài.",
                "Tóm tắt ngắn.",
                ("dan-van",),
            )
        ],
        clock(),
    )


# -- rate limiter -----------------------------------------------------------------------


class Mono:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_limiter_paces_the_global_rate_evenly() -> None:
    mono = Mono()
    limiter = RateLimiter(Limits(rate=10, private_interval=1.0), clock=mono)
    waits = [limiter.reserve(f"chat{i}", group=False) for i in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_limiter_one_per_second_per_private_chat_and_twenty_per_minute_per_group() -> None:
    mono = Mono()
    limiter = RateLimiter(Limits(rate=1000, private_interval=1.0, group_per_minute=20), clock=mono)
    assert limiter.reserve("a", group=False) == 0
    assert limiter.reserve("a", group=False) == pytest.approx(1.0)
    assert limiter.reserve("b", group=False) == pytest.approx(0.001)  # another chat is not held up
    group_waits = [limiter.reserve("-g", group=True) for _ in range(21)]
    assert max(group_waits[:20]) < 0.1
    assert group_waits[20] == pytest.approx(60.0, abs=0.1)


def test_limiter_blocks_a_chat_or_the_whole_channel() -> None:
    mono = Mono()
    limiter = RateLimiter(Limits(rate=1000, private_interval=0), clock=mono)
    limiter.block_chat("a", 7)
    assert limiter.reserve("a", group=False) == pytest.approx(7)
    assert limiter.reserve("b", group=False) < 0.01
    limiter.block_all(30)
    assert limiter.reserve("c", group=False) == pytest.approx(30)
    mono.t += 31
    assert limiter.reserve("d", group=False) < 0.01


# -- outcomes and order --------------------------------------------------------------------


async def test_articles_are_sent_in_order_with_summary_and_link(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "1", clock)
    await publish(store, "a", clock, title="<Hội nghị> & tập huấn")
    await worker.drain()
    await publish(store, "b", clock)
    await worker.drain()
    (_, first), (_, second) = channel.sent
    assert first.text.startswith("📰 <Hội nghị> & tập huấn a")
    assert "Tóm tắt ngắn." in first.text and "Đọc tiếp: https://p/a?a=1&b=2" in first.text
    assert first.html is not None and "&lt;Hội nghị&gt; &amp; tập huấn" in first.html
    assert 'href="https://p/a?a=1&amp;b=2"' in first.html and "#dan_van" in first.text
    assert second.text.startswith("📰 Tin b")
    assert (await store.stats(clock())).deliveries_by_status == {DeliveryStatus.SENT: 2}


async def test_several_new_articles_to_one_chat_go_as_one_message(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "1", clock)
    for key in ("a", "b", "c"):
        await publish(store, key, clock)
    await worker.drain()
    assert len(channel.sent) == 1
    text = channel.sent[0][1].text
    assert text.startswith("🗞 3 tin mới") and text.index("Tin a") < text.index(
        "Tin b"
    ) < text.index("Tin c")
    assert (await store.stats(clock())).deliveries_by_status == {DeliveryStatus.SENT: 3}


async def test_retry_later_waits_and_does_not_block_other_chats(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "slow", clock)
    await add_chat(store, "fast", clock)
    channel.script["slow"] = [RetryLater("429 Too Many Requests", after=30)]
    await publish(store, "a", clock)
    await worker.drain()
    assert [c for c, _ in channel.sent] == ["fast"]
    await publish(store, "b", clock)
    await worker.drain()
    assert [c for c, _ in channel.sent] == ["fast", "fast"]
    clock.advance(31)
    worker.senders["fake"].limiter = RateLimiter(
        Limits(rate=1000, private_interval=0)
    )  # the real 30 s passed
    await worker.drain()
    slow = [m.text for c, m in channel.sent if c == "slow"]
    assert len(slow) == 1 and "Tin a" in slow[0] and "Tin b" in slow[0]  # both, in order, grouped


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
    # bad: 1 rejected + 3 sent; gone: 3 failed (unreachable), then deactivated: the 4th never queued
    assert stats.deliveries_by_status == {DeliveryStatus.FAILED: 4, DeliveryStatus.SENT: 3}


async def test_unreachable_chat_pending_deliveries_are_cancelled(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "gone", clock)
    channel.script["gone"] = [ChatUnreachable("blocked")] * 5
    for key in "abcdef":
        await publish(store, key, clock)
    sender = worker.senders["fake"]
    for _ in range(3):  # one message at a time, as a chat's deliveries fail one after another
        jobs = await store.claim_due("fake", clock(), group_max=1)
        for job in jobs:
            await sender._handle(job)
    stats = await store.stats(clock())
    assert stats.deliveries_by_status == {DeliveryStatus.FAILED: 3, DeliveryStatus.CANCELLED: 3}


async def test_retry_gives_up_after_max_attempts(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "1", clock)
    channel.script["1"] = [RetryLater("timeout")] * (MAX_ATTEMPTS + 2)
    await publish(store, "a", clock)
    for _ in range(MAX_ATTEMPTS + 1):
        await worker.drain()
        clock.advance(3600 * 2)
    stats = await store.stats(clock())
    assert stats.deliveries_by_status == {DeliveryStatus.FAILED: 1}


async def test_chat_migration_moves_the_chat_and_sends_there(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "-100", clock)
    channel.script["-100"] = [ChatMigrated("upgraded to a supergroup", new_chat_id="-1009999")]
    await publish(store, "a", clock)
    await worker.drain()
    assert [c for c, _ in channel.sent] == ["-1009999"]
    moved = await store.get_chat("fake", "-1009999")
    assert moved is not None and [s.key for s in await store.subscriptions(moved)] == ["dan-van"]
    assert await store.get_chat("fake", "-100") is None


async def test_a_long_wait_parks_and_alerts(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, _ = setup
    alerts: list[tuple[str, dict[str, object]]] = []

    async def alert(key: str, values: dict[str, object]) -> None:
        alerts.append((key, values))

    worker = make_worker(store, channel, clock, alert=alert)
    await add_chat(store, "1", clock)
    channel.script["1"] = [
        RetryLater("Too Many Requests: retry after 7200", after=7200, scope="channel")
    ]
    await publish(store, "a", clock)
    await worker.drain(timeout=5)
    assert [k for k, _ in alerts] == ["alert_parked"]
    job_time = await store.claim_due("fake", clock() + timedelta(seconds=7201))
    assert len(job_time) == 1  # parked, not lost: due again after the wait


async def test_broadcast_goes_through_the_outbox(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    await add_chat(store, "1", clock)
    await add_chat(store, "2", clock)
    sent_to = await store.enqueue_message("broadcast", "Họp chi bộ lúc 14:00", clock())
    message_id, count = sent_to.message_id, sent_to.deliveries
    assert count == 2
    await worker.drain()
    assert sorted(c for c, _ in channel.sent) == ["1", "2"]
    assert {m.text for _, m in channel.sent} == {"Họp chi bộ lúc 14:00"}
    progress = await store.broadcast_progress(message_id)
    assert (progress.total, progress.sent, progress.pending) == (2, 2, 0)


# -- digests and quiet hours ----------------------------------------------------------------


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ).astimezone(UTC)


def test_quiet_hours_across_midnight() -> None:
    policy = HoldPolicy(TZ, parse_quiet_hours("22:00-06:00"))
    assert policy.quiet_end(local(2026, 11, 26, 21, 59)) is None
    assert policy.quiet_end(local(2026, 11, 26, 22, 0)) == local(2026, 11, 27, 6, 0)
    assert policy.quiet_end(local(2026, 11, 27, 3, 0)) == local(2026, 11, 27, 6, 0)
    assert policy.quiet_end(local(2026, 11, 27, 6, 0)) is None
    day = HoldPolicy(TZ, parse_quiet_hours("12:00-13:30"))
    assert day.quiet_end(local(2026, 11, 27, 12, 45)) == local(2026, 11, 27, 13, 30)
    for bad in ("22:00", "25:00-06:00", "22:00-22:00", "10-11"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)


def test_digest_slots_across_midnight() -> None:
    policy = HoldPolicy(TZ)
    assert policy.last_digest_slot("07:30", local(2026, 11, 27, 8)) == local(2026, 11, 27, 7, 30)
    assert policy.last_digest_slot("07:30", local(2026, 11, 27, 7)) == local(2026, 11, 26, 7, 30)
    assert policy.last_digest_slot("00:00", local(2026, 11, 27, 0, 1)) == local(2026, 11, 27, 0, 0)


async def test_digest_chat_gets_one_message_at_its_time(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    clock.now = local(2026, 11, 26, 9)
    await add_chat(store, "d", clock, digest_time="18:00", last_digest_at=local(2026, 11, 25, 18))
    await add_chat(store, "i", clock)
    for key in ("a", "b", "c"):
        await publish(store, key, clock)
        clock.advance(3600)
        await worker.drain()
    assert [c for c, _ in channel.sent] == ["i", "i", "i"]  # instant chat: as they come
    clock.now = local(2026, 11, 26, 18, 0)
    await worker.drain()
    digest = [m.text for c, m in channel.sent if c == "d"]
    assert len(digest) == 1 and digest[0].startswith("🗞 Bản tin tổng hợp: 3 tin")
    await publish(store, "late", clock)  # after today's digest: waits for tomorrow's
    clock.advance(3600)
    await worker.drain()
    assert len([1 for c, _ in channel.sent if c == "d"]) == 1
    clock.now = local(2026, 11, 27, 18, 0)
    await worker.drain()
    assert "Tin late" in [m.text for c, m in channel.sent if c == "d"][-1]


async def test_quiet_hours_hold_pushes_for_chats_that_did_not_opt_out(
    sqlite_url: str, clock
) -> None:  # type: ignore[no-untyped-def]
    store = await open_store(sqlite_url)
    await store.sync_sources(
        [type("S", (), {"id": "s", "name": "S", "kind": "rss", "url": "https://p/"})()], clock()
    )
    channel = FakeChannel()
    worker = make_worker(store, channel, clock, quiet_hours=(dtime(22), dtime(6)))
    clock.now = local(2026, 11, 26, 23)
    await add_chat(store, "sleepy", clock)
    await add_chat(store, "owl", clock, quiet_hours=False)
    await publish(store, "night", clock)
    await store.enqueue_message("alert", "Nguồn lỗi", clock(), chats=[("fake", "sleepy")])
    await worker.drain()
    # The owl gets the article; the sleeper only the alert (alerts and broadcasts are not held).
    assert sorted((c, m.text.splitlines()[0]) for c, m in channel.sent) == [
        ("owl", "📰 Tin night"),
        ("sleepy", "Nguồn lỗi"),
    ]
    clock.now = local(2026, 11, 27, 6, 1)
    await worker.drain()
    assert [(c, m.text.splitlines()[0]) for c, m in channel.sent][2:] == [
        ("sleepy", "📰 Tin night")
    ]
    await store.close()


# -- crash safety and two workers -----------------------------------------------------------


async def test_two_workers_on_one_database_never_send_the_same_delivery(
    sqlite_url: str, clock
) -> None:  # type: ignore[no-untyped-def]
    store_a = await open_store(sqlite_url)
    store_b = await open_store(sqlite_url)
    await store_a.sync_sources(
        [type("S", (), {"id": "s", "name": "S", "kind": "rss", "url": "https://p/"})()], clock()
    )
    for i in range(60):
        await add_chat(store_a, str(i), clock)
    for key in "abc":
        await publish(store_a, key, clock)
    channel = FakeChannel()
    channel.delay = 0.001
    a = make_worker(store_a, channel, clock, owner="A", concurrency=8)
    b = make_worker(store_b, channel, clock, owner="B", concurrency=8)
    await asyncio.gather(a.drain(), b.drain())
    sent_ids = [(c, m.text) for c, m in channel.sent]
    assert len(sent_ids) == len(set(sent_ids)) == 60  # one grouped message per chat, never twice
    assert (await store_a.stats(clock())).deliveries_by_status == {DeliveryStatus.SENT: 180}
    await store_a.close()
    await store_b.close()


async def test_a_broadcast_is_not_held_behind_a_digest(setup, clock) -> None:  # type: ignore[no-untyped-def]
    store, channel, worker = setup
    clock.now = local(2026, 11, 26, 9)
    await add_chat(store, "d", clock, digest_time="18:00", last_digest_at=local(2026, 11, 26, 8))
    await publish(store, "a", clock)
    await worker.drain()
    assert channel.sent == []  # the article waits for 18:00
    await store.enqueue_message("broadcast", "Họp khẩn lúc 10:00", clock())
    await worker.drain()
    assert [m.text for _, m in channel.sent] == ["Họp khẩn lúc 10:00"]
    clock.now = local(2026, 11, 26, 18, 0)
    await worker.drain()
    assert "Tin a" in channel.sent[-1][1].text
