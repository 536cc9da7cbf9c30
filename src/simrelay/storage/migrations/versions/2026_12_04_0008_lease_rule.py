"""The lease rule: messages.lease_handed, accounts.resend_lost, devices.kind and can_cancel

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Leases that exist now count as handed over: the safe side of the rule.
    op.add_column(
        "messages", sa.Column("lease_handed", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column(
        "accounts", sa.Column("resend_lost", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("devices", sa.Column("kind", sa.String(16), nullable=False, server_default="native"))
    op.add_column("devices", sa.Column("can_cancel", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE devices SET kind = 'smsgate' WHERE model = 'SMS Gateway for Android'")


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch_op:
        batch_op.drop_column("can_cancel")
        batch_op.drop_column("kind")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("resend_lost")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("lease_handed")
