"""jobs: the queue index carries the full lease order (status, not_before, id)

A lease takes the oldest runnable queued job: an index scan in exactly that
order stops at the first live candidate and lets PostgreSQL mark the index
entries of jobs already taken as dead, where the old (status, not_before)
index left a bitmap scan that revisited every taken job until the next vacuum.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_jobs_status_not_before", table_name="jobs")
    op.create_index("ix_jobs_status_not_before_id", "jobs", ["status", "not_before", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status_not_before_id", table_name="jobs")
    op.create_index("ix_jobs_status_not_before", "jobs", ["status", "not_before"])
