"""The poll plan (bot/polling/plan.py) without a database or a network: seeding, page fetches,
zero-item failures, duplicate entries; and the success report's reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.polling.plan import SEED_PAGES, PollPlan, plan_poll
from bot.polling.poller import success_reason
from feeds.models import Entry, ListRules, Source
from feeds.reader import keyed_entries

HTML = Source(
    id="s",
    name="S",
    kind="html",
    url="http://portal.test/s.aspx",
    list=ListRules(link_pattern=r"-duk\d+"),
)
RSS = Source(id="r", name="R", kind="rss", url="http://portal.test/r.rss")


@dataclass(frozen=True)
class State:
    seeded_at: datetime | None = None
    last_item_count: int = 0


SEEDED = State(datetime(2026, 11, 1, tzinfo=UTC), 30)


def entries(n: int, start: int = 1) -> list[Entry]:
    urls = (f"http://portal.test/bai-{i}-duk{i}.aspx" for i in range(start, start + n))
    return [Entry(url, f"Bài {i}") for i, url in enumerate(urls, start)]


def test_first_sight_seeds_silently_with_seed_pages_pages() -> None:
    items = keyed_entries(HTML, entries(30))
    for state in (None, State()):  # never polled, or polled but never seeded
        plan = plan_poll(HTML, state, items, known_keys=set())
        assert plan.first_sight and plan.failure is None
        assert plan.item_count == 30
        assert [k for k, _ in plan.fetch_pages] == [k for k, _ in items[:SEED_PAGES]]
        assert [k for k, _ in plan.listing_only] == [k for k, _ in items[SEED_PAGES:]]
        assert plan.fresh == tuple(items)
        # History is neither summarised from the listing nor matched against keywords.
        assert not plan.summarise_without_page and not plan.match_keywords


def test_first_sight_with_fewer_entries_than_seed_pages_fetches_them_all() -> None:
    items = keyed_entries(HTML, entries(3))
    plan = plan_poll(HTML, None, items, known_keys=set())
    assert plan.fetch_pages == tuple(items) and plan.listing_only == ()


def test_later_polls_fetch_every_fresh_page() -> None:
    items = keyed_entries(HTML, entries(SEED_PAGES + 5))
    known = {k for k, _ in items[SEED_PAGES + 5 - 2 :]}  # the two oldest are stored already
    plan = plan_poll(HTML, SEEDED, items, known)
    assert not plan.first_sight and plan.failure is None
    assert plan.item_count == SEED_PAGES + 5
    assert plan.fetch_pages == tuple(items[: SEED_PAGES + 3]) and plan.listing_only == ()
    assert plan.summarise_without_page and plan.match_keywords


def test_nothing_fresh_is_a_quiet_success() -> None:
    items = keyed_entries(HTML, entries(4))
    plan = plan_poll(HTML, SEEDED, items, {k for k, _ in items})
    assert plan == PollPlan(
        first_sight=False, item_count=4, summarise_without_page=True, match_keywords=False
    )


def test_fetch_articles_off_fetches_no_page() -> None:
    source = Source(id="r", name="R", kind="rss", url=RSS.url, fetch_articles=False)
    items = keyed_entries(source, entries(12))
    first = plan_poll(source, None, items, set())
    assert first.fetch_pages == () and first.listing_only == tuple(items)
    later = plan_poll(source, SEEDED, items, {k for k, _ in items[2:]})
    assert later.fetch_pages == () and later.listing_only == tuple(items[:2])
    assert later.summarise_without_page  # news: summarised from the feed's description


def test_zero_items_is_a_failure_naming_the_previous_count() -> None:
    plan = plan_poll(HTML, SEEDED, [], set())
    assert plan.failure == (
        "listing yielded no items (it had 30): selectors or link_pattern no longer match"
    )
    assert plan.item_count == 0 and plan.fresh == ()


def test_zero_items_without_a_previous_count() -> None:
    for source, state in ((HTML, None), (RSS, State()), (HTML, State(SEEDED.seeded_at, 0))):
        plan = plan_poll(source, state, [], set())
        assert plan.failure == (
            f"{source.kind} listing yielded no items: check the URL, selectors or link_pattern"
        )


def test_duplicate_entries_collapse_to_the_first() -> None:
    one, two = entries(2)
    again = Entry(one.url + "#comments", "Bài 1 (again)")  # the same article id, so the same key
    items = keyed_entries(HTML, [one, two, again, two])
    assert [e for _, e in items] == [one, two]
    plan = plan_poll(HTML, SEEDED, items, set())
    assert plan.item_count == 2
    assert [e for _, e in plan.fetch_pages] == [one, two]


def test_success_reason() -> None:
    first = plan_poll(HTML, None, keyed_entries(HTML, entries(3)), set())
    later = plan_poll(HTML, SEEDED, keyed_entries(HTML, entries(3)), set())
    assert success_reason(first, 3, []) == "first sight: 3 items stored silently"
    assert success_reason(later, 3, []) == ""
    assert success_reason(later, 3, ["HTTP 500 at /x", "HTTP 404 at /y"]) == (
        "2 article page(s) failed, stored from the listing: HTTP 500 at /x"
    )
    assert success_reason(first, 3, ["boom"]) == (
        "first sight: 3 items stored silently; "
        "1 article page(s) failed, stored from the listing: boom"
    )


def test_one_date_rule_feed_first_for_rss_page_first_for_html() -> None:
    from datetime import UTC, datetime

    from bot.polling.plan import article_date
    from feeds.models import Entry, ExtractedArticle

    listed = datetime(2026, 11, 29, tzinfo=UTC)
    on_page = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
    entry = Entry(url="http://x.vn/a", title="a", published_at=listed)
    page = ExtractedArticle(title="a", body="b", published_at=on_page, date_from="selector")
    assert article_date("rss", entry, page) == (listed, "listing")
    assert article_date("html", entry, page) == (on_page, "selector")
    undated = Entry(url="http://x.vn/a", title="a")
    assert article_date("rss", undated, page) == (on_page, "selector")
    assert article_date("html", entry, None) == (listed, "listing")
    assert article_date("html", undated, None) == (None, "")


def test_every_source_kind_has_one_row_in_the_type_table() -> None:
    from typing import get_args

    from feeds.kinds import SOURCE_TYPES
    from feeds.models import SourceKind

    assert set(SOURCE_TYPES) == set(get_args(SourceKind))
    assert all(row.kind == kind for kind, row in SOURCE_TYPES.items())
