"""campaigns, and messages.campaign_id and hold: bulk sends that can be paused and cancelled

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

OFFERABLE_BEFORE = "status = 0 AND lease_device_id = '' AND deleted_at IS NULL"
OFFERABLE = "status = 0 AND lease_device_id = '' AND deleted_at IS NULL AND hold = 0"
IN_CAMPAIGN = "campaign_id IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("time_create", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_campaigns_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_account_id_id", "campaigns", ["account_id", "id"])
    op.add_column("messages", sa.Column("campaign_id", sa.String(24), nullable=True))
    op.add_column("messages", sa.Column("hold", sa.SmallInteger(), nullable=False, server_default="0"))
    op.create_index(
        "ix_messages_campaign",
        "messages",
        ["campaign_id", "status"],
        sqlite_where=sa.text(IN_CAMPAIGN),
        postgresql_where=sa.text(IN_CAMPAIGN),
    )
    _offerable_index(OFFERABLE)


def downgrade() -> None:
    _offerable_index(OFFERABLE_BEFORE)
    op.drop_index("ix_messages_campaign", table_name="messages")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("hold")
        batch_op.drop_column("campaign_id")
    op.drop_index("ix_campaigns_account_id_id", table_name="campaigns")
    op.drop_table("campaigns")


def _offerable_index(condition: str) -> None:
    """A held SMS (its campaign paused) is no offer: it leaves the partial index too, so that a
    paused campaign of 10,000 costs the dispatcher's queries nothing."""
    op.drop_index("ix_messages_offerable", table_name="messages")
    op.create_index(
        "ix_messages_offerable",
        "messages",
        ["account_id", "id"],
        sqlite_where=sa.text(condition),
        postgresql_where=sa.text(condition),
    )
