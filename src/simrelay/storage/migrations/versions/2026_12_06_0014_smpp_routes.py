"""smpp_routes and smpp_route_parts: carriers' SMSCs as devices, and the submit_sm written to them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

down_revision is 0012 while 0013 (receipts) is being written on main: re-chain it to 0013.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "smpp_routes",
        sa.Column("device_id", sa.String(24), nullable=False),
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.String(15), nullable=False),
        sa.Column("password", sa.String(8), nullable=False),
        sa.Column("source_addr", sa.String(21), nullable=False),
        sa.Column("tps", sa.Double(), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(32), nullable=True),
        sa.Column("held_until", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_smpp_routes_device_id_devices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_smpp_routes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_smpp_routes")),
    )
    op.create_index(op.f("ix_smpp_routes_account_id"), "smpp_routes", ["account_id"])
    op.create_table(
        "smpp_route_parts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(24), nullable=False),
        sa.Column("message_id", sa.String(24), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("smsc_id", sa.String(65), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_smpp_route_parts_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_route_parts")),
        sa.UniqueConstraint("device_id", "message_id", "part", name=op.f("uq_smpp_route_parts_device_id")),
    )
    op.create_index("ix_smpp_route_parts_device_id_smsc_id", "smpp_route_parts", ["device_id", "smsc_id"])


def downgrade() -> None:
    op.drop_index("ix_smpp_route_parts_device_id_smsc_id", table_name="smpp_route_parts")
    op.drop_table("smpp_route_parts")
    op.drop_index(op.f("ix_smpp_routes_account_id"), table_name="smpp_routes")
    op.drop_table("smpp_routes")
