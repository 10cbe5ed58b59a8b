"""Telegram adapter on python-telegram-bot 22, running inside our own event loop.

The PTB :class:`~telegram.ext.Application` is initialised and started by :meth:`start` (never
``run_polling``, which would own the loop). Updates arrive by long polling, or, when a
webhook URL is configured, through :meth:`webhook_endpoint` mounted on the bot's own HTTP
server (the secret header is checked in constant time). Messages are Telegram HTML, split
on text boundaries to fit 4,096 characters. PTB's errors become the three outcomes of
:mod:`bot.channels.base`; nothing above this module sees ``telegram.error``.
"""

from __future__ import annotations

import os

# PTB 22 reports RetryAfter.retry_after as an int with a deprecation warning unless this is
# set, in which case it is a timedelta (the future behaviour); _seconds() reads both.
os.environ.setdefault("PTB_TIMEDELTA", "1")

import contextlib
import dataclasses
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.error import (
    ChatMigrated as PTBChatMigrated,
)
from telegram.ext import Application, ApplicationBuilder, TypeHandler
from telegram.request import HTTPXRequest

from bot.channels.base import (
    Capabilities,
    ChannelDown,
    ChatMigrated,
    ChatUnreachable,
    Incoming,
    OnMessage,
    OutMessage,
    Rejected,
    Reply,
    RetryLater,
    ThreadGone,
    visible_length,
)
from bot.channels.common import refuse_without_secret, replier, webhook_path
from bot.channels.telegram_updates import IntakeBot, TelegramUpdates, UpdateIntake
from bot.ops.redact import register_secret

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
#: the Bot API's published limits: ~30 messages a second in all, one a second to a private
#: chat, 20 a minute to a group
CAPABILITIES = Capabilities(
    title="Telegram",
    text_limit=MAX_TEXT,
    markup="html",
    caption_limit=MAX_CAPTION,
    rate=30.0,
    private_interval=1.0,
    group_per_minute=20,
    buttons=True,
    photos=True,
    link_previews=True,
    edits=True,
    inline=True,
    chat_kinds=("private", "group", "channel"),
)
#: first wait before trying a refused token again (the sender backs off from there)
TOKEN_RETRY = 30.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query", "channel_post", "inline_query", "my_chat_member"]

#: BadRequest descriptions that mean the forum topic is gone, not the group
_THREAD_GONE = ("topic_closed", "message thread not found", "topic_deleted", "topic_id_invalid")

#: BadRequest descriptions that mean the chat is gone rather than the message being wrong
# PTB lower-cases descriptions after the first letter, so these are compared lower-case.
_UNREACHABLE = (
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "not enough rights to send",
    "have no rights to send",
    "group chat was deactivated",
    "peer_id_invalid",
)


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def outcome(exc: TelegramError) -> Exception:
    """Translate a PTB error into RetryLater, ChatUnreachable (or ChatMigrated), or Rejected."""
    if isinstance(exc, InvalidToken):  # 401, or a 404 from a proxy: the bot, not the message
        return ChannelDown(f"Telegram refused the token: {exc.message}", after=TOKEN_RETRY)
    if isinstance(exc, RetryAfter):
        return RetryLater(f"Telegram flood control: {exc.message}", after=_seconds(exc.retry_after))
    if isinstance(exc, PTBChatMigrated):
        return ChatMigrated(exc.message, new_chat_id=str(exc.new_chat_id))
    if isinstance(exc, Forbidden):
        return ChatUnreachable(exc.message)
    if isinstance(exc, BadRequest):
        text = exc.message.lower()
        if any(marker in text for marker in _THREAD_GONE):
            return ThreadGone(exc.message)
        if any(marker in text for marker in _UNREACHABLE):
            return ChatUnreachable(exc.message)
        return Rejected(exc.message)
    if isinstance(exc, (TimedOut, NetworkError)):
        return RetryLater(f"Telegram unreachable: {exc.message}")
    return Rejected(f"{type(exc).__name__}: {exc.message}")


class TelegramChannel(TelegramUpdates):
    """The ``telegram`` channel. ``base_url`` is the Bot API root (``https://api.telegram.org``)."""

    name = "telegram"
    capabilities = CAPABILITIES

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "https://api.telegram.org",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        menu: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        poll_timeout: int = 30,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        pool_size: int = 64,
        rate: float | None = None,
        on_update_skipped: Callable[[], None] | None = None,
    ) -> None:
        if rate is not None:  # a configured rate replaces the published one
            self.capabilities = dataclasses.replace(CAPABILITIES, rate=rate)
        register_secret(token)  # no error text, log line or page may show them
        register_secret(webhook_secret)
        base_url = base_url.rstrip("/")
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.menu = dict(menu or {})
        self.poll_timeout = poll_timeout
        self.username = ""
        self._on_message: OnMessage | None = None
        #: what comes in: unparseable updates skipped (and counted), repeats dropped
        self.intake = UpdateIntake(on_update_skipped)
        bot = IntakeBot(
            token,
            intake=self.intake,
            base_url=f"{base_url}/bot",
            base_file_url=f"{base_url}/file/bot",
            # Sends come from many outbox workers at once: a pool as large as our concurrency.
            request=HTTPXRequest(
                connection_pool_size=pool_size,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                write_timeout=read_timeout,
            ),
            get_updates_request=HTTPXRequest(
                connect_timeout=connect_timeout, read_timeout=poll_timeout + read_timeout
            ),
        )
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = ApplicationBuilder().bot(bot)
        if webhook_url:
            builder = builder.updater(None)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.application.add_handler(TypeHandler(Update, self._dispatch))
        self.application.add_error_handler(self._on_error)

    @property
    def webhook_path(self) -> str | None:
        """Path of the webhook URL, where the application mounts :meth:`webhook_endpoint`."""
        return webhook_path(self.webhook_url)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, on_message: OnMessage) -> None:
        self._on_message = on_message
        app = self.application
        await app.initialize()  # calls getMe: a bad token fails here
        self.username = app.bot.username or ""
        await self._register_menu()
        await app.start()
        if self.webhook_url:
            await app.bot.set_webhook(
                self.webhook_url, secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES
            )
            log.info("telegram: webhook mode, updates at %s", self.webhook_path)
        else:
            await app.bot.delete_webhook()
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
            )
            log.info("telegram: long polling as @%s", self.username)

    async def stop(self) -> None:
        app = self.application
        with contextlib.suppress(Exception):
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
        with contextlib.suppress(Exception):
            if app.running:
                await app.stop()
        with contextlib.suppress(Exception):
            await app.shutdown()

    async def _register_menu(self) -> None:
        try:
            for lang, items in self.menu.items():
                commands = [BotCommand(cmd, desc) for cmd, desc in items]
                await self.application.bot.set_my_commands(commands, language_code=lang)
                if lang == "vi":  # the default menu, for clients in any other language
                    await self.application.bot.set_my_commands(commands)
        except TelegramError as exc:
            log.warning("telegram: could not register the command menu: %s", exc)

    # -- receiving ------------------------------------------------------------------------

    async def webhook_endpoint(self, request: Request) -> Response:
        """Starlette endpoint for Telegram's webhook POSTs."""
        refused = refuse_without_secret(request, SECRET_HEADER, self.webhook_secret)
        if refused is not None:
            return refused
        # Telegram sends again whatever is not answered 2xx: an update that cannot be parsed
        # (skipped, logged, counted) or one seen before is acknowledged all the same.
        try:
            data: Any = await request.json()
        except ValueError as exc:
            self.intake.skip(None, "(not JSON)", exc)
            return JSONResponse({"ok": True})
        update = self.intake.admit(data, self.application.bot)
        if update is not None:
            await self.application.update_queue.put(update)
        return JSONResponse({"ok": True})

    async def _on_error(self, update: object, context: Any) -> None:
        log.error(
            "telegram: error while handling an update: %s", context.error, exc_info=context.error
        )

    async def _dispatch(self, update: Update, context: Any) -> None:
        if self._on_message is None:
            return
        if update.callback_query is not None:
            await self._on_callback(update)
            return
        if update.inline_query is not None:
            await self._on_inline_query(update)
            return
        if update.my_chat_member is not None:
            await self._on_my_chat_member(update)
            return
        if update.channel_post is not None:
            await self._on_channel_post(update)
            return
        message = update.message
        if message is None or message.chat is None:
            return
        chat = message.chat
        if message.migrate_to_chat_id:
            await self._on_message(
                Incoming(
                    channel=self.name,
                    chat_id=str(chat.id),
                    text="",
                    migrate_to_chat_id=str(message.migrate_to_chat_id),
                    chat_kind="group",
                ),
                self._replier(str(message.migrate_to_chat_id)),
            )
            return
        text = message.text or ""
        if not text or chat.type == "channel":
            return
        kind = "private" if chat.type == "private" else "group"
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            _, at, target = command.partition("@")
            if at and self.username and target.lower() != self.username.lower():
                return  # "/start@otherbot" in a group is not for us
        elif kind == "group":
            return
        user = message.from_user
        user_id = user.id if user else None

        async def is_admin() -> bool:
            if user_id is None:
                return False
            try:
                member = await self.application.bot.get_chat_member(chat.id, user_id)
            except TelegramError:
                return False
            return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

        thread_id = (
            str(message.message_thread_id)
            if message.is_topic_message and message.message_thread_id
            else None
        )
        incoming = Incoming(
            channel=self.name,
            chat_id=str(chat.id),
            text=text,
            user_id=str(user_id) if user_id is not None else "",
            user_name=(user.full_name if user else ""),
            chat_kind=kind,
            chat_title=chat.title or chat.full_name or "",
            language_code=user.language_code if user else None,
            chat_admin_check=is_admin if kind == "group" else None,
            thread_id=thread_id,
            channel_check=(
                functools.partial(self.check_channel, user_id=user_id)
                if kind == "private" and user_id is not None
                else None
            ),
        )
        await self._on_message(incoming, self._replier(str(chat.id), thread_id))

    def _replier(self, chat_id: str, thread_id: str | None = None) -> Reply:
        send = replier(self.send, chat_id, log)
        if thread_id is None:
            return send

        async def in_thread(out: OutMessage) -> str | None:
            # An answer to a command written in a forum topic belongs in that topic.
            return await send(dataclasses.replace(out, thread_id=out.thread_id or thread_id))

        return in_thread

    # -- sending --------------------------------------------------------------------------

    @staticmethod
    def _markup(message: OutMessage) -> InlineKeyboardMarkup | None:
        if not message.choices:
            return None
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(c.label, callback_data=c.data) for c in row]
                for row in message.choices
            ]
        )

    def _pieces(self, message: OutMessage) -> tuple[list[str], str | None]:
        """The message as Telegram texts and their parse mode."""
        pieces, is_html = self.capabilities.split(message.text, message.html)
        return pieces, ParseMode.HTML if is_html else None

    async def send(self, chat_id: str, message: OutMessage) -> str | None:
        bot = self.application.bot
        preview = LinkPreviewOptions(is_disabled=not message.link_preview)
        thread = int(message.thread_id) if message.thread_id else None
        try:
            pieces, mode = self._pieces(message)
            sent_id: str | None = None
            if message.photo is not None:
                caption = (
                    pieces[0]
                    if len(pieces) == 1
                    and visible_length(pieces[0]) <= self.capabilities.caption_limit
                    else None
                )
                if caption is None:
                    for i, piece in enumerate(pieces):
                        markup = self._markup(message) if i == len(pieces) - 1 else None
                        await bot.send_message(
                            chat_id,
                            piece,
                            parse_mode=mode,
                            reply_markup=markup,
                            link_preview_options=preview,
                            message_thread_id=thread,
                        )
                sent = await bot.send_photo(
                    chat_id,
                    message.photo,
                    caption=caption,
                    parse_mode=mode,
                    message_thread_id=thread,
                )
                return str(sent.message_id)
            for i, piece in enumerate(pieces):
                # Buttons belong under the last piece, where the reader ends up.
                markup = self._markup(message) if i == len(pieces) - 1 else None
                sent = await bot.send_message(
                    chat_id,
                    piece,
                    parse_mode=mode,
                    reply_markup=markup,
                    link_preview_options=preview,
                    message_thread_id=thread,
                )
                sent_id = str(sent.message_id)
            return sent_id
        except TelegramError as exc:
            raise outcome(exc) from exc

    async def edit(self, chat_id: str, message_id: str, message: OutMessage) -> None:
        pieces, mode = self._pieces(message)
        try:
            await self.application.bot.edit_message_text(
                pieces[0],
                chat_id=chat_id,
                message_id=int(message_id),
                parse_mode=mode,
                reply_markup=self._markup(message),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                log.warning(
                    "telegram: could not edit message %s in %s: %s", message_id, chat_id, exc
                )
        except TelegramError as exc:
            log.warning("telegram: could not edit message %s in %s: %s", message_id, chat_id, exc)
