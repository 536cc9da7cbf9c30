"""USSD: the ussd_requests table, devices.can_ussd and devices.connection_id

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ussd_requests",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("account_id", sa.String(length=24), nullable=False),
        sa.Column("device_id", sa.String(length=24), nullable=False),
        sa.Column("code", sa.String(length=182), nullable=False),
        sa.Column("sim", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("time_create", sa.Double(), nullable=False),
        sa.Column("time_done", sa.Double(), nullable=True),
        sa.Column("sent_at", sa.Double(), nullable=True),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ussd_requests_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ussd_requests")),
    )
    op.create_index("ix_ussd_requests_account_id", "ussd_requests", ["account_id"], unique=False)
    op.create_index(
        "ix_ussd_requests_device_id_status", "ussd_requests", ["device_id", "status"], unique=False
    )
    op.create_index(
        "ix_ussd_requests_status_expires_at", "ussd_requests", ["status", "expires_at"], unique=False
    )
    # Unknown until the device's next hello says: no USSD until then.
    op.add_column("devices", sa.Column("can_ussd", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("devices", sa.Column("connection_id", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch_op:
        batch_op.drop_column("connection_id")
        batch_op.drop_column("can_ussd")
    op.drop_index("ix_ussd_requests_status_expires_at", table_name="ussd_requests")
    op.drop_index("ix_ussd_requests_device_id_status", table_name="ussd_requests")
    op.drop_index("ix_ussd_requests_account_id", table_name="ussd_requests")
    op.drop_table("ussd_requests")
