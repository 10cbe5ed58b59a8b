"""Terminal chat for local runs and the offline demo: the local user is an admin.

Lines typed on stdin are commands; a number (or several: ``1 3``) presses the matching
options of the last message that offered choices (the plain-text stand-in for Telegram's
buttons). Pushed articles are printed as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import threading
from pathlib import Path
from typing import TextIO

from starlette.requests import Request
from starlette.responses import Response

from bot.channels.base import Capabilities, Incoming, OnMessage, OutMessage
from bot.channels.common import NumberedChoices, with_numbered_choices

CONSOLE_CHAT_ID = "local"
#: one local reader: no pacing, any length, printed whole; choices become numbered options
CAPABILITIES = Capabilities(
    title="Console",
    text_limit=100_000,
    rate=1000.0,
    private_interval=0.0,
    edits=True,
    chat_kinds=("console",),
)


class ConsoleChannel:
    """The ``console`` channel: one chat, stdin in, a text stream out."""

    name = "console"
    capabilities = CAPABILITIES
    #: the console has no webhook
    webhook_path: str | None = None

    def __init__(
        self,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        prompt: str = "> ",
        photo_dir: Path | None = None,
    ) -> None:
        self._photo_dir = photo_dir or Path(tempfile.gettempdir())
        self._photos = 0
        self._stdin = stdin if stdin is not None else sys.stdin
        self._stdout = stdout if stdout is not None else sys.stdout
        self._prompt = prompt
        self._task: asyncio.Task[None] | None = None
        self._choices = NumberedChoices()
        self._sent = 0

    async def start(self, on_message: OnMessage) -> None:
        self._task = asyncio.create_task(self._read_loop(on_message), name="console-reader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def send(self, chat_id: str, message: OutMessage) -> str | None:
        self._print(message)
        self._sent += 1
        return str(self._sent)

    def _print(self, message: OutMessage) -> None:
        self._choices.offer(CONSOLE_CHAT_ID, message)
        text = with_numbered_choices(message.text.rstrip(), message)
        if message.photo:
            # A terminal cannot show the chart: keep it as a file and say where.
            self._photos += 1
            path = self._photo_dir / f"bantin-chart-{self._photos}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(message.photo)
            text += f"\n[ảnh / image: {path}]"
        self._stdout.write("\n" + text + "\n")
        self._stdout.flush()

    async def edit(self, chat_id: str, message_id: str, message: OutMessage) -> None:
        self._print(message)

    async def webhook_endpoint(self, request: Request) -> Response:
        return Response(status_code=404)

    async def _reply(self, message: OutMessage) -> str | None:
        return await self.send(CONSOLE_CHAT_ID, message)

    async def _read_loop(self, on_message: OnMessage) -> None:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def reader() -> None:
            # A daemon thread, not the default executor: a blocked readline() must never keep
            # the process alive after SIGINT/SIGTERM. EOF ends input; pushes go on.
            for line in iter(self._stdin.readline, ""):
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, "")

        threading.Thread(target=reader, name="console-stdin", daemon=True).start()
        while True:
            line = await lines.get()
            if not line:
                return
            text = line.strip()
            if not text:
                continue
            msg = Incoming(
                channel=self.name,
                chat_id=CONSOLE_CHAT_ID,
                text=text,
                user_id=CONSOLE_CHAT_ID,
                user_name="console",
                chat_kind="console",
            )
            await self._choices.dispatch(msg, self._reply, on_message)
