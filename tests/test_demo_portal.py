"""Tests of the simulated portal (bot/demo/portal.py, scripted by fake_portal.py): bundled data,
visibility schedule, pages, feeds, conditional GET, scripted failures, the demo configuration
and the loopback server."""

from __future__ import annotations

import re
import signal
import tomllib
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import feedparser
import httpx
import pytest
from fake_portal import ScriptedPortal, slugify
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from bot.demo.portal import (
    SECTIONS,
    TZ,
    DemoArticle,
    DemoPortal,
    DemoSiteError,
    demo_config_text,
    load_site,
)
from bot.ops.httpserver import serve
from feeds.topics import keyword_matches

BASE = "http://portal.test"
SITE = load_site()
BY_ID = {a.id: a for a in SITE}
ESCAPE_ME = 12003  # the title with " < > &


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_portal(articles: list[DemoArticle] | None = None) -> tuple[ScriptedPortal, FakeClock]:
    clock = FakeClock()
    return ScriptedPortal(SITE if articles is None else articles, clock=clock), clock


def client(portal: DemoPortal) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=portal.app), base_url=BASE)


def synthetic(
    article_id: int, section: str = "dan-van", *, appear_after: float = 0, day: int = 1
) -> DemoArticle:
    title = f"Bài thử nghiệm số {article_id}"
    return DemoArticle(
        id=article_id,
        section=section,
        slug=slugify(title),
        title=title,
        lead="Tóm tắt bài thử nghiệm.",
        paragraphs=("Đoạn một.", "Đoạn hai.", "Đoạn ba."),
        byline="Phóng viên",
        published=datetime(2026, 11, day, 8, 0, tzinfo=TZ),
        appear_after=appear_after,
    )


def listed_ids(page: str) -> list[int]:
    tree = HTMLParser(page)
    hrefs = [a.attributes["href"] or "" for a in tree.css(".list-news .news-item a.title")]
    return [int(re.search(r"-duk(\d+)\.aspx$", h)[1]) for h in hrefs]  # type: ignore[index]


# --------------------------------------------------------------------------- bundled data


def test_bundled_site_has_24_articles_six_per_section() -> None:
    assert len(SITE) == 24
    assert len(BY_ID) == 24
    assert Counter(a.section for a in SITE) == {s: 6 for s in SECTIONS}
    for a in SITE:
        assert a.slug == slugify(a.title)
        assert a.slug.isascii()
        assert 4 <= len(a.paragraphs) <= 7
        assert (a.published.year, a.published.month) == (2026, 11)
        assert a.published.utcoffset() == timedelta(hours=7)
        assert a.caption is None or a.caption.startswith("Ảnh: ")
        for text in (a.title, a.lead, *a.paragraphs):
            assert unicodedata.is_normalized("NFC", text)


def test_four_scheduled_articles_in_four_sections_are_the_newest() -> None:
    scheduled = [a for a in SITE if a.appear_after > 0]
    assert sorted(a.appear_after for a in scheduled) == [15, 30, 45, 60]
    assert len({a.section for a in scheduled}) == 4
    # Newest published, so they top their listings when they arrive.
    newest_from_start = max(a.published for a in SITE if a.appear_after == 0)
    assert all(a.published > newest_from_start for a in scheduled)


def test_bundled_site_has_a_title_that_needs_escaping() -> None:
    title = BY_ID[ESCAPE_ME].title
    assert all(c in title for c in '&<>"')


def test_keyword_only_topic_matches_several_articles() -> None:
    hits = [a for a in SITE if keyword_matches(a.title, " ".join(a.paragraphs), ["chuyển đổi số"])]
    assert len(hits) >= 4
    assert any(a.appear_after > 0 for a in hits)


def test_load_site_rejects_inconsistent_data(tmp_path: Path) -> None:
    good = """
[[articles]]
id = 1
section = "dan-van"
slug = "bai-mot"
title = "Bài một"
lead = "Tóm tắt."
published = "01/11/2026 08:00"
byline = "A"
paragraphs = ["Một."]
"""
    path = tmp_path / "site.toml"
    path.write_text(good, encoding="utf-8")
    [only] = load_site(path)
    assert only.appear_after == 0 and only.caption is None
    assert only.published == datetime(2026, 11, 1, 8, 0, tzinfo=TZ)

    for broken in (
        good + good,  # duplicate id
        good.replace('"dan-van"', '"the-thao"'),
        good.replace("01/11/2026 08:00", "2026-11-01"),
        good.replace('"bai-mot"', '"Bài một"'),
        good.replace('paragraphs = ["Một."]', ""),
        "",
    ):
        path.write_text(broken, encoding="utf-8")
        with pytest.raises(DemoSiteError):
            load_site(path)


# --------------------------------------------------------------------------- visibility


async def test_listing_shows_only_visible_articles_newest_first() -> None:
    portal, _ = make_portal()
    async with client(portal) as c:
        r = await c.get("/dan-van.aspx")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<meta charset="utf-8">' in r.text
    assert listed_ids(r.text) == [12005, 12004, 12003, 12002, 12001]

    tree = HTMLParser(r.text)
    assert [n.text() for n in tree.css("#header ul.menu li a")] == list(SECTIONS.values())
    dates = [n.text() for n in tree.css(".list-news .news-item .date")]
    assert dates[0] == "22/11/2026"
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4}", d) for d in dates)
    assert len(tree.css(".list-news .news-item p.sapo")) == 5
    assert len(tree.css(".list-news .news-item a.thumb img")) == 5
    sidebar = [a.attributes["href"] or "" for a in tree.css(".sidebar ul li a")]
    assert tree.css_first(".sidebar h2").text() == "Tin nổi bật"
    assert len(sidebar) == 3
    sidebar_ids = [int(re.search(r"duk(\d+)", h)[1]) for h in sidebar]  # type: ignore[index]
    assert all(BY_ID[i].section != "dan-van" for i in sidebar_ids)
    assert tree.css_first("#footer") is not None


async def test_time_passing_reveals_the_scheduled_articles() -> None:
    clock = FakeClock()
    portal = DemoPortal(SITE, clock=clock)  # the demo's own, unscripted
    async with client(portal) as c:
        clock.now += 14.9
        assert 12006 not in listed_ids((await c.get("/dan-van.aspx")).text)
        clock.now += 0.1
        assert listed_ids((await c.get("/dan-van.aspx")).text)[0] == 12006
        assert 12024 not in listed_ids((await c.get("/kiem-tra.aspx")).text)
        clock.now += 45
        for section, newest in [
            ("kiem-tra", 12024),
            ("tuyen-giao", 12012),
            ("xay-dung-dang", 12018),
        ]:
            assert listed_ids((await c.get(f"/{section}.aspx")).text)[0] == newest
        feed = ET.fromstring((await c.get("/rss/tin-moi.rss")).content)
    assert len(feed.findall("./channel/item")) == 24


async def test_article_page_is_404_until_it_appears() -> None:
    clock = FakeClock()
    portal = DemoPortal(SITE, clock=clock)
    late = BY_ID[12018]
    async with client(portal) as c:
        clock.now += 59
        assert (await c.get(late.path)).status_code == 404
        assert (await c.get(late.image_path)).status_code == 404
        clock.now += 1
        r = await c.get(late.path)
        assert r.status_code == 200
        assert (await c.get(late.image_path)).status_code == 200
        # The slug is part of the address.
        assert (await c.get(f"/khac-duk{late.id}.aspx")).status_code == 404
        assert (await c.get("/khong-co-duk99999.aspx")).status_code == 404
    assert HTMLParser(r.text).css_first("h1.detail-title").text() == late.title


async def test_publish_all_and_add() -> None:
    portal, _ = make_portal([synthetic(1), synthetic(2, appear_after=3600, day=2)])
    async with client(portal) as c:
        assert listed_ids((await c.get("/dan-van.aspx")).text) == [1]
        portal.publish_all()
        assert listed_ids((await c.get("/dan-van.aspx")).text) == [2, 1]
        portal.add(synthetic(3, day=3))
        assert listed_ids((await c.get("/dan-van.aspx")).text) == [3, 2, 1]
        assert (await c.get(synthetic(3).path)).status_code == 200
    with pytest.raises(DemoSiteError):
        portal.add(synthetic(3))
    with pytest.raises(DemoSiteError):
        portal.add(synthetic(4, section="the-thao"))
    assert [a.id for a in portal.visible()] == [3, 2, 1]


# --------------------------------------------------------------------------- pages


async def test_article_page_shape() -> None:
    portal, _ = make_portal()
    a = BY_ID[ESCAPE_ME]
    async with client(portal) as c:
        r = await c.get(a.path)
    tree = HTMLParser(r.text)
    crumbs = tree.css(".breadcrumb a")
    assert [(n.attributes["href"], n.text()) for n in crumbs] == [
        ("/", "Trang chủ"),
        ("/dan-van.aspx", "Dân vận"),
    ]
    assert tree.css_first(".detail h1.detail-title").text() == a.title
    meta = tree.css_first(".detail-meta").text()
    assert meta.startswith("12/11/2026 10:00 | ")
    assert tree.css_first(".detail-sapo strong").text() == a.lead

    content = tree.css_first(".detail-content")
    children = [n for n in content.iter() if n.tag in ("p", "table")]
    assert [n.tag for n in children[:3]] == ["p", "p", "table"]
    assert content.css_first("table.image td.caption").text() == a.caption
    assert children[-1].attributes["style"] == "text-align:right"
    assert children[-1].text() == a.byline
    paragraphs = [n.text() for n in children if n.tag == "p"][:-1]
    assert paragraphs == list(a.paragraphs)

    others = [n.attributes["href"] for n in tree.css(".other-news ul li a")]
    assert tree.css_first(".other-news h3").text() == "Các bài viết khác"
    assert a.path not in others
    assert others and all(o in {b.path for b in SITE if b.section == a.section} for o in others)


async def test_titles_are_escaped_everywhere() -> None:
    portal, _ = make_portal()
    a = BY_ID[ESCAPE_ME]
    escaped = (
        "Khảo sát &quot;Dân vận khéo&quot;: mức hài lòng tăng từ &lt;70% lên &gt;85% &amp; những"
    )
    async with client(portal) as c:
        listing = (await c.get("/dan-van.aspx")).text
        page = (await c.get(a.path)).text
        home = (await c.get("/")).text
        feed = (await c.get("/rss/dan-van.rss")).content
    for text in (listing, page, home):
        assert escaped in text
        assert "<70%" not in text and '"Dân vận khéo"' not in text
    assert a.title in [n.text() for n in HTMLParser(listing).css("a.title")]
    titles = [t.text for t in ET.fromstring(feed).iter("title")]
    assert a.title in titles


async def test_home_page_links_sections_and_latest() -> None:
    portal, _ = make_portal()
    async with client(portal) as c:
        r = await c.get("/")
    tree = HTMLParser(r.text)
    hrefs = {n.attributes["href"] for n in tree.css("a")}
    assert {f"/{s}.aspx" for s in SECTIONS} <= hrefs
    latest = listed_ids(r.text)
    expected = sorted((a for a in SITE if a.appear_after == 0), key=lambda a: a.published)
    assert latest == [a.id for a in reversed(expected)][:10]
    assert "ETag" in r.headers


async def test_unknown_pages_are_404() -> None:
    portal, _ = make_portal()
    async with client(portal) as c:
        for path in ("/the-thao.aspx", "/rss/the-thao.rss", "/images/1.jpg", "/no/such/page"):
            r = await c.get(path)
            assert r.status_code == 404, path
            assert "Không tìm thấy trang" in r.text


async def test_image_is_a_jpeg() -> None:
    portal, _ = make_portal()
    async with client(portal) as c:
        r = await c.get("/images/12001.jpg")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
    assert r.content.startswith(b"\xff\xd8\xff") and r.content.endswith(b"\xff\xd9")


# --------------------------------------------------------------------------- RSS


async def test_section_feed_is_rss_2_newest_first() -> None:
    portal, _ = make_portal()
    async with client(portal) as c:
        r = await c.get("/rss/kiem-tra.rss")
    assert r.headers["content-type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(r.content)
    assert root.tag == "rss" and root.attrib["version"] == "2.0"
    items = root.findall("./channel/item")
    assert len(items) == 5  # 12024 is not there yet
    ids = [int(i.findtext("guid") or 0) for i in items]
    assert ids == [12023, 12022, 12021, 12020, 12019]
    for item, article_id in zip(items, ids, strict=True):
        a = BY_ID[article_id]
        assert item.findtext("title") == a.title
        assert item.findtext("link") == BASE + a.path
        assert item.find("guid").attrib["isPermaLink"] == "false"  # type: ignore[union-attr]
        published = parsedate_to_datetime(item.findtext("pubDate") or "")
        assert published == a.published
        assert published.utcoffset() == timedelta(hours=7)
        assert (item.findtext("pubDate") or "").endswith(" +0700")
        description = item.findtext("description") or ""
        assert description.startswith(
            f'<a href="{BASE}{a.path}"><img src="{BASE}/images/{a.id}.jpg"></a></br>'
        )
        assert description.endswith(a.lead)
    pub_dates = [parsedate_to_datetime(i.findtext("pubDate") or "") for i in items]
    assert pub_dates == sorted(pub_dates, reverse=True)


async def test_all_sections_feed_and_feedparser_reads_it() -> None:
    portal, _ = make_portal()
    portal.publish_all()
    async with client(portal) as c:
        body = (await c.get("/rss/tin-moi.rss")).content
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    assert len(parsed.entries) == 24
    assert parsed.entries[0].link == BASE + BY_ID[12018].path
    assert {e.id for e in parsed.entries} == {str(i) for i in BY_ID}
    assert BY_ID[ESCAPE_ME].title in {e.title for e in parsed.entries}


# --------------------------------------------------------------------------- conditional GET


@pytest.mark.parametrize("path", ["/", "/dan-van.aspx", "/rss/kiem-tra.rss", "/rss/tin-moi.rss"])
async def test_etag_gives_304_on_repeat(path: str) -> None:
    portal, _ = make_portal()
    async with client(portal) as c:
        first = await c.get(path)
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        again = await c.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        weak = await c.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        other = await c.get(path, headers={"If-None-Match": '"other"'})
        assert other.status_code == 200 and other.content == first.content
    assert [status for _, p, status in portal.requests if p == path] == [200, 304, 304, 200]


async def test_etag_and_last_modified_change_when_an_article_appears() -> None:
    portal, clock = make_portal()
    async with client(portal) as c:
        before = await c.get("/rss/dan-van.rss")
        clock.now += 15
        after = await c.get("/rss/dan-van.rss", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    old = parsedate_to_datetime(before.headers["last-modified"])
    new = parsedate_to_datetime(after.headers["last-modified"])
    assert new == BY_ID[12006].published > old


async def test_if_modified_since_without_if_none_match() -> None:
    portal, clock = make_portal()
    async with client(portal) as c:
        first = await c.get("/kiem-tra.aspx")
        last_modified = first.headers["last-modified"]
        assert parsedate_to_datetime(last_modified) == BY_ID[12023].published
        same = await c.get("/kiem-tra.aspx", headers={"If-Modified-Since": last_modified})
        assert same.status_code == 304
        older = format_datetime(BY_ID[12023].published - timedelta(seconds=1))
        assert (
            await c.get("/kiem-tra.aspx", headers={"If-Modified-Since": older})
        ).status_code == 200
        garbage = await c.get("/kiem-tra.aspx", headers={"If-Modified-Since": "yesterday"})
        assert garbage.status_code == 200
        # If-None-Match wins over If-Modified-Since.
        both = await c.get(
            "/kiem-tra.aspx",
            headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified},
        )
        assert both.status_code == 200
        clock.now += 30
        newer = await c.get("/kiem-tra.aspx", headers={"If-Modified-Since": last_modified})
        assert newer.status_code == 200
        assert listed_ids(newer.text)[0] == 12024


# --------------------------------------------------------------------------- scripted failures


async def test_overrides_script_failures_until_cleared() -> None:
    portal, _ = make_portal()
    async with client(portal) as c:
        portal.override("/dan-van.aspx", 500)
        r = await c.get("/dan-van.aspx")
        assert (r.status_code, r.content) == (500, b"")

        portal.override("/dan-van.aspx", 200, "<html><body><div class='khac'>Bảo trì</div>")
        r = await c.get("/dan-van.aspx")
        assert r.status_code == 200 and "Bảo trì" in r.text
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert listed_ids(r.text) == []

        portal.override(
            "/rss/kiem-tra.rss",
            200,
            b"<rss><channel><item><title>cut",
            headers={"Content-Type": "application/rss+xml"},
        )
        r = await c.get("/rss/kiem-tra.rss")
        assert r.headers["content-type"] == "application/rss+xml"
        with pytest.raises(ET.ParseError):
            ET.fromstring(r.content)

        portal.override("/tuyen-giao.aspx?page=2", 429, headers={"Retry-After": "7"})
        r = await c.get("/tuyen-giao.aspx", params={"page": "2"})
        assert (r.status_code, r.headers["retry-after"]) == (429, "7")
        assert (await c.get("/tuyen-giao.aspx")).status_code == 200

        portal.clear_override("/dan-van.aspx")
        portal.clear_override("/never-set")
        assert listed_ids((await c.get("/dan-van.aspx")).text)[0] == 12005
    assert ("GET", "/tuyen-giao.aspx?page=2", 429) in portal.requests
    assert portal.requests[0] == ("GET", "/dan-van.aspx", 500)
    assert portal.requests[-1] == ("GET", "/dan-van.aspx", 200)


# --------------------------------------------------------------------------- demo config


async def test_demo_config_points_at_the_portal() -> None:
    text = demo_config_text("http://127.0.0.1:8765/")
    assert "{base_url}" not in text
    config = tomllib.loads(text)
    topics = {t["slug"]: t for t in config["topics"]}
    assert set(topics) == set(SECTIONS) | {"chuyen-doi-so"}
    assert topics["chuyen-doi-so"]["keywords"] == ["chuyển đổi số", "số hóa"]
    sources = {s["id"]: s for s in config["sources"]}
    assert {s["kind"] for s in sources.values()} == {"html", "rss"}
    assert all(s["interval"] == 5 for s in sources.values())
    assert all(s["url"].startswith("http://127.0.0.1:8765/") for s in sources.values())
    assert {t for s in sources.values() for t in s["topics"]} == set(SECTIONS)

    rss = sources["demo-kiem-tra"]
    assert rss["kind"] == "rss" and rss["url"].endswith("/rss/kiem-tra.rss")
    assert "list" not in rss and "article" not in rss
    generic = sources["demo-xay-dung-dang"]
    assert set(generic["list"]) == {"link_pattern"} and "article" not in generic
    for sid in ("demo-dan-van", "demo-tuyen-giao"):
        assert sources[sid]["list"] == {
            "item": ".list-news .news-item",
            "link": "a.title",
            "date": ".date",
        }
        assert sources[sid]["article"]["remove"] == [".caption", "table.image"]

    # Every configured URL is served, and the selectors find what they should.
    portal, _ = make_portal()
    async with client(portal) as c:
        for s in sources.values():
            r = await c.get(s["url"].replace("http://127.0.0.1:8765", ""))
            assert r.status_code == 200, s["id"]
        page = (await c.get("/xay-dung-dang.aspx")).text
        article = (await c.get(BY_ID[12013].path)).text
    pattern = re.compile(generic["list"]["link_pattern"])
    hrefs = {a.attributes["href"] or "" for a in HTMLParser(page).css("a")}
    matched = {h for h in hrefs if pattern.search(h)}
    assert {BY_ID[i].path for i in listed_ids(page)} <= matched
    assert not any(pattern.search(f"/{s}.aspx") for s in SECTIONS)
    rules = sources["demo-dan-van"]["article"]
    tree = HTMLParser(article)
    assert tree.css_first(rules["title"]).text() == BY_ID[12013].title
    assert tree.css_first(rules["date"]).text().startswith("04/11/2026 09:00")
    body = tree.css_first(rules["body"])
    for selector in rules["remove"]:
        for node in body.css(selector):
            node.decompose()
    assert "Ảnh:" not in body.text()
    assert BY_ID[12013].paragraphs[0] in body.text()


# --------------------------------------------------------------------------- real server


async def test_serve_on_port_zero_and_stop() -> None:
    portal, _ = make_portal()
    sigint_before = signal.getsignal(signal.SIGINT)
    server = await serve(portal.app, port=0)
    try:
        assert server.port > 0
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert signal.getsignal(signal.SIGINT) is sigint_before
        async with httpx.AsyncClient(base_url=server.base_url) as c:
            r = await c.get("/rss/dan-van.rss")
            assert r.status_code == 200
            links = [i.findtext("link") for i in ET.fromstring(r.content).iter("item")]
            assert links[0] == server.base_url + BY_ID[12005].path
            again = await c.get("/rss/dan-van.rss", headers={"If-None-Match": r.headers["etag"]})
            assert again.status_code == 304
        assert portal.requests == [
            ("GET", "/rss/dan-van.rss", 200),
            ("GET", "/rss/dan-van.rss", 304),
        ]
    finally:
        await server.stop()
    await server.stop()  # idempotent
    assert signal.getsignal(signal.SIGINT) is sigint_before
    async with httpx.AsyncClient() as c:
        with pytest.raises(httpx.ConnectError):
            await c.get(server.base_url + "/")


async def test_two_servers_get_different_ports() -> None:
    portal, _ = make_portal()
    async with await serve(portal.app) as one, await serve(portal.app) as two:
        assert one.port != two.port
        async with httpx.AsyncClient() as c:
            assert (await c.get(one.base_url + "/dan-van.aspx")).status_code == 200
            assert (await c.get(two.base_url + "/dan-van.aspx")).status_code == 200


async def test_serve_reports_a_busy_port() -> None:
    portal, _ = make_portal()
    async with await serve(portal.app) as running:
        with pytest.raises(OSError):
            await serve(portal.app, port=running.port)
