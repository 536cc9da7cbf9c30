"""webhooks: derived signing secrets, the event outbox and the delivery log; device online flag

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DUE = "state = 0"


def upgrade() -> None:
    # Webhook records had no way to be created before this revision, so nothing to carry over.
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.drop_column("secret")
        batch_op.add_column(sa.Column("secret_salt", sa.String(64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("previous_salt", sa.String(64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("rotated_at", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("failing_since", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("disabled_reason", sa.String(200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("disabled_at", sa.Double(), nullable=True))
    op.add_column("devices", sa.Column("online", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("webhook_id", sa.String(24), nullable=False),
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Double(), nullable=True),
        sa.Column("locked_until", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_events_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
    )
    op.create_index(
        "ix_webhook_events_due",
        "webhook_events",
        ["next_attempt_at"],
        sqlite_where=sa.text(DUE),
        postgresql_where=sa.text(DUE),
    )
    op.create_index("ix_webhook_events_webhook_id_created_at", "webhook_events", ["webhook_id", "created_at"])
    op.create_index("ix_webhook_events_created_at", "webhook_events", ["created_at"])
    op.create_index(
        "ix_webhook_events_subject",
        "webhook_events",
        ["webhook_id", "subject"],
        sqlite_where=sa.text(DUE),
        postgresql_where=sa.text(DUE),
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("webhook_id", sa.String(24), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("error", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_webhook_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])
    op.create_index("ix_webhook_deliveries_webhook_id_id", "webhook_deliveries", ["webhook_id", "id"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    with op.batch_alter_table("devices") as batch_op:
        batch_op.drop_column("online")
    with op.batch_alter_table("webhooks") as batch_op:
        for name in (
            "secret_salt",
            "previous_salt",
            "rotated_at",
            "failing_since",
            "disabled_reason",
            "disabled_at",
        ):
            batch_op.drop_column(name)
        batch_op.add_column(sa.Column("secret", sa.String(200), nullable=False, server_default=""))
