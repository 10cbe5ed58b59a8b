"""The web console's tables: sign-in links, sessions, the audit log, scheduled broadcasts and
paused sources.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_links",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("admin", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("admin", sa.String(200), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("admin", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "scheduled_broadcasts",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("target", sa.String(10), nullable=False),
        sa.Column("target_values", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("send_at", TS, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column(
            "message_id",
            BIGID,
            sa.ForeignKey(
                "messages.id",
                ondelete="SET NULL",
                name="fk_scheduled_broadcasts_message_id_messages",
            ),
            nullable=True,
        ),
        sa.Column("queued", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_scheduled_broadcasts_status", "scheduled_broadcasts", ["status", "send_at"])
    op.create_table(
        "paused_sources",
        sa.Column("source_id", sa.String(100), primary_key=True),
        sa.Column("paused_by", sa.String(200), nullable=False),
        sa.Column("paused_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("paused_sources")
    op.drop_index("ix_scheduled_broadcasts_status", table_name="scheduled_broadcasts")
    op.drop_table("scheduled_broadcasts")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("web_sessions")
    op.drop_table("web_links")
