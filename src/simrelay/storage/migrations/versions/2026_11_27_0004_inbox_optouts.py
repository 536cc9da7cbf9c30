"""inbox and opt-outs: SMS received by devices, and numbers that asked not to be texted

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "received_messages",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("account_id", sa.String(length=24), nullable=False),
        sa.Column("device_id", sa.String(length=24), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("phone_number", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("sim", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_received_messages_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_messages")),
        sa.UniqueConstraint(
            "account_id", "device_id", "external_id", name=op.f("uq_received_messages_account_id")
        ),
    )
    op.create_index(
        "ix_received_messages_account_id_id", "received_messages", ["account_id", "id"], unique=False
    )

    op.create_table(
        "optouts",
        sa.Column("account_id", sa.String(length=24), nullable=False),
        sa.Column("phone_number", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_optouts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "phone_number", name=op.f("pk_optouts")),
    )


def downgrade() -> None:
    op.drop_table("optouts")
    op.drop_index("ix_received_messages_account_id_id", table_name="received_messages")
    op.drop_table("received_messages")
