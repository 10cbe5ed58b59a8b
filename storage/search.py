"""Full-text search over accent-folded titles and bodies: one small index class per dialect
(SQLite FTS5, PostgreSQL tsvector) behind :class:`SearchIndex`, and the ``search`` query."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from feeds.text import fold_key
from storage.base import ARTICLE_COLS, StoreBase, row_to_article
from storage.records import StoredArticle

MAX_SEARCH_WORDS = 8
_WORD = re.compile(r"[^\W_]+")

#: characters of a body that are indexed: PostgreSQL refuses a tsvector over 1 MB, and the
#: words that matter are near the top of an article anyway
INDEXED_BODY_CHARS = 50_000

SEARCH_ID_BITS = 32
SEARCH_ID_MASK = (1 << SEARCH_ID_BITS) - 1


def search_rowid(sort_at: datetime, article_id: int) -> int:
    """The FTS5 rowid of an article: its sort minute in the high bits, its id in the low 32.

    Ordering by this rowid is ordering by (sort_at, id), which FTS5 can do without sorting;
    the article id comes back as ``rowid & SEARCH_ID_MASK``.
    """
    minute = max(int(sort_at.timestamp()) // 60, 0)
    return (minute << SEARCH_ID_BITS) | (article_id & SEARCH_ID_MASK)


def search_text(value: str) -> str:
    """What the full-text index sees: accent-folded words separated by spaces, so SQLite's and
    PostgreSQL's tokenizers split ``04-NQ/ĐUK`` the same way the query does."""
    return " ".join(_WORD.findall(fold_key(value)))


def search_words(query: str) -> list[str]:
    """The accent-folded words of a search query (at most ``MAX_SEARCH_WORDS``, deduplicated)."""
    out: list[str] = []
    for word in _WORD.findall(fold_key(query)):
        if word not in out:
            out.append(word)
    return out[:MAX_SEARCH_WORDS]


class SearchIndex(Protocol):
    """The full-text index of one dialect: fed when articles are saved, asked by ``search``."""

    async def add(
        self, conn: AsyncConnection, articles: Sequence[tuple[int, datetime, str, str]]
    ) -> None:
        """Index (article id, sort_at, title, body) of newly stored articles."""

    async def ids(self, conn: AsyncConnection, words: Sequence[str], limit: int) -> list[int]:
        """Ids of articles with every word: title hits first, newest first within each tier."""


class SqliteSearch:
    """FTS5 contentless table ``articles_fts(title, body)`` keyed by :func:`search_rowid`."""

    _insert = text("INSERT INTO articles_fts(rowid, title, body) VALUES (:id, :title, :body)")
    _match = text(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q ORDER BY rowid DESC LIMIT :n"
    )

    async def add(
        self, conn: AsyncConnection, articles: Sequence[tuple[int, datetime, str, str]]
    ) -> None:
        await conn.execute(
            self._insert,
            [
                {
                    "id": search_rowid(sort_at, i),
                    "title": search_text(title),
                    "body": search_text(body[:INDEXED_BODY_CHARS]),
                }
                for i, sort_at, title, body in articles
            ],
        )

    async def ids(self, conn: AsyncConnection, words: Sequence[str], limit: int) -> list[int]:
        # FTS5 rowids sort like (sort_at, id) (see search_rowid), so "ORDER BY rowid DESC
        # LIMIT n" walks the index newest-first and stops early: no sort over every match,
        # however common the words. Title hits first, then the other matches.
        every = " AND ".join(f'"{w}"' for w in words)
        in_title = f"title : ({every})"
        found = [r[0] for r in await conn.execute(self._match, {"q": in_title, "n": limit})]
        if len(found) < limit:
            rest = {"q": f"({every}) NOT {in_title}", "n": limit - len(found)}
            found += [r[0] for r in await conn.execute(self._match, rest)]
        return [rowid & SEARCH_ID_MASK for rowid in found]


class PostgresSearch:
    """``article_search(article_id, sort_key, title_doc, doc)``: tsvectors behind GIN indexes."""

    _insert = text(
        "INSERT INTO article_search(article_id, sort_key, title_doc, doc) VALUES (:id, :sort_key, "
        "to_tsvector('simple', :title), to_tsvector('simple', :title || ' ' || :body))"
    )
    _title = text(
        "SELECT article_id FROM article_search WHERE title_doc @@ to_tsquery('simple', :q) "
        "ORDER BY sort_key DESC LIMIT :n"
    )
    _rest = text(
        "SELECT article_id FROM article_search WHERE doc @@ to_tsquery('simple', :q) "
        "AND NOT title_doc @@ to_tsquery('simple', :q) ORDER BY sort_key DESC LIMIT :n"
    )

    async def add(
        self, conn: AsyncConnection, articles: Sequence[tuple[int, datetime, str, str]]
    ) -> None:
        await conn.execute(
            self._insert,
            [
                {
                    "id": i,
                    "sort_key": search_rowid(sort_at, i),
                    "title": search_text(title),
                    "body": search_text(body[:INDEXED_BODY_CHARS]),
                }
                for i, sort_at, title, body in articles
            ],
        )

    async def ids(self, conn: AsyncConnection, words: Sequence[str], limit: int) -> list[int]:
        # Same two tiers as on SQLite: the title's own GIN index answers the first (no
        # recheck against the body), the title+body index the second. Each is one bitmap
        # scan and a top-N sort on sort_key, which orders like (sort_at, id).
        query = " & ".join(words)
        found = [r[0] for r in await conn.execute(self._title, {"q": query, "n": limit})]
        if len(found) < limit:
            rest = {"q": query, "n": limit - len(found)}
            found += [r[0] for r in await conn.execute(self._rest, rest)]
        return found


def search_index(dialect: str) -> SearchIndex:
    """The index class of ``dialect`` (``sqlite`` or ``postgresql``)."""
    return SqliteSearch() if dialect == "sqlite" else PostgresSearch()


class SearchMixin(StoreBase):
    """The ``/search`` query."""

    @property
    def _search_index(self) -> SearchIndex:
        return search_index(self.dialect)

    async def search(self, query: str, limit: int = 10) -> list[StoredArticle]:
        """Articles containing every word of ``query``, accents and case optional.

        Title hits (every word in the title) rank above body hits; newer first among equals.
        Served by the full-text index (FTS5 on SQLite, a GIN tsvector on PostgreSQL).
        """
        words = search_words(query)
        if not words or limit < 1:
            return []
        async with self.engine.connect() as conn:
            ids = await self._search_index.ids(conn, words, limit)
            if not ids:
                return []
            q = select(*ARTICLE_COLS).where(ARTICLE_COLS[0].in_(ids))
            rows: dict[int, Any] = {r.id: r for r in await conn.execute(q)}
        return [row_to_article(rows[i]) for i in ids if i in rows]
