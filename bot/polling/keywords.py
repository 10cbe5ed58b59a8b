"""The keywords every chat follows or mutes, as one :class:`~feeds.topics.KeywordIndex` the
poller matches fresh articles against, kept up to date in place (:class:`FollowedKeywords`).

Why in place: the index holds up to ``BANTIN_MAX_KEYWORDS`` + ``BANTIN_MAX_MUTES`` keys per
chat (2.5 million at 50,000 chats), so it is never rebuilt for a poll. Each use reads only
the subscriptions added since the last one (their ids, a walk of the primary key) and adds
their keys. A removed keyword stays in the index until the next full rebuild (every
``rebuild_every``): that costs nothing but an ``article_keywords`` row, since the fan-out
joins the live subscriptions. So the index may hold too many keys, never too few. The ids
of the last ``LOOKBACK_IDS`` rows are read again each time: on PostgreSQL a transaction can
commit a lower id after a higher one was read.
A rebuild reads in pages and yields to the event loop between them. Matching an article
costs time in proportion to the article, not to the number of keywords; the poller still
runs it (:func:`tag`) in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from feeds.models import Source
from feeds.topics import ArticleKeys, KeywordIndex, TopicIndex

log = logging.getLogger(__name__)

#: subscription rows read per query
PAGE = 5_000
#: rows indexed between two yields to the event loop (about 6 ms of work)
CHUNK = 1_000
#: ids below the highest one seen that are read again (late commits on PostgreSQL)
LOOKBACK_IDS = 1_000
REBUILD_EVERY = timedelta(hours=1)


class KeywordRows(Protocol):
    """What the index reads (satisfied by :class:`storage.store.Store`)."""

    async def keyword_rows_after(self, after_id: int, limit: int) -> list[tuple[int, str]]: ...


class FollowedKeywords:
    """The match keys of every keyword and mute subscription, indexed for matching."""

    def __init__(
        self,
        store: KeywordRows,
        *,
        clock: Callable[[], datetime],
        rebuild_every: timedelta = REBUILD_EVERY,
        page: int = PAGE,
    ) -> None:
        self.store = store
        self.clock = clock
        self.rebuild_every = rebuild_every
        self.page = page
        self._index = KeywordIndex()
        self._last_id = 0  # the highest subscription id read
        self._built_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def index(self) -> KeywordIndex:
        """The index with every subscription added so far (rebuilt when it is old)."""
        async with self._lock:
            now = self.clock()
            if self._built_at is None or now - self._built_at >= self.rebuild_every:
                fresh = KeywordIndex()
                self._last_id = await self._read(fresh, 0)
                self._index, self._built_at = fresh, now
                log.info("keyword index built: %d keywords", len(fresh))
            else:
                after = max(self._last_id - LOOKBACK_IDS, 0)
                self._last_id = max(self._last_id, await self._read(self._index, after))
            return self._index

    async def _read(self, index: KeywordIndex, after: int) -> int:
        """Add the keys of the rows above id ``after`` to ``index``; the highest id read."""
        last = after
        while True:
            rows = await self.store.keyword_rows_after(last, self.page)
            for start in range(0, len(rows), CHUNK):
                index.add(key for _, key in rows[start : start + CHUNK])
                await asyncio.sleep(0)  # a rebuild must not hold the event loop
            if rows:
                last = rows[-1][0]
            if len(rows) < self.page:
                return last


class Tags(NamedTuple):
    """What an article is pushed for: topic slugs, and the keyword keys it contains."""

    topics: tuple[str, ...]
    keywords: tuple[str, ...]


def tag(
    title: str, body: str, source: Source, topics: TopicIndex, keywords: KeywordIndex | None
) -> Tags:
    """The topics (configuration order) and keywords (sorted) of an article, from keys made
    once for both. Pure CPU, run in a thread by the poller (a 100,000-character body takes
    tens of ms); safe while the loop adds keys to ``keywords``."""
    keys = ArticleKeys.of(title, body)
    matched = tuple(sorted(keywords.matches(keys))) if keywords else ()
    return Tags(topics.classify(keys, source.topics), matched)
