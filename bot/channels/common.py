"""What the adapters would otherwise each write: the webhook secret check and path, the
replier, the memory of recent update ids, and numbered choices for plain-text channels (Zalo,
console).

Imports nothing of the bot but :mod:`bot.channels.base`; adapters may use it.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.channels.base import DeliveryError, Incoming, OnMessage, OutMessage, Reply, RetryLater

CHOICES_HINT = "Trả lời bằng số thứ tự để chọn, ví dụ: 2 hoặc 1 3."
#: chats whose last offered choices are remembered
CHAT_MEMORY = 10_000
#: update ids remembered to drop an update sent again
SEEN_MEMORY = 10_000

_NUMBERS = re.compile(r"\s*\d{1,3}(?:[\s,;]+\d{1,3})*\s*")


# ------------------------------------------------------------------------------------------
# Webhooks


def webhook_path(url: str | None) -> str | None:
    """The path of a webhook URL, where the application mounts the endpoint; None: polling."""
    if not url:
        return None
    return urlsplit(url).path or "/"


def refuse_without_secret(request: Request, header: str, secret: str | None) -> Response | None:
    """None when ``header`` carries ``secret``; else the answer: 401 missing, 403 wrong.

    Compared in constant time; with no secret configured every request is refused.
    """
    given = request.headers.get(header, "")
    if not given:
        return JSONResponse({"ok": False, "error": "missing secret token"}, status_code=401)
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return JSONResponse({"ok": False, "error": "wrong secret token"}, status_code=403)
    return None


# ------------------------------------------------------------------------------------------
# Replies


def replier(
    send: Callable[[str, OutMessage], Awaitable[str | None]], chat_id: str, log: logging.Logger
) -> Reply:
    """A reply callable for ``chat_id``: a reply that cannot be sent is logged, not raised
    (a command's answer is not worth a retry queue; the user can ask again). A flood-control
    answer (RetryLater with ``after``) is raised: the application waits and sends again."""

    async def reply(out: OutMessage) -> str | None:
        try:
            return await send(chat_id, out)
        except RetryLater as exc:
            if exc.after is not None:
                raise
            log.warning("reply to %s not sent: %s", chat_id, exc)
            return None
        except DeliveryError as exc:
            log.warning("reply to %s not sent: %s", chat_id, exc)
            return None

    return reply


# ------------------------------------------------------------------------------------------
# Numbered choices (plain-text channels)


def _numbered_in_text(text: str, labels: list[str]) -> bool:
    """Whether ``text`` already lists every choice as ``"<n>. ...<label>..."`` in order."""
    lines = [line.strip() for line in text.splitlines()]
    return all(
        any(line.startswith(f"{i}. ") and label in line for line in lines)
        for i, label in enumerate(labels, 1)
    )


def with_numbered_choices(text: str, message: OutMessage) -> str:
    """``text`` followed by the message's choices as numbered options and how to answer."""
    labels = [choice.label for row in message.choices for choice in row]
    # Our commands often number their options in the text already (/topics does): a second
    # list would only repeat it and cost characters (Zalo: 2,000 a message).
    if labels and not _numbered_in_text(text, labels):
        options = "\n".join(f"{i}. {label}" for i, label in enumerate(labels, 1))
        text = f"{text}\n\n{options}\n{CHOICES_HINT}" if text else f"{options}\n{CHOICES_HINT}"
    return text


def parse_numbers(text: str) -> list[int] | None:
    """``"2"``, ``"1 3"``, ``"1,3"`` -> the numbers, in order and without repeats; else None."""
    if not _NUMBERS.fullmatch(text):
        return None
    numbers: list[int] = []
    for token in re.split(r"[\s,;]+", text.strip()):
        n = int(token)
        if n not in numbers:
            numbers.append(n)
    return numbers


class Bounded(OrderedDict[str, Any]):
    """A dict that forgets its least recently set keys beyond ``size``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: Any = None) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class RecentIds:
    """The last ``size`` ids seen, so that an update a platform sends again is handled once.

    Platforms resend an update whose webhook call failed or timed out (Telegram by
    ``update_id``, Zalo by ``message_id``); the memory is bounded, the oldest id goes first.
    """

    def __init__(self, size: int = SEEN_MEMORY) -> None:
        self._ids = Bounded(size)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, key: str) -> None:
        """Remember ``key`` (as the most recent)."""
        self._ids.put(key)

    def first_sight(self, key: str) -> bool:
        """Whether ``key`` is new; it is remembered from now on either way."""
        if key in self._ids:
            return False
        self._ids.put(key)
        return True


class NumberedChoices:
    """The choices last offered in each chat; a numbered answer presses them.

    The plain-text stand-in for buttons: "2" presses the second option, "1 3" the first and
    the third. Any other text means the conversation moved on, and numbers are numbers again.
    """

    def __init__(self, memory: int = CHAT_MEMORY) -> None:
        self._offered = Bounded(memory)

    def offer(self, chat_id: str, message: OutMessage) -> None:
        """Remember the choices of a message sent to ``chat_id`` (if it has any)."""
        data = tuple(choice.data for row in message.choices for choice in row)
        if data:
            self._offered.put(chat_id, data)

    def presses(self, incoming: Incoming) -> list[Incoming] | None:
        """A numbered answer to the chat's last choices, as one button press per number."""
        numbers = parse_numbers(incoming.text)
        offered: tuple[str, ...] | None = self._offered.get(incoming.chat_id)
        if numbers is None or not offered or not all(1 <= n <= len(offered) for n in numbers):
            return None
        return [
            dataclasses.replace(incoming, text=str(n), callback_data=offered[n - 1])
            for n in numbers
        ]

    async def dispatch(self, incoming: Incoming, reply: Reply, on_message: OnMessage) -> None:
        """Hand ``incoming`` to the application as text, or as the presses it stands for."""
        presses = self.presses(incoming)
        if presses is None:
            self._offered.pop(incoming.chat_id, None)
            await on_message(incoming, reply)
        elif len(presses) == 1:
            await on_message(presses[0], reply)
        else:
            await _press_many(presses, reply, on_message)


async def _press_many(presses: list[Incoming], reply: Reply, on_message: OnMessage) -> None:
    """A multi-number answer: every press is handled, but only the last menu is sent.

    Each press would otherwise answer with the whole menu again; on a plan of 3,000 messages
    a month (Zalo) the last one, showing the final state, is enough.
    """
    outs: list[OutMessage] = []

    async def collect(out: OutMessage) -> str | None:
        outs.append(out)
        return None

    for press in presses:
        await on_message(press, collect)
    last_menu = max((i for i, out in enumerate(outs) if out.choices), default=-1)
    texts: set[str] = set()
    for i, out in enumerate(outs):
        if (out.choices and i != last_menu) or out.text in texts:
            continue
        texts.add(out.text)
        await reply(out)
