"""Telegram updates: how they come in (:class:`UpdateIntake`, :class:`IntakeBot`: one the
library cannot parse is skipped, one sent again is dropped), and those other than a member's
message: button presses, posts in channels the bot administers, the bot leaving a channel,
inline queries (``@bot words``) answered with article cards; and the channel look-up behind
``/channel add``. Mixed into :class:`bot.channels.telegram.TelegramChannel`; nothing here
leaks above the adapter.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.channels.base import ChannelCheck, Incoming, OnMessage, OutMessage, Reply
from bot.channels.common import SEEN_MEMORY, RecentIds
from bot.ops.redact import redact

log = logging.getLogger(__name__)

#: how much of an update that cannot be parsed goes into the log
SKIPPED_LOG_LIMIT = 500


class UpdateIntake:
    """Every update, polled or posted to the webhook, passes here before PTB handles it.

    Each is parsed on its own: one the library cannot parse (a field of a newer Bot API, a
    malformed answer) is logged, counted (``on_skipped``) and skipped, and the updates after
    it are still handled. One whose ``update_id`` was seen recently is dropped: Telegram
    sends a webhook update again when our answer failed or was late. ``next_offset`` is one
    past the highest id seen, so getUpdates moves past updates that were dropped.
    """

    def __init__(
        self, on_skipped: Callable[[], None] | None = None, *, memory: int = SEEN_MEMORY
    ) -> None:
        self.on_skipped = on_skipped
        self.seen = RecentIds(memory)
        #: updates skipped because they could not be parsed
        self.skipped = 0
        self.next_offset = 0

    def admit(self, data: object, bot: Any) -> Update | None:
        """The update in ``data``, or None: it cannot be parsed (logged, counted) or it was
        seen before."""
        if not isinstance(data, dict):
            self.skip(None, data, TypeError(f"an update is an object, not {type(data).__name__}"))
            return None
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            update_id = None
        else:
            self.next_offset = max(self.next_offset, update_id + 1)
        try:
            update = Update.de_json(data, bot)
        except Exception as exc:
            self.skip(update_id, data, exc)
            return None
        if update_id is not None and not self.seen.first_sight(str(update_id)):
            log.info("telegram: update %s came again; handled once", update_id)
            return None
        return update

    def skip(self, update_id: int | None, data: object, exc: Exception) -> None:
        """Log (redacted, cut short) and count an update that cannot be handled."""
        self.skipped += 1
        try:
            shown = json.dumps(data, ensure_ascii=False)
        except (TypeError, ValueError):
            shown = repr(data)
        log.warning(
            "telegram: skipped update %s, which the library cannot read (%s: %s): %s",
            update_id,
            type(exc).__name__,
            redact(exc, limit=200),
            redact(shown, limit=SKIPPED_LOG_LIMIT),
        )
        if self.on_skipped is not None:
            self.on_skipped()


class IntakeBot(ExtBot[Any]):
    """PTB's bot, with getUpdates answers passed through an :class:`UpdateIntake`.

    PTB parses a getUpdates answer as a whole and asks for the same offset again when one
    update fails, hundreds of times a second and forever. Here the raw answer is sifted
    first (what PTB receives parses), and the offset asked for is never below the intake's.
    """

    def __init__(self, token: str, *, intake: UpdateIntake, **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        self._intake = intake

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        if endpoint != "getUpdates":
            return await super()._post(endpoint, data, **kwargs)
        data = dict(data or {})
        if self._intake.next_offset > (data.get("offset") or 0):
            data["offset"] = self._intake.next_offset
        result = await super()._post(endpoint, data, **kwargs)
        if not isinstance(result, list):
            return result
        out = []
        for item in result:
            if self._intake.admit(item, self) is not None:
                out.append(item)  # PTB parses it again: the same data, the same result
        return out


#: inline answers: Telegram takes at most 50 results; clients cache them this many seconds
MAX_INLINE_RESULTS = 50
INLINE_CACHE_SECONDS = 60


class TelegramUpdates:
    """Handlers for ``callback_query``, ``channel_post``, ``my_chat_member`` and
    ``inline_query`` updates."""

    name: str
    username: str
    application: Any
    _on_message: OnMessage | None
    _replier: Callable[..., Reply]
    _pieces: Callable[[OutMessage], tuple[list[str], str | None]]

    async def edit(self, chat_id: str, message_id: str, message: OutMessage) -> None:
        raise NotImplementedError

    async def _on_callback(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None and self._on_message is not None
        message = query.message
        with contextlib.suppress(TelegramError):
            await query.answer()
        if message is None or not hasattr(message, "chat"):
            return
        chat = message.chat
        kind = "private" if chat.type == "private" else "group"
        user = query.from_user

        async def is_admin() -> bool:
            try:
                member = await self.application.bot.get_chat_member(chat.id, user.id)
            except TelegramError:
                return False
            return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

        incoming = Incoming(
            channel=self.name,
            chat_id=str(chat.id),
            text="",
            user_id=str(user.id),
            user_name=user.full_name,
            chat_kind=kind,
            chat_title=chat.title or "",
            language_code=user.language_code,
            callback_data=query.data,
            chat_admin_check=is_admin if kind == "group" else None,
            thread_id=(
                str(getattr(message, "message_thread_id", ""))
                if getattr(message, "is_topic_message", False)
                else None
            ),
        )
        message_id = str(message.message_id)
        chat_id = str(chat.id)
        replies = 0
        send = self._replier(chat_id, incoming.thread_id)

        async def edit_in_place(out: OutMessage) -> str | None:
            # A tapped button updates its own message rather than adding a new one; what
            # follows (the latest articles of a topic just chosen) comes as new messages.
            nonlocal replies
            replies += 1
            if replies > 1:
                return await send(out)
            await self.edit(chat_id, message_id, out)
            return message_id

        await self._on_message(incoming, edit_in_place)

    async def _on_channel_post(self, update: Update) -> None:
        """A post in a channel the bot administers: commands from its admins are answered."""
        post = update.channel_post
        assert post is not None and self._on_message is not None
        text = post.text or ""
        if not text.startswith("/"):
            return
        command = text.split(maxsplit=1)[0]
        _, at, target = command.partition("@")
        if at and self.username and target.lower() != self.username.lower():
            return
        incoming = Incoming(
            channel=self.name,
            chat_id=str(post.chat.id),
            text=text,
            chat_kind="channel",
            chat_title=post.chat.title or "",
        )
        await self._on_message(incoming, self._replier(str(post.chat.id)))

    async def _on_my_chat_member(self, update: Update) -> None:
        """The bot's own membership changed; losing a channel deactivates it."""
        change = update.my_chat_member
        assert change is not None and self._on_message is not None
        if change.chat.type != "channel":
            return
        # Only an administrator can post in a channel: anything less ends our posting there.
        status = change.new_chat_member.status
        if status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER):
            return
        incoming = Incoming(
            channel=self.name,
            chat_id=str(change.chat.id),
            text="",
            chat_kind="channel",
            chat_title=change.chat.title or "",
            bot_removed=True,
        )
        await self._on_message(incoming, self._replier(str(change.chat.id)))

    async def _on_inline_query(self, update: Update) -> None:
        """``@bot words``: every reply becomes one article card, answered in one call."""
        query = update.inline_query
        assert query is not None and self._on_message is not None
        user = query.from_user
        cards: list[OutMessage] = []

        async def collect(out: OutMessage) -> str | None:
            cards.append(out)
            return None

        incoming = Incoming(
            channel=self.name,
            chat_id=str(user.id),
            text=query.query,
            user_id=str(user.id),
            user_name=user.full_name,
            chat_kind="inline",
            language_code=user.language_code,
            inline_query=query.query,
        )
        await self._on_message(incoming, collect)
        results = [
            self._inline_result(i, card) for i, card in enumerate(cards[:MAX_INLINE_RESULTS])
        ]
        try:
            await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=False)
        except TelegramError as exc:
            log.warning("telegram: could not answer an inline query: %s", exc)

    def _inline_result(self, index: int, card: OutMessage) -> InlineQueryResultArticle:
        pieces, mode = self._pieces(card)
        body = pieces[0]
        # Ids must be unique within one answer: the position keeps twin cards apart.
        digest = hashlib.sha256(card.text.encode("utf-8")).hexdigest()[:32]
        key = f"{index}-{digest}"
        lines = card.text.split("\n")
        return InlineQueryResultArticle(
            id=key,
            title=(card.title or lines[0])[:256],
            description=" ".join(lines[1:3])[:512],
            input_message_content=InputTextMessageContent(
                body, parse_mode=mode, link_preview_options=LinkPreviewOptions(is_disabled=False)
            ),
        )

    async def check_channel(self, ref: str, *, user_id: int) -> ChannelCheck:
        """Look a channel up by ``@name`` or id: is it a channel, are the bot and the member
        asking among its administrators? (getChat, then getChatMember twice)"""
        bot = self.application.bot
        admin = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
        target: int | str = int(ref) if re.fullmatch(r"-?\d+", ref) else ref
        try:
            chat = await bot.get_chat(target)
            me = await bot.get_chat_member(chat.id, bot.id)
            member = await bot.get_chat_member(chat.id, user_id)
        except TelegramError as exc:
            log.info("telegram: channel %s not usable: %s", ref, exc)
            return ChannelCheck(chat_id="")
        return ChannelCheck(
            chat_id=str(chat.id),
            title=chat.title or "",
            is_channel=chat.type == "channel",
            bot_is_admin=me.status in admin,
            user_is_admin=member.status in admin,
        )
