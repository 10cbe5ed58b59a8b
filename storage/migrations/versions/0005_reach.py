"""Reach (issue 14): forum threads, channels, message format, mutes and backfills.

``subscriptions.thread_id`` binds a subscription to a forum topic; ``deliveries.thread_id``
carries it to the sender. ``chats.format`` is the chat's message format (NULL = full) and
``chats.added_by`` who registered a Telegram channel. ``chat_backfills`` remembers which
topics a chat already got its first few articles of. Mutes are subscriptions of kind "mute".

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("thread_id", sa.String(20), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("thread_id", sa.String(20), nullable=True))
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("format", sa.String(10), nullable=True))
        batch.add_column(sa.Column("added_by", sa.String(100), nullable=True))
    op.create_table(
        "chat_backfills",
        sa.Column(
            "chat_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("chats.id", ondelete="CASCADE", name="fk_chat_backfills_chat_id_chats"),
            nullable=False,
        ),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "topic", name="pk_chat_backfills"),
    )


def downgrade() -> None:
    op.drop_table("chat_backfills")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("added_by")
        batch.drop_column("format")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("thread_id")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("thread_id")
