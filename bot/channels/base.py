"""The Channel seam: what every chat platform adapter provides, and the three send outcomes.

Errors raised by :meth:`Channel.send`::

    DeliveryError          root; adapters raise exactly one of the three below
    ├── RetryLater(after)  429, timeouts, 5xx, network down: try again later
    ├── ChatUnreachable    blocked, kicked, chat gone
    │   └── ChatMigrated   the group moved to ``new_chat_id``: move it there and send again
    └── Rejected           a permanent bad request (this message can never be sent)
        └── ThreadGone     the forum topic is closed or deleted: the General topic still works
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # the seam names the webhook types; importing it must not load starlette
    from starlette.requests import Request
    from starlette.responses import Response


class DeliveryError(Exception):
    """Root of the send outcomes."""


class RetryLater(DeliveryError):
    """Try again after ``after`` seconds (``None``: the caller's backoff decides).

    ``scope`` says what the platform slowed down: this ``"chat"``, or the whole bot
    (``"channel"``).
    """

    def __init__(self, reason: str, after: float | None = None, *, scope: str = "chat") -> None:
        super().__init__(reason)
        self.after = after
        self.scope = scope


class ChannelDown(RetryLater):
    """The platform refuses the bot itself (its token revoked, rotated or unknown): no send
    can succeed until the token works again. Nothing is wrong with the message or the chat."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason, after, scope="channel")


class ChatUnreachable(DeliveryError):
    """The chat cannot receive messages any more (blocked, kicked, deleted)."""


class ChatMigrated(ChatUnreachable):
    """A group became a supergroup with another id; its chat and subscriptions move there."""

    def __init__(self, reason: str, new_chat_id: str) -> None:
        super().__init__(reason)
        self.new_chat_id = new_chat_id


class Rejected(DeliveryError):
    """The platform refused this message for good."""


class ThreadGone(Rejected):
    """The forum topic (``OutMessage.thread_id``) is closed or deleted; the chat itself works."""


@dataclass(frozen=True)
class Choice:
    """A button (Telegram) or a numbered option (plain-text channels)."""

    label: str
    data: str


@dataclass(frozen=True)
class OutMessage:
    """A channel-agnostic message: plain ``text`` plus optional structure for rich channels.

    ``html`` is a pre-rendered Telegram-HTML form when a command has one; ``choices`` are
    rows of buttons; ``link_preview`` asks for a preview of the first link; ``photo`` is a
    PNG sent with ``text`` as its caption; ``track_broadcast`` asks the application to keep
    this message updated with the progress of that broadcast (the message id in the outbox).
    """

    text: str
    html: str | None = None
    choices: tuple[tuple[Choice, ...], ...] = ()
    link_preview: bool = False
    photo: bytes | None = None
    track_broadcast: int | None = None
    #: the forum topic (thread) of a group to post into; None: the chat itself / General
    thread_id: str | None = None
    #: a short heading, where a platform shows one apart from the text (inline result cards)
    title: str = ""


@dataclass(frozen=True)
class ChannelCheck:
    """What the platform says about a broadcast channel a member wants to register."""

    chat_id: str  # the platform's id, "" when the channel was not found
    title: str = ""
    is_channel: bool = False
    bot_is_admin: bool = False
    user_is_admin: bool = False


@dataclass(frozen=True)
class Incoming:
    """A text (or button press) from a chat, already NFC-normalised by the adapter."""

    channel: str
    chat_id: str
    text: str
    user_id: str = ""
    user_name: str = ""
    chat_kind: str = "private"  # "private" | "group" | "channel" | "console" | "inline"
    chat_title: str = ""
    language_code: str | None = None
    callback_data: str | None = None
    #: in groups: asks the platform whether the sender administers the group (only when a
    #: command would change the group's subscriptions; it costs a request)
    chat_admin_check: Callable[[], Awaitable[bool]] | None = None
    #: the platform moved this group to another id (Telegram's migrate_to_chat_id)
    migrate_to_chat_id: str | None = None
    #: the forum topic of a group the message was written in (None: General, or no forum)
    thread_id: str | None = None
    #: an inline query ("@bot words" typed in any chat): answered with article cards
    inline_query: str | None = None
    #: the bot was removed from this chat (a channel it posted in): deactivate it
    bot_removed: bool = False
    #: asks the platform about a broadcast channel (``@name``) for ``/channel add``
    channel_check: Callable[[str], Awaitable[ChannelCheck]] | None = None

    async def sender_is_chat_admin(self) -> bool:
        """True outside groups; in a group, whether the sender is one of its administrators."""
        # (A channel's posts come from its administrators only: they may change it too.)
        if self.chat_kind != "group":
            return True
        if self.chat_admin_check is None:
            return False
        return await self.chat_admin_check()


#: sends (or, for a button press, edits in place) one reply; returns the platform message id
Reply = Callable[[OutMessage], Awaitable[str | None]]
OnMessage = Callable[[Incoming, Reply], Awaitable[None]]


@runtime_checkable
class Channel(Protocol):
    """A chat platform. ``send`` raises one of the three outcomes, nothing else."""

    name: str
    max_text: int
    #: False where the platform cannot edit a sent message (Zalo): edit() is then a no-op
    can_edit: bool
    #: True where members can search from any chat (Telegram's inline mode): an
    #: ``Incoming.inline_query`` is answered with all replies at once, as article cards
    can_answer_inline: bool

    async def start(self, on_message: OnMessage) -> None:
        """Begin receiving messages; each one is handed to ``on_message`` with a reply callable."""

    async def stop(self) -> None:
        """Stop receiving and release resources."""

    async def send(self, chat_id: str, message: OutMessage) -> str | None:
        """Send one message; return the platform's message id if it has one."""

    async def edit(self, chat_id: str, message_id: str, message: OutMessage) -> None:
        """Replace the text (and buttons) of a message sent earlier; best effort."""

    @property
    def webhook_path(self) -> str | None:
        """Where the platform posts updates on the bot's HTTP server; None when polling."""

    async def webhook_endpoint(self, request: Request) -> Response:
        """The Starlette endpoint mounted at :attr:`webhook_path` (POST)."""


def split_text(text: str, limit: int) -> list[str]:
    """Split on paragraph, then line, then word boundaries so every piece fits ``limit``.

    A boundary is taken only in the second half of a piece, so a paragraph break near the
    start does not leave a stub; a single word longer than ``limit`` is cut.
    """
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = -1
        for minimum in (limit // 2, 1):
            for sep in ("\n\n", "\n", " "):
                at = rest.rfind(sep, 0, limit + 1)
                if at >= minimum:
                    cut = at
                    break
            if cut >= 0:
                break
        if cut < 0:
            head, rest = rest[:limit], rest[limit:]
        else:
            head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            pieces.append(head)
    if rest or not pieces:
        pieces.append(rest)
    return pieces
