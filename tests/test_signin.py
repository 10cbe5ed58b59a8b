"""The console's sign-in limit (issue 21): only failed attempts count, per client and in
total, and a valid link signs in whatever others did from the same address; forms are read
bounded. The client address behind a proxy is in test_httpserver.py."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from test_web import Web

from bot.web.auth import SigninLimit
from bot.web.site import MAX_FORM_BYTES, MAX_SIGNIN_BYTES
from storage.store import Store


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_are_counted_per_client_and_in_total() -> None:
    ticks = Ticks()
    limit = SigninLimit(per_client=3, total=5, window=60, clock=ticks)
    assert [limit.failed("a") for _ in range(4)] == [True, True, True, False]
    assert [limit.failed("b") for _ in range(3)] == [True, True, False]  # 5 in all
    assert not limit.failed("c")  # a newcomer, but everyone together is over
    ticks.now += 61  # the window has passed
    assert limit.failed("a") and limit.failed("c")


def client_at(w: Web, address: str) -> httpx.AsyncClient:
    """Another browser on the same console, from ``address``."""
    app = Starlette(routes=[w.console.mount()])
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_junk_does_not_lock_out_an_admin_from_the_same_address(
    store: Store, clock: Any
) -> None:
    w = Web(store, clock)
    w.console.signin_limit = SigninLimit(per_client=3, total=100, window=60)
    try:
        junk = [
            (await w.client.post("/admin/login", data={"token": "x"})).status_code
            for _ in range(10)
        ]
        assert junk[:3] == [404, 404, 404] and set(junk[3:]) == {429}
        assert (await w.client.get("/admin/login/whatever")).status_code == 429
        # The same address, over its limit, with a valid link: signed in all the same.
        await w.sign_in()
        assert (await w.client.get("/admin/")).status_code == 200
    finally:
        await w.close()


async def test_valid_page_views_are_not_counted(store: Store, clock: Any) -> None:
    w = Web(store, clock)
    w.console.signin_limit = SigninLimit(per_client=1, total=1, window=60)
    try:
        for _ in range(3):  # each sign-in is two requests (the page, then the POST)
            await w.sign_in()
        used = await w.client.post("/admin/login", data={"token": "x"})
        assert used.status_code == 404  # the first failure is answered as usual
    finally:
        await w.close()


async def test_one_client_over_its_limit_leaves_others_alone(store: Store, clock: Any) -> None:
    w = Web(store, clock)
    w.console.signin_limit = SigninLimit(per_client=2, total=3, window=60)
    scanner = client_at(w, "198.51.100.7")
    other = client_at(w, "198.51.100.8")
    try:
        codes = [
            (await scanner.post("/admin/login", data={"token": "x"})).status_code for _ in range(4)
        ]
        assert codes == [404, 404, 429, 429]
        assert (await other.get("/admin/login/nope")).status_code == 404  # the third in all
        assert (await other.get("/admin/login/nope")).status_code == 429  # over the total
        await w.sign_in()  # and valid links still work for everyone
    finally:
        await scanner.aclose()
        await other.aclose()
        await w.close()


async def test_forms_are_read_bounded(store: Store, clock: Any) -> None:
    w = Web(store, clock)
    try:
        big = {"token": "x" * MAX_SIGNIN_BYTES}
        assert (await w.client.post("/admin/login", data=big)).status_code == 413

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(5):  # no Content-Length: the bound holds while reading
                yield b"t" * 1000

        assert (await w.client.post("/admin/login", content=chunks())).status_code == 413
        await w.sign_in()
        huge = {"csrf": await w.csrf(), "text": "x" * MAX_FORM_BYTES}
        assert (await w.client.post("/admin/logout", data=huge)).status_code == 413
        assert (await w.client.get("/admin/")).status_code == 200  # still signed in
    finally:
        await w.close()
