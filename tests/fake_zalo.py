"""A fake Zalo Bot API server for tests, written from the Bot Platform's documentation
(bot.zaloplatforms.com/docs): our Zalo client talks to it over loopback.

Every call is ``POST /bot{token}/{method}`` with a JSON body; answers are ``{"ok": true,
"result": ...}`` or ``{"ok": false, "error_code": ..., "description": ...}`` (with the code as
the HTTP status too, or HTTP 200 with ``errors_in_body``). getUpdates hands out one queued
update or, after its ``timeout`` (a String, as its parameter table says), answers 408. Sent
messages are recorded, every request is logged (``requests``) and checked against the
documented parameters (``undocumented`` lists the others); failures are scripted per method
(and chat).

Errors answered to the client (never raised into the test), as the docs' error table has them:
400 (wrong path or invalid API name, bad JSON, bad parameters: an empty or too long text, a
secret_token outside 8-256 characters, a timeout that is no string), 401 (wrong token), 408 (no
update in time), 429 (``monthly_quota`` messages sent: "Quota exceeded"), 409 (getUpdates
while a webhook is set: this fake's choice), scripted anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.ops.httpserver import serve

__all__ = ["MAX_TEXT", "FakeZalo", "Sent"]

MAX_TEXT = 2000
_METHODS = frozenset(
    {
        "getMe",
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "sendMessage",
        "sendPhoto",
        "sendChatAction",
    }
)
_CHAT_ACTIONS = frozenset({"typing", "upload_photo"})
#: the parameters each method's table documents, with their JSON types
DOCUMENTED: dict[str, dict[str, type]] = {
    "getMe": {},
    "getUpdates": {"timeout": str},
    "setWebhook": {"url": str, "secret_token": str},
    "deleteWebhook": {},
    "getWebhookInfo": {},
    "sendMessage": {"chat_id": str, "text": str},
    "sendPhoto": {"chat_id": str, "photo": str, "caption": str},
    "sendChatAction": {"chat_id": str, "action": str},
}
#: the events a webhook or getUpdates delivers
EVENTS = (
    "message.text.received",
    "message.image.received",
    "message.sticker.received",
    "message.unsupported.received",
)


@dataclass(frozen=True)
class Sent:
    """One message the bot posted and the fake accepted."""

    method: str
    chat_id: str
    text: str | None
    photo: str | None
    caption: str | None
    message_id: str


@dataclass
class _Script:
    status: int
    body: Any
    headers: dict[str, str]
    times: int


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _error(status: int, description: str, *, in_body: bool = False) -> Response:
    body = {"ok": False, "error_code": status, "description": description}
    return _json(body, 200 if in_body else status)


class FakeZalo:
    """In-memory Zalo Bot API for one token. Drive it from the event loop that serves it."""

    def __init__(
        self,
        token: str = "1234567890123456789:fake-zalo-secret-token-abcdefghij",
        *,
        bot_id: str = "2004567890123456789",
        account_name: str = "bot.bantin",
        display_name: str = "Bản tin",
        monthly_quota: int | None = None,
        errors_in_body: bool = False,
    ) -> None:
        self.token = token
        #: messages (sendMessage, sendPhoto) accepted before every send answers 429
        self.monthly_quota = monthly_quota
        #: answer errors with HTTP 200 and ``ok: false`` (the code only in the body)
        self.errors_in_body = errors_in_body
        self.bot_id = bot_id
        self.account_name = account_name
        self.display_name = display_name
        # What tests assert on.
        self.sent: list[Sent] = []
        self.webhook: dict[str, Any] | None = None
        self.calls: Counter[str] = Counter()
        #: every call as (method, parameters), in order
        self.requests: list[tuple[str, dict[str, Any]]] = []
        #: (method, parameter) pairs sent that the method's table does not document
        self.undocumented: list[tuple[str, str]] = []
        self.chat_actions: list[tuple[str, str]] = []

        self._updates: deque[dict[str, Any]] = deque()
        self._event = asyncio.Event()
        self._released = False
        self._scripts: dict[tuple[str, str | None], deque[_Script]] = {}
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["POST"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST"]),
            ]
        )

    # -- serving ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self, *, host: str = "127.0.0.1") -> AsyncIterator[str]:
        """Serve on loopback for the block; yields the server root (ZALO_API_BASE_URL)."""
        self._released = False
        server = await serve(self.app, host=host)
        try:
            yield server.base_url
        finally:
            self.release_pollers()  # a waiting long poll would hold uvicorn's shutdown
            await server.stop()

    def release_pollers(self) -> None:
        """Answer every waiting and future getUpdates at once (an update if queued, else 408)."""
        self._released = True
        self._wake()

    # -- driving updates -------------------------------------------------------------------

    def make_text_update(
        self,
        chat_id: str,
        text: str,
        *,
        user_id: str | None = None,
        chat_type: str = "PRIVATE",
        message_id: str | None = None,
        display_name: str = "Người dùng",
        event_name: str = "message.text.received",
    ) -> dict[str, Any]:
        """A text update as Zalo sends it (getUpdates result or webhook body), not queued."""
        sender = (
            user_id if user_id is not None else (chat_id if chat_type == "PRIVATE" else "u-1001")
        )
        return {
            "event_name": event_name,
            "message": {
                "from": {"id": sender, "display_name": display_name, "is_bot": False},
                "chat": {"id": chat_id, "chat_type": chat_type},
                "text": text,
                "message_id": message_id or f"m{next(self._ids):08x}",
                "date": int(time.time() * 1000),
            },
        }

    def make_event(
        self, chat_id: str, event_name: str, *, chat_type: str = "PRIVATE"
    ) -> dict[str, Any]:
        """An update of another event (an image, a sticker, a protected user's message, whose
        content Zalo withholds): no text."""
        if event_name not in EVENTS:
            raise ValueError(f"not a documented event: {event_name!r}")
        update = self.make_text_update(chat_id, "", chat_type=chat_type, event_name=event_name)
        del update["message"]["text"]
        return update

    def push_text(
        self,
        chat_id: str,
        text: str,
        *,
        user_id: str | None = None,
        chat_type: str = "PRIVATE",
        message_id: str | None = None,
        display_name: str = "Người dùng",
    ) -> dict[str, Any]:
        """Queue a user's text for getUpdates; returns the update."""
        update = self.make_text_update(
            chat_id,
            text,
            user_id=user_id,
            chat_type=chat_type,
            message_id=message_id,
            display_name=display_name,
        )
        self.push_update(update)
        return update

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue any update as is (a duplicate, another event)."""
        self._updates.append(update)
        self._wake()

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    def sent_to(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    # -- scripting failures ----------------------------------------------------------------

    def script(
        self,
        method: str,
        status: int,
        body: Any,
        *,
        chat_id: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id`` if given) answer ``body`` as
        JSON (a str/bytes body is sent raw) with HTTP ``status`` and ``headers``. Chat-specific
        scripts win over method-wide ones."""
        if method not in _METHODS:
            raise ValueError(f"unknown method {method!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        queue = self._scripts.setdefault((method, chat_id), deque())
        queue.append(_Script(status, body, dict(headers or {}), times))

    def _scripted(self, method: str, chat_id: str | None) -> _Script | None:
        for key in (
            ((method, chat_id), (method, None)) if chat_id is not None else ((method, None),)
        ):
            queue = self._scripts.get(key)
            if queue:
                script = queue[0]
                script.times -= 1
                if script.times <= 0:
                    queue.popleft()
                return script
        return None

    # -- HTTP ------------------------------------------------------------------------------

    def _wake(self) -> None:
        # A fresh Event per wake-up: every waiter that captured the old one is released.
        self._event.set()
        self._event = asyncio.Event()

    def _error(self, status: int, description: str) -> Response:
        return _error(status, description, in_body=self.errors_in_body)

    async def _not_found(self, request: Request) -> Response:
        return self._error(400, "Bad request: wrong path or invalid API name")

    async def _endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return self._error(401, "Unauthorized: token expired or invalid")
        method = request.path_params["method"]
        if method not in _METHODS:
            return self._error(400, "Bad request: wrong path or invalid API name")
        self.calls[method] += 1
        raw = await request.body()
        try:
            params = json.loads(raw) if raw else {}
        except ValueError:
            return self._error(400, "Invalid JSON")
        if not isinstance(params, dict):
            return self._error(400, "JSON object expected")
        self.requests.append((method, params))
        problem = self._check_params(method, params)
        if problem is not None:
            return self._error(400, problem)
        chat_id = params.get("chat_id")
        scripted = self._scripted(method, chat_id if isinstance(chat_id, str) else None)
        if scripted is not None:
            if isinstance(scripted.body, (str, bytes)):
                return Response(
                    scripted.body, status_code=scripted.status, headers=scripted.headers
                )
            return _json(scripted.body, scripted.status, scripted.headers)
        try:
            if method == "getUpdates":
                result = await self._get_updates(params, request)
            else:
                result = getattr(self, f"_{method}")(params)
        except _ApiError as exc:
            return self._error(exc.status, exc.description)
        return _json({"ok": True, "result": result})

    def _check_params(self, method: str, params: dict[str, Any]) -> str | None:
        """Why the parameters are refused (a documented one of the wrong type), or None; the
        undocumented ones are recorded (Zalo would ignore them)."""
        table = DOCUMENTED[method]
        for name, value in params.items():
            expected = table.get(name)
            if expected is None:
                self.undocumented.append((method, name))
            elif not isinstance(value, expected) or isinstance(value, bool):
                return f"Bad request: {name} must be a {expected.__name__}"
        return None

    def _getMe(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - Zalo's method name
        return {
            "id": self.bot_id,
            "account_name": self.account_name,
            "account_type": "BASIC",
            "can_join_groups": True,
            "display_name": self.display_name,
        }

    async def _get_updates(self, p: dict[str, Any], request: Request) -> dict[str, Any]:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: webhook is active, use deleteWebhook first")
        raw = p.get("timeout", "30")  # a String of seconds, 30 by default
        if not raw.isdigit():
            raise _ApiError(400, "Bad request: timeout must be a number of seconds")
        timeout = int(raw)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(timeout)
        disconnect: asyncio.Future[Any] | None = None
        try:
            while True:
                if self._updates:
                    return self._updates.popleft()
                remaining = deadline - loop.time()
                if self._released or remaining <= 0:
                    raise _ApiError(408, "Request timeout: processing time exceeded")
                if disconnect is None:
                    # A client that gives up closes the connection: stop waiting then.
                    disconnect = asyncio.ensure_future(request.receive())
                woken = asyncio.ensure_future(self._event.wait())
                done, _ = await asyncio.wait(
                    {woken, disconnect}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                woken.cancel()
                if disconnect in done:
                    raise _ApiError(408, "Request timeout: processing time exceeded")
        finally:
            if disconnect is not None:
                disconnect.cancel()

    @staticmethod
    def _chat_id(p: dict[str, Any]) -> str:
        chat_id = p.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise _ApiError(400, "chat_id is required")
        return chat_id

    def _record(
        self,
        method: str,
        chat_id: str,
        *,
        text: str | None = None,
        photo: str | None = None,
        caption: str | None = None,
    ) -> dict[str, Any]:
        if self.monthly_quota is not None and len(self.sent) >= self.monthly_quota:
            raise _ApiError(429, "Quota exceeded: exceeded the allowed API usage limit")
        message_id = f"s{next(self._ids):08x}"
        self.sent.append(Sent(method, chat_id, text, photo, caption, message_id))
        return {"message_id": message_id, "date": int(time.time() * 1000)}

    def _sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        chat_id = self._chat_id(p)
        text = p.get("text")
        if not isinstance(text, str) or not text:
            raise _ApiError(400, "text is empty")
        if len(text) > MAX_TEXT:
            raise _ApiError(400, "text too long")
        return self._record("sendMessage", chat_id, text=text)

    def _sendPhoto(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        chat_id = self._chat_id(p)
        photo = p.get("photo")
        if not isinstance(photo, str) or urlsplit(photo).scheme not in ("http", "https"):
            raise _ApiError(400, "photo must be an http(s) URL")
        caption = p.get("caption")
        if caption is not None and not 1 <= len(caption) <= MAX_TEXT:
            raise _ApiError(400, "caption must be 1-2000 characters")
        return self._record("sendPhoto", chat_id, photo=photo, caption=caption)

    def _sendChatAction(self, p: dict[str, Any]) -> bool:  # noqa: N802
        chat_id = self._chat_id(p)
        action = p.get("action")
        if action not in _CHAT_ACTIONS:
            raise _ApiError(400, "Invalid action")
        self.chat_actions.append((chat_id, action))
        return True

    def _setWebhook(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        url = p.get("url")
        secret = p.get("secret_token")
        if not isinstance(url, str) or urlsplit(url).scheme != "https":
            raise _ApiError(400, "url must be an https URL")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise _ApiError(400, "secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret}
        self._wake()
        return {"url": url, "updated_at": int(time.time() * 1000)}

    def _deleteWebhook(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self.webhook = None
        return {"url": "", "updated_at": int(time.time() * 1000)}

    def _getWebhookInfo(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {"url": self.webhook["url"] if self.webhook else "", "updated_at": 0}
