"""message totals: live SMS per account, for the unfiltered list's total_records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_totals",
        sa.Column("account_id", sa.String(length=24), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_message_totals_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_message_totals")),
    )
    op.execute(
        "INSERT INTO message_totals (account_id, total) "
        "SELECT account_id, count(*) FROM messages WHERE deleted_at IS NULL GROUP BY account_id"
    )


def downgrade() -> None:
    op.drop_table("message_totals")
