"""The bot's own HTTP server under hostile clients (issue 21): one deadline for each whole
request, bodies read only when a handler asks, a cap on connections per client address,
forwarded headers only from trusted proxies, and 300 silent bodies against the running bot.

Everything is on loopback. The legitimate client comes from 127.0.0.2 (Linux routes all of
127/8 to lo), as a real one comes from another address than the flood's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fake_telegram import FakeTelegram
from helpers import wait_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.app import App, server_limits
from bot.config import Config, load_settings
from bot.ops.httpserver import RunningServer, ServerLimits, client_key, serve
from bot.settings import ConfigError

OTHER = "127.0.0.2"  # the legitimate client's address
TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
SECRET = "s3cret_value"
HOOK = "/tg/hook"

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _hook(request: Request) -> PlainTextResponse:
    if request.headers.get("x-secret") != SECRET:
        return PlainTextResponse("no", status_code=401)  # the body is never read
    return PlainTextResponse(str(len(await request.body())))


async def _ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def _who(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.client.host if request.client else "?")


APP = Starlette(
    routes=[Route("/hook", _hook, methods=["POST"]), Route("/ok", _ok), Route("/who", _who)]
)


@contextlib.asynccontextmanager
async def bounded(**limits: object) -> AsyncIterator[RunningServer]:
    server = await serve(APP, limits=ServerLimits(**limits))  # type: ignore[arg-type]
    try:
        yield server
    finally:
        await server.stop()


def client(base_url: str, address: str = OTHER) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(transport=transport, base_url=base_url, timeout=10)


def head(path: str, *headers: str, length: int = 1000) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Content-Length: {length}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def opened(port: int, data: bytes = b"", address: str = "127.0.0.1") -> Conn | None:
    """A connection that sent ``data`` and then nothing; None when it was refused outright."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
        if data:
            writer.write(data)
            await writer.drain()
    except OSError:
        return None
    return reader, writer


async def closed_by_server(conn: Conn | None, within: float = 10.0) -> bool:
    """Whether the server closes ``conn`` (reading to the end) within a generous bound."""
    if conn is None:
        return True
    try:
        async with asyncio.timeout(within):
            while await conn[0].read(65536):
                pass
    except ConnectionError:
        return True
    except TimeoutError:
        return False
    return True


async def answer(conn: Conn) -> bytes:
    """One response's status line and headers on ``conn`` (its body is left unread)."""
    return await conn[0].readuntil(b"\r\n\r\n")


def hang_up(conns: list[Conn | None]) -> None:
    for conn in conns:
        if conn is not None:
            conn[1].close()


# -- the deadline ----------------------------------------------------------------------


async def test_a_silent_body_is_closed_at_the_request_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with bounded(request_timeout=0.5, per_client=0) as server:
        # The right secret: the handler is waiting for the body that never comes.
        conn = await opened(server.port, head("/hook", f"X-Secret: {SECRET}"))
        assert await closed_by_server(conn)
        async with client(server.base_url) as http:
            assert (await http.get("/ok")).text == "ok"
    # Cut off while its handler read: nobody to answer, nothing to report.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_head_trickled_byte_by_byte_is_cut_off() -> None:
    async with bounded(request_timeout=0.5, per_client=0) as server:
        conn = await opened(server.port)
        assert conn is not None
        trickle = head("/hook", *(f"X-Pad-{i}: {'a' * 20}" for i in range(20)))

        async def drip() -> None:  # 600 bytes at 50 per second: 12 s if nothing stops it
            with contextlib.suppress(ConnectionError):
                for byte in trickle:
                    conn[1].write(bytes([byte]))
                    await conn[1].drain()
                    await asyncio.sleep(0.02)

        dripping = asyncio.create_task(drip())
        try:
            assert await closed_by_server(conn, within=8)  # data arriving does not reset it
        finally:
            dripping.cancel()
            conn[1].close()


async def test_each_request_on_a_connection_has_its_own_deadline() -> None:
    async with bounded(request_timeout=0.5, idle_timeout=5, per_client=0) as server:
        conn = await opened(server.port, b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn is not None
        try:
            assert (await answer(conn)).startswith(b"HTTP/1.1 200")
            assert await conn[0].readexactly(2) == b"ok"
            await asyncio.sleep(1.0)  # idle longer than a request may take: kept alive
            conn[1].write(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await answer(conn)).startswith(b"HTTP/1.1 200")
        finally:
            conn[1].close()


async def test_a_slow_but_timely_body_is_served() -> None:
    async with bounded(request_timeout=10, per_client=0) as server:
        conn = await opened(server.port, head("/hook", f"X-Secret: {SECRET}", length=6))
        assert conn is not None
        try:
            await asyncio.sleep(0.2)
            conn[1].write(b"abcdef")
            assert (await answer(conn)).startswith(b"HTTP/1.1 200")
            assert await conn[0].readexactly(1) == b"6"
        finally:
            conn[1].close()


# -- bodies ----------------------------------------------------------------------------


async def test_a_body_is_read_only_when_the_handler_asks() -> None:
    """A wrong secret is answered at once, without waiting for the announced body (a
    server that read bodies before routing would wait for the 30 s deadline)."""
    async with bounded(request_timeout=30, per_client=0) as server:
        conn = await opened(server.port, head("/hook", "X-Secret: wrong"))
        assert conn is not None
        try:
            async with asyncio.timeout(5):
                assert (await answer(conn)).startswith(b"HTTP/1.1 401")
        finally:
            conn[1].close()


async def test_bodies_over_the_cap_get_413() -> None:
    async with bounded(max_body=1000, per_client=0) as server, client(server.base_url) as http:
        secret = {"x-secret": SECRET}
        assert (await http.post("/hook", content=b"x" * 1000, headers=secret)).text == "1000"
        over = await http.post("/hook", content=b"x" * 1001, headers=secret)
        assert over.status_code == 413 and over.headers["connection"] == "close"
        # Over the cap by its Content-Length: answered before any of it is read.
        conn = await opened(server.port, head("/ok", length=10**9))
        assert conn is not None
        try:
            assert (await answer(conn)).startswith(b"HTTP/1.1 413")
        finally:
            conn[1].close()


# -- connections per client ------------------------------------------------------------


async def test_one_address_holds_at_most_its_cap() -> None:
    async with bounded(request_timeout=30, per_client=5) as server:
        held = [await opened(server.port) for _ in range(5)]
        assert all(held)
        try:
            one_more = await opened(server.port)
            assert await closed_by_server(one_more, within=5)  # at once, not after 30 s
            async with client(server.base_url) as http:  # another address is served
                assert (await http.get("/ok")).text == "ok"
            hang_up(held[:1])  # a place comes free

            async def served_again() -> bool:
                try:
                    async with client(server.base_url, "127.0.0.1") as http:
                        return (await http.get("/ok")).text == "ok"
                except httpx.TransportError:
                    return False

            for _ in range(100):
                if await served_again():
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("a freed place was not given to the address again")
        finally:
            hang_up(held)


def test_ipv6_clients_are_counted_by_their_64() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:198.51.100.4") == "198.51.100.4"
    assert client_key("198.51.100.4") == "198.51.100.4"


async def test_forwarded_for_only_from_a_trusted_proxy() -> None:
    forwarded = {"x-forwarded-for": "203.0.113.9"}
    async with bounded(per_client=2, trusted_proxies=("127.0.0.1",)) as server:
        # The proxy carries many clients: not held to the per-client cap.
        held = [await opened(server.port) for _ in range(4)]
        try:
            async with client(server.base_url, "127.0.0.1") as http:
                assert (await http.get("/who", headers=forwarded)).text == "203.0.113.9"
            async with client(server.base_url, OTHER) as http:  # not a proxy: ignored
                assert (await http.get("/who", headers=forwarded)).text == OTHER
        finally:
            hang_up(held)
    async with bounded() as server, client(server.base_url, "127.0.0.1") as http:
        # No proxy configured: loopback is a client like any other.
        assert (await http.get("/who", headers=forwarded)).text == "127.0.0.1"


def test_the_settings_make_the_limits() -> None:
    env = {
        "BANTIN_HTTP_REQUEST_TIMEOUT": "7.5",
        "BANTIN_HTTP_MAX_CONNECTIONS_PER_CLIENT": "0",
        "BANTIN_HTTP_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,::1",
    }
    limits = server_limits(load_settings(env).http)
    assert limits.request_timeout == 7.5 and limits.per_client == 0
    assert limits.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert server_limits(load_settings({}).http) == ServerLimits()  # the same defaults
    with pytest.raises(ConfigError, match="BANTIN_HTTP_TRUSTED_PROXIES"):
        load_settings({"BANTIN_HTTP_TRUSTED_PROXIES": "proxy.example"})


# -- the running bot -------------------------------------------------------------------


def make_app(database_url: str, url: str, **extra: str) -> App:
    env = {
        "BANTIN_DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": url,
        "TELEGRAM_WEBHOOK_URL": f"https://bot.example.org{HOOK}",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "BANTIN_HTTP_HOST": "127.0.0.1",
        "BANTIN_HTTP_PORT": "0",
        **extra,
    }
    topics = '[[topics]]\nslug = "dan-van"\nname = "Dân vận"\n'
    config = Config(load_settings(env), (), (), Path("t.toml"))
    return App(config.with_sources_text(topics, filename="t.toml"))


async def flood(port: int, n: int = 300) -> list[Conn | None]:
    """``n`` connections announcing a body and sending nothing: a third with the webhook's
    secret (its handler waits for the body), a third without, a third to /healthz. Opened
    one after the other, as an attacker would: all at once, they would all be counted open
    when their heads arrive and all be answered 503 (and closed) by the connection limit."""
    secret = f"X-Telegram-Bot-Api-Secret-Token: {SECRET}"
    heads = [head(HOOK, secret), head(HOOK), head("/healthz")]
    conns: list[Conn | None] = []
    for i in range(n):
        conns.append(await opened(port, heads[i % 3]))
        await asyncio.sleep(0.005)  # the server reads this head before the next one comes
    return conns


async def still_answering(fake: FakeTelegram, base_url: str, chat: int) -> None:
    secret = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with client(base_url) as http:
        for i in range(5):
            update = fake.make_message_update(chat, "/help")
            update["update_id"] = 10_000 + chat * 10 + i
            assert (await http.post(HOOK, json=update, headers=secret)).status_code == 200
            assert (await http.get("/healthz")).status_code == 200
    await wait_for(lambda: len(fake.sent_to(chat)) >= 1)


async def test_300_silent_bodies_leave_webhooks_and_healthz_answering(
    database_url: str,
) -> None:
    """The per-client cap: with a deadline too long to help, one address holds 20
    connections and the other 280 are closed at once."""
    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        app = make_app(database_url, url, BANTIN_HTTP_REQUEST_TIMEOUT="60")
        await app.start()
        conns: list[Conn | None] = []
        try:
            assert app.http is not None
            conns = await flood(app.http.port)
            await still_answering(fake, app.http.base_url, 9)
            refused = await asyncio.gather(*(closed_by_server(c, within=5) for c in conns))
            assert sum(refused) >= len(conns) - 20  # at most 20 held, the rest closed at once
        finally:
            hang_up(conns)
            await app.stop()


async def test_the_deadline_alone_frees_the_server_from_silent_bodies(
    database_url: str,
) -> None:
    """No per-client cap: 300 silent bodies fill the 200 places, and the deadline closes
    them, so webhooks and /healthz answer again while the flood still holds its sockets."""
    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        extra = {
            "BANTIN_HTTP_REQUEST_TIMEOUT": "0.5",
            "BANTIN_HTTP_MAX_CONNECTIONS_PER_CLIENT": "0",
        }
        app = make_app(database_url, url, **extra)
        await app.start()
        conns: list[Conn | None] = []
        try:
            assert app.http is not None
            conns = await flood(app.http.port)
            assert all(await asyncio.gather(*(closed_by_server(c) for c in conns)))
            await still_answering(fake, app.http.base_url, 11)
        finally:
            hang_up(conns)
            await app.stop()


async def test_a_webhook_body_over_1_mb_gets_413(database_url: str) -> None:
    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        app = make_app(database_url, url)
        await app.start()
        try:
            assert app.http is not None

            async def chunks():  # type: ignore[no-untyped-def]
                for _ in range(12):  # no Content-Length: counted while the handler reads
                    yield b" " * 100_000

            secret = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with client(app.http.base_url) as http:
                try:
                    status = (await http.post(HOOK, content=chunks(), headers=secret)).status_code
                except httpx.TransportError:  # answered and closed while still sending
                    status = 413
                assert status == 413
                assert (await http.get("/healthz")).status_code == 200
        finally:
            await app.stop()
