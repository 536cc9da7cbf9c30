"""dispatch: device pairing and tokens, pacing settings, leases, encoding, status history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OFFERABLE = "status = 0 AND lease_device_id = '' AND deleted_at IS NULL"
LEASED = "lease_device_id <> ''"
EXPIRING = "status = 0 AND valid_until IS NOT NULL"


def upgrade() -> None:
    # Existing devices get the pacing defaults of the settings of the day (see config.py).
    device_columns: list[sa.Column[Any]] = [
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("app_version", sa.String(200), nullable=False, server_default=""),
        sa.Column("signal", sa.Integer(), nullable=False, server_default="-1"),
        sa.Column("send_interval_min", sa.Double(), nullable=False, server_default="5"),
        sa.Column("send_interval_max", sa.Double(), nullable=False, server_default="15"),
        sa.Column("limit_per_minute", sa.Integer(), nullable=False, server_default="4"),
        sa.Column("limit_per_hour", sa.Integer(), nullable=False, server_default="60"),
        sa.Column("limit_per_day", sa.Integer(), nullable=False, server_default="300"),
    ]
    for column in device_columns:
        op.add_column("devices", column)
    op.create_index("ix_devices_token_hash", "devices", ["token_hash"], unique=True)

    op.create_table(
        "pairing_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_pairing_codes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_pairing_codes")),
    )
    op.create_index("ix_pairing_codes_account_id", "pairing_codes", ["account_id"])

    message_columns: list[sa.Column[Any]] = [
        sa.Column("valid_until", sa.Integer(), nullable=True),
        sa.Column("send_at", sa.Integer(), nullable=True),
        sa.Column("encoding", sa.String(8), nullable=False, server_default="gsm7"),
        sa.Column("parts", sa.SmallInteger(), nullable=False, server_default="1"),
        sa.Column("part_states", sa.String(255), nullable=False, server_default=""),
        sa.Column("reason", sa.String(200), nullable=False, server_default=""),
        sa.Column("attempts", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("sim", sa.Integer(), nullable=True),
        sa.Column("lease_device_id", sa.String(24), nullable=False, server_default=""),
        sa.Column("lease_until", sa.Double(), nullable=True),
        sa.Column("lease_expires", sa.Double(), nullable=True),
        sa.Column("lease_drop", sa.Boolean(), nullable=False, server_default=sa.false()),
    ]
    for column in message_columns:
        op.add_column("messages", column)
    op.create_index(
        "ix_messages_offerable",
        "messages",
        ["account_id", "id"],
        sqlite_where=sa.text(OFFERABLE),
        postgresql_where=sa.text(OFFERABLE),
    )
    op.create_index(
        "ix_messages_expiring",
        "messages",
        ["valid_until"],
        sqlite_where=sa.text(EXPIRING),
        postgresql_where=sa.text(EXPIRING),
    )
    op.create_index(
        "ix_messages_leased",
        "messages",
        ["lease_device_id", "lease_expires"],
        sqlite_where=sa.text(LEASED),
        postgresql_where=sa.text(LEASED),
    )

    op.create_table(
        "message_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(24), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("device_id", sa.String(24), nullable=False),
        sa.Column("sim", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_history")),
    )
    op.create_index("ix_message_history_message_id", "message_history", ["message_id"])
    op.create_index("ix_message_history_device_id_at", "message_history", ["device_id", "at"])


def downgrade() -> None:
    op.drop_table("message_history")
    op.drop_index("ix_messages_leased", "messages")
    op.drop_index("ix_messages_expiring", "messages")
    op.drop_index("ix_messages_offerable", "messages")
    with op.batch_alter_table("messages") as batch_op:
        for name in (
            "valid_until",
            "send_at",
            "encoding",
            "parts",
            "part_states",
            "reason",
            "attempts",
            "sim",
            "lease_device_id",
            "lease_until",
            "lease_expires",
            "lease_drop",
        ):
            batch_op.drop_column(name)
    op.drop_table("pairing_codes")
    op.drop_index("ix_devices_token_hash", "devices")
    with op.batch_alter_table("devices") as batch_op:
        for name in (
            "token_hash",
            "app_version",
            "signal",
            "send_interval_min",
            "send_interval_max",
            "limit_per_minute",
            "limit_per_hour",
            "limit_per_day",
        ):
            batch_op.drop_column(name)
