"""the order side: penalties by key, integration state, order and request origins

- ``failed_integrations.object_id`` may be NULL: a record without a local id yet (a
  marketplace package before it became an order) is penalised by its key, one row per
  (channel, content type, key) (partial unique index), with ``payload`` the record as
  last read so a released penalty can be retried.
- ``integration_actions.state``: what the marketplace holds of the object (an order's
  status last sent), so an update never goes backwards.
- ``orders.remote_status``: the status the marketplace last reported.
- ``cancellation_requests.origin``: ``marketplace`` or ``local`` (made in the commerce
  backend, sent to the marketplace; a marketplace's own request is never sent back).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("failed_integrations") as batch:
        batch.alter_column("object_id", existing_type=sa.BigInteger(), nullable=True)
        batch.add_column(sa.Column("payload", JSON_TYPE, nullable=True))
    op.create_index(
        "uq_failed_integrations_keyed",
        "failed_integrations",
        ["channel_id", "content_type", "object_key"],
        unique=True,
        sqlite_where=sa.text("object_id IS NULL"),
        postgresql_where=sa.text("object_id IS NULL"),
    )
    with op.batch_alter_table("integration_actions") as batch:
        batch.add_column(sa.Column("state", sa.String(32), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("remote_status", sa.String(32), nullable=True))
    with op.batch_alter_table("cancellation_requests") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(16), nullable=False, server_default="marketplace")
        )


def downgrade() -> None:
    with op.batch_alter_table("cancellation_requests") as batch:
        batch.drop_column("origin")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("remote_status")
    with op.batch_alter_table("integration_actions") as batch:
        batch.drop_column("state")
    op.drop_index("uq_failed_integrations_keyed", table_name="failed_integrations")
    op.execute("DELETE FROM failed_integrations WHERE object_id IS NULL")
    with op.batch_alter_table("failed_integrations") as batch:
        batch.drop_column("payload")
        batch.alter_column("object_id", existing_type=sa.BigInteger(), nullable=False)
