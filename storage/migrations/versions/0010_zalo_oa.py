"""The Zalo Official Account channel's tables.

``zalo_oa_tokens``: the OA's access and refresh tokens (one row, sealed by the application),
with the refresh token's SHA-256 for the compare-and-swap of a rotation. ``zalo_oa_members``:
each member's last interaction, its msg_id, the free replies used since and the templates
sent today, so a restart keeps every window. ``zalo_oa_sends``: sends per month and kind and
their cost, for the budget and the console. ``zalo_oa_auth``: the OAuth state and PKCE
verifier of a "connect" under way.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "zalo_oa_tokens",
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("oa_id", sa.String(40), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("refresh_hash", sa.String(64), nullable=False),
        sa.Column("access_expires_at", TS, nullable=False),
        sa.Column("refresh_expires_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_zalo_oa_tokens"),
    )
    op.create_table(
        "zalo_oa_members",
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("last_interaction_at", TS, nullable=True),
        sa.Column("last_msg_id", sa.String(100), nullable=False),
        sa.Column("free_used", sa.Integer(), nullable=False),
        sa.Column("templates_day", sa.String(10), nullable=False),
        sa.Column("templates_today", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_zalo_oa_members"),
    )
    op.create_table(
        "zalo_oa_sends",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("cost_vnd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "kind", name="pk_zalo_oa_sends"),
    )
    op.create_table(
        "zalo_oa_auth",
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("verifier", sa.Text(), nullable=False),
        sa.Column("admin", sa.String(200), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name="pk_zalo_oa_auth"),
    )


def downgrade() -> None:
    # The tokens go with the tables: after an upgrade again, an admin connects the OA anew.
    for table in ("zalo_oa_auth", "zalo_oa_sends", "zalo_oa_members", "zalo_oa_tokens"):
        op.drop_table(table)
