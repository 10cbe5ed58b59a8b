"""Store: migrations, dedup by key, fan-out in one transaction, outbox claims, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from feeds.models import Source
from storage.records import DeliveryStatus, NewArticle
from storage.store import MIGRATIONS_DIR, Store, open_store


def art(
    key: str,
    topics: tuple[str, ...] = ("dan-van",),
    keywords: tuple[str, ...] = (),
    source: str = "s1",
) -> NewArticle:
    return NewArticle(
        source_id=source,
        key=key,
        url=f"https://portal.example/{key}",
        title=f"Tin {key}",
        published_at=None,
        body="Nội dung.",
        summary="Tóm tắt.",
        topics=topics,
        keywords=keywords,
    )


async def _setup(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    await store.sync_sources(
        [
            Source("s1", "Nguồn 1", "rss", "https://portal.example/rss"),
            Source("s2", "Nguồn 2", "rss", "https://portal.example/rss2"),
        ],
        clock(),
    )


async def test_migrations_bring_an_empty_database_to_head(db_url: str) -> None:
    store = await open_store(db_url)
    try:
        # The head: the highest-numbered revision file.
        head = max(p.stem[:4] for p in (MIGRATIONS_DIR / "versions").glob("0*.py"))
        assert await store.current_revision() == head
        # Running the upgrade again is a no-op.
        assert await store.upgrade() == head
        assert await store.ping()
    finally:
        await store.close()


async def test_article_key_is_unique_across_sources_and_calls(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    first = await store.save_articles([art("a"), art("b")], clock())
    assert len(first.new_ids) == 2
    again = await store.save_articles([art("a"), art("b", source="s2"), art("c")], clock())
    assert len(again.new_ids) == 1
    assert await store.known_keys(["a", "b", "c", "zzz"]) == {"a", "b", "c"}
    assert await store.article_count() == 3


async def test_fan_out_matches_topics_and_keywords_once_per_chat(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    now = clock()
    topic_chat = await store.upsert_chat("telegram", "1", now)
    keyword_chat = await store.upsert_chat("telegram", "2", now)
    both = await store.upsert_chat("zalo", "abc", now)
    paused = await store.upsert_chat("telegram", "3", now)
    await store.subscribe(topic_chat, "topic", "dan-van", "dan-van", now)
    await store.subscribe(keyword_chat, "keyword", "Chuyển đổi số", "chuyển đổi số", now)
    await store.subscribe(both, "topic", "dan-van", "dan-van", now)
    await store.subscribe(both, "keyword", "chuyển đổi số", "chuyển đổi số", now)
    await store.subscribe(paused, "topic", "dan-van", "dan-van", now)
    await store.update_chat(paused, now, paused=True)
    assert await store.keyword_keys() == ["chuyển đổi số"]

    result = await store.save_articles([art("x", keywords=("chuyển đổi số",))], now)
    assert (
        result.deliveries == 3
    )  # topic chat, keyword chat, and the chat with both once; not the paused one
    seeded = await store.save_articles([art("y")], now, seeded=True)
    assert seeded.deliveries == 0
    jobs = [*await store.claim_due("telegram", now), *await store.claim_due("zalo", now)]
    assert sorted((j.chat.channel, j.chat.chat_id) for j in jobs) == [
        ("telegram", "1"),
        ("telegram", "2"),
        ("zalo", "abc"),
    ]
    assert all(j.article is not None and j.article.title == "Tin x" for j in jobs)


async def test_claims_keep_per_chat_order_and_never_hand_out_twice(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    now = clock()
    chat = await store.upsert_chat("console", "local", now)
    await store.subscribe(chat, "topic", "dan-van", "dan-van", now)
    await store.save_articles([art("1"), art("2"), art("3")], now)
    first = await store.claim_due("console", now)
    assert [j.article.key for j in first if j.article] == ["1"]
    assert await store.claim_due("console", now) == []  # "1" is in flight: the chat waits
    await store.mark_retry(
        first[0].ids, now, next_attempt_at=now + timedelta(seconds=60), error="429"
    )
    assert await store.claim_due("console", now) == []  # still first in line, not due yet
    clock.advance(61)
    again = await store.claim_due("console", clock())
    assert [j.article.key for j in again if j.article] == ["1"] and again[0].attempts == 2
    await store.mark_sent(again[0].ids, clock(), "m1")
    nxt = await store.claim_due("console", clock())
    assert [j.article.key for j in nxt if j.article] == ["2"]


async def test_in_flight_deliveries_are_requeued_after_a_crash(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    now = clock()
    chat = await store.upsert_chat("console", "local", now)
    await store.subscribe(chat, "topic", "dan-van", "dan-van", now)
    await store.save_articles([art("1")], now)
    assert len(await store.claim_due("console", now, owner="a")) == 1
    assert await store.requeue_expired(now, lease_seconds=60) == 0  # a live claim is kept
    assert await store.claim_due("console", now) == []
    assert await store.requeue_expired(now + timedelta(seconds=61), lease_seconds=60) == 1
    assert len(await store.claim_due("console", now + timedelta(seconds=61))) == 1


async def test_unreachable_three_times_deactivates_and_cancels(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    now = clock()
    chat = await store.upsert_chat("telegram", "9", now)
    await store.subscribe(chat, "topic", "dan-van", "dan-van", now)
    await store.save_articles([art(str(i)) for i in range(5)], now)
    for expected in (False, False, True):
        job = (await store.claim_due("telegram", now))[0]
        assert await store.mark_unreachable(job.ids, now, reason="blocked") is expected
    assert (await store.get_chat("telegram", "9")).active is False  # type: ignore[union-attr]
    stats = await store.stats(now)
    # Stored as statuses of their own; the figures count unreachable with failed, as before.
    async with store.engine.connect() as conn:
        q = text("SELECT status, last_error FROM deliveries ORDER BY id")
        rows = (await conn.execute(q)).all()
    assert [tuple(r) for r in rows] == [(DeliveryStatus.UNREACHABLE, "blocked")] * 3 + [
        (DeliveryStatus.CANCELLED, "chat unreachable: blocked")
    ] * 2
    assert stats.deliveries_by_status == {DeliveryStatus.FAILED: 3, DeliveryStatus.CANCELLED: 2}
    # /start brings it back.
    assert (await store.upsert_chat("telegram", "9", now, reactivate=True)).active


async def test_broadcast_targets_topic_subscribers_or_everyone(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    now = clock()
    a = await store.upsert_chat("telegram", "1", now)
    await store.upsert_chat("telegram", "2", now)
    await store.subscribe(a, "topic", "kiem-tra", "kiem-tra", now)
    _, to_topic = await store.enqueue_message("broadcast", "Thông báo", now, topic="kiem-tra")
    _, to_all = await store.enqueue_message("broadcast", "Thông báo chung", now)
    _, to_admin = await store.enqueue_message("alert", "Nguồn lỗi", now, chats=[("telegram", "2")])
    assert (to_topic, to_all, to_admin) == (1, 2, 1)


async def test_latest_orders_by_publish_date_and_filters_by_topic(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    now = clock()
    older = NewArticle(
        "s1", "old", "https://p/old", "Cũ", now - timedelta(days=2), "", "", ("dan-van",)
    )
    newer = NewArticle(
        "s1", "new", "https://p/new", "Mới", now - timedelta(hours=1), "", "", ("kiem-tra",)
    )
    await store.save_articles([older, newer], now, seeded=True)
    assert [a.key for a in await store.latest()] == ["new", "old"]
    assert [a.key for a in await store.latest("dan-van")] == ["old"]
    assert [a.key for a in await store.latest(limit=1)] == ["new"]


async def test_poll_state_round_trip(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    now = clock()
    st = await store.record_poll_failure(
        "s1", now, error="boom", next_check_at=now + timedelta(seconds=60)
    )
    assert st.consecutive_failures == 1 and st.last_error == "boom"
    await store.record_poll_success(
        "s1", now, next_check_at=now, etag='"abc"', last_modified=None, item_count=7, seeded=True
    )
    st = await store.source_state("s1")
    assert st is not None
    assert (st.consecutive_failures, st.etag, st.last_item_count) == (0, '"abc"', 7)
    assert st.seeded_at == now and st.next_check_at == now


async def test_search_is_accent_insensitive_needs_every_word_and_ranks_title_hits_first(
    store: Store, clock
) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    now = clock()

    def a(key: str, title: str, body: str, hours_ago: int) -> NewArticle:
        return NewArticle(
            "s1", key, f"https://p/{key}", title, now - timedelta(hours=hours_ago), body, "", ()
        )

    await store.save_articles(
        [
            a("body-new", "Hội nghị tổng kết năm", "Bàn về công tác dân vận ở cơ sở.", 1),
            a("title-old", "Công tác dân vận khéo năm 2026", "Nội dung khác.", 48),
            a("title-new", "Dân vận: những cách làm hay", "Chi bộ cơ sở.", 2),
            a("one-word", "Vận động quần chúng", "Không có từ kia.", 3),
            a("duk", "Quán triệt Nghị quyết 04-NQ/ĐUK", "Đảng ủy Khối triển khai.", 5),
        ],
        now,
    )
    keys = [x.key for x in await store.search("dan van")]
    assert keys == ["title-new", "title-old", "body-new"]
    assert [x.key for x in await store.search("DÂN VẬN")] == keys
    assert [x.key for x in await store.search("đảng ủy")] == ["duk"]
    assert [x.key for x in await store.search("dang uy khoi")] == ["duk"]
    assert [x.key for x in await store.search("04-NQ/ĐUK")] == ["duk"]
    assert await store.search("dân vận xyzzy") == []
    assert await store.search("  ...  ") == []
    assert [x.key for x in await store.search("dan van", limit=1)] == ["title-new"]
