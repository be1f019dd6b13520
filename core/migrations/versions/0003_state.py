"""state: integration actions, failed integrations, batch requests, sync cursors

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _channel_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["channel_id"],
        ["channels.id"],
        name=op.f(f"fk_{table}_channel_id_channels"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "integration_actions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("remote_id", sa.String(length=255), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _channel_fk("integration_actions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_actions")),
        sa.UniqueConstraint(
            "channel_id",
            "content_type",
            "object_id",
            name=op.f("uq_integration_actions_channel_id_content_type_object_id"),
        ),
    )
    op.create_index(
        "ix_integration_actions_channel_key",
        "integration_actions",
        ["channel_id", "content_type", "object_key"],
    )

    op.create_table(
        "failed_integrations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("reason_type", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("max_retry_count", sa.Integer(), nullable=False),
        sa.Column("retry_interval", sa.Integer(), nullable=False),
        sa.Column("expiration_seconds", sa.Integer(), nullable=True),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        _channel_fk("failed_integrations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_integrations")),
        sa.UniqueConstraint(
            "channel_id",
            "content_type",
            "object_id",
            name=op.f("uq_failed_integrations_channel_id_content_type_object_id"),
        ),
    )
    op.create_index(
        "ix_failed_integrations_due",
        "failed_integrations",
        ["channel_id", "content_type", "next_retry_at"],
    )
    op.create_index(
        "ix_failed_integrations_channel_key",
        "failed_integrations",
        ["channel_id", "content_type", "object_key"],
    )

    op.create_table(
        "batch_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("local_batch_id", sa.String(length=36), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("flow", sa.String(length=160), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("remote_batch_id", sa.String(length=255), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _channel_fk("batch_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_requests")),
        sa.UniqueConstraint("local_batch_id", name=op.f("uq_batch_requests_local_batch_id")),
    )
    op.create_index("ix_batch_requests_channel_status", "batch_requests", ["channel_id", "status"])
    op.create_index("ix_batch_requests_status_sent", "batch_requests", ["status", "sent_at"])

    op.create_table(
        "batch_request_items",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.Column("in_flight", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("remote_id", sa.String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batch_requests.id"],
            name=op.f("fk_batch_request_items_batch_id_batch_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_request_items")),
    )
    op.create_index(op.f("ix_batch_request_items_batch_id"), "batch_request_items", ["batch_id"])
    op.create_index(
        "ix_batch_request_items_flight",
        "batch_request_items",
        ["channel_id", "content_type", "object_id", "in_flight"],
    )

    op.create_table(
        "sync_cursors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _channel_fk("sync_cursors"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_cursors")),
        sa.UniqueConstraint(
            "channel_id",
            "content_type",
            "source",
            name=op.f("uq_sync_cursors_channel_id_content_type_source"),
        ),
    )


def downgrade() -> None:
    op.drop_table("sync_cursors")
    op.drop_index("ix_batch_request_items_flight", table_name="batch_request_items")
    op.drop_index(op.f("ix_batch_request_items_batch_id"), table_name="batch_request_items")
    op.drop_table("batch_request_items")
    op.drop_index("ix_batch_requests_status_sent", table_name="batch_requests")
    op.drop_index("ix_batch_requests_channel_status", table_name="batch_requests")
    op.drop_table("batch_requests")
    op.drop_index("ix_failed_integrations_channel_key", table_name="failed_integrations")
    op.drop_index("ix_failed_integrations_due", table_name="failed_integrations")
    op.drop_table("failed_integrations")
    op.drop_index("ix_integration_actions_channel_key", table_name="integration_actions")
    op.drop_table("integration_actions")
