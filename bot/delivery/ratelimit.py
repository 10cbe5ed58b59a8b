"""Send pacing under a platform's published limits: booked slots, and departures that never
exceed the rate within any one-second window (:class:`RateLimiter`)."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.channels.base import Capabilities

#: the sliding window the global rate is counted in (Telegram: 30 messages in any second)
WINDOW = 1.0
#: a margin on the window, for the jitter between our departure and the server's arrival
WINDOW_MARGIN = 0.025


@dataclass(frozen=True)
class Limits:
    """A platform's published limits, enforced before sending."""

    rate: float = 30.0  # messages per second, whole bot
    private_interval: float = 1.0  # seconds between two messages to one private chat
    group_per_minute: int = 20  # messages per rolling minute to one group

    @classmethod
    def of(cls, capabilities: Capabilities) -> Limits:
        """The limits a channel declares in its capabilities."""
        return cls(
            rate=capabilities.rate,
            private_interval=capabilities.private_interval,
            group_per_minute=capabilities.group_per_minute,
        )


class RateLimiter:
    """Books send slots so that no limit is ever exceeded, however many senders ask at once.

    ``reserve`` returns how long to wait for the booked slot. The global rate is paced
    evenly (slots at least ``1/rate`` apart, no burst); a chat that must wait books a later
    slot without holding up the chats behind it. Booked slots alone do not hold under a
    strict sliding window: a send that leaves late and the next one on time fall closer than
    the gap. So ``depart`` is awaited right before the request leaves and counts what really
    left: never more than ``rate`` departures within any window of one second.
    """

    def __init__(
        self,
        limits: Limits,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self._gap = 1.0 / limits.rate if limits.rate > 0 else 0.0
        self._per_window = max(1, int(limits.rate * WINDOW)) if limits.rate > 0 else 0
        self._booked: list[float] = []  # future global slots, sorted
        self._departed: deque[float] = deque()  # when the last sends really left
        self._blocked_until = 0.0
        self._next_chat: dict[str, float] = {}
        self._chat_blocked: dict[str, float] = {}  # flood-control blocks (429) by chat
        self._group_sends: dict[str, deque[float]] = {}

    def _global_slot(self, earliest: float, now: float) -> float:
        booked = self._booked
        while booked and booked[0] < now - self._gap:
            booked.pop(0)
        at = earliest
        for slot in booked:
            if slot + self._gap <= at:
                continue
            if slot >= at + self._gap:
                break  # the gap before this slot fits us
            at = slot + self._gap
        bisect.insort(booked, at)
        return at

    def reserve(self, chat: str, *, group: bool, reply: bool = False) -> float:
        """Book the earliest slot for one message to ``chat``; seconds from now until it.

        A ``reply`` (the answer to a command someone just sent) keeps to the global rate and
        to flood-control blocks, not to the one-message-a-second pacing of pushes to a
        private chat: a conversation's answers go at once, and pushes wait after them.
        """
        now = self.clock()
        if reply and not group:
            at = max(now, self._blocked_until, self._chat_blocked.get(chat, 0.0))
            at = self._global_slot(at, now)
            self._next_chat[chat] = max(
                self._next_chat.get(chat, 0.0), at + self.limits.private_interval
            )
            return at - now
        at = max(now, self._blocked_until, self._next_chat.get(chat, 0.0))
        if group:
            sent = self._group_sends.setdefault(chat, deque())
            while sent and sent[0] <= now - 60.0:
                sent.popleft()
            if len(sent) >= self.limits.group_per_minute:
                at = max(at, sent[-self.limits.group_per_minute] + 60.0)
        at = self._global_slot(at, now)
        if group:
            self._group_sends[chat].append(at)
        else:
            self._next_chat[chat] = at + self.limits.private_interval
        if len(self._next_chat) > 50_000:  # forget chats whose slot is long past
            self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}
        return at - now

    def departure_wait(self) -> float:
        """Seconds until one more request may leave without breaking the window (0: now)."""
        if not self._per_window:
            return 0.0
        now = self.clock()
        window = self._departed
        while window and window[0] <= now - WINDOW - WINDOW_MARGIN:
            window.popleft()
        wait = max(0.0, self._blocked_until - now)
        if len(window) >= self._per_window:
            wait = max(wait, window[-self._per_window] + WINDOW + WINDOW_MARGIN - now)
        return wait

    async def depart(self) -> None:
        """Wait until a request may leave, and count it as leaving now."""
        while (wait := self.departure_wait()) > 0:
            await self.sleep(wait)
        if self._per_window:
            self._departed.append(self.clock())

    def block_chat(self, chat: str, seconds: float) -> None:
        """The platform asked us to leave this chat alone for ``seconds``."""
        until = self.clock() + seconds
        self._next_chat[chat] = max(self._next_chat.get(chat, 0.0), until)
        self._chat_blocked[chat] = max(self._chat_blocked.get(chat, 0.0), until)
        if len(self._chat_blocked) > 10_000:
            now = self.clock()
            self._chat_blocked = {k: v for k, v in self._chat_blocked.items() if v > now}

    def block_all(self, seconds: float) -> None:
        """The platform asked the whole bot to pause for ``seconds``."""
        self._blocked_until = max(self._blocked_until, self.clock() + seconds)


class CommandBudget:
    """Commands one chat may send: ``per_minute``, refilled evenly (a token bucket holding a
    minute's worth). Over budget the chat hears once that it should slow down, then nothing
    until the budget refills, so a member cannot make the bot spend the platform's quota."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float, bool]] = {}

    def take(self, channel: str, chat: str) -> str:
        """``"ok"`` (answer it), ``"warn"`` (answer only that it is too fast) or ``"drop"``."""
        now = self.clock()
        tokens, at, warned = self._buckets.get((channel, chat), (self.capacity, now, False))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[(channel, chat)] = (tokens - 1.0, now, False)
            verdict = "ok"
        else:
            self._buckets[(channel, chat)] = (tokens, now, True)
            verdict = "drop" if warned else "warn"
        if len(self._buckets) > 100_000:  # forget chats whose bucket is full again
            full = now - self.capacity / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if v[1] > full}
        return verdict

    def seconds_to_next(self, channel: str, chat: str) -> int:
        tokens, _, _ = self._buckets.get((channel, chat), (self.capacity, 0.0, False))
        return max(1, round((1.0 - tokens) / self.rate))
