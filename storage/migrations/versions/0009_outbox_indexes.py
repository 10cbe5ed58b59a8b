"""Indexes for the outbox reads of the console and of a broadcast's progress.

``ix_deliveries_message`` (message_id, status, cancel_reason): a broadcast's counts by
outcome, which the progress reply and the console's progress poll read every few seconds and
the broadcast history reads for fifty messages at once, come from the index alone.
``ix_deliveries_article`` (article_id, status): an article page's "sent to N chats" (and a
cascade from ``articles``). Both are partial (``IS NOT NULL``): an article delivery has no
message and a broadcast delivery no article, so each index holds only its own rows. Without
them each of these reads scanned the whole outbox (65-72 ms at 360,000 rows, seconds at the
tens of millions that 50,000 chats produce in a month).

On PostgreSQL the build blocks writes to ``deliveries`` while it runs (``CONCURRENTLY`` cannot
run inside the migration's transaction): expect about a minute per ten million rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _partial(column: str) -> dict[str, Any]:
    where = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_message",
        "deliveries",
        ["message_id", "status", "cancel_reason"],
        **_partial("message_id"),
    )
    op.create_index(
        "ix_deliveries_article", "deliveries", ["article_id", "status"], **_partial("article_id")
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_article", table_name="deliveries")
    op.drop_index("ix_deliveries_message", table_name="deliveries")
