"""The assembled app: console chat, pushes through the outbox, admin alerts, URL-form dedup,
legacy encodings, all offline."""

from __future__ import annotations

import asyncio
import io
import unicodedata
from pathlib import Path

import httpx
from fake_portal import ScriptedPortal
from helpers import wait_for

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.config import Config, load_settings
from bot.demo.portal import demo_config_text, load_site

BASE = "http://portal.test"


def config_for(database_url: str, text: str) -> Config:
    settings = load_settings({"BANTIN_DATABASE_URL": database_url})
    return Config(settings, (), (), Path("t.toml")).with_sources_text(text, filename="t.toml")


async def test_console_chat_sees_pushes_and_answers_commands(database_url: str) -> None:
    portal = ScriptedPortal(load_site())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=portal.app))
    out = io.StringIO()
    console = ConsoleChannel(
        stdin=io.StringIO("/subscribe dan van\n/follow chuyển đổi số\n"), stdout=out
    )
    app = App(config_for(database_url, demo_config_text(BASE)), channels=[console], client=client)
    await app.start()
    try:
        await wait_for(lambda: "chuyển đổi số" in out.getvalue())
        assert "Đã đăng ký chủ đề «Dân vận»" in out.getvalue()
        await app.poll_once()  # first sight (the scheduler may have done it already)
        before = sum((await app.store.stats(app.clock())).articles_by_source.values())
        portal.publish_all()
        await app.poll_once()
        # Counted in the store, not in poll_once's reports: the scheduler runs too and may
        # poll a source first and store some of the new articles itself.
        # A scheduler poll still running may be storing them: wait for it, briefly.
        async with asyncio.timeout(10):
            while (
                after := sum((await app.store.stats(app.clock())).articles_by_source.values())
            ) < before + 4:
                await asyncio.sleep(0.05)
        assert after - before == 4
        dan_van = next(a for a in load_site() if a.appear_after > 0 and a.section == "dan-van")
        await wait_for(lambda: dan_van.title in out.getvalue())
        assert "Đọc tiếp: " + BASE + dan_van.path in out.getvalue()
        # Articles of other sections that mention the followed keyword arrive too; others do not.
        keyword_hits = [
            a
            for a in load_site()
            if a.appear_after > 0
            and a.section != "dan-van"
            and "chuyển đổi số" in " ".join((a.title, a.lead, *a.paragraphs)).lower()
        ]
        for article in keyword_hits:
            await wait_for(lambda article=article: article.title in out.getvalue())
        others = [
            a for a in load_site() if a.appear_after > 0 and a not in keyword_hits and a != dan_van
        ]
        assert all(a.title not in out.getvalue() for a in others)
    finally:
        await app.stop()
        await client.aclose()


async def test_admins_get_one_alert_after_three_failures(database_url: str) -> None:
    portal = ScriptedPortal(load_site())
    portal.override("/rss/kiem-tra.rss", 502, b"Bad Gateway")
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=portal.app))
    out = io.StringIO()
    app = App(
        config_for(database_url, demo_config_text(BASE)),
        channels=[ConsoleChannel(stdin=io.StringIO(), stdout=out)],
        client=client,
    )
    await app.open()
    try:
        source = next(s for s in app.config.sources if s.kind == "rss")
        for _ in range(5):
            await app.poller.poll(source)
        await app.worker.drain()
        assert out.getvalue().count("lỗi 3 lần liên tiếp") == 1
        assert "502" in out.getvalue()
        portal.clear_override("/rss/kiem-tra.rss")
        await app.poller.poll(source)
        await app.worker.drain()
        assert "đã hoạt động trở lại" in out.getvalue()
    finally:
        await app.close()
        await client.aclose()


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Tin</title><link>https://tin.example/</link><description>d</description>
{items}
</channel></rss>"""
ITEM = (
    "<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
    "<description>{title}. Nội dung.</description></item>"
)


async def test_same_article_under_other_url_forms_is_not_new(database_url: str) -> None:
    first = [
        ("Bài một", "https://tin.example/bai-mot.html"),
        ("Bài hai", "https://tin.example/chuyen-muc/bai-hai/"),
        ("Bài ba", "https://tin.example/bai-ba-duk123.aspx"),
    ]
    second = [
        ("Bài ba (sửa tiêu đề)", "http://TIN.example/ba-doi-slug-duk123.aspx#top"),
        ("Bài hai", "http://www.tin.example/chuyen-muc/bai-hai?utm_source=zalo&fbclid=x"),
        ("Bài một", "https://tin.example:443/bai-mot.html?utm_medium=rss"),
    ]
    responses = [first, second]

    def handler(request: httpx.Request) -> httpx.Response:
        items = responses.pop(0) if len(responses) > 1 else responses[0]
        body = FEED.format(
            items="".join(
                ITEM.format(title=t, link=link, guid=f"g{n}") for n, (t, link) in enumerate(items)
            )
        )
        return httpx.Response(
            200, content=body.encode(), headers={"Content-Type": "application/rss+xml"}
        )

    text = """[[topics]]
slug = "tin"
name = "Tin"
[[sources]]
id = "tin"
name = "Tin"
kind = "rss"
url = "https://tin.example/rss"
topics = ["tin"]
fetch_articles = false
"""
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    app = App(config_for(database_url, text), channels=[], client=client)
    await app.open()
    try:
        (r1,) = await app.poll_once()
        (r2,) = await app.poll_once()
        assert r1.ok and r1.seeded and r2.ok
        assert r2.new == 0, r2.line()
        assert await app.store.article_count() == 3
    finally:
        await app.close()
        await client.aclose()


TONES = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Encode as windows-1258 does: precomposed â/ê/ô/ă/ơ/ư/đ, tone marks as combining
    characters."""
    out = []
    for ch in text:
        try:
            ch.encode("cp1258")
            out.append(ch)
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONES))
            out.append(base + "".join(c for c in decomposed if c in TONES))
    return "".join(out).encode("cp1258")


async def test_listing_in_windows_1258_decodes(database_url: str) -> None:
    title = "Hội nghị tổng kết công tác Đảng năm 2026"
    page = (
        '<html><head><meta http-equiv="Content-Type"'
        ' content="text/html; charset=windows-1258"></head><body>'
        f'<div class="item"><a href="/hoi-nghi-duk77.aspx">{title}</a>'
        "<span>26/11/2026</span></div></body></html>"
    )
    raw = to_cp1258(page)
    assert b"\xcc" in raw or b"\xd2" in raw  # really legacy: combining tone marks present

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw, headers={"Content-Type": "text/html"})

    text = """[[topics]]
slug = "t"
name = "T"
[[sources]]
id = "legacy"
name = "Legacy"
kind = "html"
url = "https://legacy.example/tin.aspx"
fetch_articles = false
[sources.list]
item = ".item"
link = "a"
date = "span"
"""
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    app = App(config_for(database_url, text), channels=[], client=client)
    await app.open()
    try:
        (report,) = await app.poll_once()
        assert report.ok, report.line()
        (article,) = await app.store.latest()
        assert article.title == title
        assert article.key == "legacy.example:id:77"
    finally:
        await app.close()
        await client.aclose()


async def test_scheduler_polls_each_source_on_its_interval(database_url: str) -> None:
    portal = ScriptedPortal(load_site())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=portal.app))
    text = demo_config_text(BASE).replace("interval = 5", "interval = 1")
    app = App(
        config_for(database_url, text),
        channels=[ConsoleChannel(stdin=io.StringIO(), stdout=io.StringIO())],
        client=client,
    )
    await app.start()
    try:

        def polls(path: str) -> int:
            return sum(1 for _, p, _ in portal.requests if p == path)

        await wait_for(
            lambda: polls("/dan-van.aspx") >= 3 and polls("/rss/kiem-tra.rss") >= 3, timeout=15
        )
        statuses = [s for _, p, s in portal.requests if p == "/dan-van.aspx"]
        assert statuses[0] == 200 and set(statuses[1:]) == {
            304
        }  # unchanged listing: conditional GET
        states = {s.id: s for s in await app.store.source_states()}
        assert all(
            s.last_success_at is not None and s.seeded_at is not None for s in states.values()
        )
    finally:
        await app.stop()
        await client.aclose()
