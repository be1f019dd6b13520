"""schedule ticks say what claimed them: a cron tick or a change wake-up

- ``schedule_ticks.trigger``: ``schedule`` for a cron tick (every row before this
  revision), ``change`` or ``upload`` for a wake-up (see ``pazar.jobs.wake``).  Pruning
  keeps each (channel, flow)'s newest *cron* tick: a wake-up newer than it must not let
  the cron tick go, or a schedule that ticks less often than the retention would claim
  that tick again after a restart.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "schedule_ticks",
        sa.Column("trigger", sa.String(length=16), nullable=False, server_default="schedule"),
    )


def downgrade() -> None:
    with op.batch_alter_table("schedule_ticks") as batch:
        batch.drop_column("trigger")
