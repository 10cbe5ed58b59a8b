"""Serving an ASGI app (webhooks, health, the demo portal, test fakes) inside our own loop.

uvicorn runs as a task of the running event loop, without signal handlers of its own (the
bot owns SIGINT/SIGTERM), on a socket we bind ourselves so that port 0 works and a busy port
is an ordinary OSError. The bot's own server is bounded: headers must arrive in time,
connections are limited, and a request body over the cap is refused (413).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

#: request bodies larger than this are refused (Telegram's updates are far smaller)
MAX_BODY = 1_000_000


class _HeadersInTime(H11Protocol):
    """h11 with a deadline for a request's headers: uvicorn times out only idle keep-alive
    connections, so a client sending half a request would hold its connection for ever."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.timeout_keep_alive, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is None or self.cycle.response_complete:
            self._arm()  # a request begun and its headers not complete yet
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


class BodyCap:
    """ASGI middleware refusing request bodies over ``max_body`` bytes (413), whether the
    Content-Length says so or the body runs past it while being read."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _refuse(send)
            return
        # Read the body here, bounded, and hand it on whole: an app (Starlette) turns an
        # error raised while it reads into a 500 of its own.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body:
                await _refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as usual

        await self.app(scope, replay, send)


async def _refuse(send: Send) -> None:
    body = b'{"ok":false,"error":"request body too large"}'
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host (the bot owns Ctrl-C)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class RunningServer:
    """A portal being served by uvicorn in the current event loop."""

    def __init__(
        self, server: uvicorn.Server, task: asyncio.Task[None], host: str, port: int
    ) -> None:
        self._server = server
        self._task = task
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (briefly), and wait for the task."""
        if not self._task.done():
            self._server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=10)
            except TimeoutError:
                self._server.force_exit = True
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                return
        await self._task  # re-raises what the server died of, if anything

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def serve(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    header_timeout: float | None = None,
    max_connections: int | None = None,
    max_body: int | None = None,
) -> RunningServer:
    """Serve ``app`` with uvicorn as a task of the running loop; return once it is listening.

    Port 0 picks a free port (see ``RunningServer.port``). No signal handlers are installed and
    the host's logging configuration is left alone. ``header_timeout`` bounds both a
    request's headers and an idle keep-alive connection; beyond ``max_connections`` requests
    are answered 503; bodies over ``max_body`` bytes get 413. None leaves each unbounded
    (the test fakes).
    """
    if max_body is not None:
        app = BodyCap(app, max_body)
    # Binding here rather than in uvicorn: a busy port is an OSError for the caller instead of
    # uvicorn's sys.exit(), and the real port of port 0 is known without poking at internals.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: with proto 0 asyncio skips TCP_NODELAY on accepted sockets, and
    # Nagle then holds each response body for the client's delayed ACK (~40 ms a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    actual_port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        ws="none",
        timeout_graceful_shutdown=2,
        limit_concurrency=max_connections,
        http=_HeadersInTime if header_timeout is not None else "auto",
        timeout_keep_alive=math.ceil(header_timeout) if header_timeout is not None else 5,
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"http:{actual_port}")
    try:
        await _wait_started(server, task)
    except BaseException:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sock.close()
        raise
    return RunningServer(server, task, host, actual_port)


async def _wait_started(
    server: uvicorn.Server, task: asyncio.Task[None], timeout: float = 10.0
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not server.started:
        if task.done():
            await task  # raises the startup error, if there was one
            raise RuntimeError("the HTTP server stopped during startup")
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the HTTP server did not start within {timeout:g} s")
        await asyncio.sleep(0.005)
