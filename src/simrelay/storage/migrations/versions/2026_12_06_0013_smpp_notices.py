"""smpp_receipts_wanted, smpp_notices and smpp_senders: the receipts submit_sm asked for, the
deliver_sm (receipts and MO) waiting for a receiver bind, and source_addrs mapped to a device

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
    op.create_table(
        "smpp_senders",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("smpp_user_id", sa.String(24), nullable=False),
        sa.Column("source_addr", sa.String(20), nullable=False),
        sa.Column("device_id", sa.String(24), nullable=False),
        sa.Column("to_sim", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["smpp_user_id"],
            ["smpp_users.id"],
            name=op.f("fk_smpp_senders_smpp_user_id_smpp_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_smpp_senders_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_senders")),
        sa.UniqueConstraint("smpp_user_id", "source_addr", name=op.f("uq_smpp_senders_smpp_user_id")),
    )
    op.create_index(op.f("ix_smpp_senders_device_id"), "smpp_senders", ["device_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_smpp_senders_device_id"), table_name="smpp_senders")
    op.drop_table("smpp_senders")
    op.drop_index("ix_smpp_notices_account_id_id", table_name="smpp_notices")
    op.drop_table("smpp_notices")
    op.drop_table("smpp_receipts_wanted")
