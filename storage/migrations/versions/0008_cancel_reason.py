"""Why a delivery was cancelled becomes a column of its own.

``deliveries.cancel_reason``: ``unreachable`` when the delivery was cancelled because its chat
was deactivated for being unreachable, ``migrated`` when its chat moved to one that already had
the message, NULL otherwise. Until now only ``last_error`` told (``"chat unreachable: ..."``,
``"chat migrated"``); the rows written so far are filled in from it, and ``last_error`` stays.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("cancel_reason", sa.String(16), nullable=True))
    # The prefix the outbox has written since 0003 ('chat unreachable: <reason>').
    op.execute(
        "UPDATE deliveries SET cancel_reason = 'unreachable' "
        "WHERE status = 'cancelled' AND last_error LIKE 'chat unreachable: %'"
    )
    op.execute(
        "UPDATE deliveries SET cancel_reason = 'migrated' "
        "WHERE status = 'cancelled' AND last_error = 'chat migrated'"
    )


def downgrade() -> None:
    # last_error still tells, as it did before this revision.
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("cancel_reason")
