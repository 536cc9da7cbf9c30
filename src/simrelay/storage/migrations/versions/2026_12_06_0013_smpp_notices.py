"""smpp_receipts_wanted and smpp_notices: the receipts submit_sm asked for, and the deliver_sm
(receipts and MO) waiting for a receiver bind

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "smpp_receipts_wanted",
        sa.Column("message_id", sa.String(24), nullable=False),
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("registered_delivery", sa.SmallInteger(), nullable=False),
        sa.Column("source_addr", sa.String(21), nullable=False),
        sa.Column("source_ton", sa.SmallInteger(), nullable=False),
        sa.Column("source_npi", sa.SmallInteger(), nullable=False),
        sa.Column("destination_addr", sa.String(21), nullable=False),
        sa.Column("dest_ton", sa.SmallInteger(), nullable=False),
        sa.Column("dest_npi", sa.SmallInteger(), nullable=False),
        sa.Column("head", sa.String(20), nullable=False),
        sa.Column("submitted_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_smpp_receipts_wanted_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_smpp_receipts_wanted")),
    )
    op.create_table(
        "smpp_notices",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_smpp_notices_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_notices")),
    )
    op.create_index("ix_smpp_notices_account_id_id", "smpp_notices", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_smpp_notices_account_id_id", table_name="smpp_notices")
    op.drop_table("smpp_notices")
    op.drop_table("smpp_receipts_wanted")
