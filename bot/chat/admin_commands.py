"""Admin commands: ``/poll``, ``/sources``, ``/stats`` (with its chart) and ``/broadcast``.

:class:`bot.chat.commands.Commands` checks that the sender is an admin and hands these over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Protocol

from bot.channels.base import Incoming, OutMessage
from bot.chat.charts import activity_chart
from bot.chat.render import local_date
from bot.delivery.quota import PlanUsage
from bot.i18n import t
from feeds.models import Topic
from storage.records import Chat, EntryFailure
from storage.store import Store


class PollLine(Protocol):
    """What ``/poll`` shows per source (satisfied by :class:`bot.polling.poller.PollReport`)."""

    @property
    def source_id(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def new(self) -> int: ...
    @property
    def seconds(self) -> float: ...
    @property
    def reason(self) -> str: ...


PollNow = Callable[[], Awaitable[Sequence[PollLine]]]
#: every channel with a plan, this month: messages, replies and users against it
PlanReport = Callable[[], Awaitable[Sequence[PlanUsage]]]


class AdminCommands:
    """The admins' commands; each takes (message, chat, arguments) and returns the replies."""

    def __init__(
        self,
        store: Store,
        topics: Sequence[Topic],
        *,
        tz: tzinfo,
        clock: Callable[[], datetime],
        poll_now: PollNow | None = None,
        source_names: Mapping[str, str] | None = None,
        plan_usage: PlanReport | None = None,
    ) -> None:
        self.store = store
        self.topics = tuple(topics)
        self.tz = tz
        self.clock = clock
        self.poll_now = poll_now
        self.source_names = dict(source_names or {})
        self.plan_usage = plan_usage

    async def poll(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if self.poll_now is None:
            return [OutMessage(t(chat.language, "unknown_command", cmd="/poll"))]
        reports = await self.poll_now()
        lines = [t(chat.language, "poll_started", count=len(reports))]
        for r in reports:
            key = "poll_line_ok" if r.ok else "poll_line_error"
            lines.append(
                t(
                    chat.language,
                    key,
                    id=r.source_id,
                    new=r.new,
                    seconds=f"{r.seconds:.1f}",
                    reason=r.reason,
                )
            )
        return [OutMessage("\n".join(lines))]

    async def sources(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        lang = chat.language
        never = t(lang, "never")
        lines = [t(lang, "sources_header")]
        paused = await self.store.paused_sources()
        failed: dict[str, list[EntryFailure]] = {}
        for f in await self.store.entry_failures(limit=500):
            failed.setdefault(f.source_id, []).append(f)
        for s in await self.store.source_states():
            if s.id not in self.source_names:
                continue  # rows of sources no longer configured
            mark = "⏸" if s.id in paused else "❌" if s.consecutive_failures else "✅"
            last_error = t(lang, "none")
            if s.last_error:
                when = local_date(s.last_error_at, self.tz, with_time=True)
                last_error = f"{when} {s.last_error[:200]}"
            lines.append(
                t(
                    lang,
                    "sources_line",
                    mark=mark,
                    id=s.id,
                    name=self.source_names[s.id],
                    last_success=local_date(s.last_success_at, self.tz, with_time=True) or never,
                    last_error=last_error,
                    next_check=local_date(s.next_check_at, self.tz, with_time=True) or never,
                )
            )
            if s.id in failed:
                latest = failed[s.id][0]
                lines.append(
                    t(
                        lang,
                        "sources_entry_failures",
                        count=len(failed[s.id]),
                        url=latest.url[:120],
                        attempts=latest.attempts,
                        reason=latest.reason[:200],
                    )
                )
        return [OutMessage("\n".join(lines))]

    async def stats(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        st = await self.store.stats(self.clock())
        lang = chat.language

        def fmt(d: dict[str, int]) -> str:
            return ", ".join(f"{k}={v}" for k, v in d.items()) or t(lang, "none")

        text = t(
            lang,
            "stats",
            active=st.chats_active,
            inactive=st.chats_inactive,
            by_topic=fmt(st.subscriptions_by_topic),
            keywords=st.keyword_subscriptions,
            by_source=fmt(st.articles_by_source),
            by_status=fmt(st.deliveries_by_status),
            in_error=", ".join(st.sources_in_error) or t(lang, "none"),
        )
        for line in await self._plan_lines(lang):
            text += "\n" + line
        days = await self.store.daily_activity(self.clock(), self.tz)
        chart = activity_chart(
            [d for d, _, _ in days],
            [a for _, a, _ in days],
            [s for _, _, s in days],
            title=t(lang, "stats_chart_title"),
            articles_label=t(lang, "stats_chart_articles"),
            deliveries_label=t(lang, "stats_chart_deliveries"),
        )
        return [OutMessage(text, photo=chart)]

    async def _plan_lines(self, lang: str) -> list[str]:
        """Per channel with a plan: its messages, users and replies against the plan."""
        lines = []
        for u in await self.plan_usage() if self.plan_usage is not None else []:
            name = u.channel.capitalize()
            if u.quota:
                values = dict(sent=u.sent, quota=u.quota, percent=u.percent, month=u.month)
                lines.append(t(lang, "stats_quota", channel=name, **values))
            if u.max_users:
                values = dict(users=u.users, max=u.max_users, percent=u.users_percent)
                lines.append(t(lang, "stats_users", channel=name, **values))
            if u.reply_cap is not None:
                lines.append(
                    t(lang, "stats_replies", channel=name, replies=u.replies, cap=u.reply_cap)
                )
        return lines

    async def broadcast(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not args:
            return [OutMessage(t(chat.language, "broadcast_usage"))]
        first, _, rest = args.partition(" ")
        topic = next((tp for tp in self.topics if tp.slug == first), None)
        text = rest.strip() if topic else args
        if not text:
            return [OutMessage(t(chat.language, "broadcast_usage"))]
        queued = await self.store.enqueue_message(
            "broadcast",
            text,
            self.clock(),
            target="topics" if topic else "all",
            values=[topic.slug] if topic else [],
            created_by=f"{msg.channel}:{msg.user_id or msg.chat_id}",
        )
        reply = t(chat.language, "broadcast_queued", count=queued.deliveries)
        return [OutMessage(reply, track_broadcast=queued.message_id)]
