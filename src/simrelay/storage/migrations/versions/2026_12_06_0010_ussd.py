"""USSD: the ussd_requests table, devices.can_ussd and devices.connection_id, device.ussd for
webhooks that took every event

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WEBHOOKS = sa.table("webhooks", sa.column("id", sa.String), sa.column("events", sa.JSON))
EVENTS_BEFORE = {"sms.status", "sms.received", "device.online", "device.offline", "device.low_battery"}


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
    # A webhook that took every event (the default, "all") takes the new one too.
    webhooks = sa.table("webhooks", sa.column("id", sa.String), sa.column("events", sa.JSON))
    conn = op.get_bind()
    for webhook_id, events in conn.execute(sa.select(webhooks.c.id, webhooks.c.events)).all():
        if EVENTS_BEFORE <= set(events or []):
            conn.execute(
                webhooks.update().where(webhooks.c.id == webhook_id).values(events=[*events, "device.ussd"])
            )


def _rewrite_events(change: Callable[[list[str]], list[str]]) -> None:
    conn = op.get_bind()
    for webhook_id, events in conn.execute(sa.select(WEBHOOKS.c.id, WEBHOOKS.c.events)).all():
        names = list(events or [])
        if change(names) != names:
            conn.execute(WEBHOOKS.update().where(WEBHOOKS.c.id == webhook_id).values(events=change(names)))


def downgrade() -> None:
    _rewrite_events(lambda names: [name for name in names if name != "device.ussd"])
    with op.batch_alter_table("devices") as batch_op:
        batch_op.drop_column("connection_id")
        batch_op.drop_column("can_ussd")
    op.drop_index("ix_ussd_requests_status_expires_at", table_name="ussd_requests")
    op.drop_index("ix_ussd_requests_device_id_status", table_name="ussd_requests")
    op.drop_index("ix_ussd_requests_account_id", table_name="ussd_requests")
    op.drop_table("ussd_requests")
