"""The Channel seam: what every chat platform adapter provides, and the three send outcomes.

Errors raised by :meth:`Channel.send`::

    DeliveryError          root; adapters raise exactly one of the three below
    ├── RetryLater(after)  429, timeouts, 5xx, network down: try again later
    ├── ChatUnreachable    blocked, kicked, chat gone or migrated
    └── Rejected           a permanent bad request (this message can never be sent)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class DeliveryError(Exception):
    """Root of the send outcomes."""


class RetryLater(DeliveryError):
    """Try again after ``after`` seconds (``None``: the caller's backoff decides)."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class ChatUnreachable(DeliveryError):
    """The chat cannot receive messages any more (blocked, kicked, deleted)."""


class Rejected(DeliveryError):
    """The platform refused this message for good."""


@dataclass(frozen=True)
class Choice:
    """A button (Telegram) or a numbered option (plain-text channels)."""

    label: str
    data: str


@dataclass(frozen=True)
class OutMessage:
    """A channel-agnostic message: plain ``text`` plus optional structure for rich channels.

    ``html`` is a pre-rendered Telegram-HTML form when a command has one; ``choices`` are
    rows of buttons; ``link_preview`` asks for a preview of the first link.
    """

    text: str
    html: str | None = None
    choices: tuple[tuple[Choice, ...], ...] = ()
    link_preview: bool = False


@dataclass(frozen=True)
class Incoming:
    """A text (or button press) from a chat, already NFC-normalised by the adapter."""

    channel: str
    chat_id: str
    text: str
    user_id: str = ""
    user_name: str = ""
    chat_kind: str = "private"  # "private" | "group" | "console"
    chat_title: str = ""
    language_code: str | None = None
    is_chat_admin: bool = True  # in groups: whether the sender administers the group
    callback_data: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


Reply = Callable[[OutMessage], Awaitable[None]]
OnMessage = Callable[[Incoming, Reply], Awaitable[None]]


@runtime_checkable
class Channel(Protocol):
    """A chat platform. ``send`` raises one of the three outcomes, nothing else."""

    name: str
    max_text: int

    async def start(self, on_message: OnMessage) -> None:
        """Begin receiving messages; each one is handed to ``on_message`` with a reply callable."""

    async def stop(self) -> None:
        """Stop receiving and release resources."""

    async def send(self, chat_id: str, message: OutMessage) -> str | None:
        """Send one message; return the platform's message id if it has one."""
