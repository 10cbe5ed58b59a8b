"""Serving an ASGI app (webhooks, health, the demo portal, test fakes) inside our own loop.

uvicorn runs as a task of the running event loop, without signal handlers of its own (the
bot owns SIGINT/SIGTERM), on a socket we bind ourselves so that port 0 works and a busy port
is an ordinary OSError.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp


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


async def serve(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``app`` with uvicorn as a task of the running loop; return once it is listening.

    Port 0 picks a free port (see ``RunningServer.port``). No signal handlers are installed and
    the host's logging configuration is left alone.
    """
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
