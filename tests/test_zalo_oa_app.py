"""The Zalo OA channel in the assembled app, against the fake OA: an admin connects the OA
from the console (PKCE, state), a follower is greeted with the topic menu, commands run over
the webhook, a push inside the window is a free reply, one outside waits and goes on the
member's next message, the console counts the month's sends, an unfollow stops the chat."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fake_zalo_oa import FakeOA
from helpers import eventually, wait_for

from bot.app import App
from bot.channels.zalo_oa_api import challenge_of
from bot.config import Config, load_settings
from bot.web.auth import issue_link
from storage.records import DeliveryStatus, NewArticle

TOPICS = """
[[topics]]
slug = "dan-van"
name = "Dân vận"

[[topics]]
slug = "kiem-tra"
name = "Kiểm tra"
"""


@dataclass
class Running:
    fake: FakeOA
    app: App
    clock: Any

    @property
    def base(self) -> str:
        assert self.app.http is not None
        return f"http://127.0.0.1:{self.app.http.port}"

    async def say(self, name: str, user: str, text: str = "") -> None:
        r = await self.fake.deliver(self.base + "/zalo_oa/webhook", name, user, text)
        assert r.status_code == 200


@pytest.fixture
async def running(database_url: str, clock: Any) -> AsyncIterator[Running]:
    fake = FakeOA(clock)
    async with fake.running() as url:
        env = {
            "BANTIN_DATABASE_URL": database_url,
            "BANTIN_HTTP_HOST": "127.0.0.1",
            "BANTIN_HTTP_PORT": "0",
            "BANTIN_PUBLIC_URL": "http://bantin.test",
            "BANTIN_ADMINS": "zalo_oa:admin-1",
            "ZALO_OA_APP_ID": fake.app_id,
            "ZALO_OA_APP_SECRET": fake.app_secret,
            "ZALO_OA_SECRET_KEY": fake.oa_secret_key,
            "ZALO_OA_BILLED_CONSULTATION": "true",
            "ZALO_OA_MONTHLY_BUDGET_VND": "5000",
            "ZALO_OA_RATE": "100",
            "ZALO_OA_OAUTH_BASE_URL": url,
            "ZALO_OA_API_BASE_URL": url,
            "ZALO_OA_BUSINESS_BASE_URL": url,
        }
        config = Config(load_settings(env), (), (), Path("t.toml")).with_sources_text(
            TOPICS, filename="t.toml"
        )
        app = App(config, clock=clock)
        await app.start()
        try:
            yield Running(fake, app, clock)
        finally:
            await app.stop()


async def _connect(r: Running) -> None:
    link = await issue_link(r.app.store, "zalo_oa:admin-1", r.base, r.clock())
    async with httpx.AsyncClient(base_url=r.base) as admin:
        token = link.rsplit("/", 1)[1]
        assert (await admin.post("/admin/login", data={"token": token})).status_code == 303
        page = await admin.get("/admin/zalo-oa")
        assert page.status_code == 200 and 'id="oa-connect"' in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        go = await admin.post("/admin/zalo-oa/connect", data={"csrf": csrf.group(1)})
    assert go.status_code == 303
    consent = urlsplit(go.headers["location"])
    query = {k: v[0] for k, v in parse_qs(consent.query).items()}
    assert consent.path == "/v4/oa/permission" and query["app_id"] == r.fake.app_id
    assert query["redirect_uri"] == "http://bantin.test/admin/zalo-oa/callback"
    code = r.fake.authorize(query["code_challenge"])
    back = {"code": code, "oa_id": r.fake.oa_id, "state": query["state"]}
    async with httpx.AsyncClient(base_url=r.base) as browser:  # cross-site: no cookie
        forged = await browser.get("/admin/zalo-oa/callback", params={**back, "state": "x" * 43})
        assert forged.status_code == 400
        done = await browser.get("/admin/zalo-oa/callback", params=back)
        assert done.status_code == 200 and 'id="oa-done"' in done.text
        again = await browser.get("/admin/zalo-oa/callback", params=back)  # single use
        assert again.status_code == 400
    exchange = [
        c for c in r.fake.calls if (c["body"] or {}).get("grant_type") == "authorization_code"
    ]
    assert len(exchange) == 1 and exchange[0]["headers"]["secret_key"] == r.fake.app_secret
    # the documented form (section 2.4), nothing more
    assert set(exchange[0]["body"]) == {"app_id", "grant_type", "code", "code_verifier"}
    assert challenge_of(exchange[0]["body"]["code_verifier"]) == query["code_challenge"]


async def _article(r: Running, key: str, title: str) -> None:
    now = r.clock()
    url = f"https://portal.example/{key}"
    source = type("S", (), {"id": "x", "name": "X", "kind": "rss", "url": "https://p/"})()
    await r.app.store.sync_sources([source], now)
    item = NewArticle("x", key, url, title, now, "", "Tóm tắt.", ("dan-van",))
    await r.app.store.save_articles([item], now)
    r.app.worker.wake()


async def test_connect_follow_command_push_hold_release_unfollow(running: Running) -> None:
    r = running
    await _connect(r)
    await r.say("follow", "u1")
    await wait_for(lambda: any("1. ▫️ Dân vận" in s.text for s in r.fake.sent))
    assert {s.kind for s in r.fake.sent} == {"billed"}  # a follow has no message to quote
    await r.say("user_send_text", "u1", "1")  # the numbered answer subscribes
    await wait_for(lambda: any("✅ Dân vận" in s.text for s in r.fake.sent))
    assert r.fake.sent[-1].kind == "reply"
    await _article(r, "a1", "Tin trong cửa sổ")
    await wait_for(lambda: any("Tin trong cửa sổ" in s.text for s in r.fake.sent))
    assert r.fake.sent[-1].kind == "reply"

    r.clock.advance(8 * 86400)
    await r.app.channels["zalo_oa"].keeper.rotate(force=True)  # type: ignore[attr-defined]
    before = len(r.fake.sent)
    await _article(r, "a2", "Tin ngoài cửa sổ")

    async def held() -> bool:  # pending, and not due: it waits for the member
        counts = await r.app.store.outbox_counts(r.clock())
        pending = dict(((ch, st), n) for ch, st, n in counts.by_status)
        due = dict(counts.due).get("zalo_oa", 0)
        return pending.get(("zalo_oa", DeliveryStatus.PENDING), 0) == 1 and due == 0

    await eventually(held)
    await r.say("user_send_text", "u1", "/mysubs")
    await wait_for(lambda: any("Tin ngoài cửa sổ" in s.text for s in r.fake.sent))
    assert all(s.kind == "reply" for s in r.fake.sent[before:])
    sends = [c for c in r.fake.calls if c["path"] == "/v3.0/oa/message/cs"]
    assert all(set(c["body"]) == {"recipient", "message"} for c in sends)
    assert all(set(c["body"]["message"]) == {"text"} for c in sends)
    assert all("access_token" in c["headers"] for c in sends)

    async with httpx.AsyncClient(base_url=r.base) as admin:
        link = await issue_link(r.app.store, "zalo_oa:admin-1", r.base, r.clock())
        await admin.post("/admin/login", data={"token": link.rsplit("/", 1)[1]})
        page = await admin.get("/admin/zalo-oa")
    assert r.fake.oa_id in page.text
    billed = sum(s.price for s in r.fake.sent)
    assert billed == 110 and f"<td>2 · {billed} ₫</td>" in page.text  # the greeting's two

    await r.say("unfollow", "u1")

    async def stopped() -> bool:
        chat = await r.app.store.get_chat("zalo_oa", "u1")
        return chat is not None and not chat.active

    await eventually(stopped)
