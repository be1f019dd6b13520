"""batch requests remember the upload sink that made them, and how the marketplace names records

The engine polls every asynchronous upload through the sink that sent it (``sink``: the
registered step type, ``kind``: which of its uploads, e.g. stock or shipping info), so a
marketplace plugin writes "upload" and "status" and nothing else.  ``result_key`` is the
name the marketplace reports a record's outcome under (a barcode, say) when it is not the
record's key.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_requests") as batch:
        batch.add_column(sa.Column("sink", sa.String(160), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(64), nullable=True))
    with op.batch_alter_table("batch_request_items") as batch:
        batch.add_column(sa.Column("result_key", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batch_request_items") as batch:
        batch.drop_column("result_key")
    with op.batch_alter_table("batch_requests") as batch:
        batch.drop_column("kind")
        batch.drop_column("sink")
