"""batch_request_items: the index the in-flight checks use holds only items in flight

Every record a push selects is checked for an item of it in flight (``in_flight`` true),
and every batch that ends sets ``in_flight`` false on its items.  The index behind those
checks held every item ever sent, keyed by ``in_flight`` among its columns, so ending a
batch moved each of its items within the index, and after a push of 1,000,000 stocks it
held a million entries no in-flight check can match.  As a partial index
(``WHERE in_flight``) it holds only the items still in flight (a few uploads' worth): an
item leaves it when its batch ends.  Both
dialects use a partial index when the query repeats its condition, which every in-flight
check of pazar does (``in_flight IS true``, as SQLAlchemy writes it for both).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

OLD = "ix_batch_request_items_flight"
NEW = "ix_batch_request_items_in_flight"


def upgrade() -> None:
    op.drop_index(OLD, table_name="batch_request_items")
    in_flight = sa.column("in_flight", sa.Boolean()).is_(True)
    op.create_index(
        NEW,
        "batch_request_items",
        ["channel_id", "content_type", "object_id"],
        sqlite_where=in_flight,
        postgresql_where=in_flight,
    )


def downgrade() -> None:
    op.drop_index(NEW, table_name="batch_request_items")
    op.create_index(
        OLD, "batch_request_items", ["channel_id", "content_type", "object_id", "in_flight"]
    )
