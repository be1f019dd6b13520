"""integration_actions leaves half of each page free on PostgreSQL (fillfactor 50)

Every push after the first updates the integration action of each record it confirms
(version, payload hash, batch): a full re-push of the catalog updates every row of the
table.  In a page already full, PostgreSQL writes the new row version to another page and
adds it to each of the table's three indexes; the old versions stay in the table and the
indexes until a vacuum.  With room left in the page the update stays in it, indexes
untouched (a HOT update).  ``bench/bench_state_writes.py --database postgresql://...``
(100,000 objects confirmed in batches of 1,000, push after push): at the default, 1,067 of
the second push's 100,000 updates stayed in their page and confirming took 2.9-3.0 s per
push; with fillfactor 50 (and migration 0019) all 100,000 stay and it takes 1.9 s.  The
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
