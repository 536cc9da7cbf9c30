"""smpp_users: the system_id and password an SMPP client binds with, per account

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "smpp_users",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("system_id", sa.String(15), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_smpp_users_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_users")),
        sa.UniqueConstraint("system_id", name=op.f("uq_smpp_users_system_id")),
    )
    op.create_index(op.f("ix_smpp_users_account_id"), "smpp_users", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_smpp_users_account_id"), table_name="smpp_users")
    op.drop_table("smpp_users")
