"""a listings read says what it could not see

- ``listing_reads.unavailable``: ``{"price": reason, "stock": reason}`` for a marketplace
  whose listing API shows no prices or stocks (the flow's ``unavailable`` param of
  ``state.listings_snapshot``); the dashboard shows those numbers as not available, with the
  reason, and reconciliation leaves those kinds alone.  NULL (every read before this
  revision): the read saw everything.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("listing_reads", sa.Column("unavailable", JSON_TYPE, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listing_reads") as batch:
        batch.drop_column("unavailable")
