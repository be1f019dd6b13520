"""PostgreSQL keeps no planner statistics for payload hashes and batch item messages

pazar analyzes the state tables after bulk writes (:mod:`pazar.db_stats`): a push of
100,000 stocks analyzes ``batch_request_items`` and ``integration_actions`` some forty
times as they grow.  Sorting a sample of 64-character hashes and free-text messages for
histograms was two fifths of each ``ANALYZE`` of ``batch_request_items``, and no query
filters on those columns by value (a hash is compared only on a row found by its key), so
their statistics target is 0.  SQLite keeps no such statistics: nothing to do there.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UNFILTERED = {
    "batch_request_items": ("payload_hash", "message"),
    "integration_actions": ("payload_hash",),
}


def _set_statistics(target: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in UNFILTERED.items():
        for column in columns:
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STATISTICS {target}')


def upgrade() -> None:
    _set_statistics(0)


def downgrade() -> None:
    _set_statistics(-1)  # back to the server's default_statistics_target
