"""The web console, through its ASGI app: sign-in by one-time link, sessions, CSRF, the
security headers, escaping, and every page and action (on SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette

from bot.app import platforms
from bot.channels.base import Incoming
from bot.chat.broadcasts import BroadcastDispatcher
from bot.delivery.quota import Plan
from bot.ops.leader import LeaseState
from bot.web.auth import LINK_TTL, SESSION_TTL, SigninLimit, digest, issue_link
from bot.web.broadcasts import preview
from bot.web.command import web_command
from bot.web.site import WebConsole, WebConsoleDeps
from feeds.models import Source, Topic
from storage.records import LinkUse, NewArticle
from storage.store import Store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = ("telegram", "42")
XSS = '<script>alert("x")</script>'
TOPICS = (Topic("dan-van", "Dân vận"), Topic("kinh-te", "Kinh tế"))
SOURCES = (
    Source(id="portal", name="Cổng", kind="rss", url="http://127.0.0.1:9/rss"),
    Source(id="other", name="Khác", kind="rss", url="http://127.0.0.1:9/other"),
)


class Web:
    """A console on a store, an HTTP client on it, and helpers to sign in and post forms."""

    def __init__(self, store: Store, clock: Any, **deps: Any) -> None:
        self.store = store
        self.clock = clock
        self.polled: list[str] = []
        self.woken = 0

        async def poll_source(source_id: str) -> str:
            self.polled.append(source_id)
            return f"{source_id}: ok"

        async def test_url(url: str) -> dict[str, Any]:
            return {
                "kind": "rss",
                "total": 1,
                "toml": f'url = "{url}"',
                "entries": [
                    {
                        "title": XSS,
                        "date": "-",
                        "url": "javascript:alert(1)",
                        "body": XSS,
                        "summary": XSS,
                        "error": "",
                    }
                ],
            }

        def wake() -> None:
            self.woken += 1

        self.dispatcher = BroadcastDispatcher(store, clock=clock, wake=wake)

        values: dict[str, Any] = {
            "store": store,
            "topics": TOPICS,
            "sources": SOURCES,
            "channels": ("telegram", "zalo"),
            "platforms": platforms(),
            "admins": frozenset({ADMIN}),
            "tz": TZ,
            "clock": clock,
            "plans": {"zalo": Plan(monthly_quota=3000, max_users=50)},
            "poll_source": poll_source,
            "test_url": test_url,
            "wake": wake,
        }
        values.update(deps)
        limit = SigninLimit(per_client=1000, total=1000)
        self.console = WebConsole(WebConsoleDeps(**values), signin_limit=limit)
        app = Starlette(routes=[self.console.mount()])
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )

    async def close(self) -> None:
        """The console's background counts end before the test's store closes."""
        await self.console.close()
        await self.client.aclose()

    async def link(self, admin: tuple[str, str] = ADMIN) -> str:
        url = await issue_link(self.store, f"{admin[0]}:{admin[1]}", "http://x", self.clock())
        return url.removeprefix("http://x")

    async def sign_in(self) -> None:
        link = await self.link()
        page = await self.client.get(link)
        assert page.status_code == 200
        token = link.rsplit("/", 1)[1]
        r = await self.client.post("/admin/login", data={"token": token})
        assert r.status_code == 303 and r.headers["location"] == "/admin/"

    async def csrf(self, path: str = "/admin/") -> str:
        page = await self.client.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text[:500]
        return found.group(1)

    async def post(self, path: str, data: dict[str, Any]) -> httpx.Response:
        return await self.client.post(path, data={"csrf": await self.csrf(), **data})


@pytest.fixture
async def web(store: Store, clock: Any) -> AsyncIterator[Web]:
    await store.sync_sources(SOURCES, clock())
    w = Web(store, clock)
    try:
        yield w
    finally:
        await w.close()


async def _articles(store: Store, clock: Any, n: int = 3, title: str = "Tin") -> list[int]:
    chat = await store.upsert_chat("telegram", "100", clock(), title="Nhóm A", kind="group")
    await store.subscribe(chat, "topic", "dan-van", "dan-van", clock())
    result = await store.save_articles(
        [
            NewArticle(
                source_id="portal",
                key=f"k{i}-{title}",
                url=f"http://127.0.0.1:9/a{i}",
                title=f"{title} {i}",
                published_at=clock(),
                body=f"Nội dung bài {i} về dân vận khéo",
                summary=f"Tóm tắt {i}",
                topics=("dan-van",),
            )
            for i in range(n)
        ],
        clock(),
    )
    return list(result.new_ids)


# -- sign-in ---------------------------------------------------------------------------------


async def test_sign_in_by_link_sets_a_strict_session_cookie(web: Web) -> None:
    link = await web.link()
    page = await web.client.get(link)
    assert page.status_code == 200 and 'id="signin"' in page.text
    # Opening the link (a chat app's link preview does) does not spend it.
    assert await web.store.web_link_state(digest(link.rsplit("/", 1)[1]), web.clock()) == "valid"
    r = await web.client.post("/admin/login", data={"token": link.rsplit("/", 1)[1]})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie
    assert f"max-age={int(SESSION_TTL.total_seconds())}" in cookie
    assert "secure" not in cookie  # no https public URL
    home = await web.client.get("/admin/")
    assert home.status_code == 200 and "telegram:42" in home.text
    log = await web.store.audit_log()
    assert [e.action for e in log] == ["sign-in"] and log[0].admin == "telegram:42"


async def test_cookie_is_secure_behind_an_https_public_url(store: Store, clock: Any) -> None:
    w = Web(store, clock, public_url="https://bot.example.org")
    link = await w.link()
    r = await w.client.post("/admin/login", data={"token": link.rsplit("/", 1)[1]})
    assert "secure" in r.headers["set-cookie"].lower()
    await w.close()


async def test_a_link_works_once(web: Web) -> None:
    link = await web.link()
    token = link.rsplit("/", 1)[1]
    assert (await web.client.post("/admin/login", data={"token": token})).status_code == 303
    web.client.cookies.clear()
    again = await web.client.post("/admin/login", data={"token": token})
    assert again.status_code == 410 and "set-cookie" not in again.headers
    assert "đã được dùng" in again.text
    page = await web.client.get(link)
    assert page.status_code == 410 and 'id="signin"' not in page.text


async def test_expired_and_forged_links_get_a_clear_page_and_no_session(web: Web) -> None:
    link = await web.link()
    web.clock.advance(LINK_TTL.total_seconds() + 1)
    r = await web.client.post("/admin/login", data={"token": link.rsplit("/", 1)[1]})
    assert r.status_code == 410 and "hết hạn" in r.text and "set-cookie" not in r.headers
    forged = await web.client.get("/admin/login/" + "A" * 43)
    assert forged.status_code == 404 and "không hợp lệ" in forged.text
    r = await web.client.post("/admin/login", data={"token": "A" * 43})
    assert r.status_code == 404 and "set-cookie" not in r.headers
    assert (await web.client.get("/admin/")).status_code == 303


async def test_only_admins_sign_in(web: Web) -> None:
    link = await web.link(("telegram", "666"))  # a link for someone no longer admin
    r = await web.client.post("/admin/login", data={"token": link.rsplit("/", 1)[1]})
    assert r.status_code == 403 and "set-cookie" not in r.headers


async def test_sessions_expire_after_12_hours(web: Web) -> None:
    await web.sign_in()
    web.clock.advance(SESSION_TTL.total_seconds() - 60)
    assert (await web.client.get("/admin/")).status_code == 200
    web.clock.advance(120)
    assert (await web.client.get("/admin/")).status_code == 303


async def test_sign_out_and_revoke(web: Web) -> None:
    await web.sign_in()
    other = Web(web.store, web.clock)
    await other.sign_in()
    sessions = await web.client.get("/admin/sessions")
    assert sessions.text.count("/admin/sessions/revoke") == 2
    theirs = await web.store.web_sessions(web.clock())
    assert len(theirs) == 2
    # Revoke the other browser's session from this one.
    mine = await web.console.session_of(_request_with(web))
    assert mine is not None
    target = next(s.id for s in theirs if s.id != mine.id)
    r = await web.post("/admin/sessions/revoke", {"id": target})
    assert r.status_code == 303
    assert (await other.client.get("/admin/")).status_code == 303
    r = await web.post("/admin/logout", {})
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/login")
    assert (await web.client.get("/admin/")).status_code == 303
    actions = [e.action for e in await web.store.audit_log()]
    assert actions[:2] == ["sign-out", "revoke-session"]
    await other.close()


def _request_with(web: Web) -> Any:
    from starlette.requests import Request

    cookie = "; ".join(f"{k}={v}" for k, v in web.client.cookies.items())
    return Request({"type": "http", "headers": [(b"cookie", cookie.encode())]})


# -- the guard -------------------------------------------------------------------------------

PAGES = [
    "/admin/",
    "/admin/sources",
    "/admin/broadcasts",
    "/admin/articles",
    "/admin/articles/1",
    "/admin/chats",
    "/admin/sessions",
    "/admin/audit",
    "/admin/broadcasts/progress",
]
ACTIONS = [
    "/admin/logout",
    "/admin/sessions/revoke",
    "/admin/sources/portal/poll",
    "/admin/sources/portal/pause",
    "/admin/sources/test",
    "/admin/broadcasts",
    "/admin/broadcasts/preview",
    "/admin/broadcasts/1/cancel",
    "/admin/chats/1/active",
]


async def test_nothing_without_a_session(web: Web) -> None:
    for path in PAGES:
        r = await web.client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/admin/login", path
    for path in ACTIONS:
        r = await web.client.post(path, data={"csrf": "x"})
        assert r.status_code == 401, path
    # A cookie that is no session is no better.
    web.client.cookies.set("bantin_session", "forged", path="/admin")
    assert (await web.client.get("/admin/")).status_code == 303


async def test_every_form_needs_the_csrf_token(web: Web) -> None:
    await web.sign_in()
    for path in ACTIONS:
        r = await web.client.post(path, data={"text": "x", "paused": "1"})
        assert r.status_code == 403, path
        r = await web.client.post(path, data={"csrf": "wrong", "text": "x"})
        assert r.status_code == 403, path
    assert await web.store.paused_sources() == {}
    for path in PAGES[:-1]:
        page = await web.client.get(path)
        forms = page.text.count('method="post"')
        assert page.text.count('name="csrf"') == forms, path


async def test_security_headers_on_every_page(web: Web) -> None:
    await web.sign_in()
    for path in [*PAGES, "/admin/login", "/admin/static/console.css"]:
        r = await web.client.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp and r.headers["referrer-policy"] == "no-referrer"
        assert "<script>" not in r.text  # no inline script anywhere
    assert (await web.client.get("/admin/static/console.js")).status_code == 200


# -- pages -----------------------------------------------------------------------------------


async def test_dashboard_figures_and_charts(web: Web) -> None:
    await _articles(web.store, web.clock, 3)
    await web.store.usage("zalo", "2026-11")
    await web.sign_in()
    page = await web.client.get("/admin/")
    assert page.status_code == 200
    assert re.search(r'id="articles-today">3<', page.text)
    assert page.text.count("<svg") == 2 and "14" in page.text and "90" in page.text
    assert "dan-van: 1" in page.text and "zalo: 0/3000" in page.text
    assert "telegram: <b>1</b>" in page.text


async def test_sources_poll_pause_resume_and_test(web: Web) -> None:
    await web.sign_in()
    page = await web.client.get("/admin/sources")
    assert 'id="source-portal"' in page.text and 'id="source-other"' in page.text
    r = await web.post("/admin/sources/portal/poll", {})
    assert r.status_code == 200 and "portal: ok" in r.text and web.polled == ["portal"]
    r = await web.post("/admin/sources/portal/pause", {"paused": "1"})
    assert r.status_code == 303 and "portal" in await web.store.paused_sources()
    assert await web.store.is_source_paused("portal")
    page = await web.client.get("/admin/sources")
    assert "Đang tạm dừng" in page.text and "Tiếp tục" in page.text
    await web.post("/admin/sources/portal/pause", {"paused": "0"})
    assert await web.store.paused_sources() == {}
    r = await web.post("/admin/sources/test", {"url": "http://127.0.0.1:9/feed"})
    assert r.status_code == 200 and 'id="toml"' in r.text
    assert XSS not in r.text and "&lt;script&gt;" in r.text
    assert 'href="javascript:' not in r.text
    assert (await web.post("/admin/sources/nope/pause", {"paused": "1"})).status_code == 404
    actions = [e.action for e in await web.store.audit_log()]
    assert {"poll-source", "pause-source", "resume-source", "test-url"} <= set(actions)


async def test_broadcast_now_goes_through_the_outbox(web: Web) -> None:
    chat = await web.store.upsert_chat("telegram", "1", web.clock())
    await web.store.upsert_chat("zalo", "2", web.clock())
    await web.store.subscribe(chat, "topic", "kinh-te", "kinh-te", web.clock())
    await web.sign_in()
    r = await web.post(
        "/admin/broadcasts",
        {"text": "Xin chào " + XSS, "target": "topics", "values": "kinh-te", "schedule": "0"},
    )
    assert r.status_code == 303 and web.woken == 1
    history = await web.store.broadcast_history()
    assert len(history) == 1 and history[0].counts.total == 1 and history[0].counts.pending == 1
    assert history[0].created_by == "telegram:42"
    page = await web.client.get("/admin/broadcasts")
    assert XSS not in page.text and "Xin chào &lt;script&gt;" in page.text
    progress = (await web.client.get("/admin/broadcasts/progress")).json()
    assert progress[str(history[0].message_id)]["pending"] == 1
    # by channel
    await web.post(
        "/admin/broadcasts", {"text": "Zalo only", "target": "channels", "values": "zalo"}
    )
    assert (await web.store.broadcast_history())[0].counts.total == 1
    # refused: bad target, empty text, a past date
    bad = await web.post("/admin/broadcasts", {"text": "x", "target": "topics", "values": "no"})
    assert bad.status_code == 400
    assert (await web.post("/admin/broadcasts", {"text": " ", "target": "all"})).status_code == 400
    past = await web.post(
        "/admin/broadcasts",
        {"text": "x", "target": "all", "schedule": "1", "when": "2020-01-01T08:00"},
    )
    assert past.status_code == 400 and len(await web.store.broadcast_history()) == 2


async def test_scheduled_broadcast_goes_out_once_when_due(web: Web) -> None:
    await web.store.upsert_chat("telegram", "1", web.clock())
    await web.sign_in()
    local = (web.clock() + timedelta(hours=1)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
    r = await web.post(
        "/admin/broadcasts", {"text": "Later", "target": "all", "schedule": "1", "when": local}
    )
    assert r.status_code == 303
    [scheduled] = await web.store.scheduled_broadcasts()
    assert scheduled.status == "scheduled" and scheduled.send_at > web.clock()
    assert 'id="scheduled"' in (page := (await web.client.get("/admin/broadcasts")).text)
    assert "Later" in page
    dispatcher = web.dispatcher
    assert await dispatcher.run_once() == 0
    web.clock.advance(3601)
    # Two instances (or a restart) racing: queued once.
    assert await dispatcher.run_once() == 1
    assert await dispatcher.run_once() == 0
    [row] = await web.store.broadcast_history()
    assert row.counts.total == 1 and row.text == "Later"
    [scheduled] = await web.store.scheduled_broadcasts()
    assert scheduled.status == "queued" and scheduled.queued == 1


async def test_cancel_a_scheduled_broadcast(web: Web) -> None:
    await web.sign_in()
    send_at = web.clock() + timedelta(hours=2)
    bid = await web.store.schedule_broadcast("x", "all", [], "telegram:42", web.clock(), send_at)
    assert (await web.post(f"/admin/broadcasts/{bid}/cancel", {})).status_code == 303
    web.clock.advance(3 * 3600)
    assert await web.store.queue_due_broadcasts(web.clock()) == []


async def test_preview_splits_for_each_platform(web: Web) -> None:
    pv = preview("a <b> & c", platforms())
    # Telegram shows the text as typed: the markup is escaped on the way, never bold.
    assert pv["telegram"] == ["a <b> & c"] and pv["zalo"] == ["a <b> & c"]
    long = " ".join(["từ"] * 1500)  # 4,499 characters
    pv = preview(long, platforms())
    assert len(pv["zalo"]) == 3 and all(len(p) <= 2000 for p in pv["zalo"])
    assert len(pv["telegram"]) == 2
    await web.sign_in()
    r = await web.client.post(
        "/admin/broadcasts/preview",
        data={"text": "hi <i>"},
        headers={"x-csrf-token": await web.csrf()},
    )
    assert r.json() == {"telegram": ["hi <i>"], "zalo": ["hi <i>"], "zalo_oa": ["hi <i>"]}
    page = await web.post("/admin/broadcasts", {"text": XSS, "action": "preview"})
    assert page.status_code == 200 and XSS not in page.text
    assert 'class="bubble telegram"' in page.text and 'class="bubble zalo"' in page.text


async def test_archive_search_and_article_page(web: Web) -> None:
    ids = await _articles(web.store, web.clock, 3, title=XSS)
    await _articles(web.store, web.clock, 1, title="Kinh tế số")
    await web.sign_in()
    page = await web.client.get("/admin/articles")
    assert page.text.count("/admin/articles/") >= 4 and XSS not in page.text
    found = await web.client.get("/admin/articles", params={"q": "kinh te"})
    assert "Kinh tế số 0" in found.text and "alert" not in found.text
    art = await web.client.get(f"/admin/articles/{ids[0]}")
    assert art.status_code == 200 and "Tóm tắt 0" in art.text and "Dân vận" in art.text
    assert re.search(r'id="received">0<', art.text) and XSS not in art.text
    assert (await web.client.get("/admin/articles/999999")).status_code == 404


async def test_article_page_counts_the_chats_it_reached(web: Web) -> None:
    [aid] = await _articles(web.store, web.clock, 1)
    jobs = await web.store.claim_due("telegram", web.clock(), owner="t")
    await web.store.mark_sent([j.id for j in jobs], web.clock())
    await web.sign_in()
    art = await web.client.get(f"/admin/articles/{aid}")
    assert re.search(r'id="received">1<', art.text)


async def test_chats_filter_deactivate_and_reactivate(web: Web) -> None:
    a = await web.store.upsert_chat("telegram", "1", web.clock(), title=XSS)
    await web.store.upsert_chat("zalo", "2", web.clock(), title="Zalo friend")
    await web.store.subscribe(a, "keyword", "chuyển đổi số", "chuyen doi so", web.clock())
    await web.sign_in()
    page = await web.client.get("/admin/chats")
    assert "Zalo friend" in page.text and XSS not in page.text and "chuyển đổi số" in page.text
    only = await web.client.get("/admin/chats", params={"channel": "zalo"})
    assert "Zalo friend" in only.text and "telegram:1" not in only.text
    named = await web.client.get("/admin/chats", params={"q": "friend"})
    assert "Zalo friend" in named.text and "telegram:1" not in named.text
    r = await web.post(f"/admin/chats/{a.id}/active", {"active": "0", "back": "https://evil"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/chats"
    assert not (await web.store.get_chat("telegram", "1")).active  # type: ignore[union-attr]
    inactive = await web.client.get("/admin/chats", params={"state": "inactive"})
    assert "telegram:1" in inactive.text and "Zalo friend" not in inactive.text
    await web.post(f"/admin/chats/{a.id}/active", {"active": "1"})
    assert (await web.store.get_chat("telegram", "1")).active  # type: ignore[union-attr]
    audit = await web.client.get("/admin/audit")
    assert "deactivate-chat" in audit.text and "reactivate-chat" in audit.text


async def test_script_in_every_field_is_escaped(web: Web) -> None:
    await web.sign_in()
    await web.post("/admin/sources/test", {"url": "http://x/" + XSS})
    await web.post("/admin/broadcasts", {"text": XSS, "target": "all"})
    for path in [
        *PAGES[:-1],
        "/admin/articles?q=" + XSS,
        "/admin/chats?q=" + XSS + "&channel=" + XSS,
    ]:
        r = await web.client.get(path)
        assert XSS not in r.text and "<script>alert" not in r.text, path


async def test_english_on_request(web: Web) -> None:
    await web.sign_in()
    r = await web.client.get("/admin/?lang=en")
    assert "Dashboard" in r.text and "bantin_lang=en" in r.headers["set-cookie"]
    assert "Dashboard" in (await web.client.get("/admin/")).text


# -- /web --------------------------------------------------------------------------------------


async def test_web_command_gives_a_one_time_link(store: Store, clock: Any) -> None:
    handle = web_command(store, frozenset({ADMIN}), lambda: "https://bot.example.org", clock)
    chat = await store.upsert_chat("telegram", "42", clock())
    msg = Incoming(channel="telegram", chat_id="42", user_id="42", text="/web", chat_kind="private")
    [out] = await handle(msg, chat, "")
    url = re.search(r"https://bot\.example\.org/admin/login/(\S+)", out.text)
    assert url and not out.link_preview
    used = await store.use_web_link(digest(url.group(1)), clock())
    assert used == LinkUse("valid", "telegram:42")
    group = Incoming(channel="telegram", chat_id="-5", user_id="42", text="/web", chat_kind="group")
    [out] = await handle(group, chat, "")
    assert "/admin/login" not in out.text


async def test_paused_source_is_skipped_by_the_scheduler(store: Store, clock: Any) -> None:
    from bot.polling.scheduling import PollScheduler

    polled: list[str] = []

    class Poller:
        async def poll(self, source: Source) -> Any:
            polled.append(source.id)
            raise AssertionError("a paused source was polled")

    class Lease:
        ttl = 20.0

        async def check(self) -> LeaseState:
            return LeaseState(held=True, acquired=False)

    await store.sync_sources(SOURCES, clock())
    await store.set_source_paused("portal", True, "telegram:42", clock())
    sched = PollScheduler(store, Poller(), SOURCES, Lease(), clock=clock, on_queued=lambda: None)  # type: ignore[arg-type]
    sched._scheduler.start()
    try:
        await sched._job("portal")
        assert polled == [] and sched._scheduler.get_job("poll:portal") is not None
    finally:
        sched._scheduler.shutdown(wait=False)


async def test_tokens_are_stored_hashed(web: Web) -> None:
    link = await web.link()
    token = link.rsplit("/", 1)[1]
    await web.sign_in()
    rows = await web.store.web_sessions(web.clock())
    cookie = web.client.cookies.get("bantin_session")
    assert cookie and all(cookie not in (s.id, s.csrf) for s in rows)
    assert rows[0].id == digest(cookie)
    assert await web.store.web_link_state(token, web.clock()) == "unknown"


async def test_test_url_reads_a_source_and_writes_its_toml(tmp_path: Any) -> None:
    from fake_portal import ScriptedPortal

    from bot.config import Config, load_settings
    from bot.demo.portal import demo_config_text, load_site
    from bot.web.checker import test_url

    portal = ScriptedPortal(load_site())
    base = "http://portal.test"
    settings = load_settings({"BANTIN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    config = Config(settings, (), (), tmp_path / "t.toml").with_sources_text(
        demo_config_text(base), filename="t.toml"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=portal.app)) as client:
        known = await test_url(client, config, f"{base}/rss/kiem-tra.rss")
        assert known["total"] >= 1 and known["entries"][0]["title"]
        assert known["entries"][0]["summary"] and 'kind = "rss"' in known["toml"]
        assert 'id = "demo-kiem-tra"' in known["toml"] and "Kiểm tra" in known["toml"]
        listing = await test_url(client, config, f"{base}/dan-van.aspx?x=1")
        # Not configured: guessed as a listing of the portal's article links.
        assert listing["kind"] == "html" and listing["total"] == 8
        assert "link_pattern" in listing["toml"] and listing["entries"][0]["body"]
        broken = await test_url(client, config, f"{base}/nothing-here")
        assert "error" in broken


async def test_admin_without_a_slash_and_unknown_paths(web: Web) -> None:
    r = await web.client.get("/admin")
    assert r.status_code in (307, 303) and r.headers["location"].endswith("/admin/")
    assert (await web.client.get("/admin/nope")).status_code == 404


async def test_dashboard_figures_are_reused_then_refreshed_in_the_background(web: Web) -> None:
    import asyncio

    await web.sign_in()
    first = await web.client.get("/admin/")
    assert re.search(r'id="articles-today">0<', first.text)
    await _articles(web.store, web.clock, 2)
    assert re.search(r'id="articles-today">0<', (await web.client.get("/admin/")).text)
    web.clock.advance(31)
    stale = await web.client.get("/admin/")  # served at once, while a refresh runs
    assert re.search(r'id="articles-today">0<', stale.text)
    for _ in range(100):
        await asyncio.sleep(0.02)
        page = await web.client.get("/admin/")
        if re.search(r'id="articles-today">2<', page.text):
            break
    else:
        raise AssertionError("the dashboard figures were never refreshed")


async def test_closing_the_console_ends_its_background_counts(web: Web) -> None:
    """A count still running when the store closes would leave its connection checked out
    (on PostgreSQL an open transaction that blocks later DDL): close() ends it first."""
    web.console.content.prefetch()
    task = web.console.content._refresh
    assert task is not None and not task.done()
    await web.console.close()
    assert task.done() and not task.cancelled()  # it finished within the grace
    await web.console.close()  # twice is fine


# --- test a URL: the console is no proxy (issue 20) -----------------------------------------

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Intranet</title>'
    b"<item><title>Tin noi bo</title><link>http://127.0.0.1:9/a/1234</link></item>"
    b"</channel></rss>"
)


def _checking_web(store: Store, clock: Any, tmp_path: Any, client: Any, **env: str) -> Web:
    """A console whose *test a URL* is the real checker on ``client``."""
    from bot.config import Config, load_settings
    from bot.web.checker import test_url

    settings = load_settings({"BANTIN_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", **env})
    config = Config(settings, (), (), tmp_path / "t.toml")

    async def real(url: str) -> dict[str, Any]:
        return await test_url(client, config, url)

    return Web(store, clock, test_url=real)


async def test_test_url_refuses_private_addresses_and_the_listener_hears_nothing(
    store: Store, clock: Any, tmp_path: Any
) -> None:
    from hostile_server import HostileServer, Reply
    from test_hostile import PRIVATE_FORMS

    from feeds.fetch import make_client

    routes = {"/secret": Reply(body=FEED), "/go": Reply(body=b"")}
    async with HostileServer(routes).running() as server, make_client() as client:
        web = _checking_web(store, clock, tmp_path, client)
        try:
            await web.sign_in()
            for form in PRIVATE_FORMS:
                r = await web.post("/admin/sources/test", {"url": form.format(port=server.port)})
                assert r.status_code == 200 and 'role="alert"' in r.text, form
                assert "Không thử địa chỉ nội bộ" in r.text or "metadata" in r.text, form
        finally:
            await web.close()
    assert server.requests == []


async def test_console_allow_private_lets_a_typed_private_address_through(
    store: Store, clock: Any, tmp_path: Any
) -> None:
    from hostile_server import HostileServer, Reply

    from feeds.fetch import make_client

    routes = {"/feed": Reply(headers=(("Content-Type", "application/rss+xml"),), body=FEED)}
    async with HostileServer(routes).running() as server, make_client() as client:
        env = {"BANTIN_CONSOLE_ALLOW_PRIVATE": "true"}
        web = _checking_web(store, clock, tmp_path, client, **env)
        try:
            await web.sign_in()
            r = await web.post("/admin/sources/test", {"url": f"{server.base_url}/feed"})
        finally:
            await web.close()
    assert "Tin noi bo" in r.text and "Không thử" not in r.text
    assert ("/feed") in server.paths()


async def test_metadata_is_refused_even_with_the_setting_and_in_check_source(
    store: Store, clock: Any, tmp_path: Any
) -> None:
    from hostile_server import HostileServer, Reply

    from bot.polling.adhoc import guess_source
    from feeds.errors import Refused
    from feeds.fetch import make_client

    metadata = "http://169.254.169.254/latest/meta-data/"
    routes = {"/go": Reply(302, headers=(("Location", metadata),))}
    async with HostileServer(routes).running() as server, make_client() as client:
        env = {"BANTIN_CONSOLE_ALLOW_PRIVATE": "true"}
        web = _checking_web(store, clock, tmp_path, client, **env)
        try:
            await web.sign_in()
            for url in (
                metadata,
                "http://2852039166/latest/meta-data/",
                "http://[::ffff:169.254.169.254]/",
                "http://[fd00:ec2::254]/",
                "http://metadata.google.internal./computeMetadata/v1/",
                f"{server.base_url}/go",  # a redirect to it
            ):
                r = await web.post("/admin/sources/test", {"url": url})
                assert "metadata của dịch vụ đám mây" in r.text, url
            # check-source at the shell accepts a typed private address, never metadata.
            with pytest.raises(Refused, match="metadata"):
                await guess_source(client, metadata, max_bytes=100_000)
        finally:
            await web.close()
    assert server.paths() == ["/go"]
