"""``unreachable`` becomes a delivery status of its own.

Until now a delivery to a chat that blocked the bot was ``failed`` with ``last_error``
``"unreachable: <reason>"``; it becomes ``unreachable`` with ``last_error`` ``"<reason>"``.
``deliveries.status`` widens from 10 to 16 characters to hold the new word.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite does not enforce VARCHAR lengths: only PostgreSQL needs the wider column (and
    # SQLite would rebuild the whole table for it).
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "deliveries",
            "status",
            type_=sa.String(16),
            existing_type=sa.String(10),
            existing_nullable=False,
        )
    # 'unreachable: ' is 13 characters: the reason starts at the 14th.
    op.execute(
        "UPDATE deliveries SET status = 'unreachable', last_error = substr(last_error, 14) "
        "WHERE status = 'failed' AND last_error LIKE 'unreachable:%'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE deliveries SET status = 'failed', "
        "last_error = 'unreachable: ' || coalesce(last_error, '') WHERE status = 'unreachable'"
    )
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "deliveries",
            "status",
            type_=sa.String(10),
            existing_type=sa.String(16),
            existing_nullable=False,
        )
