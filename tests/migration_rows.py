"""Rows for the migration tests, written in raw SQL the way each revision's code wrote them
(the live tables have columns that older revisions do not), on SQLite and PostgreSQL alike.

``AT_0001``: rows in every table of revision 0001. ``AT_HEAD``: rows in the tables and
columns that later revisions added. Both take ``:now`` (an aware datetime). None is a
delivery that a migration rewrites (0003 moves ``unreachable``), so a downgrade must keep
every value of every column that stays.
"""

from __future__ import annotations

from datetime import datetime

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.store import MIGRATIONS_DIR

AT_0001 = [
    "INSERT INTO sources (id, name, kind, url, consecutive_failures, last_item_count, alerted,"
    " created_at) VALUES ('s1', 'Nguồn', 'rss', 'https://portal.example/rss', 0, 3, false, :now)",
    *(
        "INSERT INTO articles (source_id, key, url, title, body, summary, topics, seeded,"
        f" first_seen_at, sort_at) VALUES ('s1', 'k{i}', 'https://portal.example/{i}',"
        f" 'Dân vận {i}', 'Nội dung {i}', '', 'xa-hoi', false, :now, :now)"
        for i in (1, 2, 3)
    ),
    "INSERT INTO article_topics (article_id, topic, sort_at) VALUES (1, 'xa-hoi', :now)",
    "INSERT INTO article_keywords (article_id, keyword) VALUES (2, 'dan van')",
    *(
        "INSERT INTO chats (channel, chat_id, title, kind, language, active, paused, quiet_hours,"
        f" unreachable_count, created_at, updated_at) VALUES ('telegram', '{c}', 'Chat {c}',"
        " 'private', 'vi', true, false, true, 0, :now, :now)"
        for c in (101, 102, 103)
    ),
    "INSERT INTO subscriptions (chat_id, kind, value, key, created_at)"
    " VALUES (1, 'topic', 'xa-hoi', 'xa-hoi', :now), (2, 'keyword', 'dân vận', 'dan van', :now)",
    "INSERT INTO messages (kind, text, created_by, created_at)"
    " VALUES ('broadcast', 'Tin', 'admin', :now)",
    "INSERT INTO deliveries (chat_id, article_id, message_id, status, attempts, next_attempt_at,"
    " created_at, updated_at, last_error) VALUES"
    " (1, 1, NULL, 'sent', 1, :now, :now, :now, NULL),"
    " (2, 2, NULL, 'failed', 2, :now, :now, :now, 'rejected: message is too long'),"
    " (3, 3, NULL, 'pending', 0, :now, :now, :now, NULL),"
    " (1, NULL, 1, 'sent', 1, :now, :now, :now, NULL),"
    " (2, NULL, 1, 'cancelled', 1, :now, :now, :now, 'chat migrated'),"
    " (3, NULL, 1, 'cancelled', 1, :now, :now, :now, 'chat unreachable: Forbidden')",
    "INSERT INTO channel_usage (channel, month, sent, warned) VALUES ('zalo', '2026-11', 7, 0)",
    "INSERT INTO leases (name, holder, expires_at) VALUES ('poller', 'host-1-ab', :now)",
]

AT_HEAD = [
    "INSERT INTO delivery_counts (hour, status, count) VALUES (:now, 'sent', 40)",
    "UPDATE subscriptions SET thread_id = '7' WHERE id = 1",
    "UPDATE deliveries SET thread_id = '7' WHERE id = 1",
    "UPDATE chats SET format = 'compact', added_by = 'telegram:9' WHERE id = 2",
    "INSERT INTO chat_backfills (chat_id, topic, created_at) VALUES (1, 'xa-hoi', :now)",
    "INSERT INTO web_links (token_hash, admin, created_at, expires_at)"
    " VALUES ('h1', 'telegram:9', :now, :now)",
    "INSERT INTO web_sessions (id, admin, csrf, user_agent, created_at, expires_at,"
    " last_seen_at) VALUES ('s1', 'telegram:9', 'c', 'ua', :now, :now, :now)",
    "INSERT INTO audit_log (at, admin, action, detail) VALUES (:now, 'telegram:9', 'x', 'y')",
    "INSERT INTO scheduled_broadcasts (text, target, target_values, created_by, created_at,"
    " send_at, status, message_id, queued)"
    " VALUES ('Hẹn', 'all', '', 'telegram:9', :now, :now, 'sent', 1, 3)",
    "INSERT INTO paused_sources (source_id, paused_by, paused_at) VALUES ('s1', 'a', :now)",
    "UPDATE sources SET listing_hash = 'abc' WHERE id = 's1'",
    "INSERT INTO entry_failures (key, source_id, url, reason, attempts, last_at)"
    " VALUES ('k9', 's1', 'https://portal.example/9', 'timeout', 2, :now)",
    "UPDATE deliveries SET cancel_reason = 'migrated' WHERE id = 5",
]

#: rows per table that AT_0001 writes (articles_fts and article_search follow articles)
AT_0001_COUNTS = {"articles": 3, "chats": 3, "subscriptions": 2, "messages": 1, "deliveries": 6}


def revisions() -> list[str]:
    """Every revision, oldest first."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return [s.revision for s in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]


async def write(conn: AsyncConnection, statements: list[str], now: datetime) -> None:
    for sql in statements:
        await conn.execute(text(sql), {"now": now})


Rows = dict[str, list[dict[str, str]]]


async def every_row(conn: AsyncConnection) -> Rows:
    """Every row of every table (values as ``repr``), by table."""
    return await conn.run_sync(_every_row)


def _every_row(conn: Connection) -> Rows:
    out: Rows = {}
    for table in inspect(conn).get_table_names():
        if table != "alembic_version":
            result = conn.execute(text(f'SELECT * FROM "{table}"'))
            keys = list(result.keys())
            out[table] = [{k: repr(v) for k, v in zip(keys, r, strict=True)} for r in result]
    return out


def on_columns(rows: list[dict[str, str]], columns: set[str]) -> list[str]:
    """The rows as they read on ``columns`` alone, in an order that does not depend on how
    they were written: so the rows of two revisions compare on the columns they share."""
    return sorted(repr(sorted((k, v) for k, v in r.items() if k in columns)) for r in rows)
