"""devices: new recipients per day, sticky days, automatic SIM pauses; sim_contacts (which SIM sent
to which number), sim_pauses, and device.sim_paused for webhooks that took every event

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

COLUMNS = {
    "sim_new_recipients_per_day": "0",
    "sticky_days": "30",
    "pause_after_failures": "0",
    "pause_minutes": "60",
}
WEBHOOKS = sa.table("webhooks", sa.column("id", sa.String), sa.column("events", sa.JSON))
EVERY_EVENT_BEFORE = {
    "sms.status",
    "sms.received",
    "device.online",
    "device.offline",
    "device.low_battery",
    "device.ussd",
}


def upgrade() -> None:
    for name, default in COLUMNS.items():
        op.add_column("devices", sa.Column(name, sa.Integer(), nullable=False, server_default=default))
    op.create_table(
        "sim_contacts",
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("phone_number", sa.String(30), nullable=False),
        sa.Column("device_id", sa.String(24), nullable=False),
        sa.Column("sim", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.Double(), nullable=False),
        sa.Column("last_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_sim_contacts_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "phone_number", "device_id", "sim", name=op.f("pk_sim_contacts")
        ),
    )
    op.create_index("ix_sim_contacts_device_id_first_at", "sim_contacts", ["device_id", "first_at"])
    op.create_table(
        "sim_pauses",
        sa.Column("device_id", sa.String(24), nullable=False),
        sa.Column("sim", sa.Integer(), nullable=False),
        sa.Column("paused_at", sa.Double(), nullable=False),
        sa.Column("until", sa.Double(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_sim_pauses_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", "sim", name=op.f("pk_sim_pauses")),
    )
    # A webhook that took every event takes the new one too.
    _rewrite_events(
        lambda names: [*names, "device.sim_paused"] if EVERY_EVENT_BEFORE <= set(names) else names
    )


def _rewrite_events(change: Callable[[list[str]], list[str]]) -> None:
    conn = op.get_bind()
    for webhook_id, events in conn.execute(sa.select(WEBHOOKS.c.id, WEBHOOKS.c.events)).all():
        names = list(events or [])
        if change(names) != names:
            conn.execute(WEBHOOKS.update().where(WEBHOOKS.c.id == webhook_id).values(events=change(names)))


def downgrade() -> None:
    _rewrite_events(lambda names: [name for name in names if name != "device.sim_paused"])
    op.drop_table("sim_pauses")
    op.drop_index("ix_sim_contacts_device_id_first_at", table_name="sim_contacts")
    op.drop_table("sim_contacts")
    with op.batch_alter_table("devices") as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)
