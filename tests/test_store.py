"""Store: migrations, dedup by key, fan-out in one transaction, outbox claims, on SQLite and
PostgreSQL."""

from __future__ import annotations

import inspect
from datetime import timedelta

from sqlalchemy import text

from feeds.models import Source
from storage.records import (
    ArticleDetail,
    ChatPage,
    DeliveryStatus,
    ImportResult,
    NewArticle,
    OutboxCounts,
    PausedSource,
    SubscriptionKind,
    Usage,
)
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
    to_topic = await store.enqueue_message(
        "broadcast", "Thông báo", now, target="topics", values=["kiem-tra"]
    )
    to_all = await store.enqueue_message("broadcast", "Thông báo chung", now)
    to_admin = await store.enqueue_message("alert", "Nguồn lỗi", now, chats=[("telegram", "2")])
    assert [q.deliveries for q in (to_topic, to_all, to_admin)] == [1, 2, 1]
    assert len({q.message_id for q in (to_topic, to_all, to_admin)}) == 3


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


async def test_grouped_claims_take_a_run_of_due_articles_into_one_topic_only(
    store: Store, clock
) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    now = clock()
    chat = await store.upsert_chat("telegram", "-100", now, kind="group")
    await store.subscribe(chat, SubscriptionKind.TOPIC, "dan-van", "dan-van", now)
    await store.subscribe(chat, SubscriptionKind.KEYWORD, "k", "k", now, thread_id="7")
    # a1..a3 and a5 go to the General topic, a4 (a keyword match) to forum topic 7.
    arts = [art("a1"), art("a2"), art("a3"), art("a4", topics=(), keywords=("k",)), art("a5")]
    await store.save_articles(arts, now)

    async def claim() -> list[tuple[str | None, list[str]]]:
        jobs = await store.claim_due("telegram", clock(), owner="w", group_max=2)
        for job in jobs:
            await store.mark_sent(job.ids, clock())
        return [(j.thread_id, [a.key for a in j.articles]) for j in jobs]

    assert await claim() == [(None, ["a1", "a2"])]  # at most group_max
    assert await claim() == [(None, ["a3"])]  # the run stops where the topic changes
    assert await claim() == [("7", ["a4"])]
    assert await claim() == [(None, ["a5"])]
    assert await claim() == []


async def test_a_group_moving_onto_a_known_chat_merges_into_it(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    now = clock()
    old = await store.upsert_chat("telegram", "-4", now, kind="group")
    new = await store.upsert_chat("telegram", "-1004", now, kind="group")
    await store.subscribe(old, SubscriptionKind.TOPIC, "dan-van", "dan-van", now)
    await store.subscribe(old, SubscriptionKind.KEYWORD, "k", "k", now)
    await store.subscribe(new, SubscriptionKind.TOPIC, "dan-van", "dan-van", now)
    # b1 is queued to both chats, b2 (a keyword match) to the old one only.
    await store.save_articles([art("b1"), art("b2", topics=(), keywords=("k",))], now)

    merged = await store.migrate_chat("telegram", "-4", "-1004", clock())

    assert merged is not None and merged.id == new.id and merged.active
    assert {(s.kind, s.key) for s in await store.subscriptions(new)} == {
        (SubscriptionKind.TOPIC, "dan-van"),
        (SubscriptionKind.KEYWORD, "k"),
    }
    assert await store.subscriptions(old) == []
    retired = await store.get_chat("telegram", "-4")
    assert retired is not None and not retired.active
    [job] = await store.claim_due("telegram", clock(), group_max=10)
    assert job.chat.id == new.id and [a.key for a in job.articles] == ["b1", "b2"]
    async with store.engine.connect() as conn:
        cancelled = (
            await conn.execute(
                text("SELECT chat_id, last_error FROM deliveries WHERE status = 'cancelled'")
            )
        ).all()
    assert [tuple(r) for r in cancelled] == [(old.id, "chat migrated")]  # b1 was there already


async def test_a_group_moving_to_a_new_id_keeps_its_row(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    now = clock()
    chat = await store.upsert_chat("telegram", "-5", now, kind="group")
    moved = await store.migrate_chat("telegram", "-5", "-1005", now)
    assert moved is not None and moved.id == chat.id and moved.chat_id == "-1005"
    assert await store.get_chat("telegram", "-5") is None
    # Told again (a second update about the same move): the chat is where it went.
    again = await store.migrate_chat("telegram", "-5", "-1005", now)
    assert again is not None and again.id == chat.id
    assert await store.migrate_chat("telegram", "-6", "-1006", now) is None


async def test_subscription_kinds_are_an_enum_stored_as_their_plain_names(
    store: Store, clock
) -> None:  # type: ignore[no-untyped-def]
    now = clock()
    chat = await store.upsert_chat("console", "local", now)
    for kind in SubscriptionKind:
        assert await store.subscribe(chat, kind, "Từ khóa", f"key-{kind}", now)
    async with store.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT kind FROM subscriptions ORDER BY id"))).all()
    assert [r[0] for r in stored] == ["topic", "keyword", "mute"]
    subs = await store.subscriptions(chat)
    assert {type(s.kind) for s in subs} == {SubscriptionKind}
    assert await store.unsubscribe(chat, SubscriptionKind.MUTE, "key-mute") == 1


async def test_queries_return_named_records(store: Store, clock) -> None:  # type: ignore[no-untyped-def]
    await _setup(store, clock)
    now = clock()
    assert await store.usage("zalo", "2026-11") == Usage(sent=0, warned=0)
    await store.add_usage("zalo", "2026-11", 3)
    await store.mark_usage_warned("zalo", "2026-11", 80)
    assert await store.usage("zalo", "2026-11") == Usage(sent=3, warned=80)

    chat = await store.upsert_chat("console", "local", now, title="Chi bộ")
    await store.subscribe(chat, SubscriptionKind.TOPIC, "dan-van", "dan-van", now)
    saved = await store.save_articles([art("d1")], now)
    [job] = await store.claim_due("console", now)
    await store.mark_sent(job.ids, now)
    detail = await store.article_detail(saved.new_ids[0])
    assert isinstance(detail, ArticleDetail)
    assert (detail.article.key, detail.body, detail.sent_to) == ("d1", "Nội dung.", 1)
    assert await store.article_detail(10_000) is None

    page = await store.list_chats(query="chi", limit=10)
    assert isinstance(page, ChatPage) and page.total == 1
    assert [(c.chat.chat_id, c.topics) for c in page.chats] == [("local", ("dan-van",))]

    counts = await store.outbox_counts(now)
    assert counts == OutboxCounts(by_status=[("console", "sent", 1)], due=[])

    await store.set_source_paused("s1", True, "telegram:42", now)
    assert await store.paused_sources() == {"s1": PausedSource("telegram:42", now)}

    exported = await store.export_chats()
    assert await store.import_chats(exported, now) == ImportResult(chats=1, subscriptions=0)


def test_no_store_method_returns_a_bare_tuple() -> None:
    """A query's result is a record of ``storage.records`` (fields with names), not a tuple
    whose positions every caller must remember."""
    bare = []
    for name in dir(Store):
        member = getattr(Store, name)
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue
        returns = str(inspect.signature(member).return_annotation)
        if any(part.strip().startswith("tuple[") for part in returns.split("|")):
            bare.append(f"{name} -> {returns}")
    assert not bare, bare
