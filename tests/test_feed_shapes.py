"""Issue 20: feeds in the shapes real ones have (items on subdomains, links that redirect to
the publisher, a FeedBurner-like feed on another host, an intranet portal) yield every item:
pages fetched where the outbound policy allows, every entry stored and pushed either way.

The web is an ``httpx.MockTransport`` keyed by full URL, so public-looking names are served
without DNS; every request is recorded, and a private address must never be asked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.polling.plan import plan_poll
from bot.polling.poller import Poller, PollReport, PollSettings
from feeds.fetch import make_client
from feeds.models import Entry, Source, Topic
from feeds.netpolicy import article_policy, dropped_link
from storage.records import SubscriptionKind
from storage.store import Store

T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
TOPIC = Topic("thoi-su", "Thời sự")


def feed_xml(items: list[tuple[str, str]]) -> bytes:
    """An RSS 2.0 document; ``items``: (link, title), newest first."""
    out = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>']
    for i, (link, title) in enumerate(items):
        when = (T0 - timedelta(minutes=5 * i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        out.append(
            f"<item><title>{title}</title><link>{link}</link><pubDate>{when}</pubDate>"
            f"<description>Tóm tắt trong feed: {title}.</description></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode()


def page_html(title: str) -> bytes:
    """An article page whose title says it came from the page, not from the feed."""
    para = f"{title}: nội dung đầy đủ của bài báo trên trang của nhà xuất bản, đủ dài để trích."
    body = "".join(f"<p>{para} Đoạn {i} kể thêm chi tiết về sự việc.</p>" for i in range(4))
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{body}</article></body></html>"
    ).encode()


@dataclass
class Web:
    """Full URL -> bytes (a page, or a feed when it ends in ``.rss``) or a Response."""

    routes: dict[str, bytes | httpx.Response] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.asked.append(url)
        found = self.routes.get(url)
        if found is None:
            return httpx.Response(404)
        if isinstance(found, httpx.Response):
            return found
        kind = "application/rss+xml" if ".rss" in url else "text/html; charset=utf-8"
        return httpx.Response(200, content=found, headers={"Content-Type": kind})

    def pages_asked(self, feed_url: str) -> list[str]:
        return [u for u in self.asked if u != feed_url]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    store: Store
    web: Web
    poller: Poller
    clock: Clock

    async def poll(self, source: Source) -> PollReport:
        self.clock.now += timedelta(hours=1)
        return await self.poller.poll(source)

    async def stored(self) -> dict[str, str]:
        """URL -> title of every stored article."""
        return {a.url: a.title for a in await self.store.latest(limit=10_000)}


@pytest.fixture
async def rig(store: Store) -> AsyncIterator[Callable[..., Any]]:
    made: list[tuple[Rig, httpx.AsyncClient]] = []

    async def build(source: Source, **settings: Any) -> Rig:
        web = Web()
        client = make_client(transport=httpx.MockTransport(web.handler))
        clock = Clock()
        await store.sync_sources([source], clock())
        chat = await store.upsert_chat("console", "reader", clock())
        await store.subscribe(chat, SubscriptionKind.TOPIC, TOPIC.slug, TOPIC.slug, clock())
        poller = Poller(store, client, (TOPIC,), clock=clock, settings=PollSettings(**settings))
        made.append((Rig(store, web, poller, clock), client))
        return made[-1][0]

    yield build
    for r, client in made:
        r.poller.close()
        await client.aclose()


def rss_source(url: str, **kw: Any) -> Source:
    return Source("shape", "Shape", "rss", url, topics=(TOPIC.slug,), **kw)


async def seed_then_publish(
    r: Rig, source: Source, old: list[tuple[str, str]], new: list[tuple[str, str]]
) -> tuple[PollReport, PollReport]:
    """First sight with ``old`` (stored silently), then ``new`` on top (stored and pushed)."""
    r.web.routes[source.url] = feed_xml(old)
    seeded = await r.poll(source)
    assert seeded.ok and seeded.seeded, seeded
    r.web.routes[source.url] = feed_xml(new + old)
    r.web.asked.clear()
    return seeded, await r.poll(source)


# --- a feed whose items sit on subdomains ----------------------------------------------------


async def test_feed_with_items_on_subdomains_fetches_and_stores_every_item(
    rig: Callable[..., Any],
) -> None:
    source = rss_source("https://vnexpress.example/rss/tin-moi-nhat.rss")
    r = await rig(source)
    sections = ["giaitri", "dulich", "e", "suckhoe", "www"]
    old = [
        (f"https://{s}.vnexpress.example/cu-{i}.html", f"Tin cũ {i}")
        for i, s in enumerate(sections)
    ]
    new = [
        (f"https://{s}.vnexpress.example/moi-{i}.html", f"Tin mới {i}")
        for i, s in enumerate(sections)
    ]
    new.append(("https://vnexpress.example/moi-goc.html", "Tin mới trên trang gốc"))
    for url, title in old + new:
        r.web.routes[url] = page_html(f"Trang: {title}")
    _, report = await seed_then_publish(r, source, old, new)
    assert report.ok and report.new == len(new) and report.queued == len(new), report
    assert report.refused == 0 and report.unfetched == 0, report
    assert sorted(r.web.pages_asked(source.url)) == sorted(u for u, _ in new)
    stored = await r.stored()
    assert set(stored) == {u for u, _ in old + new}
    # Every new page was read: the stored title is the page's, not the feed's.
    assert all(stored[u] == f"Trang: {t}" for u, t in new)


# --- a feed whose links redirect to another domain -------------------------------------------


async def test_feed_with_links_redirecting_to_the_publishers_follows_them(
    rig: Callable[..., Any],
) -> None:
    source = rss_source("https://news.aggregator.example/rss/vi.rss")
    r = await rig(source)
    publishers = ["tuoitre.example", "thanhnien.example", "baochinhphu.example"]
    new = []
    for i, host in enumerate(publishers):
        link = f"https://news.aggregator.example/rss/articles/CBMi{i}?oc=5"
        final = f"https://{host}/bai-{i}.htm"
        new.append((link, f"Bài {i} - {host}"))
        if i == 2:  # two hops: aggregator -> a shortener on a third domain -> publisher
            short = f"https://sho.rt.example/{i}"
            r.web.routes[link] = httpx.Response(302, headers={"Location": short})
            r.web.routes[short] = httpx.Response(301, headers={"Location": final})
        else:
            r.web.routes[link] = httpx.Response(302, headers={"Location": final})
        r.web.routes[final] = page_html(f"Trang {host}")
    # A public link whose redirect points at a private address: never asked, still news.
    trap = "https://news.aggregator.example/rss/articles/CBMtrap?oc=5"
    r.web.routes[trap] = httpx.Response(302, headers={"Location": "http://10.0.0.7/admin"})
    new.append((trap, "Bài có chuyển hướng nội bộ"))
    old = [("https://news.aggregator.example/rss/articles/CBMold?oc=5", "Bài cũ")]
    _, report = await seed_then_publish(r, source, old, new)
    assert report.ok and report.new == len(new) and report.queued == len(new), report
    assert not any("10.0.0.7" in u for u in r.web.asked)
    assert "https://sho.rt.example/2" in r.web.asked
    stored = await r.stored()
    assert set(stored) == {u for u, _ in old + new}  # stored under the feed's own links
    for i, host in enumerate(publishers):
        assert stored[new[i][0]] == f"Trang {host}"
    assert stored[trap] == "Bài có chuyển hướng nội bộ"  # from the feed alone


# --- a FeedBurner-like feed on another host --------------------------------------------------


async def test_feedburner_like_feed_on_another_host_fetches_the_portal_pages(
    rig: Callable[..., Any],
) -> None:
    source = rss_source("https://feeds.feedburner.example/cong-thong-tin/tin-tuc.rss")
    r = await rig(source)
    new = [(f"https://www.portal.example/tin-tuc/bai-{i}.html", f"Tin {i}") for i in range(4)]
    proxied = "https://feedproxy.feedburner.example/~r/cong-thong-tin/~3/Xy9/bai-9.html"
    final = "https://portal.example/tin-tuc/bai-9.html"
    r.web.routes[proxied] = httpx.Response(301, headers={"Location": final})
    r.web.routes[final] = page_html("Trang bài 9")
    new.append((proxied, "Tin 9"))
    for url, title in new[:4]:
        r.web.routes[url] = page_html(f"Trang {title}")
    old = [("https://www.portal.example/tin-tuc/cu.html", "Tin cũ")]
    _, report = await seed_then_publish(r, source, old, new)
    assert report.ok and report.new == len(new) and report.queued == len(new), report
    stored = await r.stored()
    assert set(stored) == {u for u, _ in old + new}
    assert [stored[u] for u, _ in new] == [f"Trang Tin {i}" for i in range(4)] + ["Trang bài 9"]


async def test_first_sight_stores_every_item_of_a_feed_on_another_host(
    rig: Callable[..., Any],
) -> None:
    source = rss_source("https://rss.portal.example/home.rss")
    r = await rig(source)
    items = [(f"https://portal.example/a-{i}.html", f"Tin {i}") for i in range(14)]
    for url, title in items:
        r.web.routes[url] = page_html(f"Trang {title}")
    r.web.routes[source.url] = feed_xml(items)
    report = await r.poll(source)
    assert report.ok and report.seeded and report.refused == 0, report
    assert set(await r.stored()) == {u for u, _ in items}
    assert len(r.web.pages_asked(source.url)) == 10  # the seed pages, the newest first


# --- an intranet portal (allow_private): its own origin and article_hosts only ---------------


async def test_allow_private_source_fetches_only_its_hosts_and_stores_the_rest(
    rig: Callable[..., Any],
) -> None:
    source = rss_source(
        "http://10.1.2.3/rss/tin.rss", allow_private=True, article_hosts=("static.intra.example",)
    )
    r = await rig(source)
    own = ("http://10.1.2.3/tin/1.html", "Tin nội bộ")
    listed = ("https://static.intra.example/tin/2.html", "Tin trên máy tĩnh")
    foreign = [
        ("https://vnexpress.example/tin/3.html", "Tin công khai"),
        ("http://10.9.9.9/tin/4.html", "Tin máy khác"),
        ("http://10.1.2.3:8080/tin/5.html", "Tin cổng khác"),
    ]
    new = [own, listed, *foreign]
    for url, title in new:
        r.web.routes[url] = page_html(f"Trang {title}")
    _, report = await seed_then_publish(r, source, [("http://10.1.2.3/tin/0.html", "Cũ")], new)
    assert report.ok and report.new == len(new) and report.queued == len(new), report
    assert report.unfetched == len(foreign) and report.refused == 0, report
    assert sorted(r.web.pages_asked(source.url)) == sorted([own[0], listed[0]])
    stored = await r.stored()
    assert stored[own[0]] == "Trang Tin nội bộ" and stored[listed[0]] == "Trang Tin trên máy tĩnh"
    assert all(stored[u] == t for u, t in foreign)  # from the feed alone


async def test_allow_private_redirect_off_its_hosts_is_not_followed_but_the_entry_stays(
    rig: Callable[..., Any],
) -> None:
    source = rss_source("http://10.1.2.3/rss/tin.rss", allow_private=True)
    r = await rig(source)
    link = "http://10.1.2.3/chuyen/1"
    r.web.routes[link] = httpx.Response(302, headers={"Location": "http://10.0.0.1/secret"})
    old = [("http://10.1.2.3/tin/cu.html", "Cũ")]
    _, report = await seed_then_publish(r, source, old, [(link, "Tin chuyển hướng")])
    assert report.ok and report.new == 1 and report.queued == 1, report
    assert "http://10.0.0.1/secret" not in r.web.asked
    assert (await r.stored())[link] == "Tin chuyển hướng"


async def test_links_off_the_hosts_cost_no_page_budget(rig: Callable[..., Any]) -> None:
    source = rss_source("http://10.1.2.3/rss/tin.rss", allow_private=True)
    r = await rig(source, max_pages_per_poll=5)
    new = [(f"https://publisher.example/{i}.html", f"Tin {i}") for i in range(40)]
    new += [(f"http://10.1.2.3/tin/{i}.html", f"Nội bộ {i}") for i in range(8)]
    for url, title in new:
        r.web.routes[url] = page_html(f"Trang {title}")
    _, report = await seed_then_publish(r, source, [("http://10.1.2.3/tin/cu.html", "Cũ")], new)
    # 40 stored from the feed at once, 5 own pages within the budget, 3 left for next poll.
    assert report.new == 45 and report.deferred == 3 and report.unfetched == 40, report
    assert len(r.web.pages_asked(source.url)) == 5
    r.web.asked.clear()
    report = await r.poll(source)
    assert report.new == 3 and len(r.web.pages_asked(source.url)) == 3, report
    assert set(await r.stored()) >= {u for u, _ in new}


# --- the one drop ----------------------------------------------------------------------------


async def test_only_links_naming_a_private_address_are_dropped(rig: Callable[..., Any]) -> None:
    source = rss_source("https://portal.example/rss/tin.rss")
    r = await rig(source)
    private = ["http://10.0.0.7/a", "http://[::1]/b", "http://localhost/c", "http://0x7f.1/d"]
    public = [("https://cdn.other.example/e.html", "Tin công khai")]
    r.web.routes[public[0][0]] = page_html("Trang công khai")
    items = [(u, f"Nội bộ {i}") for i, u in enumerate(private)] + public
    old = [("https://portal.example/cu.html", "Cũ")]
    _, report = await seed_then_publish(r, source, old, items)
    assert report.ok and report.new == 1 and report.refused == len(private), report
    assert r.web.pages_asked(source.url) == [public[0][0]]
    assert set(await r.stored()) == {old[0][0], public[0][0]}


def test_plan_sends_unfetchable_entries_to_the_listing_without_budget() -> None:
    source = rss_source("http://10.1.2.3/rss", allow_private=True)
    policy = article_policy(source)

    class Seen:
        seeded_at = T0
        last_item_count = 3

    keyed = [
        (f"k{i}", Entry(url=u, title=str(i)))
        for i, u in enumerate(
            ["http://10.1.2.3/1", "https://elsewhere.example/2", "http://10.1.2.3/3"]
        )
    ]
    plan = plan_poll(
        source,
        Seen(),
        keyed,
        set(),
        max_pages=1,
        fetchable=lambda e: policy.url_refusal(e.url) is None,
    )
    assert [k for k, _ in plan.fetch_pages] == ["k0"]
    assert [k for k, _ in plan.deferred] == ["k2"]
    assert [k for k, _ in plan.listing_only] == ["k1"] and plan.unfetched == 1
    assert plan.dropped == ()


def test_plan_drops_only_what_it_is_told_to_and_keeps_the_item_count() -> None:
    source = rss_source("https://portal.example/rss")
    urls = ["http://10.0.0.1/a", "https://portal.example/b", "http://[::1]/c"]
    keyed = [(f"k{i}", Entry(url=u, title=str(i))) for i, u in enumerate(urls)]
    plan = plan_poll(source, None, keyed, set(), drop=lambda e: dropped_link(source, e.url))
    assert [(k, why.split()[0]) for k, _, why in plan.dropped] == [
        ("k0", "private"),
        ("k2", "loopback"),
    ]
    assert [k for k, _ in plan.fresh] == ["k1"] and plan.item_count == 3
