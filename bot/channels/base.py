"""The Channel seam: what every chat platform adapter provides, what it can do
(:class:`Capabilities`, as data), how its texts are split, and the three send outcomes.

Errors raised by :meth:`Channel.send`::

    DeliveryError          root; adapters raise exactly one of the three below
    ├── RetryLater(after)  429, timeouts, 5xx, network down: try again later
    │   └── ChannelDown    the bot itself is refused (its token)
    │       └── QuotaSpent the plan's messages for the period are spent
    ├── ChatUnreachable    blocked, kicked, chat gone
    │   └── ChatMigrated   the group moved to ``new_chat_id``: move it there and send again
    ├── Rejected           a permanent bad request (this message can never be sent)
    │   └── ThreadGone     the forum topic is closed or deleted: the General topic still works
    └── Held(until)        not now, by the platform's price or rules (no fault, no attempt):
                           held in the outbox until ``until`` or until released (Zalo OA)
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from bot.ops.redact import redact

if TYPE_CHECKING:  # the seam names the webhook types; importing it must not load starlette
    from starlette.requests import Request
    from starlette.responses import Response


class DeliveryError(Exception):
    """Root of the send outcomes. The reason is redacted and capped as the error is made:
    it is the platform's text, and it reaches the log, ``deliveries.last_error``,
    ``/healthz`` and the admins' alerts (:mod:`bot.ops.redact`)."""

    def __init__(self, reason: object = "", *args: object) -> None:
        super().__init__(redact(reason), *args)


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


class QuotaSpent(ChannelDown):
    """The plan's messages for the period are spent (Zalo's 429 "Quota exceeded"): no send
    can succeed before the period rolls over, which the delivery engine knows (``after`` is
    None); the channel waits for it instead of retrying."""


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


class Held(DeliveryError):
    """The message may not go now: the member is outside the platform's free window and no
    paid way is allowed (a budget, a template off), or it is night for this kind of message.
    The outbox holds it, without counting an attempt, until ``until`` (or until it is
    released sooner, by the member's next interaction). Never a fault of the message."""

    def __init__(self, reason: str, until: datetime) -> None:
        super().__init__(reason)
        self.until = until


@dataclass(frozen=True)
class Choice:
    """A button (Telegram) or a numbered option (plain-text channels)."""

    label: str
    data: str


@dataclass(frozen=True)
class Card:
    """An article as fields, for platforms whose paid messages are structured (an OA
    template: title, date, summary, link)."""

    title: str
    date: str
    summary: str
    link: str


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
    #: the articles of a push, as fields (in the text too), newest first
    cards: tuple[Card, ...] = ()


@dataclass(frozen=True)
class Capabilities:
    """What a platform takes and how fast, as data on its adapter class.

    The delivery limiter paces by the rates, the web console previews with :meth:`preview`,
    the import schema accepts the names and chat kinds; an adapter's ``send`` splits with
    :meth:`split`, so a preview shows exactly the messages that will go out.
    """

    #: the platform's name as people write it ("Telegram")
    title: str
    #: characters in one message (Telegram counts the visible text of its HTML)
    text_limit: int
    #: what the text goes out as: Telegram HTML, or plain text
    markup: Literal["html", "plain"] = "plain"
    #: characters in the caption of a photo (0: photos carry no caption)
    caption_limit: int = 0
    #: messages per second, the whole bot (a configured rate may replace it)
    rate: float = 30.0
    #: seconds between two messages to one private chat
    private_interval: float = 1.0
    #: messages per rolling minute to one group
    group_per_minute: int = 20
    #: choices go out as buttons (else as numbered options answered by number)
    buttons: bool = False
    #: a PNG goes out as a picture (else a note or a file stands in for it)
    photos: bool = False
    #: the first link of a message may show a preview card
    link_previews: bool = False
    #: a sent message can be edited (progress reports edit in place)
    edits: bool = False
    #: members can search from any chat (inline queries)
    inline: bool = False
    #: the kinds of chat the platform has (``Incoming.chat_kind``)
    chat_kinds: tuple[str, ...] = ("private", "group")

    def split(self, text: str, html_text: str | None = None) -> tuple[list[str], bool]:
        """The texts ``send`` posts for a message, in order, and whether they are HTML.

        On an HTML platform the HTML form (``html_text``, else ``text`` escaped) is split
        where every tag is closed; when that cannot be done, and on plain-text platforms,
        ``text`` is split on text boundaries.
        """
        if self.markup == "html":
            source = html_text if html_text is not None else html.escape(text, quote=False)
            pieces = split_html(source, self.text_limit)
            if pieces is not None:
                return pieces, True
        return split_text(text, self.text_limit), False

    def preview(self, text: str) -> list[str]:
        """What a member reads, message by message, when ``text`` is sent as typed (a
        broadcast): HTML pieces as the text they show, so a typed ``<b>`` stays visible."""
        text = text.strip()
        if not text:
            return []
        pieces, is_html = self.split(text)
        return [html.unescape(piece) for piece in pieces] if is_html else pieces


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
    #: the platform withheld what was sent (Zalo: a protected user's message, or a kind the
    #: bot cannot read); ``text`` is empty, the member is told how to use commands
    unreadable: bool = False

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
    #: what the platform takes and how fast, declared on the adapter class: the one place
    #: for its text limit, rates, edits (without them edit() is a no-op) and inline search
    #: (an ``Incoming.inline_query`` is then answered with all replies at once)
    capabilities: Capabilities

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


_TAG = re.compile(r"<[^>]+>")


def visible_length(html_text: str) -> int:
    """Characters Telegram counts: the text with tags removed and entities decoded."""
    return len(html.unescape(_TAG.sub("", html_text)))


def split_html(html_text: str, limit: int) -> list[str] | None:
    """Split our HTML on blank lines and line ends, where every tag is already closed.

    A line too long for one message is split between words when it is plain escaped text
    (a summary); when it holds markup, None is returned and the caller sends plain text.
    """
    if visible_length(html_text) <= limit:
        return [html_text]
    lines: list[str] = []
    for line in html_text.split("\n"):
        if visible_length(line) + 1 <= limit:
            lines.append(line)
        elif _TAG.search(line) is None:
            lines.extend(
                html.escape(part, quote=False)
                for part in split_text(html.unescape(line), limit - 1)
            )
        else:
            return None
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        n = visible_length(line) + 1
        if size + n > limit and current:
            pieces.append("\n".join(current).strip("\n"))
            current, size = [], 0
        current.append(line)
        size += n
    if current:
        pieces.append("\n".join(current).strip("\n"))
    return [p for p in pieces if p]
