"""integration_waits: records that wait for another content type of their object

A stock or price of a product the marketplace does not have yet cannot go out (it would be
refused and penalised for hours); it waits here, unpenalised, until the product is
integrated, and is read again by the first run after that.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integration_waits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "channel_id",
            sa.Integer(),
            sa.ForeignKey("channels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.String(255), nullable=False),
        sa.Column("needs", sa.String(32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.UniqueConstraint("channel_id", "content_type", "object_id"),
    )
    op.create_index(
        "ix_integration_waits_needs", "integration_waits", ["channel_id", "needs", "object_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_integration_waits_needs", table_name="integration_waits")
    op.drop_table("integration_waits")
