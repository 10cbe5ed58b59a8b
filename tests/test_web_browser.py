"""The web console in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by selenium, against the whole bot on the fake Bot API and the
fake portal. From ``/web`` in a chat to a scheduled broadcast the fake Bot API receives, a
paused source skipped, a search, sign-out. Each page is saved under ``docs/screenshots/``
(or ``$BANTIN_TEST_SCREENSHOTS``)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fake_portal import ScriptedPortal
from fake_telegram import FakeTelegram
from helpers import wait_for

from bot.app import App
from bot.config import Config, load_settings
from bot.demo.portal import demo_config_text, load_site

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("BANTIN_TEST_SCREENSHOTS") or ROOT / "docs" / "screenshots")
TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
ADMIN = 100
BASE = "http://portal.test"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _skip_reason() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: apt-get install -y {package} (.ci/run does)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


class Clock:
    """Real time plus an offset the test moves forward (to make a scheduled time come)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def _driver(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        "--lang=vi",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


class Browser:
    """Selenium runs in a worker thread (it blocks); the bot keeps the event loop."""

    def __init__(self, driver: Any, base: str, loop: asyncio.AbstractEventLoop) -> None:
        self.d = driver
        self.base = base
        self.loop = loop
        self.shots: list[Path] = []

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on the bot's loop from the browser thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def get(self, path: str) -> None:
        self.d.get(self.base + path)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.d.execute_script("window.scrollTo(0, 0)")
        path = SHOTS / f"{len(self.shots) + 1:02d}-{name}.png"
        # The whole page, not just the window: size the window to the document first.
        height = self.d.execute_script("return document.documentElement.scrollHeight")
        width = self.d.get_window_size()["width"]
        self.d.set_window_size(width, min(max(height + 120, 600), 4000))
        self.d.save_screenshot(str(path))
        self.d.set_window_size(width, 1000)
        self.shots.append(path)

    def css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.d.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.d.find_elements(By.CSS_SELECTOR, selector))

    def wait(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        from selenium.common.exceptions import (
            NoSuchElementException,
            StaleElementReferenceException,
        )
        from selenium.webdriver.support.ui import WebDriverWait

        # While a form's answer loads, the old page's elements go stale: look again.
        ignored = (NoSuchElementException, StaleElementReferenceException)
        WebDriverWait(self.d, timeout, poll_frequency=0.2, ignored_exceptions=ignored).until(
            lambda _d: predicate()
        )


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[tuple[App, FakeTelegram, ScriptedPortal, Clock]]:
    fake = FakeTelegram(TOKEN)
    portal = ScriptedPortal(load_site())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=portal.app))
    clock = Clock()
    async with fake.running() as url:
        env = {
            "BANTIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'web.sqlite3'}",
            "BANTIN_ADMINS": f"telegram:{ADMIN}",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": url,
            "BANTIN_HTTP_HOST": "127.0.0.1",
            "BANTIN_HTTP_PORT": "0",
        }
        config = Config(load_settings(env), (), (), Path("t.toml")).with_sources_text(
            demo_config_text(BASE), filename="t.toml"
        )
        app = App(config, client=client, clock=clock)
        app.broadcast_dispatcher.every = 0.3
        await app.start()
        try:
            yield app, fake, portal, clock
        finally:
            await app.stop()
            await client.aclose()


async def _say(fake: FakeTelegram, chat_id: int, text: str) -> str:
    before = len(fake.sent_to(chat_id))
    fake.push_message(chat_id, text)
    await wait_for(lambda: len(fake.sent_to(chat_id)) > before)
    return "\n".join(s.text or "" for s in fake.sent_to(chat_id)[before:])


async def test_admin_journey_in_chromium(bot: Any) -> None:
    app, fake, portal, clock = bot
    for member in (7, 8):
        await _say(fake, member, "/start")
    await _say(fake, 7, "/subscribe dan van")
    await _say(fake, 8, "/follow chuyển đổi số")
    await app.poll_once()  # first sight: the archive has articles
    portal.publish_all()
    await app.poll_once()  # new ones: pushed to the subscribers, counted by the charts
    await wait_for(lambda: len(fake.sent_to(7)) >= 4)
    reply = await _say(fake, ADMIN, "/web")
    link = re.search(r"(http://\S+/admin/login/\S+)", reply)
    assert link, reply
    loop = asyncio.get_running_loop()
    profile = tempfile.mkdtemp(prefix="bantin-chromium-")
    driver = await asyncio.to_thread(_driver, profile)
    base = app.console_url()
    try:
        browser = Browser(driver, base, loop)
        await asyncio.to_thread(_journey, browser, app, fake, portal, clock, link.group(1))
    finally:
        await asyncio.to_thread(driver.quit)
        shutil.rmtree(profile, ignore_errors=True)


def _journey(
    b: Browser, app: App, fake: FakeTelegram, portal: ScriptedPortal, clock: Clock, link: str
) -> None:
    # Nothing without a session: the dashboard sends the browser to the sign-in page.
    b.get("/admin/")
    assert b.d.current_url.endswith("/admin/login") and "/web" in b.css("main").text
    b.shot("sign-in-help")

    # Sign in by the one-time link.
    b.d.get(link)
    b.shot("sign-in-link")
    b.css("#signin").click()
    b.wait(lambda: b.d.current_url.endswith("/admin/"))
    assert "telegram:100" in b.css("header").text
    assert len(b.all("svg.chart")) == 2
    b.shot("dashboard")

    # The same link again: a clear page, no second session.
    b.d.get(link)
    assert "đã được dùng" in b.css("#error-message").text
    b.shot("link-used")

    # Sources: pause one, and see the next poll skip it.
    b.get("/admin/sources")
    paused_id = "demo-kiem-tra"
    b.css(f"#pause-{paused_id}").click()
    b.wait(lambda: "Đang tạm dừng" in b.css(f"#source-{paused_id}").text)
    b.shot("sources-paused")
    before = len(portal.requests)
    b.run(app.poll_once())
    polled = [path for _, path, _ in portal.requests[before:]]
    assert polled and not any("kiem-tra" in p for p in polled), polled
    assert any("dan-van" in p for p in polled)
    sources_reply = b.run(_say(fake, ADMIN, "/sources"))
    assert re.search(r"⏸ demo-kiem-tra", sources_reply), sources_reply

    # Test a URL: check-source in the browser.
    b.css("#url").send_keys(f"{BASE}/rss/kiem-tra.rss")
    b.css("#url").submit()
    b.wait(lambda: bool(b.all("#test-result")))
    b.shot("sources-test-url")

    # Compose a broadcast: live preview, then schedule it two minutes ahead.
    b.get("/admin/broadcasts")
    text = "Thông báo: họp chi bộ lúc 14:00 <b>đúng giờ</b> & mang sổ."
    b.css("#text").send_keys(text)
    b.wait(lambda: bool(b.all("#pv-telegram .bubble")) and bool(b.all("#pv-zalo .bubble")))
    # The Telegram bubble shows what a member will read: the markup as typed, never bold.
    assert "<b>đúng giờ</b> & mang sổ." in b.css("#pv-telegram .bubble").text
    when = (clock() + timedelta(minutes=2)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
    b.d.execute_script("document.getElementById('when').value = arguments[0]", when)
    b.css("#schedule-later").click()
    b.shot("broadcast-compose")
    b.css("#send").click()
    b.wait(lambda: "Thông báo: họp chi bộ" in b.css("#scheduled").text)
    b.shot("broadcast-scheduled")
    assert not any("họp chi bộ" in (s.text or "") for s in fake.sent_to(7))

    # Its time comes: the background job queues it once and the fake Bot API receives it.
    clock.offset += timedelta(minutes=3)
    b.run(wait_for(lambda: any("họp chi bộ" in (s.text or "") for s in fake.sent_to(7))))
    b.run(wait_for(lambda: any("họp chi bộ" in (s.text or "") for s in fake.sent_to(8))))
    got = next(s.text for s in fake.sent_to(7) if "họp chi bộ" in (s.text or ""))
    assert "&lt;b&gt;đúng giờ&lt;/b&gt; &amp;" in (got or "")
    b.get("/admin/broadcasts")
    b.wait(lambda: b.all("#history td[data-k=pending]")[0].text == "0")
    b.get("/admin/broadcasts")
    row = b.all("#history tbody tr")[0].text
    assert "telegram:100" in row and "họp chi bộ" in row
    b.shot("broadcast-history")
    assert sum("họp chi bộ" in (s.text or "") for s in fake.sent_to(7)) == 1

    # The archive and its search.
    b.get("/admin/articles")
    b.shot("articles")
    b.css("#q").send_keys("dan van")
    b.css("#q").submit()
    b.wait(lambda: bool(b.all("#search-count")))
    results = b.all("#articles a")
    assert results, b.css("main").text
    b.shot("articles-search")
    results[0].click()
    b.wait(lambda: bool(b.all("#received")))
    b.shot("article")

    # Chats, sessions, the audit log.
    b.get("/admin/chats")
    assert "telegram:7" in b.css("#chats").text
    b.shot("chats")
    b.get("/admin/sessions")
    b.shot("sessions")
    b.get("/admin/audit")
    log = b.css("#audit").text
    for action in ("sign-in", "pause-source", "test-url", "broadcast"):
        assert action in log, log
    b.shot("audit")

    # English, and a phone-sized screen.
    b.get("/admin/?lang=en")
    assert "Dashboard" in b.css("h1").text
    b.d.set_window_size(390, 1000)
    b.get("/admin/")
    b.shot("dashboard-phone-en")
    b.d.set_window_size(1280, 1000)
    b.get("/admin/?lang=vi")

    # Sign out: the session is gone.
    b.css("#logout").click()
    b.wait(lambda: "/admin/login" in b.d.current_url)
    b.get("/admin/chats")
    assert b.d.current_url.endswith("/admin/login")
    b.shot("signed-out")
