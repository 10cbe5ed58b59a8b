"""The source pipeline end to end against the fake portal (in-process) and a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fake_portal import ScriptedPortal

from bot.config import Config, load_settings
from bot.demo.portal import demo_config_text, load_site
from bot.polling.poller import Poller, PollSettings, backoff_delay
from storage.store import Store, open_store

BASE = "http://portal.test"


class PortalClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Rig:
    portal: ScriptedPortal
    portal_clock: PortalClock
    store: Store
    poller: Poller
    config: Config
    alerts: list[tuple[str, dict[str, object]]]
    client: httpx.AsyncClient

    def source(self, source_id: str):  # type: ignore[no-untyped-def]
        found = self.config.source(source_id)
        assert found is not None
        return found


def make_config(database_url: str, text: str | None = None) -> Config:
    settings = load_settings({"BANTIN_DATABASE_URL": database_url})
    return Config(settings, (), (), Path("demo.toml")).with_sources_text(
        text or demo_config_text(BASE), filename="demo.toml"
    )


async def build(
    database_url: str,
    clock,
    portal: ScriptedPortal | None = None,
    pclock: PortalClock | None = None,
) -> Rig:  # type: ignore[no-untyped-def]
    pclock = pclock or PortalClock()
    portal = portal or ScriptedPortal(load_site(), clock=pclock)
    config = make_config(database_url)
    store = await open_store(config.database_url)
    await store.sync_sources(config.sources, clock())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=portal.app), base_url=BASE)
    alerts: list[tuple[str, dict[str, object]]] = []

    async def alert(key: str, values: dict[str, object]) -> None:
        alerts.append((key, values))

    poller = Poller(
        store, client, config.topics, clock=clock, settings=PollSettings(alert_after=3), alert=alert
    )
    return Rig(portal, pclock, store, poller, config, alerts, client)


@pytest.fixture
async def rig(database_url: str, clock) -> AsyncIterator[Rig]:  # type: ignore[no-untyped-def]
    r = await build(database_url, clock)
    yield r
    await r.client.aclose()
    await r.store.close()


async def subscribe_all(rig: Rig, clock) -> None:  # type: ignore[no-untyped-def]
    chat = await rig.store.upsert_chat("console", "local", clock())
    for topic in rig.config.topics:
        await rig.store.subscribe(chat, "topic", topic.slug, topic.slug, clock())


async def test_first_sight_is_silent_then_new_articles_are_queued(rig: Rig, clock) -> None:  # type: ignore[no-untyped-def]
    await subscribe_all(rig, clock)
    reports = await rig.poller.poll_all(rig.config.sources)
    assert all(r.ok for r in reports), [r.line() for r in reports]
    assert all(r.seeded and r.new == 0 and r.queued == 0 for r in reports)
    seeded = await rig.store.article_count()
    assert seeded == len([a for a in load_site() if a.appear_after == 0])
    assert await rig.store.claim_due("console", clock()) == []

    rig.portal.publish_all()
    clock.advance(60)
    reports = {r.source_id: r for r in await rig.poller.poll_all(rig.config.sources)}
    assert sum(r.new for r in reports.values()) == 4, [r.line() for r in reports.values()]
    assert all(r.ok for r in reports.values())
    jobs = []
    while batch := await rig.store.claim_due("console", clock()):
        for job in batch:
            jobs.append(job)
            await rig.store.mark_sent(job.ids, clock())
    titles = {job.article.title for job in jobs if job.article}
    later = {a.title for a in load_site() if a.appear_after > 0}
    assert titles == later
    # Article pages were fetched: bodies are the article's paragraphs, summaries are set.
    for job in jobs:
        assert job.article is not None and job.article.summary


async def test_extracted_article_fields(rig: Rig, clock) -> None:  # type: ignore[no-untyped-def]
    await rig.poller.poll_all(rig.config.sources)
    rig.portal.publish_all()
    await rig.poller.poll_all(rig.config.sources)
    by_id = {a.id: a for a in load_site()}
    stored = {a.url.rsplit("duk", 1)[1].split(".")[0]: a for a in await rig.store.latest(limit=100)}
    for article_id, demo in by_id.items():
        got = stored[str(article_id)]
        assert got.title == demo.title
        assert got.published_at is not None
        if demo.appear_after > 0:  # pages were fetched for these: the date has the page's time
            assert got.published_at == demo.published.astimezone(got.published_at.tzinfo)


async def test_restart_does_not_requeue_and_304_costs_nothing(database_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    pclock = PortalClock()
    portal = ScriptedPortal(load_site(), clock=pclock)
    rig = await build(database_url, clock, portal, pclock)
    await subscribe_all(rig, clock)
    await rig.poller.poll_all(rig.config.sources)
    portal.publish_all()
    await rig.poller.poll_all(rig.config.sources)
    await rig.client.aclose()
    await rig.store.close()

    # A new process: same database, same portal.
    rig = await build(database_url, clock, portal, pclock)
    before = len(portal.requests)
    reports = await rig.poller.poll_all(rig.config.sources)
    assert all(r.ok and r.new == 0 and r.not_modified for r in reports), [r.line() for r in reports]
    assert [status for _, _, status in portal.requests[before:]] == [304] * len(reports)
    await rig.client.aclose()
    await rig.store.close()


async def test_malformed_feed_and_broken_listing_fail_only_their_source(rig: Rig, clock) -> None:  # type: ignore[no-untyped-def]
    rig.portal.override(
        "/rss/kiem-tra.rss",
        200,
        b"<rss><channel><item><title>oops",
        {"Content-Type": "application/rss+xml"},
    )
    rig.portal.override("/dan-van.aspx", 500, b"Server Error")
    reports = {r.source_id: r for r in await rig.poller.poll_all(rig.config.sources)}
    kiem_tra = next(s.id for s in rig.config.sources if s.kind == "rss")
    dan_van = next(s.id for s in rig.config.sources if s.url.endswith("/dan-van.aspx"))
    assert not reports[kiem_tra].ok and "no items" in reports[kiem_tra].reason
    assert not reports[dan_van].ok and "500" in reports[dan_van].reason
    assert [r.ok for sid, r in reports.items() if sid not in (kiem_tra, dan_van)] == [True, True]
    state = await rig.store.source_state(dan_van)
    assert (
        state is not None and state.consecutive_failures == 1 and "500" in (state.last_error or "")
    )


async def test_broken_article_page_still_stores_the_entry(rig: Rig, clock) -> None:  # type: ignore[no-untyped-def]
    await rig.poller.poll_all(rig.config.sources)
    rig.portal.publish_all()
    later = [a for a in load_site() if a.appear_after > 0]
    rig.portal.override(later[0].path, 200, b"<html><body></body></html>")
    reports = await rig.poller.poll_all(rig.config.sources)
    assert all(r.ok for r in reports)
    assert sum(r.new for r in reports) == 4
    assert any("article page" in r.reason for r in reports)
    stored = {a.title for a in await rig.store.latest(limit=100)}
    assert later[0].title in stored


async def test_backoff_alert_once_and_recovery(rig: Rig, clock) -> None:  # type: ignore[no-untyped-def]
    source = next(s for s in rig.config.sources if s.kind == "rss")
    path = "/rss/kiem-tra.rss"
    assert (await rig.poller.poll(source)).ok
    rig.portal.override(path, 503, b"busy")
    delays = []
    for _ in range(5):
        report = await rig.poller.poll(source)
        assert not report.ok
        state = await rig.store.source_state(source.id)
        assert state is not None and state.next_check_at is not None
        delays.append((state.next_check_at - clock()).total_seconds())
        clock.advance(delays[-1])
    assert delays == [backoff_delay(source.interval, n, 6 * 3600) for n in range(1, 6)]
    assert delays == sorted(delays) and delays[-1] > delays[0]
    assert [k for k, _ in rig.alerts] == ["alert_source_failing"]  # once, at the third failure
    rig.portal.clear_override(path)
    assert (await rig.poller.poll(source)).ok
    assert [k for k, _ in rig.alerts] == ["alert_source_failing", "alert_source_recovered"]
    state = await rig.store.source_state(source.id)
    assert state is not None and state.consecutive_failures == 0 and not state.alerted


async def test_listing_that_stops_yielding_items_is_a_failure(rig: Rig, clock) -> None:  # type: ignore[no-untyped-def]
    source = next(s for s in rig.config.sources if s.kind == "html")
    assert (await rig.poller.poll(source)).ok
    redesigned = (
        "<html><body><div class='new-layout'><p>Trang đã đổi giao diện</p></div></body></html>"
    )
    rig.portal.override(source.url.removeprefix(BASE), 200, redesigned)
    report = await rig.poller.poll(source)
    assert not report.ok and "no items" in report.reason


def test_backoff_is_capped() -> None:
    assert backoff_delay(900, 1, 3600) == 900
    assert backoff_delay(900, 2, 3600) == 1800
    assert backoff_delay(900, 10, 3600) == 3600


async def test_image_only_listing_links_are_titled_from_their_pages(  # type: ignore[no-untyped-def]
    rig: Rig, clock
) -> None:
    """A thumbnail grid without text or alt: every link is an entry, titled by its page."""
    source = next(s for s in rig.config.sources if s.url.endswith("/xay-dung-dang.aspx"))
    await rig.poller.poll(source)
    rig.portal.publish_all()
    later = [a for a in load_site() if a.appear_after > 0 and a.section == "xay-dung-dang"]
    assert later
    grid = "".join(
        f'<div class="cell"><a href="{a.path}"><img src="/x.jpg"></a></div>' for a in later
    )
    rig.portal.override(
        "/xay-dung-dang.aspx",
        200,
        f"<html><body>{grid}</body></html>".encode(),
        {"Content-Type": "text/html; charset=utf-8"},
    )
    report = await rig.poller.poll(source)
    assert report.ok and report.new == len(later), report.line()
    stored = {a.url: a.title for a in await rig.store.latest(limit=100)}
    for article in later:
        assert stored[f"{BASE}{article.path}"] == article.title
