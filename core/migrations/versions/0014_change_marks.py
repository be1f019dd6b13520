"""change marks: what kind of commerce record changed last, and when

- ``change_marks``: one row per kind of record (``stocks``, ``prices``, ``products``); every
  transaction that changes records of a kind adds one to its ``serial`` and sets
  ``changed_at``.  Daemons compare the serials they saw with the stored ones to wake the
  flows that send that kind (see ``pazar.jobs.wake``).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_marks",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_change_marks")),
    )


def downgrade() -> None:
    op.drop_table("change_marks")
