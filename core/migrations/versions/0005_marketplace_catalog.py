"""marketplace catalog store (categories, attributes, values) and channel mappings

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
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
        "mp_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.Column("parent_remote_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("leaf", sa.Boolean(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _channel_fk("mp_categories"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mp_categories")),
        sa.UniqueConstraint("channel_id", "remote_id", name=op.f("uq_mp_categories_remote")),
    )
    op.create_index("ix_mp_categories_parent", "mp_categories", ["channel_id", "parent_remote_id"])
    op.create_table(
        "mp_attributes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("category_remote_id", sa.String(length=64), nullable=False),
        sa.Column("remote_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("group", sa.String(length=32), nullable=False),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("multi_value", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _channel_fk("mp_attributes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mp_attributes")),
        sa.UniqueConstraint(
            "channel_id",
            "category_remote_id",
            "remote_id",
            name=op.f("uq_mp_attributes_remote"),
        ),
    )
    op.create_table(
        "mp_attribute_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("category_remote_id", sa.String(length=64), nullable=False),
        sa.Column("attribute_remote_id", sa.String(length=128), nullable=False),
        sa.Column("remote_id", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        _channel_fk("mp_attribute_values"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mp_attribute_values")),
        sa.UniqueConstraint(
            "channel_id",
            "category_remote_id",
            "attribute_remote_id",
            "remote_id",
            name=op.f("uq_mp_attribute_values_remote"),
        ),
    )
    op.create_table(
        "channel_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _channel_fk("channel_mappings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_mappings")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_channel_mappings_channel_id")),
    )


def downgrade() -> None:
    op.drop_table("channel_mappings")
    op.drop_table("mp_attribute_values")
    op.drop_table("mp_attributes")
    op.drop_index("ix_mp_categories_parent", table_name="mp_categories")
    op.drop_table("mp_categories")
