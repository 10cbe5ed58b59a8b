"""Command replies under the platform's limits: paced by the channel's sender limiter, sent
again after a flood-control wait, and rationed per chat
(:class:`bot.delivery.ratelimit.CommandBudget`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from bot.channels.base import OutMessage, Reply, RetryLater
from bot.delivery.ratelimit import RateLimiter

log = logging.getLogger(__name__)

#: the longest a reply waits for flood control before it is given up (and logged)
REPLY_MAX_WAIT = 60.0
#: sends of one reply after flood-control answers
REPLY_TRIES = 3


def paced(
    reply: Reply,
    limiter: Callable[[], RateLimiter | None],
    chat_id: str,
    *,
    group: bool,
) -> Reply:
    """``reply`` through the channel's limiter. A reply books the earliest free slot, like a
    push; pushes book at most the sender's concurrency ahead, so a fan-out delays a reply by
    a fraction of a second and never starves it, and together they stay under the rate. A
    429 waits ``retry_after`` (bounded) and the reply is sent again."""

    async def send(out: OutMessage) -> str | None:
        for attempt in range(1, REPLY_TRIES + 1):
            current = limiter()
            if current is not None:
                wait = current.reserve(chat_id, group=group, reply=True)
                if wait > 0:
                    await asyncio.sleep(min(wait, REPLY_MAX_WAIT))
                await current.depart()
            try:
                return await reply(out)
            except RetryLater as exc:
                after = exc.after or 1.0
                if current is not None:
                    if exc.scope == "channel":
                        current.block_all(after)
                    else:
                        current.block_chat(chat_id, after)
                if after > REPLY_MAX_WAIT or attempt == REPLY_TRIES:
                    log.warning("reply to %s given up after flood control: %s", chat_id, exc)
                    return None
                log.info("reply to %s waits %.0f s for flood control", chat_id, after)
                if current is None:
                    await asyncio.sleep(after)
        return None

    return send


def limiter_of(senders: Mapping[str, object], channel: str) -> Callable[[], RateLimiter | None]:
    """The current limiter of ``channel``'s sender (tests swap it), or None."""

    def get() -> RateLimiter | None:
        sender = senders.get(channel)
        return getattr(sender, "limiter", None)

    return get
