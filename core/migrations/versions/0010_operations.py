"""operations: listing snapshots and their reads, dashboard history, reconciliation
corrections, alarm rules and alarm events

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _channel_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["channel_id"],
        ["channels.id"],
        name=op.f(f"fk_{table}_channel_id_channels"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "listing_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("listings", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _channel_fk("listing_reads"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_reads")),
    )
    op.create_index(
        "ix_listing_reads_channel_status", "listing_reads", ["channel_id", "status", "id"]
    )
    op.create_table(
        "listing_snapshots",
        sa.Column("read_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("remote_id", sa.String(length=255), nullable=True),
        sa.Column("price", sa.Numeric(14, 2), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("on_sale", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("read_id", "sku", name=op.f("pk_listing_snapshots")),
    )
    op.create_table(
        "dashboard_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("read_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_skus", sa.BigInteger(), nullable=False),
        sa.Column("skus_on_sale", sa.BigInteger(), nullable=True),
        sa.Column("sku_difference", sa.BigInteger(), nullable=True),
        sa.Column("price_differences", sa.BigInteger(), nullable=True),
        sa.Column("total_stock", sa.BigInteger(), nullable=False),
        sa.Column("stock_on_sale", sa.BigInteger(), nullable=True),
        sa.Column("stock_difference", sa.BigInteger(), nullable=True),
        sa.Column("stock_differences", sa.BigInteger(), nullable=True),
        sa.Column("price_corrections", sa.Integer(), nullable=False),
        sa.Column("stock_corrections", sa.Integer(), nullable=False),
        _channel_fk("dashboard_history"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_history")),
    )
    op.create_index(
        "ix_dashboard_history_channel_at", "dashboard_history", ["channel_id", "recorded_at"]
    )
    op.create_table(
        "reconcile_corrections",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("read_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("local_value", sa.String(length=64), nullable=True),
        sa.Column("remote_value", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _channel_fk("reconcile_corrections"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_corrections")),
    )
    op.create_index(
        "ix_reconcile_corrections_channel",
        "reconcile_corrections",
        ["channel_id", "content_type", "created_at"],
    )
    op.create_table(
        "alarm_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("flow", sa.String(length=160), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("repeat_seconds", sa.Integer(), nullable=True),
        sa.Column("recipients", JSON_TYPE, nullable=False),
        sa.Column("webhooks", JSON_TYPE, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("firing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _channel_fk("alarm_rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_alarm_rules_name")),
    )
    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("deliveries", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alarm_rules.id"],
            name=op.f("fk_alarm_events_rule_id_alarm_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_events")),
    )
    op.create_index("ix_alarm_events_rule_at", "alarm_events", ["rule_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_alarm_events_rule_at", table_name="alarm_events")
    op.drop_table("alarm_events")
    op.drop_table("alarm_rules")
    op.drop_index("ix_reconcile_corrections_channel", table_name="reconcile_corrections")
    op.drop_table("reconcile_corrections")
    op.drop_index("ix_dashboard_history_channel_at", table_name="dashboard_history")
    op.drop_table("dashboard_history")
    op.drop_table("listing_snapshots")
    op.drop_index("ix_listing_reads_channel_status", table_name="listing_reads")
    op.drop_table("listing_reads")
