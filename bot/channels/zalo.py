"""Zalo adapter on the Zalo Bot Platform, through our own thin client (:mod:`.zalo_api`).

Updates arrive by long polling (``getUpdates`` returns one update or HTTP 408, with no
offsets, so we deduplicate by ``message_id``) or, when a webhook URL is set, through
:meth:`ZaloChannel.webhook_endpoint` mounted on the bot's HTTP server. Zalo is plain text of
at most 2,000 characters, with no buttons (choices become numbered options answered by
number), no edits and no photo uploads.

:class:`ZaloChannel` turns the client's errors into the outcomes of :mod:`bot.channels.base`
by what Zalo's own error table says they mean (:data:`.zalo_api.ERROR_TABLE`): 429 is the
plan's quota spent (the channel waits for the next period), 403 and 5xx are Zalo's trouble,
401 the token, 400 our request; a 404 is ambiguous, so a chat is taken for gone only when
404s repeat a minute apart with no success between.

Events: texts, and ``message.unsupported.received`` (what a protected user sends, withheld
by law) as an unreadable message the application acknowledges; images and stickers are
ignored. In groups (Zalo's internal beta) the bot hears only replies to its messages and
@mentions of it: the mention is taken off a command.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.channels.base import (
    Capabilities,
    ChannelDown,
    ChatUnreachable,
    DeliveryError,
    Incoming,
    OnMessage,
    OutMessage,
    QuotaSpent,
    Rejected,
    RetryLater,
)
from bot.channels.common import (
    Bounded,
    NumberedChoices,
    RecentIds,
    refuse_without_secret,
    replier,
    webhook_path,
    with_numbered_choices,
)
from bot.channels.zalo_api import (
    DEFAULT_BASE_URL,
    Meaning,
    ZaloApiError,
    ZaloAuthError,
    ZaloClient,
    ZaloError,
    ZaloNetworkError,
)
from bot.ops.backoff import backoff
from bot.ops.redact import register_secret

log = logging.getLogger(__name__)

MAX_TEXT = 2000
#: plain text, no buttons, edits or photo uploads; a few messages a second in all
CAPABILITIES = Capabilities(
    title="Zalo",
    text_limit=MAX_TEXT,
    markup="plain",
    rate=5.0,
    private_interval=1.0,
    group_per_minute=20,
)
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_EVENT = "message.text.received"
#: a protected user's message (children, disabled people...): its content is withheld by law
UNSUPPORTED_EVENT = "message.unsupported.received"
#: setWebhook's secret_token, in characters
SECRET_LENGTH = (8, 256)

#: how many message ids, chats with choices, and chats with a recent 404 we remember
SEEN_MEMORY = 10_000
CHAT_MEMORY = 10_000
#: longest pause between failed polls
MAX_POLL_BACKOFF = 60.0
#: seconds before a first 404 on send is tried again; a chat is gone only when a 404 comes
#: again at least NOT_FOUND_GAP after the first, with no success between
NOT_FOUND_RETRY = 60.0
NOT_FOUND_GAP = 60.0
#: seconds before sends are tried again after Zalo refused the token (revoked mid-run)
AUTH_RETRY = 300.0
#: updates waiting for the dispatcher; a full queue answers the webhook with 503
QUEUE_SIZE = 1000

PHOTO_NOTE = "(biểu đồ chỉ có trên Telegram)"


# ------------------------------------------------------------------------------------------
# Plain text


def render(message: OutMessage) -> str:
    """The message as Zalo plain text: the photo note, then the choices as numbered options."""
    text = message.text.rstrip()
    if message.photo is not None:
        # sendPhoto takes a URL Zalo fetches, and we serve no public images: text only.
        text = f"{text}\n\n{PHOTO_NOTE}" if text else PHOTO_NOTE
    return with_numbered_choices(text, message)


# ------------------------------------------------------------------------------------------
# The channel


class ZaloChannel:
    """The ``zalo`` channel. ``base_url`` is the Bot API root (``https://bot-api.zaloplatforms.com``).

    Groups: Zalo offers no lookup of a group's administrators, so incoming group messages
    carry ``chat_admin_check=None`` and :meth:`Incoming.sender_is_chat_admin` is False there:
    nobody can change a Zalo group's subscriptions until the application decides otherwise.
    Texts in groups reach the application only when they are commands or numbered answers.
    """

    name = "zalo"
    capabilities = CAPABILITIES

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        poll_timeout: int = 30,
        poll_floor: float = 1.0,
        http: httpx.AsyncClient | None = None,
        on_api_send: Callable[[int], Awaitable[None]] | None = None,
        rate: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate is not None:  # a configured rate replaces the published one
            self.capabilities = dataclasses.replace(CAPABILITIES, rate=rate)
        if webhook_url and not webhook_secret:
            raise ValueError(
                "a Zalo webhook needs a secret: without one it would accept anyone's updates"
            )
        if webhook_secret and not SECRET_LENGTH[0] <= len(webhook_secret) <= SECRET_LENGTH[1]:
            raise ValueError("Zalo takes a webhook secret of 8-256 characters")
        self._monotonic = monotonic
        #: unreadable messages (``message.unsupported.received``) handed on, since start
        self.unreadable = 0
        register_secret(token)  # no error text, log line or page may show them
        register_secret(webhook_secret)
        self.client = ZaloClient(token, base_url=base_url, http=http)
        #: told of every message Zalo accepted (the monthly quota counts each one)
        self.on_api_send = on_api_send
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.poll_timeout = poll_timeout
        self.poll_floor = poll_floor
        #: the bot's account from getMe, once started
        self.me: dict[str, Any] = {}
        self._on_message: OnMessage | None = None
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._tasks: list[asyncio.Task[None]] = []
        self._seen = RecentIds(SEEN_MEMORY)
        #: chat -> data of the choices last offered there, for numbered answers
        self._choices = NumberedChoices(CHAT_MEMORY)
        #: chat -> when its first 404 in a row came (monotonic seconds)
        self._not_found = Bounded(CHAT_MEMORY)

    @property
    def webhook_path(self) -> str | None:
        """Path of the webhook URL, where the application mounts :meth:`webhook_endpoint`."""
        return webhook_path(self.webhook_url)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, on_message: OnMessage) -> None:
        """Check the token (getMe), then set the webhook or start long polling."""
        self._on_message = on_message
        try:
            self.me = await self.client.get_me()
        except ZaloAuthError as exc:
            raise ZaloAuthError(
                "getMe",
                status=exc.status,
                error_code=exc.error_code,
                description=f"Zalo refused the bot token, check ZALO_BOT_TOKEN ({exc.description})",
            ) from None
        if self.webhook_url:
            assert self.webhook_secret is not None
            await self.client.set_webhook(self.webhook_url, self.webhook_secret)
            self._tasks.append(asyncio.create_task(self._dispatch_loop(), name="zalo-dispatch"))
            log.info("zalo: webhook mode, updates at %s", self.webhook_path)
        else:
            try:
                await self.client.delete_webhook()
            except ZaloError as exc:
                # Often "no webhook to delete"; if one really stays set, getUpdates says so.
                log.warning("zalo: deleteWebhook failed: %s", exc)
            self._tasks.append(asyncio.create_task(self._dispatch_loop(), name="zalo-dispatch"))
            self._tasks.append(asyncio.create_task(self._poll_loop(), name="zalo-poll"))
            log.info(
                "zalo: long polling as %s", self.me.get("account_name") or self.me.get("id", "?")
            )

    async def stop(self) -> None:
        """Stop polling and dispatching, and close the HTTP client if it is ours."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.client.aclose()

    # -- receiving ------------------------------------------------------------------------

    def _accept(self, update: dict[str, Any]) -> str:
        """Queue an update for the dispatcher: "queued", "duplicate", "ignored" or "full"."""
        message = update.get("message")
        if update.get("event_name") not in (TEXT_EVENT, UNSUPPORTED_EVENT):
            return "ignored"
        if not isinstance(message, dict):
            return "ignored"
        message_id = message.get("message_id")
        key = str(message_id) if message_id not in (None, "") else None
        if key is not None and key in self._seen:
            return "duplicate"
        try:
            self._queue.put_nowait(update)
        except asyncio.QueueFull:
            return "full"
        if key is not None:
            self._seen.add(key)
        return "queued"

    async def webhook_endpoint(self, request: Request) -> Response:
        """Starlette endpoint for Zalo's webhook POSTs; answers at once, handles later."""
        refused = refuse_without_secret(request, SECRET_HEADER, self.webhook_secret)
        if refused is not None:
            return refused
        try:
            data = await request.json()
        except ValueError:  # a body too large or cut off is the server's to answer (413)
            return JSONResponse({"ok": False, "error": "not JSON"}, status_code=400)
        if not isinstance(data, dict):
            return JSONResponse({"ok": False, "error": "not an update"}, status_code=400)
        if isinstance(data.get("result"), dict) and "event_name" not in data:
            data = data["result"]  # the getUpdates shape, {"ok": true, "result": update}
        if self._accept(data) == "full":
            # Zalo retries a failed delivery; better late than dropped.
            return JSONResponse({"ok": False, "error": "busy"}, status_code=503)
        return JSONResponse({"ok": True})

    async def _poll_loop(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            started = loop.time()
            try:
                update = await self.client.get_updates(self.poll_timeout)
            except Exception as exc:
                failures += 1
                # The exponent is capped: hours of outage must not overflow the float.
                delay = backoff(failures, base=max(self.poll_floor, 0.1), cap=MAX_POLL_BACKOFF)
                if isinstance(exc, ZaloError):
                    level = logging.ERROR if isinstance(exc, ZaloAuthError) else logging.WARNING
                    log.log(level, "zalo: getUpdates failed (%s); next poll in %.1f s", exc, delay)
                else:  # a bug of ours; the loop must outlive it
                    log.exception("zalo: polling failed; next poll in %.1f s", delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            fresh = False
            if update is not None:
                outcome = self._accept(update)
                if outcome == "full":
                    await self._queue.put(update)  # polling can wait for the dispatcher
                    self._remember(update)
                    outcome = "queued"
                fresh = outcome == "queued"
            # A new update may have company waiting: poll again at once. A poll that came back
            # quickly with nothing new gets the floor, so a server that does not wait (or keeps
            # answering the same update) cannot spin us.
            elapsed = loop.time() - started
            if not fresh and elapsed < self.poll_floor:
                await asyncio.sleep(self.poll_floor - elapsed)

    def _remember(self, update: dict[str, Any]) -> None:
        message = update.get("message")
        if isinstance(message, dict) and message.get("message_id") not in (None, ""):
            self._seen.add(str(message["message_id"]))

    async def _dispatch_loop(self) -> None:
        # One consumer: a chat's messages are handled in the order they came.
        while True:
            update = await self._queue.get()
            try:
                await self._handle(update)
            except Exception:
                log.exception("zalo: error while handling an update")

    def _incoming(self, update: dict[str, Any]) -> Incoming | None:
        message = update.get("message")
        event = update.get("event_name")
        if event not in (TEXT_EVENT, UNSUPPORTED_EVENT) or not isinstance(message, dict):
            return None
        raw_chat, raw_sender = message.get("chat"), message.get("from")
        chat: dict[str, Any] = raw_chat if isinstance(raw_chat, dict) else {}
        sender: dict[str, Any] = raw_sender if isinstance(raw_sender, dict) else {}
        chat_id = chat.get("id")
        if chat_id in (None, "") or sender.get("is_bot"):
            return None
        unreadable = event == UNSUPPORTED_EVENT
        text = "" if unreadable else message.get("text")
        if not unreadable and (not isinstance(text, str) or not text.strip()):
            return None
        assert isinstance(text, str)
        kind = "group" if str(chat.get("chat_type", "")).upper() == "GROUP" else "private"
        text = unicodedata.normalize("NFC", text.strip())
        if unreadable:
            self.unreadable += 1
            log.info("zalo: an unreadable message (%s) in chat %s", event, chat_id)
        return Incoming(
            channel=self.name,
            chat_id=str(chat_id),
            text=self._without_mention(text) if kind == "group" else text,
            user_id=str(sender.get("id") or ""),
            user_name=unicodedata.normalize("NFC", str(sender.get("display_name") or "")),
            chat_kind=kind,
            language_code=None,  # Zalo does not say; the application defaults to Vietnamese
            chat_admin_check=None,  # no admin lookup on Zalo, see the class docstring
            unreadable=unreadable,
        )

    def _without_mention(self, text: str) -> str:
        """A group text without the @mention of the bot Zalo requires there: ``@Bản tin
        /latest`` and ``/latest @Bản tin`` are ``/latest``."""
        for name in (self.me.get("display_name"), self.me.get("account_name")):
            mention = f"@{name}" if isinstance(name, str) and name else ""
            if mention and text.startswith(mention):
                text = text[len(mention) :].lstrip(" ,:")
            elif mention and text.endswith(mention):
                text = text[: -len(mention)].rstrip()
        if text.startswith("@") and (at := text.find(" /")) > 0:
            text = text[at + 1 :]  # a mention under another name (Zalo shows the one it likes)
        return text

    async def _handle(self, update: dict[str, Any]) -> None:
        incoming = self._incoming(update)
        on_message = self._on_message
        if incoming is None or on_message is None:
            return
        reply = replier(self.send, incoming.chat_id, log)
        if incoming.unreadable:  # no choice can be pressed with it: handed on as it is
            await on_message(incoming, reply)
            return
        if (
            incoming.chat_kind == "group"
            and not incoming.text.startswith("/")
            and self._choices.presses(incoming) is None
        ):
            return  # a reply to the bot that is no command
        await self._choices.dispatch(incoming, reply, on_message)

    # -- sending --------------------------------------------------------------------------

    def _outcome(self, chat_id: str, exc: ZaloError) -> DeliveryError:
        """Translate a client error into an outcome, by what Zalo's error table says the
        code means (:data:`.zalo_api.ERROR_TABLE`)."""
        if isinstance(exc, ZaloNetworkError):
            return RetryLater(f"Zalo unreachable: {exc}")
        assert isinstance(exc, ZaloApiError)
        match exc.meaning:
            case Meaning.QUOTA if exc.retry_after is not None:
                # Not in the docs: a 429 that says when is a rate limit, and passes.
                return RetryLater(f"Zalo: {exc}", after=exc.retry_after, scope="channel")
            case Meaning.QUOTA:
                log.error("zalo: Zalo says the plan's message quota is spent (429)")
                return QuotaSpent(f"Zalo: quota exceeded: {exc}")
            case Meaning.TOKEN:
                # A token revoked while running: every send fails the same way until an
                # operator fixes it, so hold the queue rather than reject each message.
                log.error("zalo: the bot token was refused while sending; check ZALO_BOT_TOKEN")
                return ChannelDown(f"Zalo refused the token: {exc}", after=AUTH_RETRY)
            case Meaning.NOT_FOUND:
                return self._not_found_outcome(chat_id, exc)
            case Meaning.SERVER | Meaning.TIMEOUT:
                return RetryLater(f"Zalo server error: {exc}", after=exc.retry_after)
        return Rejected(f"Zalo: {exc}")

    def _not_found_outcome(self, chat_id: str, exc: ZaloApiError) -> DeliveryError:
        """A 404 may be Zalo's passing trouble: the chat is gone only when 404s come at least
        NOT_FOUND_GAP apart with no success between (a success forgets the first)."""
        now = self._monotonic()
        first: float | None = self._not_found.get(chat_id)
        if first is None:
            self._not_found.put(chat_id, now)
            return RetryLater(f"Zalo: chat not found (once): {exc}", after=NOT_FOUND_RETRY)
        if now - first < NOT_FOUND_GAP:
            wait = NOT_FOUND_GAP - (now - first)
            return RetryLater(f"Zalo: chat not found (again, too soon): {exc}", after=wait)
        self._not_found.pop(chat_id, None)
        return ChatUnreachable(f"Zalo: chat not found twice, {now - first:.0f} s apart: {exc}")

    async def send(self, chat_id: str, message: OutMessage) -> str | None:
        """Send ``message`` as one or more plain texts; return the last one's message id.

        A failure after the first piece raises the outcome too, so a retry repeats the pieces
        already sent (as on Telegram).
        """
        text = render(message)
        if not text.strip():
            raise Rejected("Zalo: empty message")
        sent_id: str | None = None
        for piece in self.capabilities.split(text)[0]:
            try:
                result = await self.client.send_message(chat_id, piece)
            except ZaloError as exc:
                raise self._outcome(chat_id, exc) from exc
            if self.on_api_send is not None:
                await self.on_api_send(1)
            message_id = result.get("message_id")
            sent_id = str(message_id) if message_id not in (None, "") else None
        self._not_found.pop(chat_id, None)
        self._choices.offer(chat_id, message)
        return sent_id

    async def edit(self, chat_id: str, message_id: str, message: OutMessage) -> None:
        """Zalo cannot edit a sent message; sending a new one each time would spend the
        monthly quota on progress reports, so this does nothing."""
        log.debug("zalo: edit of %s in %s skipped (Zalo has no edits)", message_id, chat_id)
