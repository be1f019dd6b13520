"""After a bulk write the planner's statistics describe the data that is there, even with
autovacuum off (PostgreSQL; SQLite plans without such statistics)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from pazar.commerce.importers import import_file
from pazar.db import Database


def _stats(db: Database, table: str) -> tuple[float, object]:
    with db.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT c.reltuples, s.last_analyze FROM pg_class c "
                "JOIN pg_stat_user_tables s ON s.relid = c.oid "
                "WHERE c.oid = to_regclass(:t)"
            ),
            {"t": table},
        ).one()
    return float(row[0]), row[1]


def test_a_large_import_leaves_current_statistics(pg_url: str, tmp_path: Path) -> None:
    db = Database(pg_url)
    with db.engine.begin() as conn:
        for table in ("products", "stocks"):
            conn.execute(text(f"ANALYZE {table}"))  # the statistics of the empty tables
            conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    try:
        products = tmp_path / "products.csv"
        products.write_text("sku,name\n" + "".join(f"P-{i},N{i}\n" for i in range(3000)))
        stocks = tmp_path / "stocks.csv"
        stocks.write_text("sku,quantity\n" + "".join(f"P-{i},{i % 7}\n" for i in range(3000)))
        small = tmp_path / "small.csv"
        small.write_text("sku,quantity\n" + "".join(f"P-{i},9\n" for i in range(20)))
        assert _stats(db, "products")[0] == 0
        with db.session() as session:
            import_file(session, "products", products)
        assert _stats(db, "products")[0] == 3000
        with db.engine.connect() as conn:  # a small sample: 10 buckets, not the default 100
            bounds = conn.execute(
                text(
                    "SELECT array_length(histogram_bounds, 1) FROM pg_stats "
                    "WHERE schemaname = current_schema() AND tablename = 'products' "
                    "AND attname = 'sku'"
                )
            ).scalar_one()
        assert bounds == 11
        with db.session() as session:
            import_file(session, "stocks", stocks)
        rows, analyzed = _stats(db, "stocks")
        assert rows == 3000
        with db.session() as session:
            import_file(session, "stocks", small)
        assert _stats(db, "stocks") == (3000, analyzed)  # 20 changed rows analyze nothing
        with db.session() as session:
            session.rollback()
            import_file(session, "stocks", stocks)
            session.rollback()
        assert _stats(db, "stocks") == (3000, analyzed)  # a rolled-back import neither
        for part in range(4):  # small transactions add up, as a push writes page by page
            rows_csv = tmp_path / f"part{part}.csv"
            rows_csv.write_text(
                "sku,quantity\n"
                + "".join(f"P-{i},{20 + part}\n" for i in range(part * 300, part * 300 + 300))
            )
            with db.session() as session:
                import_file(session, "stocks", rows_csv)
            if part == 2:  # 20 + 900 rows so far: not checked yet
                assert _stats(db, "stocks") == (3000, analyzed)
        assert _stats(db, "stocks")[1] != analyzed  # 1,220 rows: analyzed at that commit
    finally:
        with db.engine.begin() as conn:
            for table in ("products", "stocks"):
                conn.execute(text(f"ALTER TABLE {table} RESET (autovacuum_enabled)"))
        db.dispose()
