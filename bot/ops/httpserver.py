"""Serving an ASGI app (webhooks, health, the demo portal, test fakes) inside our own loop.

uvicorn runs as a task of the running event loop, without signal handlers of its own (the
bot owns SIGINT/SIGTERM), on a socket we bind ourselves so that port 0 works and a busy port
is an ordinary OSError. The bot's own server is bounded (:class:`ServerLimits`): each request,
head and body together, must arrive within one deadline; connections are limited in all and
per client address; a body is read only when the app asks for it, and one over the cap is
refused (413).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import socket
from collections import Counter
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import h11
import uvicorn
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

#: request bodies larger than this are refused (Telegram's updates are far smaller)
MAX_BODY = 1_000_000

#: the client's side of a connection once its whole request is in
_REQUEST_IN = (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR)


@dataclass(frozen=True)
class ServerLimits:
    """What one client may cost the bot's own server (the bot's defaults)."""

    #: seconds from a request's first byte (or the connection's opening) to its body's last
    request_timeout: float = 10.0
    #: seconds an idle keep-alive connection stays open
    idle_timeout: float = 5.0
    #: connections served at once; requests beyond are answered 503
    max_connections: int = 200
    #: open connections from one client address (an IPv6 /64); more are closed at once; 0: off
    per_client: int = 20
    #: request bodies over this many bytes get 413
    max_body: int = MAX_BODY
    #: proxies (addresses or networks) whose X-Forwarded-For names the client; they are
    #: exempt from ``per_client`` (each carries many clients)
    trusted_proxies: tuple[str, ...] = ()


def client_key(host: str) -> str:
    """The key one client is counted under: its IPv4 address, or the /64 of its IPv6 address
    (one subscriber's network, which it may walk through at will)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class _Peers:
    """Open connections per client key, shared by the protocols of one server."""

    def __init__(self, per_client: int, trusted: Sequence[str]) -> None:
        self.per_client = per_client
        self.open: Counter[str] = Counter()
        self._trusted = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def trusted(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self._trusted)

    def admit(self, key: str) -> bool:
        """Count a new connection of ``key``; False when it is one too many."""
        self.open[key] += 1
        return not self.per_client or self.open[key] <= self.per_client

    def release(self, key: str) -> None:
        self.open[key] -= 1
        if self.open[key] <= 0:
            del self.open[key]


class _Bounded(H11Protocol):
    """h11 with a deadline for each whole request and a cap on connections per client.

    uvicorn times out only idle keep-alive connections: a client sending half a request, or
    a head announcing a body and then nothing, would hold its connection (and a place under
    ``limit_concurrency``) for ever. The deadline runs from a request's first byte (the
    connection's opening, for its first request) until the whole request is in; the app's
    own work after that is not bounded here.
    """

    #: set on the subclass :func:`_protocol` makes for each server
    request_timeout: float = 10.0
    peers: _Peers | None = None

    _deadline: asyncio.TimerHandle | None = None
    _peer: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        if self.peers is not None and self.client and not self.peers.trusted(self.client[0]):
            self._peer = client_key(self.client[0])
            if not self.peers.admit(self._peer):
                self.transport.abort()  # no answer: an answer would be work for the flood
                return
        self._arm()

    def _arm(self) -> None:
        if self._deadline is None and not self.transport.is_closing():
            self._deadline = self.loop.call_later(self.request_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()  # the app, if it waits for the body, hears a disconnect

    def _track(self) -> None:
        """Arm the deadline while a request is under way; disarm once it is all in, or while
        the connection idles between requests (uvicorn's keep-alive timeout then holds)."""
        if self.transport.is_closing() or self.conn.their_state in _REQUEST_IN:
            self._disarm()
        elif self.conn.their_state is h11.SEND_BODY or self.conn.trailing_data[0]:
            self._arm()
        else:
            self._disarm()

    def data_received(self, data: bytes) -> None:
        self._arm()  # a request's first byte starts its clock (a no-op while it runs)
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track()  # a pipelined request may be under way already

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._peer is not None and self.peers is not None:
            self.peers.release(self._peer)
            self._peer = None
        super().connection_lost(exc)


def _protocol(limits: ServerLimits) -> type[_Bounded]:
    """The protocol class of one server: its deadline and its own count of peers."""
    return type(
        "BoundedH11",
        (_Bounded,),
        {
            "request_timeout": limits.request_timeout,
            "peers": _Peers(limits.per_client, limits.trusted_proxies),
        },
    )


class BodyTooLarge(HTTPException):
    """Raised by the bounded ``receive`` when a body runs past the cap: a 413 that Starlette
    answers like any HTTP error (and that :class:`BodyCap` answers for other apps)."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large", headers={"connection": "close"})


class BodyCap:
    """ASGI middleware bounding request bodies to ``max_body`` bytes without reading them.

    A Content-Length over the cap is answered 413 at once. Otherwise the body stays with the
    server until the app asks for it, which a webhook does only after its secret check and
    a console form after its session check; reading past the cap raises
    :class:`BodyTooLarge`. A request that the client (or the deadline) cut off while the app
    read it ends quietly: there is no one left to answer.
    """

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
        received = 0
        started = False

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded, watched)
        except BodyTooLarge:
            if not started:  # an app that does not answer HTTP errors itself
                await _refuse(send)
        except ClientDisconnect:
            pass


async def bounded_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None once it would pass ``limit`` bytes (the rest is left
    unread): for a handler whose bodies are smaller than the server's cap (a form)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _refuse(send: Send) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": b"request body too large"})


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
    limits: ServerLimits | None = None,
) -> RunningServer:
    """Serve ``app`` with uvicorn as a task of the running loop; return once it is listening.

    Port 0 picks a free port (see ``RunningServer.port``). No signal handlers are installed and
    the host's logging configuration is left alone. ``limits`` bound what a client may cost
    (see :class:`ServerLimits`); None leaves the server unbounded (the test fakes) and
    believes no forwarded header.
    """
    if limits is not None:
        app = BodyCap(app, limits.max_body)
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
    trusted = list(limits.trusted_proxies) if limits is not None else []
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        ws="none",
        timeout_graceful_shutdown=2,
        limit_concurrency=limits.max_connections if limits is not None else None,
        # h11 always when bounded: the deadline and the per-client cap live in its protocol
        http=_protocol(limits) if limits is not None else "auto",
        timeout_keep_alive=math.ceil(limits.idle_timeout) if limits is not None else 5,
        # X-Forwarded-For only from the proxies named (uvicorn would believe loopback)
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
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
