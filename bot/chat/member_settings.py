"""How and where a member receives news (:class:`MemberSettings`): deep-link payloads of
``/start``, the backfill after subscribing, ``/mute``, ``/unmute``, ``/format``, ``/channel``
and the answers to inline queries. Channel-agnostic like :mod:`bot.chat.commands`, which
dispatches here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo

from bot.channels.base import Incoming, OutMessage
from bot.chat.deeplinks import parse_payload
from bot.chat.keyword_rules import KeywordLimits, keyword_problem
from bot.chat.render import FORMATS, article_card, formatted
from bot.i18n import pick_language, t
from feeds.models import Topic
from feeds.text import fold_key, match_key
from storage.records import Chat, Subscription, SubscriptionKind
from storage.store import Store

BACKFILL = 3
INLINE_RESULTS = 10
INLINE_CACHE = timedelta(minutes=1)
INLINE_CACHE_ENTRIES = 500
_FORMAT_WORDS = {
    "full": "full",
    "day-du": "full",
    "compact": "compact",
    "gon": "compact",
    "titles": "titles",
    "tieu-de": "titles",
}


class MemberSettings:
    """Handlers ``(msg, chat, args) -> replies`` and helpers used by :class:`Commands`."""

    def __init__(
        self,
        store: Store,
        topics: Sequence[Topic],
        *,
        tz: tzinfo,
        clock: Callable[[], datetime],
        is_admin: Callable[[Incoming], bool],
        keyword_limits: KeywordLimits | None = None,
    ) -> None:
        self.store = store
        self.topics = tuple(topics)
        self.tz = tz
        self.clock = clock
        self.is_admin = is_admin
        self.limits = keyword_limits or KeywordLimits()
        self._names = {topic.slug: topic.name for topic in self.topics}
        self._inline_cache: dict[tuple[str, str], tuple[datetime, list[OutMessage]]] = {}

    # -- subscribing --------------------------------------------------------------------

    async def backfill(self, chat: Chat, slug: str) -> list[OutMessage]:
        """The latest few articles of a topic the chat just subscribed to, once per topic."""
        if chat.kind == "channel" or not await self.store.mark_backfilled(chat, slug, self.clock()):
            return []
        articles = await self.store.latest(slug, BACKFILL)
        if not articles:
            return []
        header = t(chat.language, "backfill_header", topic=self._names.get(slug, slug))
        return [
            formatted(
                articles,
                fmt=chat.format,
                lang=chat.language,
                tz=self.tz,
                topic_names=self._names,
                header=header,
                grouped=True,
            )
        ]

    async def start_payload(self, msg: Incoming, chat: Chat, payload: str) -> list[OutMessage]:
        """``/start <payload>`` from a deep link: subscribe to the topics it names."""
        slugs = parse_payload(payload, list(self._names))
        if not slugs:
            return [OutMessage(t(chat.language, "deeplink_unknown", payload=payload[:64]))]
        if not await msg.sender_is_chat_admin():
            return [OutMessage(t(chat.language, "group_admin_only"))]
        backfills: list[OutMessage] = []
        for slug in slugs:
            await self.store.subscribe(
                chat, SubscriptionKind.TOPIC, slug, slug, self.clock(), thread_id=msg.thread_id
            )
            backfills += await self.backfill(chat, slug)
        names = ", ".join(self._names[slug] for slug in slugs)
        return [OutMessage(t(chat.language, "deeplink_subscribed", names=names)), *backfills]

    def mysubs_lines(self, chat: Chat, subs: Sequence[Subscription]) -> list[str]:
        """Where each topic's pushes go (forum groups), and the muted keywords."""
        lines = []
        if any(s.thread_id for s in subs):
            for s in subs:
                if s.kind not in (SubscriptionKind.TOPIC, SubscriptionKind.KEYWORD):
                    continue
                where = (
                    t(chat.language, "where_thread", thread=s.thread_id)
                    if s.thread_id
                    else t(chat.language, "where_general")
                )
                name = (
                    self._names.get(s.key, s.value) if s.kind == SubscriptionKind.TOPIC else s.value
                )
                lines.append(t(chat.language, "mysubs_where", name=name, where=where))
        mutes = [s.value for s in subs if s.kind == SubscriptionKind.MUTE]
        if mutes:
            lines.append(t(chat.language, "mysubs_mutes", items=", ".join(mutes)))
        return lines

    # -- /mute, /unmute, /format ----------------------------------------------------------

    async def mute(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not args or keyword_problem(args):
            return [OutMessage(t(chat.language, "usage_mute"))]
        if not await msg.sender_is_chat_admin():
            return [OutMessage(t(chat.language, "group_admin_only"))]
        kind = SubscriptionKind.MUTE
        if self.limits.full(kind, await self.store.subscriptions(chat), match_key(args)):
            cap = self.limits.cap(kind)
            return [OutMessage(t(chat.language, self.limits.reply_key(kind), max=cap))]
        added = await self.store.subscribe(
            chat, SubscriptionKind.MUTE, args, match_key(args), self.clock()
        )
        return [OutMessage(t(chat.language, "muted" if added else "already_muted", keyword=args))]

    async def unmute(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        if not args:
            return [OutMessage(t(chat.language, "usage_unmute"))]
        if not await msg.sender_is_chat_admin():
            return [OutMessage(t(chat.language, "group_admin_only"))]
        # Accents optional here too: "/unmute bão lũ" lifts "/mute bao lu".
        wanted = {match_key(args), fold_key(args)}
        removed = 0
        for s in await self.store.subscriptions(chat):
            if s.kind == SubscriptionKind.MUTE and (s.key in wanted or fold_key(s.value) in wanted):
                removed += await self.store.unsubscribe(chat, SubscriptionKind.MUTE, s.key)
        return [OutMessage(t(chat.language, "unmuted" if removed else "not_muted", keyword=args))]

    async def format(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        fmt = _FORMAT_WORDS.get(fold_key(args).replace(" ", "-"))
        if fmt is None or fmt not in FORMATS:
            return [OutMessage(t(chat.language, "usage_format"))]
        if not await msg.sender_is_chat_admin():
            return [OutMessage(t(chat.language, "group_admin_only"))]
        await self.store.update_chat(chat, self.clock(), format=fmt)
        return [OutMessage(t(chat.language, "format_set", format=fmt))]

    # -- /channel ---------------------------------------------------------------------------

    async def channel(self, msg: Incoming, chat: Chat, args: str) -> list[OutMessage]:
        """``/channel add @name <topics>``, ``/channel list``, ``/channel remove @name``."""
        lang = chat.language
        if msg.channel_check is None and msg.chat_kind != "group":
            return [OutMessage(t(lang, "channel_unsupported"))]
        if msg.chat_kind != "private" or msg.channel_check is None:
            return [OutMessage(t(lang, "channel_private_only"))]
        action, _, rest = args.partition(" ")
        action = action.lower()
        owner = f"{msg.channel}:{msg.user_id}"
        if action == "list":
            return [await self._channel_list(msg, lang, owner)]
        ref, _, topic_args = rest.strip().partition(" ")
        if action not in ("add", "remove") or not ref:
            return [OutMessage(t(lang, "usage_channel"))]
        check = await msg.channel_check(ref)
        if not check.chat_id:
            return [OutMessage(t(lang, "channel_not_found", ref=ref))]
        if not check.is_channel:
            return [OutMessage(t(lang, "channel_not_a_channel", ref=ref))]
        title = check.title or ref
        if not (check.user_is_admin or self.is_admin(msg)):
            return [OutMessage(t(lang, "channel_user_not_admin", title=title))]
        now = self.clock()
        if action == "remove":
            target = await self.store.get_chat(msg.channel, check.chat_id)
            if target is None or target.kind != "channel" or not target.active:
                return [OutMessage(t(lang, "channel_not_added", ref=ref))]
            await self.store.unsubscribe(target, None, None)
            await self.store.update_chat(
                target, now, active=False, deactivated_reason=f"removed by {owner}"
            )
            return [OutMessage(t(lang, "channel_removed", title=title))]
        if not check.bot_is_admin:
            return [OutMessage(t(lang, "channel_bot_not_admin", title=title))]
        slugs = self._topic_slugs(topic_args)
        if not slugs:
            return [OutMessage(t(lang, "usage_channel"))]
        target = await self.store.upsert_chat(
            msg.channel, check.chat_id, now, title=title, kind="channel", reactivate=True
        )
        target = await self.store.update_chat(
            target, now, kind="channel", title=title, added_by=owner, language=lang
        )
        for slug in slugs:
            await self.store.subscribe(target, SubscriptionKind.TOPIC, slug, slug, now)
        names = ", ".join(self._names[s] for s in slugs)
        return [OutMessage(t(lang, "channel_added", title=title, names=names))]

    def _topic_slugs(self, text: str) -> list[str]:
        slugs: list[str] = []
        for word in re.split(r"[,\s]+", text.strip()):
            key = fold_key(word.replace("-", " "))
            for topic in self.topics:
                if word == topic.slug or key == fold_key(topic.slug.replace("-", " ")):
                    slugs.append(topic.slug)
        return list(dict.fromkeys(slugs))

    async def _channel_list(self, msg: Incoming, lang: str, owner: str) -> OutMessage:
        mine = None if self.is_admin(msg) else owner
        channels = await self.store.channels_added(msg.channel, added_by=mine)
        if not channels:
            return OutMessage(t(lang, "channel_none"))
        lines = [t(lang, "channel_list_header")]
        for ch in channels:
            subs = await self.store.subscriptions(ch)
            names = ", ".join(
                self._names.get(s.key, s.key) for s in subs if s.kind == SubscriptionKind.TOPIC
            )
            lines.append(f"• {ch.title or ch.chat_id} ({ch.chat_id}): {names}")
        return OutMessage("\n".join(lines))

    # -- inline queries -------------------------------------------------------------------

    async def inline(self, msg: Incoming) -> list[OutMessage]:
        """Article cards for ``@bot words``: the /search results, or the latest when empty."""
        lang = pick_language(msg.language_code)
        query = (msg.inline_query or "").strip()[:100]
        key = (fold_key(query), lang)
        now = self.clock()
        cached = self._inline_cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        if re.search(r"\w", query):
            articles = await self.store.search(query, INLINE_RESULTS)
        else:
            articles = await self.store.latest(None, INLINE_RESULTS)
        cards = [article_card(a, lang=lang, tz=self.tz) for a in articles]
        if len(self._inline_cache) >= INLINE_CACHE_ENTRIES:
            self._inline_cache = {k: v for k, v in self._inline_cache.items() if v[0] > now}
            if len(self._inline_cache) >= INLINE_CACHE_ENTRIES:
                self._inline_cache.clear()
        self._inline_cache[key] = (now + INLINE_CACHE, cards)
        return cards
