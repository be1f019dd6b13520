"""api tokens: optional channel/flow scopes, and an audit trail that outlives revocation

A token may be limited to some channels and flows (null: any).  Creating and
revoking a token each leave a row in api_token_events, so who could trigger
what, and until when, stays answerable after the token itself is gone.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("channels", JSON_TYPE, nullable=True))
    op.add_column("api_tokens", sa.Column("flows", JSON_TYPE, nullable=True))
    op.create_table(
        "api_token_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_name", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("detail", JSON_TYPE, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token_events")),
    )
    op.create_index(
        "ix_api_token_events_token_name", "api_token_events", ["token_name"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_api_token_events_token_name", table_name="api_token_events")
    op.drop_table("api_token_events")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("flows")
        batch.drop_column("channels")
