"""The admin-alert callable that jobs are handed: ``await alert(message_key, values)``.

The poller (a source broke or recovered), the delivery engine (a channel's trouble) and the
quota accounting raise alerts; the application queues them to the admins' chats.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

#: ``alert(key, values)``: ``key`` names a message of bot.i18n, ``values`` fill it in
Alert = Callable[[str, dict[str, object]], Awaitable[None]]
