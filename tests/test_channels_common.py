"""What the adapters share (bot/channels/common.py): webhook secret and path, numbered choices,
the console answering by number."""

from __future__ import annotations

import asyncio
import io

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.base import Choice, Incoming, OutMessage, Reply
from bot.channels.common import (
    CHOICES_HINT,
    NumberedChoices,
    refuse_without_secret,
    webhook_path,
    with_numbered_choices,
)
from bot.channels.console import CONSOLE_CHAT_ID, ConsoleChannel

MENU = OutMessage(
    "Chọn:", choices=((Choice("A", "pick:a"),), (Choice("B", "pick:b"),), (Choice("C", "pick:c"),))
)


def test_webhook_path() -> None:
    assert webhook_path(None) is None and webhook_path("") is None
    assert webhook_path("https://bot.example.org/tg/hook-1") == "/tg/hook-1"
    assert webhook_path("https://bot.example.org") == "/"


async def test_secret_missing_401_wrong_403_right_passes() -> None:
    async def endpoint(request: Request) -> Response:
        refused = refuse_without_secret(request, "X-Secret", "s3cret")
        return refused or JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hook", endpoint, methods=["POST"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.post("/hook")).status_code == 401
        assert (await c.post("/hook", headers={"X-Secret": "s3cre"})).status_code == 403
        assert (await c.post("/hook", headers={"X-Secret": "s3cret"})).status_code == 200


def test_choices_are_numbered_once() -> None:
    assert with_numbered_choices("Chọn:", MENU) == f"Chọn:\n\n1. A\n2. B\n3. C\n{CHOICES_HINT}"
    numbered = "Chọn:\n1. A\n2. B\n3. C"
    assert with_numbered_choices(numbered, MENU) == numbered


async def test_numbered_answers_press_the_offered_choices() -> None:
    choices = NumberedChoices()
    seen: list[Incoming] = []
    replies: list[OutMessage] = []

    async def on_message(msg: Incoming, reply: Reply) -> None:
        seen.append(msg)
        await reply(OutMessage(f"got {msg.callback_data}", choices=MENU.choices))

    async def reply(out: OutMessage) -> str | None:
        replies.append(out)
        return None

    def said(text: str) -> Incoming:
        return Incoming(channel="zalo", chat_id="c1", text=text)

    await choices.dispatch(said("2"), reply, on_message)  # nothing offered yet: plain text
    assert seen[-1].callback_data is None
    choices.offer("c1", MENU)
    await choices.dispatch(said("3 1"), reply, on_message)
    assert [m.callback_data for m in seen[-2:]] == ["pick:c", "pick:a"]
    assert [r.text for r in replies[-1:]] == ["got pick:a"]  # only the last menu is sent
    await choices.dispatch(said("/help"), reply, on_message)  # the conversation moved on
    await choices.dispatch(said("2"), reply, on_message)
    assert seen[-1].callback_data is None and seen[-1].text == "2"


async def test_console_answers_by_number() -> None:
    stdin, out = io.StringIO("1 2\n"), io.StringIO()
    console = ConsoleChannel(stdin=stdin, stdout=out)
    await console.send(CONSOLE_CHAT_ID, MENU)
    pressed: list[str | None] = []

    async def on_message(msg: Incoming, reply: Reply) -> None:
        pressed.append(msg.callback_data)

    assert console.webhook_path is None
    await console.start(on_message)
    try:
        for _ in range(100):
            if len(pressed) == 2:
                break
            await asyncio.sleep(0.02)
    finally:
        await console.stop()
    assert pressed == ["pick:a", "pick:b"]
    assert "1. A" in out.getvalue()
