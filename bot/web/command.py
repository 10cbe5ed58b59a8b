"""The ``/web`` chat command: an admin gets a one-time sign-in link to the console, in a
private chat only (a link posted in a group would let its members sign in)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.channels.base import Incoming, OutMessage
from bot.i18n import t
from bot.web.auth import admin_key, issue_link
from storage.records import Chat
from storage.store import Store


def web_command(
    store: Store,
    admins: frozenset[tuple[str, str]],
    base_url: Callable[[], str],
    clock: Callable[[], datetime],
) -> Callable[[Incoming, Chat, str], Awaitable[list[OutMessage]]]:
    """The handler of ``/web`` (the dispatcher has already checked the sender is an admin)."""

    async def handle(msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if msg.chat_kind == "group":
            return [OutMessage(t(chat.language, "web_command_private"))]
        user = (msg.channel, msg.user_id or "")
        admin = admin_key(*user) if user in admins else admin_key(msg.channel, msg.chat_id)
        url = await issue_link(store, admin, base_url(), clock())
        return [OutMessage(t(chat.language, "web_command_link", url=url), link_preview=False)]

    return handle
