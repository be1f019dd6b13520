"""prices and stocks name their product without a foreign-key constraint

``prices.product_id`` and ``stocks.product_id`` keep their unique index; the constraint
to ``products.id`` goes.  On PostgreSQL the constraint is a trigger that, for every row
inserted, probes ``products`` and locks the product's row (``FOR KEY SHARE``, a write to
the products heap): a third of a first import's server time for prices and stocks, which
kept ``pazar catalog import`` on PostgreSQL under SQLite's rows/s.  It guarded nothing
pazar does: every writer of these tables (the import's merge, ``pazar stock set`` /
``price set``, the HTTP API, a commerce backend through them) takes the product id from
``products`` in the same statement or transaction, and pazar never deletes a product
(a product leaves the catalog with ``active`` false), so there was never a row to cascade
or refuse.  SQLite checks the constraint cheaply, but the schema is one for both
dialects; there the tables are rebuilt (batch mode), a copy of each table's rows.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLES = ("prices", "stocks")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_product_id_products", type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(
                f"fk_{table}_product_id_products",
                "products",
                ["product_id"],
                ["id"],
                ondelete="CASCADE",
            )
