"""Chat commands, written once for every channel: an :class:`Incoming` in, replies out.

Replies are :class:`OutMessage` values in the member's language; channels render them
(HTML and buttons on Telegram, numbered options in plain text). Bad arguments get a short
hint, never a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, tzinfo

from bot.channels.base import Choice, Incoming, OutMessage
from bot.chat.admin_commands import AdminCommands, PlanReport, PollNow
from bot.chat.keyword_rules import MAX_KEYWORD_CHARS, KeywordLimits, keyword_problem
from bot.chat.member_settings import MemberSettings
from bot.chat.render import article_list
from bot.chat.timeofday import parse_hhmm
from bot.i18n import LANGUAGES, pick_language, t
from feeds.models import Topic
from feeds.text import fold_key, match_key, normalize
from storage.records import Chat, SubscriptionKind
from storage.store import Store

log = logging.getLogger(__name__)

MAX_LATEST = 20
DEFAULT_LATEST = 5
SEARCH_RESULTS = 10
TOPIC_CALLBACK = "topic:"


#: a command: (message, chat, arguments) -> the replies
Handler = Callable[[Incoming, Chat, str], Awaitable[list[OutMessage]]]


class Commands:
    """Dispatches commands; every state change goes through the store."""

    def __init__(
        self,
        store: Store,
        topics: Sequence[Topic],
        *,
        admins: frozenset[tuple[str, str]],
        tz: tzinfo,
        clock: Callable[[], datetime],
        poll_now: PollNow | None = None,
        source_names: dict[str, str] | None = None,
        quiet_hours: str = "",
        plan_usage: PlanReport | None = None,
        extra_admin: dict[str, Handler] | None = None,
        keyword_limits: KeywordLimits | None = None,
    ) -> None:
        self.store = store
        self.topics = tuple(topics)
        self.admins = admins
        self.tz = tz
        self.clock = clock
        self.quiet_hours = quiet_hours
        self._topic_keys = [
            (topic, {fold_key(topic.slug.replace("-", " ")), fold_key(topic.name), topic.slug})
            for topic in self.topics
        ]
        self._handlers: dict[str, Handler] = {
            "start": self._start,
            "help": self._help,
            "topics": self._topics,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "follow": self._follow,
            "unfollow": self._unfollow,
            "mysubs": self._mysubs,
            "latest": self._latest,
            "search": self._search,
            "stop": self._stop,
            "lang": self._lang,
            "digest": self._digest,
            "quiet": self._quiet,
        }
        self.limits = keyword_limits or KeywordLimits()
        self.member = MemberSettings(
            store,
            self.topics,
            tz=tz,
            clock=clock,
            is_admin=self.is_admin,
            keyword_limits=self.limits,
        )
        self._handlers.update(
            mute=self.member.mute,
            unmute=self.member.unmute,
            format=self.member.format,
            channel=self.member.channel,
        )
        self.admin = AdminCommands(
            store,
            self.topics,
            tz=tz,
            clock=clock,
            poll_now=poll_now,
            source_names=source_names,
            plan_usage=plan_usage,
        )
        self._admin_handlers: dict[str, Handler] = {
            "poll": self.admin.poll,
            "sources": self.admin.sources,
            "stats": self.admin.stats,
            "broadcast": self.admin.broadcast,
            **(extra_admin or {}),  # /web, from the web console
        }

    # -- entry point ----------------------------------------------------------------------

    def is_admin(self, msg: Incoming) -> bool:
        if msg.channel == "console":
            return True
        return (msg.channel, msg.user_id) in self.admins or (
            msg.chat_kind == "private" and (msg.channel, msg.chat_id) in self.admins
        )

    async def handle(self, msg: Incoming) -> list[OutMessage]:
        """Answer one incoming text or button press (or inline query)."""
        if msg.inline_query is not None:
            return await self.member.inline(msg)
        now = self.clock()
        if msg.bot_removed:  # a channel removed the bot: stop posting there
            known = await self.store.get_chat(msg.channel, msg.chat_id)
            if known is not None and known.active:
                await self.store.update_chat(
                    known, now, active=False, deactivated_reason="bot removed from the chat"
                )
            return []
        chat = await self.store.get_chat(msg.channel, msg.chat_id)
        if chat is None:
            chat = await self.store.upsert_chat(
                msg.channel,
                msg.chat_id,
                now,
                title=msg.chat_title,
                kind=msg.chat_kind,
                language=pick_language(msg.language_code),
            )
        if msg.callback_data is not None:
            return await self._callback(msg, chat)
        text = normalize(msg.text)
        if not text.startswith("/"):
            # In a group, people talk to each other: only commands are for the bot.
            return (
                [] if msg.chat_kind == "group" else [OutMessage(t(chat.language, "not_a_command"))]
            )
        name, _, args = text[1:].partition(" ")
        name = name.split("@", 1)[0].lower()
        args = args.strip()
        handler = self._handlers.get(name)
        if handler is None and name in self._admin_handlers:
            if not self.is_admin(msg):
                return [OutMessage(t(chat.language, "admin_only"))]
            handler = self._admin_handlers[name]
        if handler is None:
            return [OutMessage(t(chat.language, "unknown_command", cmd="/" + name))]
        try:
            return await handler(msg, chat, args)
        except Exception:
            # A bug must not reach the member as a traceback; the log keeps it.
            log.exception("command /%s failed for %s:%s", name, msg.channel, msg.chat_id)
            return [OutMessage(t(chat.language, "unknown_command", cmd="/" + name))]

    # -- helpers --------------------------------------------------------------------------

    def find_topics(self, arg: str) -> list[Topic]:
        """Topics matching ``arg`` by slug or name, accents and case optional."""
        key = fold_key(arg.replace("-", " "))
        if not key:
            return []
        exact = [topic for topic, keys in self._topic_keys if key in keys or arg == topic.slug]
        if exact:
            return exact
        return [topic for topic, keys in self._topic_keys if any(key in k for k in keys)]

    def _topic_name(self, slug: str) -> str:
        return next((topic.name for topic in self.topics if topic.slug == slug), slug)

    @staticmethod
    async def _may_change(msg: Incoming) -> bool:
        return await msg.sender_is_chat_admin()

    async def _topics_message(self, chat: Chat) -> OutMessage:
        if not self.topics:
            return OutMessage(t(chat.language, "no_topics"))
        subscribed = {
            s.key for s in await self.store.subscriptions(chat) if s.kind == SubscriptionKind.TOPIC
        }
        lines = [t(chat.language, "topics_header")]
        choices = []
        for i, topic in enumerate(self.topics, 1):
            mark = "✅" if topic.slug in subscribed else "▫️"
            lines.append(f"{i}. {mark} {topic.name} ({topic.slug})")
            choices.append((Choice(f"{mark} {topic.name}", TOPIC_CALLBACK + topic.slug),))
        lines.append(t(chat.language, "topics_hint"))
        return OutMessage("\n".join(lines), choices=tuple(choices))

    # -- member commands ------------------------------------------------------------------

    async def _start(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        was_paused = chat.paused or not chat.active
        # Resuming a group undoes an admin's /stop: the group's administrators decide.
        if was_paused and not await self._may_change(msg):
            return [OutMessage(t(chat.language, "group_admin_only"))]
        chat = await self.store.upsert_chat(
            msg.channel,
            msg.chat_id,
            self.clock(),
            title=msg.chat_title,
            kind=msg.chat_kind,
            reactivate=True,
        )
        replies = [OutMessage(t(chat.language, "welcome"))]
        if was_paused:
            replies.append(OutMessage(t(chat.language, "resumed")))
        # A deep link (t.me/<bot>?start=<payload>) names topics to subscribe to.
        linked = await self.member.start_payload(msg, chat, args) if args else []
        replies += linked[:1]
        replies.append(await self._topics_message(chat))
        return replies + linked[1:]

    async def _help(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        text = t(chat.language, "help") + "\n" + t(chat.language, "help_receiving")
        if self.is_admin(msg):
            text += "\n\n" + t(chat.language, "help_admin")
        return [OutMessage(text)]

    async def _topics(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        return [await self._topics_message(chat)]

    async def _callback(self, msg: Incoming, chat: Chat) -> list[OutMessage]:
        data = msg.callback_data or ""
        if not data.startswith(TOPIC_CALLBACK):
            return []
        if not await self._may_change(msg):
            return [OutMessage(t(chat.language, "group_admin_only"))]
        slug = data.removeprefix(TOPIC_CALLBACK)
        if slug not in {topic.slug for topic in self.topics}:
            return [await self._topics_message(chat)]
        now = self.clock()
        if not await self.store.subscribe(
            chat, SubscriptionKind.TOPIC, slug, slug, now, thread_id=msg.thread_id
        ):
            await self.store.unsubscribe(chat, SubscriptionKind.TOPIC, slug)
            return [await self._topics_message(chat)]
        return [await self._topics_message(chat), *await self.member.backfill(chat, slug)]

    async def _resolve_one(self, chat: Chat, arg: str) -> Topic | OutMessage:
        found = self.find_topics(arg)
        if len(found) == 1:
            return found[0]
        names = ", ".join(topic.slug for topic in (found or self.topics))
        key = "ambiguous_topic" if found else "unknown_topic"
        return OutMessage(t(chat.language, key, arg=arg, topics=names))

    async def _subscribe(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not args:
            return [
                OutMessage(t(chat.language, "usage_subscribe")),
                await self._topics_message(chat),
            ]
        if not await self._may_change(msg):
            return [OutMessage(t(chat.language, "group_admin_only"))]
        topic = await self._resolve_one(chat, args)
        if isinstance(topic, OutMessage):
            return [topic]
        added = await self.store.subscribe(
            chat,
            SubscriptionKind.TOPIC,
            topic.slug,
            topic.slug,
            self.clock(),
            thread_id=msg.thread_id,
        )
        return [
            OutMessage(
                t(chat.language, "subscribed" if added else "already_subscribed", name=topic.name)
            ),
            *(await self.member.backfill(chat, topic.slug) if added else []),
        ]

    async def _unsubscribe(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not args:
            return [OutMessage(t(chat.language, "usage_unsubscribe"))]
        if not await self._may_change(msg):
            return [OutMessage(t(chat.language, "group_admin_only"))]
        if fold_key(args) in ("all", "tat ca", "het"):
            count = await self.store.unsubscribe(chat, None, None)
            return [OutMessage(t(chat.language, "unsubscribed_all", count=count))]
        subs = await self.store.subscriptions(chat)
        keyword_key = match_key(args)
        if any(s.kind == SubscriptionKind.KEYWORD and s.key == keyword_key for s in subs):
            await self.store.unsubscribe(chat, SubscriptionKind.KEYWORD, keyword_key)
            return [OutMessage(t(chat.language, "unfollowed", keyword=args))]
        topic = await self._resolve_one(chat, args)
        if isinstance(topic, OutMessage):
            return [topic]
        removed = await self.store.unsubscribe(chat, SubscriptionKind.TOPIC, topic.slug)
        return [
            OutMessage(
                t(chat.language, "unsubscribed" if removed else "not_subscribed", name=topic.name)
            )
        ]

    async def _check_keyword(self, chat: Chat, keyword: str) -> OutMessage | None:
        """Why ``keyword`` cannot be followed (its shape, or the chat's cap), or None."""
        problem = keyword_problem(keyword)
        if problem:
            return OutMessage(t(chat.language, problem, max=MAX_KEYWORD_CHARS))
        kind = SubscriptionKind.KEYWORD
        if self.limits.full(kind, await self.store.subscriptions(chat), match_key(keyword)):
            cap = self.limits.cap(kind)
            return OutMessage(t(chat.language, self.limits.reply_key(kind), max=cap))
        return None

    async def _follow(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not args:
            return [OutMessage(t(chat.language, "usage_follow"))]
        if not await self._may_change(msg):
            return [OutMessage(t(chat.language, "group_admin_only"))]
        problem = await self._check_keyword(chat, args)
        if problem:
            return [problem]
        added = await self.store.subscribe(
            chat,
            SubscriptionKind.KEYWORD,
            args,
            match_key(args),
            self.clock(),
            thread_id=msg.thread_id,
        )
        return [
            OutMessage(t(chat.language, "followed" if added else "already_followed", keyword=args))
        ]

    async def _unfollow(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not args:
            return [OutMessage(t(chat.language, "usage_unfollow"))]
        if not await self._may_change(msg):
            return [OutMessage(t(chat.language, "group_admin_only"))]
        removed = await self.store.unsubscribe(chat, SubscriptionKind.KEYWORD, match_key(args))
        return [
            OutMessage(t(chat.language, "unfollowed" if removed else "not_followed", keyword=args))
        ]

    async def _mysubs(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        subs = await self.store.subscriptions(chat)
        if not subs:
            return [OutMessage(t(chat.language, "mysubs_none"))]
        lines = [t(chat.language, "mysubs_header")]
        topics = [self._topic_name(s.key) for s in subs if s.kind == SubscriptionKind.TOPIC]
        keywords = [s.value for s in subs if s.kind == SubscriptionKind.KEYWORD]
        if topics:
            lines.append(t(chat.language, "mysubs_topics", items=", ".join(topics)))
        if keywords:
            lines.append(t(chat.language, "mysubs_keywords", items=", ".join(keywords)))
        lines += self.member.mysubs_lines(chat, subs)
        if chat.paused:
            lines.append(t(chat.language, "mysubs_paused"))
        return [OutMessage("\n".join(lines))]

    async def _latest(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        words = args.split()
        limit = DEFAULT_LATEST
        if words and words[0].isdigit():
            limit = int(words[0])
            words = words[1:]
            if not 1 <= limit <= MAX_LATEST:
                return [OutMessage(t(chat.language, "usage_latest"))]
        topic: Topic | None = None
        if words:
            resolved = await self._resolve_one(chat, " ".join(words))
            if isinstance(resolved, OutMessage):
                return [resolved]
            topic = resolved
        articles = await self.store.latest(topic.slug if topic else None, limit)
        if not articles:
            return [OutMessage(t(chat.language, "latest_none"))]
        header = t(chat.language, "latest_header", topic=f" - {topic.name}" if topic else "")
        return [article_list(articles, header=header, tz=self.tz)]

    async def _search(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not re.search(r"\w", args):
            return [OutMessage(t(chat.language, "usage_search"))]
        query = args[:100]
        articles = await self.store.search(query, SEARCH_RESULTS)
        if not articles:
            return [OutMessage(t(chat.language, "search_none", query=query))]
        return [
            article_list(
                articles, header=t(chat.language, "search_header", query=query), tz=self.tz
            )
        ]

    async def _stop(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not await self._may_change(msg):
            return [OutMessage(t(chat.language, "group_admin_only"))]
        await self.store.update_chat(chat, self.clock(), paused=True)
        return [OutMessage(t(chat.language, "stopped"))]

    async def _digest(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not await self._may_change(msg):
            return [OutMessage(t(chat.language, "group_admin_only"))]
        arg = args.strip().lower()
        if arg in ("off", "tat", "tắt", "0"):
            await self.store.update_chat(chat, self.clock(), digest_time=None)
            return [OutMessage(t(chat.language, "digest_off"))]
        try:
            when = parse_hhmm(arg)
        except ValueError:
            return [OutMessage(t(chat.language, "usage_digest"))]
        hhmm = f"{when.hour:02d}:{when.minute:02d}"
        # The first digest gathers what arrives from now on, not the whole archive.
        await self.store.update_chat(
            chat, self.clock(), digest_time=hhmm, last_digest_at=self.clock()
        )
        return [OutMessage(t(chat.language, "digest_set", time=hhmm))]

    async def _quiet(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not await self._may_change(msg):
            return [OutMessage(t(chat.language, "group_admin_only"))]
        arg = args.strip().lower()
        if arg not in ("on", "off", "bat", "bật", "tat", "tắt"):
            return [OutMessage(t(chat.language, "usage_quiet"))]
        on = arg in ("on", "bat", "bật")
        await self.store.update_chat(chat, self.clock(), quiet_hours=on)
        hours = f" ({self.quiet_hours})" if self.quiet_hours else ""
        return [OutMessage(t(chat.language, "quiet_on" if on else "quiet_off", hours=hours))]

    async def _lang(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not await self._may_change(msg):
            return [OutMessage(t(chat.language, "group_admin_only"))]
        lang = args.strip().lower()
        if lang not in LANGUAGES:
            return [OutMessage(t(chat.language, "usage_lang"))]
        chat = await self.store.update_chat(chat, self.clock(), language=lang)
        return [OutMessage(t(lang, "lang_set"))]
