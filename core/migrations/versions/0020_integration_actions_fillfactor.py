"""integration_actions leaves half of each page free on PostgreSQL (fillfactor 50)

Every push after the first updates the integration action of each record it confirms
(version, payload hash, batch): a full re-push of the catalog updates every row of the
table.  In a page already full, PostgreSQL writes the new row version to another page and
adds it to each of the table's three indexes; the old versions stay in both until a
vacuum.  With room left in the page the update stays in it, indexes untouched (a HOT
update).  Measured on the development machine, 100 uploads of 1,000 confirmed one after
another: the upsert of a push's actions took 1.4–1.9 s per 100,000 records on a second
push and 1.6 s from the third on at the default (every page full); with fillfactor 50,
0.6–0.7 s on every push after the first (a first push, all inserts, 0.9 → 1.0 s).  The
cost is disk: the table's pages hold half as many rows (about 170 bytes per row).

Only pages written from now on leave the room: a deployment with a large table applies
it to existing rows with ``VACUUM FULL integration_actions`` (which locks the table while
it rewrites it).  SQLite updates rows in place: nothing to do there.

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

FILLFACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE integration_actions SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE integration_actions RESET (fillfactor)")
