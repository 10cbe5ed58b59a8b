"""What members may cost a channel with a plan (Zalo's free plan: 50 users, 3,000 messages a
month): the user cap, a daily reply allowance per chat, replies of at most two parts, and a
share of the month that replies can never spend, kept for pushes.

:class:`ReplyAllowance` stands between a platform and the commands (``App.on_message``):
:meth:`~ReplyAllowance.admit` decides whether a message is answered at all (and sends, once a
day, the notice that says why not); :meth:`~ReplyAllowance.spend` makes the command's answers
one message of at most MAX_PARTS parts and counts it. Every message it lets out is counted
against the chat's day and the month's reply share *before* it goes, so a day never exceeds
the allowance, notices included.

The per-chat daily figures live in this instance's memory, like the per-minute command
budget (a restart forgets them: one more allowance at worst). The month's reply share is
counted in the database (``<channel>:replies`` in ``channel_usage``), so the push reserve
holds across instances and restarts.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from bot.channels.base import Capabilities, Channel, Incoming, OutMessage, Reply
from bot.channels.common import with_numbered_choices
from bot.delivery.quota import Plan, QuotaTracker, replies_key, users_key
from bot.i18n import pick_language, t
from bot.ops.alerts import Alert
from bot.ops.metrics import Metrics
from storage.store import Store

log = logging.getLogger(__name__)

#: messages one reply may take on a channel with a monthly quota (the rest is cut, with "…")
MAX_PARTS = 2
#: percent of the user cap at which the admins are warned (and told again at 100 %)
USERS_WARN = 80
#: chats whose day is remembered (the oldest are forgotten first)
CHAT_MEMORY = 50_000
#: characters of each part kept free when a reply is measured: what the adapter adds to the
#: text (a note for a photo it cannot send)
MARGIN = 60
#: the room of a chat without a daily allowance
UNLIMITED = 1_000_000


@dataclass
class _Day:
    """One chat's day: messages it was answered with, and the notices it was given."""

    day: str
    spent: int = 0
    told: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Ticket:
    """A message :meth:`ReplyAllowance.admit` let through, for :meth:`ReplyAllowance.spend`."""

    chat_id: str
    lang: str
    #: the chat was not among the users before this message (it may have joined now)
    joining: bool
    #: an admin's chat: no daily allowance and no user cap
    exempt: bool


class ReplyAllowance:
    """The plan of one channel applied to the members who write to it."""

    def __init__(
        self,
        channel: str,
        plan: Plan,
        *,
        store: Store,
        quota: QuotaTracker,
        capabilities: Capabilities,
        clock: Callable[[], datetime],
        tz: tzinfo,
        alert: Alert,
        is_admin: Callable[[Incoming], bool],
        join_link: Callable[[], str] = lambda: "",
        metrics: Metrics | None = None,
    ) -> None:
        self.channel = channel
        self.plan = plan
        self.store = store
        self.quota = quota
        self.capabilities = capabilities
        # Measured with a margin, so what the adapter adds cannot make a third part.
        self._measure = dataclasses.replace(
            capabilities, text_limit=max(100, capabilities.text_limit - MARGIN)
        )
        self.clock = clock
        self.tz = tz
        self.alert = alert
        self.is_admin = is_admin
        #: where a member goes when this channel is full (the Telegram bot), or ""
        self.join_link = join_link
        self.metrics = metrics
        self._days: OrderedDict[str, _Day] = OrderedDict()

    # -- admission ------------------------------------------------------------------------

    async def admit(self, msg: Incoming, reply: Reply) -> Ticket | None:
        """Whether ``msg`` is answered: a ticket for :meth:`spend`, or None when it is not
        (the chat was told why, at most once a day, within its allowance)."""
        chat = await self.store.get_chat(self.channel, msg.chat_id)
        lang = chat.language if chat is not None else pick_language(msg.language_code)
        if msg.unreadable:
            self._count("unreadable")
            await self._notice(msg.chat_id, "unreadable", reply, t(lang, "unreadable_message"))
            return None
        exempt = self.is_admin(msg)
        joining = chat is None or not chat.active
        if joining and not exempt and await self._full():
            self._count("full")
            log.info("%s: chat %s turned away, the channel is full", self.channel, msg.chat_id)
            await self._notice(msg.chat_id, "full", reply, self._full_text(lang))
            return None
        if not exempt and self._room(msg.chat_id) <= 0:
            self._count("allowance")
            text = t(lang, "replies_allowance_spent", count=self.plan.daily_replies)
            await self._notice(msg.chat_id, "allowance", reply, text)
            return None
        if await self._share_spent():
            self._count("replies_share")
            return None
        return Ticket(msg.chat_id, lang, joining=joining, exempt=exempt)

    async def spend(self, ticket: Ticket, outs: Sequence[OutMessage]) -> list[OutMessage]:
        """The answers of one command as they may go: on a quota channel one message of at
        most MAX_PARTS parts (cut with "…" and a pointer), within the chat's day and the
        month's reply share; [] when nothing may go."""
        if ticket.joining:
            await self._check_users()
        if not outs:
            return []
        room = UNLIMITED if ticket.exempt else self._room(ticket.chat_id)
        if room <= 0:
            return []
        if self.plan.monthly_quota:
            shaped = [self._shape(merge(outs), min(MAX_PARTS, room), ticket.lang)]
        else:
            shaped = list(outs)
        cost = sum(self._parts(out.text, out) for out in shaped)
        if not await self._reserve(cost):
            self._count("replies_share")
            return []
        self._day(ticket.chat_id).spent += cost
        return shaped

    async def users(self) -> int:
        """The channel's users: its chats known and active (a chat deactivated, because it
        became unreachable or by an admin, frees its place; a paused one keeps it)."""
        return (await self.store.active_chats_by_channel()).get(self.channel, 0)

    # -- the day --------------------------------------------------------------------------

    def _today(self) -> str:
        return self.clock().astimezone(self.tz).strftime("%Y-%m-%d")

    def _day(self, chat_id: str) -> _Day:
        today = self._today()
        day = self._days.get(chat_id)
        if day is None or day.day != today:
            day = _Day(today)
            self._days[chat_id] = day
            while len(self._days) > CHAT_MEMORY:
                self._days.popitem(last=False)
        self._days.move_to_end(chat_id)
        return day

    def _room(self, chat_id: str) -> int:
        """Messages the chat may still be answered with today, one kept for the notice."""
        if not self.plan.daily_replies:
            return UNLIMITED
        return self.plan.daily_replies - 1 - self._day(chat_id).spent

    async def _notice(self, chat_id: str, kind: str, reply: Reply, text: str) -> None:
        """Tell the chat ``text`` once today (``kind`` names the notice), if its day and the
        month's reply share still have a message for it."""
        day = self._day(chat_id)
        if kind in day.told:
            return
        day.told.add(kind)  # once, even if the send fails
        if self.plan.daily_replies and day.spent >= self.plan.daily_replies:
            return
        if not await self._reserve(1):
            return
        day.spent += 1
        await reply(OutMessage(text))

    # -- the month ------------------------------------------------------------------------

    async def _share_spent(self) -> bool:
        """Whether replies have spent their share of the month (the admins told once)."""
        cap = self.plan.reply_cap
        if cap is None:
            return False
        month = self.quota.month()
        if (await self.store.usage(replies_key(self.channel), month)).sent < cap:
            return False
        await self._tell_share_spent(cap, month)
        return True

    async def _reserve(self, cost: int) -> bool:
        """Count ``cost`` messages against the month's reply share before they go; False
        (nothing counted) when they would reach into the push reserve."""
        cap = self.plan.reply_cap
        if cap is None or cost <= 0:
            return True
        month = self.quota.month()
        key = replies_key(self.channel)
        if await self.store.add_usage(key, month, cost) <= cap:
            return True
        await self.store.add_usage(key, month, -cost)
        await self._tell_share_spent(cap, month)
        return False

    async def _tell_share_spent(self, cap: int, month: str) -> None:
        """Alert the admins, once a month, that commands go unanswered until it ends."""
        if not await self.store.mark_usage_warned(replies_key(self.channel), month, 100):
            return
        log.warning("%s: replies spent their share of the month (%d)", self.channel, cap)
        await self.alert(
            "alert_replies_spent",
            {
                "channel": self.capabilities.title,
                "cap": cap,
                "quota": self.plan.monthly_quota,
                "reserve": round(self.plan.push_reserve * 100),
                "until": self.quota.rollover_at(),
            },
        )

    # -- users ----------------------------------------------------------------------------

    async def _full(self) -> bool:
        return bool(self.plan.max_users) and await self.users() >= self.plan.max_users

    def _full_text(self, lang: str) -> str:
        link = self.join_link()
        key = "channel_full_link" if link else "channel_full"
        return t(lang, key, channel=self.capabilities.title, max=self.plan.max_users, link=link)

    async def _check_users(self) -> None:
        """Alert the admins once a month when the users reach USERS_WARN % and 100 %."""
        cap = self.plan.max_users
        if not cap:
            return
        users = await self.users()
        percent = users * 100 // cap
        if percent < USERS_WARN:
            return
        month = self.quota.month()
        key = users_key(self.channel)
        await self.store.add_usage(key, month, 0)  # the row that remembers the alerts
        for threshold, message in ((100, "alert_users_full"), (USERS_WARN, "alert_users_warn")):
            if percent < threshold:
                continue
            if await self.store.mark_usage_warned(key, month, threshold):
                values: dict[str, object] = {
                    "channel": self.capabilities.title,
                    "users": users,
                    "max": cap,
                    "percent": percent,
                }
                await self.alert(message, values)
            break  # the highest threshold reached says it all

    # -- shaping --------------------------------------------------------------------------

    def _parts(self, text: str, out: OutMessage) -> int:
        """Messages ``text`` (with ``out``'s choices, as the adapter renders them) takes."""
        if not self.capabilities.buttons:
            text = with_numbered_choices(text, out)
        return len(self._measure.split(text)[0])

    def _shape(self, out: OutMessage, parts: int, lang: str) -> OutMessage:
        """``out`` cut to ``parts`` messages, ending in "…" and where to read the rest."""
        if self._parts(out.text, out) <= parts:
            return out
        self._count("cut")
        link = self.join_link()
        tail = t(lang, "reply_cut", parts=MAX_PARTS)
        if link:
            tail += " " + t(lang, "reply_cut_elsewhere", link=link)
        text = shorten(out.text, tail, lambda s: self._parts(s, out) <= parts)
        return dataclasses.replace(out, text=text, html=None)

    def _count(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.rationed.labels(self.channel, reason).inc()


def merge(outs: Sequence[OutMessage]) -> OutMessage:
    """The answers of one command as one message: texts in order; the choices of the last
    answer that offers some, the first photo, the broadcast to track."""
    if len(outs) == 1:
        return outs[0]
    choices = next((o.choices for o in reversed(outs) if o.choices), ())
    return OutMessage(
        text="\n\n".join(o.text.strip() for o in outs if o.text.strip()),
        choices=choices,
        photo=next((o.photo for o in outs if o.photo is not None), None),
        track_broadcast=next(
            (o.track_broadcast for o in outs if o.track_broadcast is not None), None
        ),
    )


def shorten(text: str, tail: str, fits: Callable[[str], bool]) -> str:
    """The longest start of ``text`` (ended at a line where one is near) followed by "…" and
    ``tail`` that ``fits``; ``tail`` alone when none does."""

    def candidate(n: int) -> str:
        head = text[:n].rstrip()
        return f"{head}\n…\n{tail}" if head else f"…\n{tail}"

    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits (longer texts take more parts)
        mid = (low + high + 1) // 2
        if fits(candidate(mid)):
            low = mid
        else:
            high = mid - 1
    line = text.rfind("\n", 0, low)
    if line > low // 2 and fits(candidate(line)):
        low = line
    return candidate(low)


def allowances(
    quota: QuotaTracker,
    channels: Mapping[str, Channel],
    **shared: Any,
) -> dict[str, ReplyAllowance]:
    """A :class:`ReplyAllowance` for every running channel with a plan; ``shared`` are the
    keyword arguments they have in common (store, clock, tz, alert, is_admin, join_link,
    metrics)."""
    return {
        name: ReplyAllowance(
            name, plan, quota=quota, capabilities=channels[name].capabilities, **shared
        )
        for name, plan in quota.plans.items()
        if name in channels
    }
