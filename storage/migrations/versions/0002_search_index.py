"""Full-text search index over accent-folded titles and bodies.

SQLite: an FTS5 contentless table ``articles_fts(title, body)`` whose rowid is
:func:`search_rowid` (sort minute and article id, so results come newest-first
without a sort).
PostgreSQL: ``article_search(article_id, sort_key, title_doc, doc)``: tsvectors of the title
and of title plus body, each behind a GIN index; ``sort_key`` is the same (sort minute, id)
number. Both index :func:`search_text` (accent-folded words), so a query typed
without accents matches, and existing articles are back-filled here.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of what the live code did when this revision was written (feeds.text.fold_key,
# storage.search.search_text and search_rowid): a migration must not change when they do.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_MARKS = re.compile("[\u0300-\u036f]")
_WORD = re.compile(r"[^\W_]+")


def _fold(s: str) -> str:
    """Lower case, invisible characters and every diacritic gone, ``đ`` -> ``d``."""
    s = " ".join(unicodedata.normalize("NFC", _INVISIBLE.sub("", s)).split()).lower()
    bare = _MARKS.sub("", unicodedata.normalize("NFD", s))
    return unicodedata.normalize("NFC", bare).replace("đ", "d")


def search_text(value: str) -> str:
    return " ".join(_WORD.findall(_fold(value)))


def search_rowid(sort_at: datetime, article_id: int) -> int:
    sort_at = sort_at.replace(tzinfo=UTC) if sort_at.tzinfo is None else sort_at
    minute = max(int(sort_at.timestamp()) // 60, 0)
    return (minute << 32) | (article_id & 0xFFFFFFFF)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE articles_fts USING fts5("
            "title, body, content='', tokenize='unicode61')"
        )
        insert = sa.text("INSERT INTO articles_fts(rowid, title, body) VALUES (:id, :title, :body)")
    else:
        op.create_table(
            "article_search",
            sa.Column(
                "article_id",
                sa.BigInteger,
                sa.ForeignKey("articles.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("sort_key", sa.BigInteger, nullable=False),
            sa.Column("title_doc", sa.dialects.postgresql.TSVECTOR, nullable=False),
            sa.Column("doc", sa.dialects.postgresql.TSVECTOR, nullable=False),
        )
        # fastupdate off: a query never has to scan a long pending list after a busy poll.
        op.create_index(
            "ix_article_search_title_doc",
            "article_search",
            ["title_doc"],
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        )
        op.create_index(
            "ix_article_search_doc",
            "article_search",
            ["doc"],
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        )
        op.create_index("ix_article_search_sort_key", "article_search", ["sort_key"])
        insert = sa.text(
            "INSERT INTO article_search(article_id, sort_key, title_doc, doc) "
            "VALUES (:id, :sort_key, "
            "to_tsvector('simple', :title), to_tsvector('simple', :title || ' ' || :body))"
        )
    articles = sa.table(
        "articles",
        sa.column("id"),
        sa.column("title"),
        sa.column("body"),
        sa.column("sort_at", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(sa.select(articles)).all()
    sqlite = bind.dialect.name == "sqlite"
    batch = [
        {
            "id": search_rowid(r.sort_at, r.id) if sqlite else r.id,
            "sort_key": search_rowid(r.sort_at, r.id),
            "title": search_text(r.title),
            "body": search_text(r.body),
        }
        for r in rows
    ]
    if batch:
        bind.execute(insert, batch)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE articles_fts")
    else:
        op.drop_table("article_search")
