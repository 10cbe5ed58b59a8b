"""Per-entry isolation and unchanged listings.

``entry_failures``: one row per entry (article key) that failed (its page's parser crashed or
ran out of time, its save was refused), with the reason and the attempts so far; after a few
attempts the poller skips the entry for good. ``sources.listing_hash``: the SHA-256 of the
last listing parsed in full, so unchanged bytes are not parsed again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("listing_hash", sa.String(64), nullable=True))
    op.create_table(
        "entry_failures",
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_entry_failures"),
    )
    op.create_index("ix_entry_failures_source_id", "entry_failures", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_entry_failures_source_id", table_name="entry_failures")
    op.drop_table("entry_failures")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("listing_hash")
