"""A fake Telegram Bot API server for tests and benchmarks: the real python-telegram-bot HTTP
stack talks to it over loopback. It records what the bot sent, queues updates for getUpdates,
validates texts like Telegram (HTML entities, 4096/1024 limits), scripts failures and enforces
Telegram-like rate limits on an injected clock.

Point PTB at it with ``Bot(token, base_url=f"{url}/bot")`` (or
``ApplicationBuilder().token(token).base_url(f"{url}/bot")``) where ``url`` comes from
``async with fake.running() as url`` or ``serve(fake.app)``.

Forum supergroups (``make_forum``, ``create_topic``, ``close_topic``, ``delete_topic``: sends
with ``message_thread_id`` land in a topic, or answer TOPIC_CLOSED / "message thread not
found"), channels (``add_channel`` with an ``@username``, ``push_channel_post``,
``remove_from_channel`` which also queues the ``my_chat_member`` update) and inline queries
(``push_inline_query``; ``answerInlineQuery`` is validated and kept in ``inline_answers``).

Errors answered to the client (never raised into the test): 400 Bad Request, 401 Unauthorized
(wrong token), 403 Forbidden, 404 Not Found (unknown method), 409 Conflict (getUpdates while a
webhook is set, or a newer getUpdates), 429 Too Many Requests, scripted anything, and
(``echo_path``) the non-JSON ``Cannot POST /bot<token>/...`` of a proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import re
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.ops.httpserver import serve

__all__ = [
    "ANY_SEND",
    "DEFAULT_GROUP_USER_ID",
    "EDIT_METHODS",
    "SEND_METHODS",
    "Edit",
    "FakeTelegram",
    "HtmlError",
    "Sent",
    "parse_html",
]

_LOG = logging.getLogger(__name__)

#: Methods that post a new message; rate limits and ``flood()`` apply to these.
SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})
EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup"})
#: ``script(ANY_SEND, ...)`` answers the next call of any method in ``SEND_METHODS``.
ANY_SEND = "send*"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes, UTF-8

_METHODS = (
    "getMe",
    "getUpdates",
    "sendMessage",
    "sendPhoto",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "getChatMember",
    "getChat",
    "sendChatAction",
    "answerInlineQuery",
    "close",
    "logOut",
)
# Telegram matches method names case-insensitively.
_METHOD_BY_LOWER = {m.lower(): m for m in _METHODS}
_CHAT_METHODS = frozenset(
    {*SEND_METHODS, *EDIT_METHODS, "getChatMember", "getChat", "sendChatAction"}
)
_BLOCKABLE = frozenset({*SEND_METHODS, *EDIT_METHODS, "sendChatAction"})

# How form values (always strings on the wire) are typed, as Telegram's own parser does per
# method signature. Everything else stays a string.
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "max_connections",
        "cache_time",
        "message_thread_id",
        "reply_to_message_id",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_web_page_preview",
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
        "is_personal",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "link_preview_options",
        "commands",
        "scope",
        "allowed_updates",
        "entities",
        "caption_entities",
        "reply_parameters",
        "results",
        "button",
    }
)

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_BOT_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
_BUTTON_URL_SCHEMES = frozenset({"http", "https", "tg"})
_SUPERGROUP_MIN = -1_000_000_000_000  # supergroup and channel ids are -100xxxxxxxxxx
#: Sender of a pushed group message when the test does not say who.
DEFAULT_GROUP_USER_ID = 1001


# ------------------------------------------------------------------------------------------
# Recorded values


@dataclass(frozen=True)
class Sent:
    """One message the bot posted and the fake accepted. ``text``/``caption`` are as sent (with
    HTML markup if any); Telegram's reply to the bot carries the parsed plain text."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    link_preview_disabled: bool | None
    photo: bytes | str | None
    caption: str | None
    at: float
    #: the forum topic the message landed in (None: the chat itself, or General)
    message_thread_id: int | None = None


@dataclass(frozen=True)
class Edit:
    """One accepted editMessageText / editMessageReplyMarkup."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    reply_markup: dict[str, Any] | None
    parse_mode: str | None


class _ApiError(Exception):
    """An error answer; raised inside handlers and turned into the JSON Telegram sends."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters is not None:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


@dataclass
class _Script:
    answer: dict[str, Any]
    status: int
    times: int
    #: answer ``Cannot POST <path>`` as text/html instead (a proxy echoing the token)
    echo: bool = False


# ------------------------------------------------------------------------------------------
# Telegram HTML


class HtmlError(ValueError):
    """Text with parse_mode HTML that Telegram would refuse; the message is Telegram's wording."""


_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "span",
        "blockquote",
    }
)
_ENTITY_TYPE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
}
_SPECIAL_RE = re.compile(r"[<&]")
_CHAR_REF_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|(lt|gt|amp|quot));")
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_START_TAG_RE = re.compile(
    r"""<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>"'/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)\s*>"""
)
_ATTR_RE = re.compile(r"""([^\s=>"'/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_TAG_NAME_RE = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
_END_TAG_RE = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")


def _utf16_len(s: str) -> int:
    # Telegram entity offsets count UTF-16 code units; ASCII needs no encoding to know that.
    return len(s) if s.isascii() else len(s.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _unescape_attr(value: str, tag: str) -> str:
    out: list[str] = []
    i = 0
    while (amp := value.find("&", i)) >= 0:
        ref = _CHAR_REF_RE.match(value, amp)
        if ref is None:
            # Same strictness as in text: an href built from a URL with "&" must escape it.
            raise HtmlError(
                f"Character '&' in an attribute of the tag \"{tag}\" does not start an HTML "
                "entity (write &amp;)"
            )
        out.append(value[i:amp])
        out.append(_decode_ref(ref))
        i = ref.end()
    out.append(value[i:])
    return "".join(out)


def _decode_ref(m: re.Match[str]) -> str:
    dec, hexa, name = m.groups()
    if name:
        return _NAMED_REFS[name]
    code = int(dec) if dec else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlError(f"Invalid character reference {m.group(0)!r}")
    return chr(code)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: the plain text and its entities (UTF-16 offsets).

    Stricter than Telegram in one place, on purpose: a ``&`` that does not start ``&lt;``,
    ``&gt;``, ``&amp;``, ``&quot;`` or a numeric reference is refused (Telegram shows it
    literally), because in our output it can only mean a string that escaped escaping.
    Raises ``HtmlError`` with a message in Telegram's words.
    """
    out: list[str] = []
    pos16 = 0
    # (tag, utf-16 start, attributes, byte offset of the tag)
    stack: list[tuple[str, int, dict[str, str], int]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        m = _SPECIAL_RE.search(text, i)
        j = n if m is None else m.start()
        if j > i:
            chunk = text[i:j]
            out.append(chunk)
            pos16 += _utf16_len(chunk)
        if m is None:
            break
        if text[j] == "&":
            ref = _CHAR_REF_RE.match(text, j)
            if ref is None:
                raise HtmlError(
                    f"Character '&' at byte offset {_byte_offset(text, j)} does not start an "
                    "HTML entity (write &amp;)"
                )
            char = _decode_ref(ref)
            out.append(char)
            pos16 += _utf16_len(char)
            i = ref.end()
            continue
        if text.startswith("</", j):
            end = _END_TAG_RE.match(text, j)
            if end is None:
                raise HtmlError(f"Unclosed end tag at byte offset {_byte_offset(text, j)}")
            name = end.group(1).lower()
            if not stack:
                raise HtmlError(
                    f'Unexpected end tag "{name}" at byte offset {_byte_offset(text, j)}'
                )
            top, start16, attrs, _ = stack.pop()
            if top != name:
                raise HtmlError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, j)}, "
                    f'expected "</{top}>", found "</{name}>"'
                )
            _close_entity(top, start16, pos16 - start16, attrs, entities, stack)
            i = end.end()
            continue
        start = _START_TAG_RE.match(text, j)
        if start is None:
            named = _TAG_NAME_RE.match(text, j)
            if named is None:
                raise HtmlError(f'Unsupported start tag "" at byte offset {_byte_offset(text, j)}')
            name = named.group(1).lower()
            if name not in _HTML_TAGS:
                raise HtmlError(
                    f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, j)}'
                )
            raise HtmlError(f'Unclosed start tag "{name}" at byte offset {_byte_offset(text, j)}')
        name = start.group(1).lower()
        if name not in _HTML_TAGS:
            raise HtmlError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, j)}'
            )
        attrs: dict[str, str] = {}
        for a in _ATTR_RE.finditer(start.group(2)):
            raw = next((v for v in a.groups()[1:] if v is not None), "")
            attrs[a.group(1).lower()] = _unescape_attr(raw, name)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlError('Tag "span" must have class "tg-spoiler"')
        stack.append((name, pos16, attrs, _byte_offset(text, j)))
        i = start.end()
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_entity(
    tag: str,
    offset: int,
    length: int,
    attrs: dict[str, str],
    entities: list[dict[str, Any]],
    stack: list[tuple[str, int, dict[str, str], int]],
) -> None:
    if length <= 0:
        return
    kind = _ENTITY_TYPE[tag]
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if tag == "a":
        href = attrs.get("href")
        if not href:
            return
        entity["url"] = href
    elif tag == "code" and stack and stack[-1][0] == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, as in Telegram.
        css = attrs.get("class", "")
        if css.startswith("language-"):
            stack[-1][2]["language"] = css.removeprefix("language-")
        return
    elif tag == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    entities.append(entity)


# ------------------------------------------------------------------------------------------
# Request parsing


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """multipart/form-data -> (fields, files). Small on purpose: python-multipart is not a
    dependency of this project, and httpx's encoding is regular."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if m is None:
        raise _bad("multipart boundary is missing")
    delimiter = b"\r\n--" + m.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    # A delimiter is CRLF + "--" + boundary; the first one has no CRLF before it.
    for part in (b"\r\n" + body).split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            raise _bad("malformed multipart part")
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        if name is None:
            raise _bad("multipart part without a name")
        if re.search(r'(?:^|;)\s*filename="', disposition):
            files[name.group(1)] = content
        else:
            fields[name.group(1)] = content.decode("utf-8")
    return fields, files


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _INT_FIELDS:
        stripped = value.strip()
        if stripped.lstrip("-").isdigit():
            return int(stripped)
        return value  # e.g. "@channelusername"; handlers decide
    if name in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            if name == "reply_markup":
                raise _bad("can't parse reply keyboard markup JSON object") from None
            raise _bad(f"can't parse {name} JSON object") from None
    return value


def _retry_seconds(wait: float) -> int:
    # The epsilon keeps 1.0000000001 (float noise from the clock) from becoming 2.
    return max(1, math.ceil(wait - 1e-9))


def _json_response(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json")


def _status_of(answer: dict[str, Any]) -> int:
    if answer.get("ok"):
        return 200
    code = answer.get("error_code")
    return code if isinstance(code, int) and 100 <= code <= 599 else 400


# ------------------------------------------------------------------------------------------
# Rate limits


class _RateLimits:
    """Telegram's broadcast limits, checked before a send is accepted.

    Global: a token bucket of ``global_rate`` tokens per second holding at most
    ``max(1, global_rate)`` tokens, so a full second's worth may burst. Private chat: at least
    ``per_chat_interval`` seconds between two sends. Group: at most ``group_per_minute`` sends in
    any rolling 60 s. Refused sends consume nothing. ``strict_window``: the global rate is
    instead a strict sliding window, at most ``global_rate`` sends accepted within any one
    second (no burst, no averaging).
    """

    def __init__(
        self,
        global_rate: float | None,
        per_chat_interval: float | None,
        group_per_minute: int | None,
        strict_window: bool = False,
    ) -> None:
        if global_rate is not None and global_rate <= 0:
            raise ValueError("global_rate must be positive")
        if per_chat_interval is not None and per_chat_interval < 0:
            raise ValueError("per_chat_interval must not be negative")
        if group_per_minute is not None and group_per_minute < 1:
            raise ValueError("group_per_minute must be at least 1")
        self._rate = global_rate
        self._capacity = max(1.0, global_rate) if global_rate else 0.0
        self._tokens = self._capacity
        self._refilled_at: float | None = None
        self._interval = per_chat_interval
        self._per_minute = group_per_minute
        self._last_private: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._strict = strict_window
        self._accepted: deque[float] = deque()

    @property
    def active(self) -> bool:
        return bool(self._rate or self._interval or self._per_minute)

    def admit(self, chat_id: int, now: float) -> float:
        """0 if the send may go now (and is counted), else the seconds to wait."""
        wait = 0.0
        if self._rate and self._strict:
            accepted = self._accepted
            while accepted and accepted[0] <= now - 1.0:
                accepted.popleft()
            if len(accepted) >= int(self._rate):
                wait = accepted[-int(self._rate)] + 1.0 - now
        elif self._rate:
            if self._refilled_at is not None:
                elapsed = max(0.0, now - self._refilled_at)
                self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            self._refilled_at = now
            if self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self._rate
        if self._interval and chat_id > 0:
            last = self._last_private.get(chat_id)
            if last is not None and now - last < self._interval:
                wait = max(wait, self._interval - (now - last))
        window: deque[float] | None = None
        if self._per_minute and chat_id < 0:
            window = self._group_sends.get(chat_id)
            if window is None:
                window = self._group_sends[chat_id] = deque()
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= self._per_minute:
                wait = max(wait, window[0] + 60.0 - now)
        if wait > 0:
            return wait
        if self._rate and self._strict:
            self._accepted.append(now)
        elif self._rate:
            self._tokens -= 1.0
        if self._interval and chat_id > 0:
            self._last_private[chat_id] = now
        if window is not None:
            window.append(now)
        return 0.0


# ------------------------------------------------------------------------------------------
# The fake


class FakeTelegram:
    """In-memory Bot API for one bot token. See the module docstring for how to connect.

    Not thread-safe: drive it (push_*, script, assertions) from the event loop that serves it.
    Long polls wait on real time; rate limits and ``Sent.at`` use the injected ``clock``.
    """

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        username: str = "bantin_test_bot",
        supports_inline_queries: bool = False,
        global_rate: float | None = None,
        per_chat_interval: float | None = None,
        group_per_minute: int | None = None,
        strict_window: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.username = username
        self.clock = clock
        head = token.partition(":")[0]
        self.bot_id = int(head) if head.isdigit() else 1
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Bản tin",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": supports_inline_queries,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._from_bot = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Bản tin",
            "username": username,
        }

        # What tests assert on.
        self.sent: list[Sent] = []
        self.edits: list[Edit] = []
        self.callback_answers: list[dict[str, Any]] = []
        #: answerInlineQuery calls by inline query id
        self.inline_answers: dict[str, dict[str, Any]] = {}
        #: default-scope commands by language_code ("" = no language)
        self.commands: dict[str, list[dict[str, Any]]] = {}
        #: every scope: (scope key, language_code) -> commands; the key is the scope's type
        #: ("default", "all_private_chats", ...) or, for scopes naming a chat, its sorted JSON.
        self.scoped_commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.calls: Counter[str] = Counter()
        #: sends refused by the configured rate limits (scripted 429s are not counted)
        self.rejected_429 = 0
        #: exceptions the fake itself raised while answering (a bug here, not in the bot)
        self.crashes: list[BaseException] = []

        self._limits = _RateLimits(
            global_rate, per_chat_interval, group_per_minute, strict_window=strict_window
        )
        self._sent_by_chat: dict[int, list[Sent]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._admins: dict[int, set[int]] = {}
        self._creators: dict[int, int] = {}
        self._chat_errors: dict[int, tuple[_ApiError, frozenset[str]]] = {}
        self._scripts: dict[tuple[str, int | None], deque[_Script]] = {}
        self._open_callbacks: set[str] = set()
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        #: forum chats: thread id -> "open" | "closed"; deleted topics are dropped
        self._forums: dict[int, dict[int, str]] = {}
        self._usernames: dict[str, int] = {}
        self._open_inline: set[str] = set()
        self._inline_ids = itertools.count(1)

        self._updates: deque[dict[str, Any]] = deque()
        self._last_update_id = 0
        self._allowed_updates: frozenset[str] | None = None
        self._updates_event = asyncio.Event()
        self._poll_generation = 0
        self._released = False

        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": lambda p: self.bot_user,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getChatMember": self._get_chat_member,
            "getChat": self._get_chat,
            "sendChatAction": self._send_chat_action,
            "answerInlineQuery": self._answer_inline_query,
            "close": lambda p: True,
            "logOut": lambda p: True,
        }
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST"]),
            ]
        )

    # -- serving ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self, *, host: str = "127.0.0.1") -> AsyncIterator[str]:
        """Serve on loopback for the block; yields the server URL (append ``/bot`` for PTB)."""
        self._released = False
        server = await serve(self.app, host=host)
        try:
            yield server.base_url
        finally:
            # A long poll in flight would otherwise hold uvicorn's shutdown for its grace period.
            self.release_pollers()
            await server.stop()

    def release_pollers(self) -> None:
        """Answer every waiting and future getUpdates at once (with what is queued, else [])."""
        self._released = True
        self._wake()

    # -- assertions helpers ----------------------------------------------------------------

    def sent_to(self, chat_id: int) -> list[Sent]:
        """Accepted sends to one chat, oldest first."""
        return list(self._sent_by_chat.get(chat_id, ()))

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The bot's message as Telegram now holds it (after edits), or None."""
        return self._messages.get((chat_id, message_id))

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return len(self._updates)

    # -- chat setup ------------------------------------------------------------------------

    def set_chat_admins(
        self, chat_id: int, user_ids: Iterable[int], *, creator: int | None = None
    ) -> None:
        """getChatMember in ``chat_id`` answers "administrator" for these users, "creator" for
        ``creator`` and "member" for anyone else."""
        self._admins[chat_id] = set(user_ids)
        if creator is None:
            self._creators.pop(chat_id, None)
        else:
            self._creators[chat_id] = creator

    def make_forum(self, chat_id: int, title: str = "Diễn đàn") -> None:
        """``chat_id`` is a forum supergroup (General topic only, until ``create_topic``)."""
        self._chats[chat_id] = {
            "id": chat_id,
            "type": "supergroup",
            "title": title,
            "is_forum": True,
        }
        self._forums.setdefault(chat_id, {})

    def create_topic(self, chat_id: int, name: str = "Chủ đề") -> int:
        """Open a forum topic; returns its ``message_thread_id`` (the id of its first message)."""
        if chat_id not in self._forums:
            self.make_forum(chat_id)
        thread_id = self._next_message_id(chat_id)
        self._forums[chat_id][thread_id] = "open"
        return thread_id

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        """Sends into the topic now answer 400 TOPIC_CLOSED."""
        self._forums[chat_id][thread_id] = "closed"

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Sends into the topic now answer 400 "message thread not found"."""
        self._forums[chat_id].pop(thread_id, None)

    def add_channel(
        self,
        chat_id: int,
        username: str,
        *,
        title: str = "Kênh",
        admins: Iterable[int] = (),
        bot_is_admin: bool = True,
    ) -> None:
        """A channel ``@username``; getChatMember answers "administrator" for ``admins`` (and
        the bot, if ``bot_is_admin``)."""
        self._chats[chat_id] = {
            "id": chat_id,
            "type": "channel",
            "title": title,
            "username": username.lstrip("@"),
        }
        self._usernames[username.lstrip("@").lower()] = chat_id
        self.set_chat_admins(chat_id, [*admins, *([self.bot_id] if bot_is_admin else [])])

    def remove_from_channel(self, chat_id: int) -> dict[str, Any]:
        """An admin removed the bot from the channel: sends answer 403 and the
        ``my_chat_member`` update is queued (and returned)."""
        self._admins.get(chat_id, set()).discard(self.bot_id)
        error = _ApiError(403, "Forbidden: bot is not a member of the channel chat")
        self._chat_errors[chat_id] = (error, _BLOCKABLE)
        admin = next(iter(self._admins.get(chat_id, ())), DEFAULT_GROUP_USER_ID)
        update = {
            "update_id": self._next_update_id(),
            "my_chat_member": {
                "chat": self._chat(chat_id),
                "from": self._user(admin, "Quản trị", "vi"),
                "date": int(time.time()),
                "old_chat_member": {
                    "status": "administrator",
                    "user": dict(self._from_bot),
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": True,
                    "can_edit_stories": True,
                    "can_delete_stories": True,
                },
                "new_chat_member": {"status": "left", "user": dict(self._from_bot)},
            },
        }
        self._queue(update)
        return update

    # -- scripting failures ----------------------------------------------------------------

    def script(
        self,
        method: str,
        answer: dict[str, Any],
        *,
        chat_id: int | None = None,
        times: int = 1,
        status: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id`` if given; ``ANY_SEND`` for any
        send method) get ``answer`` as JSON, with HTTP ``status`` (default: 200 if
        ``answer["ok"]`` else its ``error_code``). Chat-specific scripts win over method-wide
        ones; scripts of one key answer in the order they were added."""
        if method != ANY_SEND and method not in _METHOD_BY_LOWER.values():
            raise ValueError(f"unknown method {method!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        resolved = _status_of(answer) if status is None else status
        key = (method, chat_id)
        self._scripts.setdefault(key, deque()).append(_Script(answer, resolved, times))

    def echo_path(
        self, method: str, *, status: int = 404, chat_id: int | None = None, times: int = 1
    ) -> None:
        """The next ``times`` calls of ``method`` answer what a proxy or a self-hosted server's
        router does: ``Cannot POST /bot<token>/<method>`` as text/html, with ``status``."""
        self.script(method, {}, chat_id=chat_id, times=times, status=status)
        self._scripts[(method, chat_id)][-1].echo = True

    def push_raw_update(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Queue an update of the next ``update_id`` and ``fields`` exactly as given (one the
        library may not be able to parse); returns it."""
        update = {"update_id": self._next_update_id(), **fields}
        self._queue(update)
        return update

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every send, edit or chat action to the chat is a 403."""
        error = _ApiError(403, "Forbidden: bot was blocked by the user")
        self._chat_errors[chat_id] = (error, _BLOCKABLE)

    def chat_not_found(self, chat_id: int) -> None:
        """Every call naming this chat answers 400 "chat not found"."""
        self._chat_errors[chat_id] = (_bad("chat not found"), _CHAT_METHODS)

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """The group became a supergroup: calls naming the old id answer 400 with
        ``parameters.migrate_to_chat_id``."""
        error = _ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )
        self._chat_errors[chat_id] = (error, _CHAT_METHODS)

    def restore(self, chat_id: int) -> None:
        """Undo ``block``/``chat_not_found``/``migrate`` for a chat."""
        self._chat_errors.pop(chat_id, None)

    def flood(self, chat_id: int | None = None, retry_after: int = 3, times: int = 1) -> None:
        """The next ``times`` sends (to ``chat_id`` if given) answer 429 with retry_after."""
        answer = {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        }
        self.script(ANY_SEND, answer, chat_id=chat_id, times=times)

    def fail(self, method: str, status: int = 500, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``status`` (a server error)."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Server Error"
        answer = {"ok": False, "error_code": status, "description": phrase}
        self.script(method, answer, times=times, status=status)

    # -- driving updates -------------------------------------------------------------------

    def make_message_update(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "vi",
        first_name: str = "Người dùng",
        chat_title: str | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A message Update as Telegram would send it, not queued (for webhook tests).
        ``thread_id``: written inside that topic of a forum group."""
        if chat_id in self._forums:
            chat: dict[str, Any] = self._chats[chat_id]
            sender_id = DEFAULT_GROUP_USER_ID if user_id is None else user_id
        elif chat_type == "private":
            chat = {"id": chat_id, "type": "private", "first_name": first_name}
            sender_id = chat_id if user_id is None else user_id
        else:
            title = chat_title or f"Nhóm {chat_id}"
            chat = {"id": chat_id, "type": chat_type, "title": title}
            sender_id = DEFAULT_GROUP_USER_ID if user_id is None else user_id
        self._chats[chat_id] = chat
        user = self._user(sender_id, first_name, language_code)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        command = _BOT_COMMAND_RE.match(text)
        if command is not None:
            length = _utf16_len(command.group(0))
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"update_id": self._next_update_id(), "message": message}

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "vi",
        first_name: str = "Người dùng",
        chat_title: str | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Queue a user's message for getUpdates; returns the Update dict."""
        update = self.make_message_update(
            chat_id,
            text,
            user_id=user_id,
            chat_type=chat_type,
            language_code=language_code,
            first_name=first_name,
            chat_title=chat_title,
            thread_id=thread_id,
        )
        self._queue(update)
        return update

    def make_callback_update(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        language_code: str | None = "vi",
    ) -> dict[str, Any]:
        """A callback_query Update (a button press on the bot's message), not queued.

        The message is the bot's message as it stands after edits. One the fake never sent
        comes as Telegram's inaccessible message (``date`` 0), as for messages older than 48 h.
        """
        sender_id = (
            (chat_id if chat_id > 0 else DEFAULT_GROUP_USER_ID) if user_id is None else user_id
        )
        known = self._users.get(sender_id)
        first_name = known["first_name"] if known else "Người dùng"
        user = self._user(sender_id, first_name, language_code)
        message = self._messages.get((chat_id, message_id))
        if message is None:
            message = {"chat": self._chat(chat_id), "message_id": message_id, "date": 0}
        query_id = f"{self.bot_id}{next(self._callback_ids):08d}"
        self._open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(abs(chat_id) * 7 + 3),
            "data": data,
        }
        return {"update_id": self._next_update_id(), "callback_query": query}

    def push_callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        language_code: str | None = "vi",
    ) -> dict[str, Any]:
        """Queue a button press for getUpdates; returns the Update dict."""
        update = self.make_callback_update(
            chat_id, message_id, data, user_id=user_id, language_code=language_code
        )
        self._queue(update)
        return update

    def push_channel_post(self, chat_id: int, text: str) -> dict[str, Any]:
        """Queue a post in a channel (written by one of its admins, signed by the channel)."""
        chat = self._chat(chat_id)
        post: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "sender_chat": chat,
            "text": text,
        }
        command = _BOT_COMMAND_RE.match(text)
        if command is not None:
            length = _utf16_len(command.group(0))
            post["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        update = {"update_id": self._next_update_id(), "channel_post": post}
        self._queue(update)
        return update

    def push_inline_query(
        self, user_id: int, query: str, *, language_code: str | None = "vi"
    ) -> str:
        """Queue an inline query (``@bot query`` typed by ``user_id``); returns its id."""
        query_id = f"{self.bot_id}{next(self._inline_ids):010d}"
        self._open_inline.add(query_id)
        user = self._user(user_id, "Người dùng", language_code)
        inline = {"id": query_id, "from": user, "query": query, "offset": ""}
        self._queue({"update_id": self._next_update_id(), "inline_query": inline})
        return query_id

    # -- internals: state ------------------------------------------------------------------

    def _next_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    def _next_message_id(self, chat_id: int) -> int:
        # Message ids count per chat, shared by both sides of the conversation.
        mid = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = mid
        return mid

    def _queue(self, update: dict[str, Any]) -> None:
        self._updates.append(update)
        self._wake()

    def _wake(self) -> None:
        # A fresh Event per wake-up: a waiter that captured the old one is released, and nobody
        # has to clear() an event another waiter may not have seen yet.
        self._updates_event.set()
        self._updates_event = asyncio.Event()

    def _user(self, user_id: int, first_name: str, language_code: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def _chat(self, chat_id: int) -> dict[str, Any]:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                chat = {"id": chat_id, "type": "private", "first_name": "Người dùng"}
            else:
                kind = "supergroup" if chat_id < _SUPERGROUP_MIN else "group"
                chat = {"id": chat_id, "type": kind, "title": f"Nhóm {chat_id}"}
            self._chats[chat_id] = chat
        return chat

    # -- internals: HTTP -------------------------------------------------------------------

    async def _not_found(self, request: Request) -> Response:
        return _json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = _METHOD_BY_LOWER.get(request.path_params["method"].lower())
        if method is None:
            return await self._not_found(request)
        self.calls[method] += 1
        try:
            params = await self._read_params(request)
            chat_id = params.get("chat_id")
            if method in _CHAT_METHODS:
                if "chat_id" not in params or chat_id == "":
                    raise _bad("chat_id is empty")
                if isinstance(chat_id, str) and chat_id.startswith("@"):
                    # A public channel's @username stands for its id, as in Telegram.
                    resolved = self._usernames.get(chat_id[1:].lower())
                    if resolved is not None:
                        chat_id = params["chat_id"] = resolved
                if not isinstance(chat_id, int):
                    # Only numeric ids exist here; Telegram says the same for unknown @names.
                    raise _bad("chat not found")
            scripted = self._scripted(method, chat_id if isinstance(chat_id, int) else None)
            if scripted is not None and scripted.echo:
                return Response(
                    f"Cannot {request.method} {request.url.path}",
                    status_code=scripted.status,
                    media_type="text/html",
                )
            if scripted is not None:
                return _json_response(scripted.answer, status=scripted.status)
            if isinstance(chat_id, int) and chat_id in self._chat_errors:
                error, methods = self._chat_errors[chat_id]
                if method in methods:
                    raise error
            if method == "getUpdates":
                result = await self._get_updates(params, request)
            else:
                result = self._handlers[method](params)
        except _ApiError as exc:
            return _json_response(exc.payload(), status=exc.status)
        except Exception as exc:  # a bug in the fake: keep it visible, answer like Telegram
            _LOG.exception("fake Telegram crashed answering %s", method)
            self.crashes.append(exc)
            return _json_response(
                {"ok": False, "error_code": 500, "description": f"Internal Server Error: {exc!r}"},
                status=500,
            )
        return _json_response({"ok": True, "result": result})

    async def _read_params(self, request: Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        if body:
            content_type = request.headers.get("content-type", "")
            media_type = content_type.partition(";")[0].strip().lower()
            if media_type == "application/json":
                try:
                    data = json.loads(body)
                except ValueError:
                    raise _bad("can't parse JSON object") from None
                if not isinstance(data, dict):
                    raise _bad("JSON object expected")
                raw.update(data)
            elif media_type == "multipart/form-data":
                fields, files = _parse_multipart(body, content_type)
                raw.update(fields)
                for name, value in list(raw.items()):
                    if isinstance(value, str) and value.startswith("attach://"):
                        attached = files.get(value.removeprefix("attach://"))
                        if attached is None:
                            raise _bad(f"file {value} not found in the request")
                        raw[name] = attached
                for name, content in files.items():
                    raw.setdefault(name, content)
            else:  # application/x-www-form-urlencoded, and what curl sends by default
                try:
                    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
                except UnicodeDecodeError:
                    raise _bad("request body is not UTF-8") from None
                raw.update(pairs)
        return {name: _coerce(name, value) for name, value in raw.items()}

    def _scripted(self, method: str, chat_id: int | None) -> _Script | None:
        keys: list[tuple[str, int | None]] = []
        is_send = method in SEND_METHODS
        if chat_id is not None:
            keys.append((method, chat_id))
            if is_send:
                keys.append((ANY_SEND, chat_id))
        keys.append((method, None))
        if is_send:
            keys.append((ANY_SEND, None))
        for key in keys:
            queue = self._scripts.get(key)
            if queue:
                script = queue[0]
                script.times -= 1
                if script.times <= 0:
                    queue.popleft()
                    if not queue:
                        del self._scripts[key]
                return script
        return None

    # -- internals: methods ----------------------------------------------------------------

    async def _get_updates(self, p: dict[str, Any], request: Request) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int_param(p, "offset", 0)
        limit = min(100, max(1, _int_param(p, "limit", 100)))
        timeout = max(0, _int_param(p, "timeout", 0))
        if "allowed_updates" in p:
            allowed = p["allowed_updates"]
            if not isinstance(allowed, list):
                raise _bad("allowed_updates must be an Array of String")
            # An empty list means "the default", which is every kind this fake produces.
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._confirm(offset)

        # Like Telegram, a newer getUpdates ends the one still waiting with 409 Conflict.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        disconnect: asyncio.Future[Any] | None = None
        try:
            while True:
                if generation != self._poll_generation:
                    raise _ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                batch = self._take(limit)
                if batch or self._released:
                    return batch
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                if disconnect is None:
                    # The client gives up a long poll by closing the connection (PTB does so
                    # on stop); waking on that frees the handler instead of idling to timeout.
                    disconnect = asyncio.ensure_future(request.receive())
                woken = asyncio.ensure_future(self._updates_event.wait())
                done, _ = await asyncio.wait(
                    {woken, disconnect}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                woken.cancel()
                if disconnect in done:
                    return []
        finally:
            if disconnect is not None:
                disconnect.cancel()

    def _confirm(self, offset: int) -> None:
        updates = self._updates
        if offset > 0:
            while updates and updates[0]["update_id"] < offset:
                updates.popleft()
        elif offset < 0:
            # -N: keep only the last N updates; everything before is forgotten.
            while len(updates) > -offset:
                updates.popleft()

    def _take(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        if allowed is None:
            return list(itertools.islice(self._updates, limit))
        out: list[dict[str, Any]] = []
        for update in self._updates:
            kind = next(k for k in update if k != "update_id")
            if kind in allowed:
                out.append(update)
                if len(out) >= limit:
                    break
        return out

    def _check_text(
        self, text: str, parse_mode: str | None, *, caption: bool
    ) -> tuple[str, list[dict[str, Any]]]:
        plain, entities = text, []
        if parse_mode is not None and parse_mode != "":
            mode = parse_mode.lower()
            if mode == "html":
                try:
                    plain, entities = parse_html(text)
                except HtmlError as exc:
                    raise _bad(f"can't parse entities: {exc}") from None
            elif mode not in ("markdown", "markdownv2"):
                raise _bad("unsupported parse_mode")
            # Markdown is passed through unchecked: this project sends HTML.
        limit = MAX_CAPTION if caption else MAX_TEXT
        # Counted in code points, as the Bot API documents "characters"; Vietnamese text is all
        # in the BMP where that equals Telegram's UTF-16 count.
        if len(plain) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        if not caption and not plain.strip():
            raise _bad("message text is empty")
        return plain, entities

    def _check_markup(self, markup: Any) -> dict[str, Any] | None:
        """The inline keyboard to echo in the Message (other markups are accepted, not shown)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        keyboard = markup.get("inline_keyboard")
        if keyboard is None:
            return None
        if not isinstance(keyboard, list) or not all(isinstance(r, list) for r in keyboard):
            raise _bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for row in keyboard:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad("text buttons are unallowed in the inline keyboard")
                if "callback_data" in button:
                    size = len(str(button["callback_data"]).encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA:
                        raise _bad("BUTTON_DATA_INVALID")
                elif "url" in button:
                    url = str(button["url"])
                    if urlsplit(url).scheme.lower() not in _BUTTON_URL_SCHEMES:
                        raise _bad(f"inline keyboard button URL '{url}' is invalid")
                elif not any(k != "text" for k in button):
                    raise _bad("text buttons are unallowed in the inline keyboard")
        return markup

    def _preflight_send(self, chat_id: int) -> float:
        """Rate limits: the time of the send, or a 429 if it is over a limit."""
        now = self.clock()
        if self._limits.active:
            wait = self._limits.admit(chat_id, now)
            if wait > 0:
                self.rejected_429 += 1
                seconds = _retry_seconds(wait)
                raise _ApiError(
                    429,
                    f"Too Many Requests: retry after {seconds}",
                    {"retry_after": seconds},
                )
        return now

    def _record(
        self,
        method: str,
        chat_id: int,
        message: dict[str, Any],
        p: dict[str, Any],
        *,
        text: str | None,
        photo: bytes | str | None,
        caption: str | None,
        at: float,
    ) -> None:
        lpo = p.get("link_preview_options")
        if isinstance(lpo, dict):
            preview_disabled: bool | None = bool(lpo.get("is_disabled", False))
        elif "disable_web_page_preview" in p:
            preview_disabled = bool(p["disable_web_page_preview"])
        else:
            preview_disabled = None
        markup = p.get("reply_markup")
        sent = Sent(
            method=method,
            chat_id=chat_id,
            message_id=message["message_id"],
            text=text,
            parse_mode=p.get("parse_mode"),
            reply_markup=markup if isinstance(markup, dict) else None,
            link_preview_disabled=preview_disabled,
            photo=photo,
            caption=caption,
            at=at,
            message_thread_id=message.get("message_thread_id"),
        )
        self.sent.append(sent)
        by_chat = self._sent_by_chat.get(chat_id)
        if by_chat is None:
            by_chat = self._sent_by_chat[chat_id] = []
        by_chat.append(sent)
        self._messages[(chat_id, message["message_id"])] = message

    def _new_message(self, chat_id: int, p: dict[str, Any] | None = None) -> dict[str, Any]:
        thread = self._thread(chat_id, (p or {}).get("message_thread_id"))
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": self._from_bot,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
        }
        if self._chat(chat_id).get("type") == "channel":
            del message["from"]
            message["sender_chat"] = self._chat(chat_id)
        if thread is not None:
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        return message

    def _thread(self, chat_id: int, thread_id: Any) -> int | None:
        """The forum topic a send goes to; 400 for a closed or unknown one, as Telegram."""
        if thread_id is None or thread_id == "":
            return None
        if not isinstance(thread_id, int):
            raise _bad("wrong parameter message_thread_id in request")
        state = self._forums.get(chat_id, {}).get(thread_id)
        if state is None:
            raise _bad("message thread not found")
        if state == "closed":
            raise _bad("TOPIC_CLOSED")
        return thread_id

    def _send_message(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id: int = p["chat_id"]
        text = p.get("text")
        if not isinstance(text, str) or not text:
            raise _bad("message text is empty")
        plain, entities = self._check_text(text, p.get("parse_mode"), caption=False)
        markup = self._check_markup(p.get("reply_markup"))
        self._thread(chat_id, p.get("message_thread_id"))
        at = self._preflight_send(chat_id)
        message = self._new_message(chat_id, p)
        message["text"] = plain
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        self._record("sendMessage", chat_id, message, p, text=text, photo=None, caption=None, at=at)
        return message

    def _send_photo(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id: int = p["chat_id"]
        photo = p.get("photo")
        if isinstance(photo, str):
            if not photo:
                raise _bad("there is no photo in the request")
        elif not isinstance(photo, bytes) or not photo:
            raise _bad("there is no photo in the request")
        caption = p.get("caption")
        plain, entities = "", []
        if caption:
            plain, entities = self._check_text(caption, p.get("parse_mode"), caption=True)
        markup = self._check_markup(p.get("reply_markup"))
        self._thread(chat_id, p.get("message_thread_id"))
        at = self._preflight_send(chat_id)
        message = self._new_message(chat_id, p)
        n = next(self._file_ids)
        size = len(photo) if isinstance(photo, bytes) else 0
        message["photo"] = [
            {
                "file_id": f"fake-photo-{n}-s",
                "file_unique_id": f"fp{n}s",
                "width": 90,
                "height": 60,
                "file_size": min(size, 2048),
            },
            {
                "file_id": f"fake-photo-{n}",
                "file_unique_id": f"fp{n}",
                "width": 1280,
                "height": 853,
                "file_size": size,
            },
        ]
        if caption:
            message["caption"] = plain
            if entities:
                message["caption_entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        self._record(
            "sendPhoto", chat_id, message, p, text=None, photo=photo, caption=caption, at=at
        )
        return message

    def _editable(self, p: dict[str, Any]) -> tuple[int, int, dict[str, Any]]:
        if "inline_message_id" in p:
            raise _bad("inline messages are not supported by the fake")
        chat_id: int = p["chat_id"]
        message_id = p.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _bad("message to edit not found")
        return chat_id, message_id, message

    def _edit_message_text(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id, old = self._editable(p)
        text = p.get("text")
        if not isinstance(text, str) or not text:
            raise _bad("message text is empty")
        if "text" not in old:
            raise _bad("there is no text in the message to edit")
        plain, entities = self._check_text(text, p.get("parse_mode"), caption=False)
        markup = self._check_markup(p.get("reply_markup"))
        new = {k: v for k, v in old.items() if k not in ("entities", "reply_markup")}
        new["text"] = plain
        if entities:
            new["entities"] = entities
        # Without reply_markup Telegram drops the keyboard: an edit must resend it to keep it.
        if markup is not None:
            new["reply_markup"] = markup
        self._commit_edit("editMessageText", chat_id, message_id, old, new, p, text)
        return new

    def _edit_message_reply_markup(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id, old = self._editable(p)
        markup = self._check_markup(p.get("reply_markup"))
        new = {k: v for k, v in old.items() if k != "reply_markup"}
        if markup is not None:
            new["reply_markup"] = markup
        self._commit_edit("editMessageReplyMarkup", chat_id, message_id, old, new, p, None)
        return new

    def _commit_edit(
        self,
        method: str,
        chat_id: int,
        message_id: int,
        old: dict[str, Any],
        new: dict[str, Any],
        p: dict[str, Any],
        text: str | None,
    ) -> None:
        if _content(new) == _content(old):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        new["edit_date"] = int(time.time())
        # Replace, never mutate: updates already queued keep the message as it was then.
        self._messages[(chat_id, message_id)] = new
        markup = p.get("reply_markup")
        self.edits.append(
            Edit(
                method=method,
                chat_id=chat_id,
                message_id=message_id,
                text=text,
                reply_markup=markup if isinstance(markup, dict) else None,
                parse_mode=p.get("parse_mode"),
            )
        )

    def _answer_callback_query(self, p: dict[str, Any]) -> bool:
        query_id = p.get("callback_query_id")
        if not isinstance(query_id, str) or query_id not in self._open_callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._open_callbacks.discard(query_id)
        text = p.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers.append(p)
        return True

    @staticmethod
    def _scope_key(p: dict[str, Any]) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise _bad("can't parse BotCommandScope JSON object")
        key = scope["type"] if len(scope) == 1 else json.dumps(scope, sort_keys=True)
        language = p.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        return key, language

    def _set_my_commands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        for c in commands:
            if not isinstance(c, dict) or not _COMMAND_RE.fullmatch(str(c.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(p)
        self.scoped_commands[key] = commands
        if key[0] == "default":
            self.commands[key[1]] = commands
        return True

    def _get_my_commands(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return self.scoped_commands.get(self._scope_key(p), [])

    def _delete_my_commands(self, p: dict[str, Any]) -> bool:
        key = self._scope_key(p)
        self.scoped_commands.pop(key, None)
        if key[0] == "default":
            self.commands.pop(key[1], None)
        return True

    def _set_webhook(self, p: dict[str, Any]) -> bool:
        url = p.get("url", "")
        if not isinstance(url, str):
            raise _bad("bad webhook: url must be a String")
        if url == "":
            self.webhook = None
        else:
            if urlsplit(url).scheme.lower() != "https":
                raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
            self.webhook = {k: v for k, v in p.items() if k != "certificate"}
            # Set webhooks and waiting long polls exclude each other, as in Telegram.
            self._poll_generation += 1
            self._wake()
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _delete_webhook(self, p: dict[str, Any]) -> bool:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, p: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook.get("max_connections", 40)
            if self.webhook.get("ip_address"):
                info["ip_address"] = self.webhook["ip_address"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _get_chat_member(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id: int = p["chat_id"]
        user_id = p.get("user_id")
        if not isinstance(user_id, int):
            raise _bad("invalid user_id specified")
        if user_id == self.bot_id:
            user = dict(self._from_bot)
        else:
            user = self._users.get(user_id) or {
                "id": user_id,
                "is_bot": False,
                "first_name": "Người dùng",
            }
        if self._creators.get(chat_id) == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in self._admins.get(chat_id, ()):
            rights = dict.fromkeys(
                (
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_pin_messages",
                ),
                True,
            )
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_promote_members": False,
                **rights,
            }
        return {"status": "member", "user": user}

    def _get_chat(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._chat(p["chat_id"]),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _answer_inline_query(self, p: dict[str, Any]) -> bool:
        query_id = p.get("inline_query_id")
        if not isinstance(query_id, str) or query_id not in self._open_inline:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        results = p.get("results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        ids: set[str] = set()
        for r in results:
            rid = r.get("id") if isinstance(r, dict) else None
            if not isinstance(rid, str) or not 1 <= len(rid.encode()) <= 64 or rid in ids:
                raise _bad("RESULT_ID_INVALID")
            ids.add(rid)
            if r.get("type") != "article" or not r.get("title"):
                raise _bad("RESULT_TITLE_EMPTY")
            content = r.get("input_message_content")
            if not isinstance(content, dict) or not content.get("message_text"):
                raise _bad("MESSAGE_EMPTY")
            self._check_text(content["message_text"], content.get("parse_mode"), caption=False)
        self._open_inline.discard(query_id)
        self.inline_answers[query_id] = p
        return True

    def _send_chat_action(self, p: dict[str, Any]) -> bool:
        if p.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True


def _content(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "edit_date"}


def _int_param(p: dict[str, Any], name: str, default: int) -> int:
    value = p.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(f"wrong parameter {name} in request")
    return value
