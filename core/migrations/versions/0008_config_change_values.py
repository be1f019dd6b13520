"""config_changes keep the old and new value of each changed key; jobs are found by run

``pazar channel changes`` shows what a change did (old → new, secrets masked at
save), which the changed key names alone could not.  ``pazar logs`` shows the job
that produced each run, looked up by ``jobs.run_id``.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("config_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changes", JSON_TYPE, nullable=True))
    op.create_index("ix_jobs_run_id", "jobs", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_run_id", table_name="jobs")
    with op.batch_alter_table("config_changes", schema=None) as batch_op:
        batch_op.drop_column("changes")
