"""Hostile input at the poll level: parsing in worker processes under a time limit, one bad
entry failing alone (recorded, retried, then skipped), budgets per poll, private links dropped
and counted, unchanged listings not parsed again. Peers: a mock portal and loopback servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hostile_server import HostileServer, Reply

import feeds.parsepool as parsepool
from bot.chat.admin_commands import AdminCommands
from bot.ops.metrics import Metrics
from bot.polling.plan import plan_poll
from bot.polling.poller import Poller, PollReport, PollSettings
from feeds.errors import ParseTimeout, WorkerFailure
from feeds.fetch import make_client
from feeds.models import Entry, ListRules, Source
from feeds.parsepool import ParsePool
from storage.records import NewArticle
from storage.store import Store

PORTAL = "http://portal.test"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def deep_html(depth: int) -> bytes:
    """Nested divs: even depth-capped, 400,000 of them (4.4 MB) take about a second to parse."""
    return b"<html><body>" + b"<div>" * depth + b"x" + b"</div>" * depth + b"</body></html>"


def article_html(title: str, words: str = "") -> bytes:
    para = f"{title} là một bài viết thử nghiệm có đủ chữ để trích xuất nội dung. {words}"
    body = "".join(f"<p>{para} Đoạn {i} nói thêm vài câu nữa cho đủ dài.</p>" for i in range(4))
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{body}</article></body></html>"
    ).encode()


def rss(items: list[tuple[str, str]], *, dated: bool = True) -> bytes:
    """``items``: (url, title), newest first."""
    out = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>']
    for i, (url, title) in enumerate(items):
        when = (T0 - timedelta(minutes=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        date = f"<pubDate>{when}</pubDate>" if dated else ""
        out.append(
            f"<item><title>{title}</title><link>{url}</link>{date}"
            f"<description>Tin {title}</description></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode()


@dataclass
class Portal:
    """``portal.test`` from a dict of path -> bytes (or a Response); every other host goes
    through the real guarded transport (to loopback servers that must never be asked)."""

    pages: dict[str, bytes | httpx.Response] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.hits.append(request.url.path)
        page = self.pages.get(request.url.path)
        if page is None:
            return httpx.Response(404)
        if isinstance(page, httpx.Response):
            return page
        kind = "application/rss+xml" if request.url.path.endswith(".rss") else "text/html"
        return httpx.Response(200, content=page, headers={"Content-Type": kind})


class Split(httpx.AsyncBaseTransport):
    def __init__(self, portal: Portal) -> None:
        self.mock = httpx.MockTransport(portal.handler)
        self.real = make_client()._transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "portal.test":
            return await self.mock.handle_async_request(request)
        return await self.real.handle_async_request(request)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += timedelta(hours=1)


@dataclass
class Rig:
    store: Store
    portal: Portal
    poller: Poller
    source: Source
    clock: Clock

    async def poll(self) -> PollReport:
        self.clock.tick()
        return await self.poller.poll(self.source)

    async def urls(self) -> set[str]:
        return {a.url for a in await self.store.latest(limit=10_000)}


@pytest.fixture
async def rig(store: Store) -> AsyncIterator[Callable[..., Any]]:
    made: list[Rig] = []
    clients: list[httpx.AsyncClient] = []

    async def build(items: list[tuple[str, str]] | None = None, **settings: Any) -> Rig:
        portal = Portal()
        if items is not None:
            portal.pages["/feed.rss"] = rss(items)
        client = make_client(transport=Split(portal))
        clients.append(client)
        clock = Clock()
        source = Source("s", "S", "rss", f"{PORTAL}/feed.rss")
        await store.sync_sources([source], clock())
        poller = Poller(store, client, (), clock=clock, settings=PollSettings(**settings))
        made.append(Rig(store, portal, poller, source, clock))
        return made[-1]

    yield build
    for r in made:
        r.poller.close()
    for c in clients:
        await c.aclose()


async def seed(r: Rig) -> None:
    """First sight of an empty-ish listing, so the entries that follow are news."""
    r.portal.pages["/feed.rss"] = rss([(f"{PORTAL}/old.html", "Tin cũ")])
    r.portal.pages["/old.html"] = article_html("Tin cũ")
    first = await r.poll()
    assert first.ok and first.seeded


# --- the parse pool ----------------------------------------------------------------------------


async def test_pool_kills_a_stuck_worker_and_the_loop_stays_responsive() -> None:
    pool = ParsePool(1, time_limit=0.3)
    source = Source("s", "S", "html", "http://x/")
    lateness: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lateness.append(time.perf_counter() - t - 0.01)

    task = asyncio.create_task(ticker())
    try:
        assert await pool.summary("Câu một rất hay. Câu hai cũng hay.", "Câu", 100)
        started = time.perf_counter()
        with pytest.raises(ParseTimeout):
            await pool.article(source, deep_html(400_000), "http://x/a", "text/html", "t")
        assert time.perf_counter() - started < 5
        assert pool.timeouts == 1 and pool.restarts == 1
        # A fresh worker takes the next document.
        page = await pool.article(source, article_html("Tin tốt"), "http://x/b", "text/html", "")
        assert page.title == "Tin tốt"
    finally:
        stop.set()
        await task
        pool.close()
    assert max(lateness) < 0.5  # the parser never ran on this loop


async def test_pool_reports_a_parser_crash_as_a_worker_failure() -> None:
    pool = ParsePool(1, time_limit=10)
    broken = Source("s", "S", "html", "http://x/")  # html without list rules: an assertion
    try:
        with pytest.raises(WorkerFailure, match="AssertionError"):
            await pool.listing(broken, b"<html></html>", "http://x/", "text/html", 10)
        assert pool.restarts == 0  # a crash inside the job does not cost the worker
    finally:
        pool.close()


# --- per-entry isolation ---------------------------------------------------------------------


async def test_a_page_that_crashes_the_parser_fails_alone_then_is_skipped(
    rig: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = await rig(entry_attempts=3)
    await seed(r)
    real = parsepool.extract_article

    def extract(html: str, **kw: Any) -> Any:
        if "BOOM" in html:
            raise RuntimeError("parser bug")
        return real(html, **kw)

    monkeypatch.setattr(parsepool, "extract_article", extract)  # inline pool: same process
    items = [(f"{PORTAL}/bad.html", "Bài hỏng"), (f"{PORTAL}/good.html", "Bài tốt")]
    r.portal.pages.update(
        {
            "/feed.rss": rss(items),
            "/bad.html": article_html("BOOM"),
            "/good.html": article_html("Bài tốt"),
        }
    )
    for attempt in (1, 2, 3):
        report = await r.poll()
        assert report.ok and report.failed_entries == 1, report
        assert "RuntimeError: parser bug" in report.reason
        failures = await r.store.entry_failures("s")
        assert [(f.url, f.attempts) for f in failures] == [(f"{PORTAL}/bad.html", attempt)]
    assert f"{PORTAL}/good.html" in await r.urls()
    assert f"{PORTAL}/bad.html" not in await r.urls()
    # Skipped for good: not fetched again, and the unchanged listing is not even parsed.
    r.portal.hits.clear()
    report = await r.poll()
    assert report.ok and report.not_modified and r.portal.hits == ["/feed.rss"]
    r.portal.pages["/feed.rss"] = rss([(f"{PORTAL}/new.html", "Mới"), *items])
    r.portal.pages["/new.html"] = article_html("Mới")
    r.portal.hits.clear()
    report = await r.poll()
    assert report.new == 1 and r.portal.hits == ["/feed.rss", "/new.html"]


async def test_a_page_over_the_time_limit_fails_its_entry_in_the_real_pool(
    rig: Callable[..., Any],
) -> None:
    r = await rig(parse_workers=1, parse_timeout=0.3)
    await seed(r)
    items = [(f"{PORTAL}/deep.html", "Sâu"), (f"{PORTAL}/good.html", "Bài tốt")]
    r.portal.pages.update(
        {
            "/feed.rss": rss(items),
            "/deep.html": deep_html(400_000),
            "/good.html": article_html("Bài tốt"),
        }
    )
    report = await r.poll()
    assert report.ok and report.failed_entries == 1 and report.new == 1, report
    assert "took over 0.3s" in report.reason
    assert f"{PORTAL}/good.html" in await r.urls()
    assert [f.url for f in await r.store.entry_failures("s")] == [f"{PORTAL}/deep.html"]


async def test_a_row_the_database_refuses_fails_alone(
    rig: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = await rig()
    await seed(r)
    real = r.store.save_articles

    async def save(articles: list[NewArticle], now: datetime, **kw: Any) -> Any:
        if any("poison" in a.url for a in articles):
            raise RuntimeError("value too long for type\n[SQL: INSERT ...]")
        return await real(articles, now, **kw)

    monkeypatch.setattr(r.store, "save_articles", save)
    items = [(f"{PORTAL}/poison.html", "Độc"), (f"{PORTAL}/good.html", "Bài tốt")]
    r.portal.pages.update(
        {
            "/feed.rss": rss(items),
            "/poison.html": article_html("Độc"),
            "/good.html": article_html("Bài tốt"),
        }
    )
    report = await r.poll()
    assert report.ok and report.new == 1 and report.failed_entries == 1
    (failure,) = await r.store.entry_failures("s")
    assert failure.reason == "cannot store: value too long for type"
    assert f"{PORTAL}/good.html" in await r.urls()


async def test_a_megabyte_of_distinct_words_is_stored_and_searchable(store: Store) -> None:
    # PostgreSQL refuses a tsvector over 1 MB; only the first part of a body is indexed.
    await store.sync_sources([Source("s", "S", "rss", "http://x/")], T0)
    words = " ".join(f"w{i:07d}" for i in range(130_000))  # about 1.2 MB, all distinct
    assert len(words) > 1_000_000
    article = NewArticle("s", "k1", "http://x/1", "Tiêu đề", None, "đầu bài " + words, "")
    saved = await store.save_articles([article], T0)
    assert len(saved.new_ids) == 1
    assert [a.key for a in await store.search("đầu bài")] == ["k1"]


async def test_nul_and_escape_in_an_rss_title_are_stored_clean(rig: Callable[..., Any]) -> None:
    r = await rig()
    r.source = Source("s", "S", "rss", f"{PORTAL}/feed.rss", fetch_articles=False)
    await seed(r)
    r.portal.pages["/feed.rss"] = rss([(f"{PORTAL}/n.html", "Tin&#0; có \x1b[31mNUL")])
    report = await r.poll()
    assert report.ok and report.new == 1, report
    stored = [a for a in await r.store.latest(limit=5) if a.url.endswith("/n.html")]
    assert stored and "\x00" not in stored[0].title and "\x1b" not in stored[0].title


async def test_charset_undefined_page_is_stored(rig: Callable[..., Any]) -> None:
    r = await rig()
    await seed(r)
    r.portal.pages["/feed.rss"] = rss([(f"{PORTAL}/u.html", "Không rõ mã")])
    r.portal.pages["/u.html"] = httpx.Response(
        200,
        content=article_html("Không rõ mã"),
        headers={"Content-Type": "text/html; charset=undefined"},
    )
    report = await r.poll()
    assert report.ok and report.new == 1 and not report.failed_entries, report


# --- refused links ---------------------------------------------------------------------------


async def test_private_links_are_dropped_counted_and_never_requested(
    rig: Callable[..., Any],
) -> None:
    secret = {"/secret": Reply(body=b"<html><title>database password is hunter2</title></html>")}
    async with HostileServer(dict(secret)).running() as server:
        p = server.port
        private = [
            f"http://127.0.0.1:{p}/secret",
            f"http://[::1]:{p}/secret",
            f"http://[::ffff:127.0.0.1]:{p}/secret",
            f"http://2130706433:{p}/secret",
            f"http://0177.0.0.1:{p}/secret",
            "http://169.254.169.254/latest/meta-data",
        ]
        r = await rig()
        await seed(r)
        items = [(u, f"Nội bộ {i}") for i, u in enumerate(private)]
        items += [(f"{PORTAL}/redir.html", "Chuyển hướng"), (f"{PORTAL}/good.html", "Bài tốt")]
        r.portal.pages.update(
            {
                "/feed.rss": rss(items),
                "/redir.html": httpx.Response(302, headers={"Location": private[0]}),
                "/good.html": article_html("Bài tốt"),
            }
        )
        report = await r.poll()
        metrics = Metrics()
        metrics.record_poll_report(report)
    assert server.requests == []
    assert report.ok and report.new == 2 and report.refused == len(private), report
    urls = await r.urls()
    assert f"{PORTAL}/good.html" in urls
    assert not any("127.0.0.1" in u or "169.254" in u for u in urls)
    assert await r.store.entry_failures("s") == []  # not even recorded with its URL
    assert b'bantin_links_refused_total{source="s"} 6.0' in metrics.render()
    # A public link whose page redirects to loopback: the page is never read, the entry is
    # stored from what the feed says of it.
    (redirected,) = [a for a in await r.store.latest(limit=10) if a.url.endswith("/redir.html")]
    assert redirected.title == "Chuyển hướng" and "hunter2" not in redirected.summary


# --- budgets and unchanged listings ----------------------------------------------------------


async def test_page_budget_takes_the_newest_and_keeps_the_rest_for_later(
    rig: Callable[..., Any],
) -> None:
    r = await rig(max_pages_per_poll=30)
    await seed(r)
    items = [(f"{PORTAL}/a{i}.html", f"Bài {i}") for i in range(70)]  # newest first
    r.portal.pages["/feed.rss"] = rss(items)
    for i in range(70):
        r.portal.pages[f"/a{i}.html"] = article_html(f"Bài {i}")
    for expected, newest in ((30, 0), (30, 30), (10, 60)):
        r.portal.hits.clear()
        report = await r.poll()  # the same bytes each time: parsed again while work is left
        pages = [h for h in r.portal.hits if h != "/feed.rss"]
        assert report.new == expected and len(pages) == expected, report
        assert f"/a{newest}.html" in pages
    report = await r.poll()
    assert report.not_modified  # nothing left: the unchanged listing is not parsed


async def test_listing_entries_are_capped(rig: Callable[..., Any]) -> None:
    r = await rig(max_entries_per_listing=500, max_pages_per_poll=30)
    items = [(f"{PORTAL}/a{i}.html", f"Bài {i}") for i in range(3000)]
    r.portal.pages["/feed.rss"] = rss(items)
    report = await r.poll()
    assert report.ok and report.seeded
    assert len(await r.store.latest(limit=10_000)) == 500
    pages = [h for h in r.portal.hits if h != "/feed.rss"]
    assert len(pages) == 10  # first sight: only the seed pages, within the budget


async def test_unchanged_listing_bytes_are_not_parsed_again(
    rig: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = await rig()
    await seed(r)
    calls: list[str] = []
    real = parsepool.listing_job

    def counting(*args: Any) -> Any:
        calls.append(args[2])
        return real(*args)

    monkeypatch.setattr(parsepool, "listing_job", counting)
    assert (await r.poll()).not_modified and calls == []
    r.portal.pages["/feed.rss"] = rss([(f"{PORTAL}/n.html", "Mới")])
    r.portal.pages["/n.html"] = article_html("Mới")
    report = await r.poll()
    assert report.new == 1 and len(calls) == 1


def test_plan_budgets_are_pure() -> None:
    source = Source("s", "S", "rss", "http://x/")

    class Seen:
        seeded_at = T0
        last_item_count = 5

    keyed = [
        (f"k{i}", Entry(f"http://x/{i}", f"t{i}", T0 + timedelta(minutes=i))) for i in range(50)
    ]  # oldest first: the plan must still take the newest
    plan = plan_poll(source, Seen(), keyed, {"k49"}, max_pages=5, max_entries=40)
    assert plan.item_count == 40
    assert [k for k, _ in plan.fetch_pages] == ["k39", "k38", "k37", "k36", "k35"]
    assert len(plan.deferred) == 35 and plan.listing_only == ()
    first = plan_poll(source, None, keyed, set(), max_pages=3, max_entries=40)
    assert len(first.fetch_pages) == 3 and len(first.listing_only) == 37


# --- where failures are shown ----------------------------------------------------------------


async def test_sources_command_shows_failed_entries(store: Store) -> None:
    await store.sync_sources([Source("s", "S", "rss", "http://x/")], T0)
    await store.record_entry_failure("s", "k", "http://x/bad", "ParseTimeout: too slow", T0)
    chat = await store.upsert_chat("console", "1", T0)
    admin = AdminCommands(
        store, (), tz=ZoneInfo("Asia/Ho_Chi_Minh"), clock=lambda: T0, source_names={"s": "S"}
    )
    (out,) = await admin.sources(None, chat, "")  # type: ignore[arg-type]
    assert "http://x/bad" in out.text and "ParseTimeout: too slow" in out.text


# --- nesting depth -----------------------------------------------------------------------------


def test_deep_nesting_is_capped_in_linear_time_and_shallow_pages_are_untouched() -> None:
    from feeds.depth import cap_depth
    from feeds.html import parse_listing

    page = "<ul><li><a href='/a/1.html'>Một</a><li><p>x<p>y</ul>"
    assert cap_depth(page) == page
    deep = (
        "<html><body><a href='/tin/1.html'>Tin một</a>"
        + "<div>" * 100_000
        + "chữ"
        + "</div>" * 100_000
        + "<a href='/tin/2.html'>Tin hai</a></body></html>"
    )
    started = time.perf_counter()
    capped = cap_depth(deep)
    assert capped.count("<div>") == 254 and "chữ" in capped
    rules = ListRules(link_pattern=r"/tin/\d+\.html")
    entries = parse_listing(deep, base_url="http://x/", rules=rules)
    assert time.perf_counter() - started < 10  # was minutes: the tree builder is super-linear
    assert [e.url for e in entries] == ["http://x/tin/1.html", "http://x/tin/2.html"]


async def test_check_source_reads_the_recorded_failures(tmp_path: Any) -> None:
    from pathlib import Path

    from bot.config import Config, load_settings
    from bot.polling.check import _entry_failures
    from storage.store import open_store

    url = f"sqlite:///{tmp_path}/b.db"
    config = Config(load_settings({"BANTIN_DATABASE_URL": url}), (), (), Path("t.toml"))
    assert await _entry_failures(config, "s") == []  # no database yet: none, and none created
    assert not (tmp_path / "b.db").exists()
    store = await open_store(url)
    try:
        await store.sync_sources([Source("s", "S", "rss", "http://x/")], T0)
        await store.record_entry_failure("s", "k", "http://x/bad", "WorkerFailure: boom", T0)
    finally:
        await store.close()
    (failure,) = await _entry_failures(config, "s")
    assert failure.url == "http://x/bad" and failure.attempts == 1


async def test_a_listing_over_the_time_limit_fails_its_source_not_the_bot(
    rig: Callable[..., Any],
) -> None:
    r = await rig(parse_workers=1, parse_timeout=0.5)
    deep = "<div>" * 200_000 + "</div>" * 200_000  # feedparser reads it for seconds
    items = [(f"{PORTAL}/a.html", "Tin")]
    r.portal.pages["/feed.rss"] = rss(items).replace(
        b"Tin Tin", deep.encode().replace(b"<", b"&lt;")
    )
    report = await r.poll()
    assert not report.ok and "took over 0.5s" in report.reason, report
    state = await r.store.source_state("s")
    assert state is not None and state.consecutive_failures == 1 and state.listing_hash is None
    # The pool was replaced: the next document parses.
    r.portal.pages["/feed.rss"] = rss(items)
    r.portal.pages["/a.html"] = article_html("Tin")
    assert (await r.poll()).ok
