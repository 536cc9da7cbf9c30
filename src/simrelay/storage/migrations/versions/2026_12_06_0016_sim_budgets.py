"""devices: calendar budgets of each SIM (per day, per month, warm-up), SIM strategy, quiet hours, time zone

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = (
    "sim_limit_per_day",
    "sim_limit_per_month",
    "sim_warmup_days",
    "sim_strategy",
    "quiet_hours",
    "timezone",
)


def upgrade() -> None:
    op.add_column("devices", sa.Column("sim_limit_per_day", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "devices", sa.Column("sim_limit_per_month", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("devices", sa.Column("sim_warmup_days", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "devices", sa.Column("sim_strategy", sa.String(16), nullable=False, server_default="random")
    )
    op.add_column("devices", sa.Column("quiet_hours", sa.String(16), nullable=False, server_default=""))
    op.add_column("devices", sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)
