"""The console's edges (issue 21): page numbers and row ids out of range, a broadcast time
out of range, and *poll now* on a paused source get a clear answer, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from test_web import SOURCES, TZ, Web, _articles

from storage.store import Store


@pytest.fixture
async def web(store: Store, clock: Any) -> AsyncIterator[Web]:
    await store.sync_sources(SOURCES, clock())
    w = Web(store, clock)
    await w.sign_in()
    try:
        yield w
    finally:
        await w.close()


@pytest.mark.parametrize("path", ["/admin/articles", "/admin/chats"])
async def test_a_page_number_out_of_range_gets_a_clear_400(web: Web, path: str) -> None:
    await _articles(web.store, web.clock)
    for bad in ("999999999999999999", "100001", "-1", "abc", "1e3", "1.5", " 2", "٣"):
        r = await web.client.get(path, params={"page": bad})
        assert r.status_code == 400, bad
        assert "Số trang không hợp lệ: hãy dùng một số nguyên từ 0 đến 100000." in r.text
    english = await web.client.get(path, params={"page": "-1", "lang": "en"})
    assert english.status_code == 400 and "Not a valid page" in english.text
    for good in ("", "0", "100000"):
        assert (await web.client.get(path, params={"page": good})).status_code == 200, good
    first = await web.client.get(path)
    assert first.status_code == 200


async def test_a_row_id_out_of_range_is_not_found(web: Web) -> None:
    huge = "9" * 25
    assert (await web.client.get(f"/admin/articles/{huge}")).status_code == 404
    assert (await web.client.get(f"/admin/articles/{2**63}")).status_code == 404
    assert (await web.client.get(f"/admin/articles/{2**63 - 1}")).status_code == 404
    r = await web.post(f"/admin/chats/{huge}/active", {"active": "0"})
    assert r.status_code == 303
    r = await web.post(f"/admin/broadcasts/{huge}/cancel", {})
    assert r.status_code == 303
    actions = {e.action for e in await web.store.audit_log()}
    assert not actions & {"deactivate-chat", "cancel-broadcast"}


async def _schedule(web: Web, when: str) -> Any:
    return await web.post(
        "/admin/broadcasts", {"text": "Hẹn", "target": "all", "schedule": "1", "when": when}
    )


async def test_a_broadcast_time_out_of_range_gets_a_form_error(web: Web) -> None:
    local = web.clock().astimezone(TZ)
    past = "Thời điểm hẹn phải ở tương lai."
    far = "Chỉ hẹn giờ được trong vòng một năm tới."
    cases = {
        "0001-01-01T00:00": past,  # before year 1 in UTC: no longer a 500
        "0001-01-01T07:00": past,
        (local - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"): past,
        "not a date": past,
        "": past,
        "9999-12-31T23:59": far,
        (local + timedelta(days=367)).strftime("%Y-%m-%dT%H:%M"): far,
        "2020-01-01T00:00+14:00": past,
        "9999-12-31T23:59-12:00": far,
    }
    for when, message in cases.items():
        r = await _schedule(web, when)
        assert r.status_code == 400, when
        assert message in r.text, when
        assert f'value="{when}"' in r.text  # the form keeps what was typed
    assert await web.store.scheduled_broadcasts() == []
    r = await _schedule(web, (local + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M"))
    assert r.status_code == 303
    [scheduled] = await web.store.scheduled_broadcasts()
    assert scheduled.send_at - web.clock() > timedelta(days=364)


async def test_poll_now_is_refused_for_a_paused_source(web: Web) -> None:
    await web.post("/admin/sources/portal/pause", {"paused": "1"})
    page = await web.client.get("/admin/sources")
    assert '<button type="submit" id="poll-portal" disabled' in page.text
    assert '<button type="submit" id="poll-other">' in page.text
    r = await web.post("/admin/sources/portal/poll", {})
    assert r.status_code == 409 and web.polled == []
    assert "Nguồn «portal» đang tạm dừng nên không được quét." in r.text
    assert "poll-source" not in {e.action for e in await web.store.audit_log()}
    r = await web.post("/admin/sources/other/poll", {})
    assert r.status_code == 200 and web.polled == ["other"]
    await web.post("/admin/sources/portal/pause", {"paused": "0"})
    r = await web.post("/admin/sources/portal/poll", {})
    assert r.status_code == 200 and web.polled == ["other", "portal"]
