"""The admins' chats: which they are, and the alerts queued to them through the outbox.

Admins are ``BANTIN_ADMINS`` plus, where the console runs, its local user. An alert goes to
every admin chat on a channel that runs, in the chat's language.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, tzinfo

from bot.chat.render import local_date
from bot.i18n import t
from bot.ops.redact import redact
from storage.store import Store

#: the longest value (a reason, a source's error) an alert quotes
VALUE_LIMIT = 300


class AdminAlerts:
    """Queues alerts (``await alerts(key, values)``) to the admin chats of running channels."""

    def __init__(
        self,
        store: Store,
        admins: frozenset[tuple[str, str]],
        channels: Collection[str],
        *,
        tz: tzinfo,
        clock: Callable[[], datetime],
        on_queued: Callable[[], None],
    ) -> None:
        self.store = store
        self.admins = admins
        #: the admin chats that can be reached: those on a channel that runs
        self.chats = sorted((ch, cid) for ch, cid in admins if ch in channels)
        self.tz = tz
        self.clock = clock
        #: called after alerts were queued (wakes the delivery engine)
        self.on_queued = on_queued

    async def register(self) -> None:
        """Make sure every reachable admin chat exists, so alerts reach it before it speaks."""
        now = self.clock()
        for channel, chat_id in self.chats:
            await self.store.upsert_chat(channel, chat_id, now)

    async def __call__(self, key: str, values: dict[str, object]) -> None:
        """Queue the message ``key`` of bot.i18n, filled with ``values``, to every admin chat.

        Texts among the values are redacted and capped: a reason quotes a platform's answer.
        """
        values = {k: self._shown(v) for k, v in values.items()}
        for lang in ("vi", "en"):
            chats = []
            for ch, cid in self.chats:
                chat = await self.store.get_chat(ch, cid)
                if chat is not None and chat.language == lang:
                    chats.append((ch, cid))
            if chats:
                text = redact(t(lang, key, **values), limit=None)
                await self.store.enqueue_message("alert", text, self.clock(), chats=chats)
        self.on_queued()

    def _shown(self, value: object) -> object:
        if isinstance(value, datetime):
            return local_date(value, self.tz, with_time=True)
        return redact(value, limit=VALUE_LIMIT) if isinstance(value, str) else value
