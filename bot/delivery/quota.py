"""Monthly message quotas per channel (Zalo's free plan): the plan's limits, counting,
warnings, the forced digest, and when the period rolls over.

Every message a platform accepted is counted in the database (so all instances share one
count); at QUOTA_WARN % the admins are warned once, at QUOTA_DIGEST % instant pushes become a
daily digest until the month ends, so the month does not run dry. The period is the calendar
month in the bot's time zone, here and nowhere else.

``channel_usage`` holds one row per channel and month; two more rows per quota channel
share the table under derived names: ``<channel>:replies`` (the messages spent on command
replies, see :mod:`bot.delivery.allowance`) and ``<channel>:users`` (only its ``warned``
column: the user cap's alerts).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from bot.ops.alerts import Alert
from storage.store import Store

if TYPE_CHECKING:
    from bot.settings import Settings

#: percent of a monthly quota at which the admins are warned, and at which instant pushes
#: become a daily digest
QUOTA_WARN = 80
QUOTA_DIGEST = 95
#: a platform that still says "quota spent" this soon after our month began may count its
#: month in another zone (UTC begins 7 hours after Hanoi): it is asked again after PROBE_EARLY
EARLY_IN_PERIOD = timedelta(days=1)
PROBE_EARLY = 3600.0


def replies_key(channel: str) -> str:
    """The usage row counting the messages ``channel`` spent on command replies."""
    return f"{channel}:replies"


def users_key(channel: str) -> str:
    """The usage row whose ``warned`` records the user cap's alerts on ``channel``."""
    return f"{channel}:users"


@dataclass(frozen=True)
class Plan:
    """What a platform's plan lets the bot spend, and how it is shared out (0: no limit)."""

    #: messages a month, every kind together
    monthly_quota: int = 0
    #: chats that may use the bot at once ("users": chats known and active)
    max_users: int = 0
    #: messages one chat may be answered with a day, the one notice included
    daily_replies: int = 0
    #: share of ``monthly_quota`` that replies can never spend (kept for pushes)
    push_reserve: float = 0.0

    @property
    def reply_cap(self) -> int | None:
        """Messages replies may spend in a month; None: no cap."""
        if not self.monthly_quota:
            return None
        return int(self.monthly_quota * (1.0 - self.push_reserve))


def plans_of(settings: Settings) -> dict[str, Plan]:
    """The plans the settings describe: Zalo's (ZALO_MONTHLY_QUOTA, ZALO_MAX_USERS,
    ZALO_DAILY_REPLIES, ZALO_PUSH_RESERVE) when its token is set."""
    z = settings.zalo
    if not z.bot_token:
        return {}
    return {"zalo": Plan(z.monthly_quota, z.max_users, z.daily_replies, z.push_reserve)}


@dataclass(frozen=True)
class PlanUsage:
    """One quota channel this month against its plan (``/stats``, the console's dashboard)."""

    channel: str
    month: str
    sent: int
    quota: int
    replies: int
    reply_cap: int | None
    users: int
    max_users: int

    @property
    def percent(self) -> int:
        return int(self.sent * 100 / self.quota) if self.quota else 0

    @property
    def users_percent(self) -> int:
        return int(self.users * 100 / self.max_users) if self.max_users else 0


class QuotaTracker:
    """The plans of the channels that have one (``plans``: channel -> :class:`Plan`)."""

    def __init__(
        self,
        store: Store,
        plans: Mapping[str, Plan],
        *,
        clock: Callable[[], datetime],
        tz: tzinfo,
        digest_time: str,
        alert: Alert,
    ) -> None:
        self.store = store
        self.plans = dict(plans)
        #: channel -> messages a month, for the channels with a quota
        self.limits = {ch: plan.monthly_quota for ch, plan in plans.items() if plan.monthly_quota}
        self.clock = clock
        self.tz = tz
        self.digest_time = digest_time
        self.alert = alert
        #: channel -> (month, above QUOTA_DIGEST %) as last counted by this instance
        self._state: dict[str, tuple[str, bool]] = {}

    def month(self) -> str:
        """The current month in the bot's time zone, as the usage table keys it."""
        return self.clock().astimezone(self.tz).strftime("%Y-%m")

    def rollover_at(self) -> datetime:
        """When the next period begins: the first of next month, 00:00 in the bot's zone."""
        local = self.clock().astimezone(self.tz)
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (start + timedelta(days=32)).replace(day=1).astimezone(UTC)

    def resets_in(self) -> float:
        """Seconds a channel whose quota is spent waits before it tries again: until the
        period rolls over, or PROBE_EARLY in the first day of a period (see EARLY_IN_PERIOD)."""
        now = self.clock()
        local = now.astimezone(self.tz)
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        if now - start.astimezone(UTC) < EARLY_IN_PERIOD:
            return PROBE_EARLY
        return max(1.0, (self.rollover_at() - now).total_seconds())

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

    async def report(self) -> list[PlanUsage]:
        """Every planned channel this month: messages, replies and users against the plan."""
        return await plan_usage(self.store, self.plans, self.month())


async def plan_usage(store: Store, plans: Mapping[str, Plan], month: str) -> list[PlanUsage]:
    """Each channel of ``plans`` in ``month`` (``YYYY-MM``, local): messages, replies and
    users against its plan. The one count ``/stats`` and the web console show."""
    users = await store.active_chats_by_channel() if plans else {}
    out = []
    for channel, plan in sorted(plans.items()):
        out.append(
            PlanUsage(
                channel=channel,
                month=month,
                sent=(await store.usage(channel, month)).sent,
                quota=plan.monthly_quota,
                replies=(await store.usage(replies_key(channel), month)).sent,
                reply_cap=plan.reply_cap,
                users=users.get(channel, 0),
                max_users=plan.max_users,
            )
        )
    return out
