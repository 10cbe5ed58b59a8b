"""Monthly message quotas per channel (Zalo's free plan): counting, warnings, forced digest.

Every message a platform accepted is counted in the database (so all instances share one
count); at QUOTA_WARN % the admins are warned once, at QUOTA_DIGEST % instant pushes become a
daily digest until the month ends, so the month does not run dry.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, tzinfo

from bot.ops.alerts import Alert
from storage.store import Store

#: percent of a monthly quota at which the admins are warned, and at which instant pushes
#: become a daily digest
QUOTA_WARN = 80
QUOTA_DIGEST = 95


class QuotaTracker:
    """The quotas of the channels that have one (``limits``: channel -> messages a month)."""

    def __init__(
        self,
        store: Store,
        limits: Mapping[str, int],
        *,
        clock: Callable[[], datetime],
        tz: tzinfo,
        digest_time: str,
        alert: Alert,
    ) -> None:
        self.store = store
        self.limits = {channel: quota for channel, quota in limits.items() if quota}
        self.clock = clock
        self.tz = tz
        self.digest_time = digest_time
        self.alert = alert
        #: channel -> (month, above QUOTA_DIGEST %) as last counted by this instance
        self._state: dict[str, tuple[str, bool]] = {}

    def month(self) -> str:
        """The current month in the bot's time zone, as the usage table keys it."""
        return self.clock().astimezone(self.tz).strftime("%Y-%m")

    async def load(self) -> None:
        """Read this month's usage, so a restart above QUOTA_DIGEST % stays in digest mode."""
        month = self.month()
        for channel, quota in self.limits.items():
            sent = (await self.store.usage(channel, month)).sent
            self._state[channel] = (month, sent >= quota * QUOTA_DIGEST / 100)

    def forced_digest(self, channel: str) -> str | None:
        """The forced digest time while ``channel`` is above QUOTA_DIGEST % of its quota."""
        month, over = self._state.get(channel, ("", False))
        if over and month == self.month():
            return self.digest_time
        return None

    def digest_hooks(self) -> dict[str, Callable[[], str | None]]:
        """channel -> the callable the delivery engine asks for a forced digest time."""
        return {channel: functools.partial(self.forced_digest, channel) for channel in self.limits}

    def counter(self, channel: str) -> Callable[[int], Awaitable[None]]:
        """The ``on_api_send`` callable an adapter calls with each accepted message count."""
        return functools.partial(self.count, channel)

    async def count(self, channel: str, sent: int = 1) -> None:
        """Add ``sent`` messages to this month's usage; warn and switch to digest on thresholds."""
        quota = self.limits.get(channel)
        if not quota:
            return
        month = self.month()
        total = await self.store.add_usage(channel, month, sent)
        percent = total * 100 / quota
        self._state[channel] = (month, percent >= QUOTA_DIGEST)
        thresholds = ((QUOTA_WARN, "alert_quota_warn"), (QUOTA_DIGEST, "alert_quota_digest"))
        for threshold, key in thresholds:
            if percent < threshold:
                continue
            if await self.store.mark_usage_warned(channel, month, threshold):
                await self.alert(
                    key,
                    {
                        "channel": channel,
                        "sent": total,
                        "quota": quota,
                        "percent": int(percent),
                        "time": self.digest_time,
                    },
                )
