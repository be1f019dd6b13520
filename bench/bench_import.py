"""Import throughput and memory: N products with prices and stocks into a fresh database.

Usage: python bench/bench_import.py [--count 1000000] [--database URL]

Generates products.csv, prices.csv and stocks.csv (streamed to a temp dir), then
imports them with the same code as `pazar catalog import`, one transaction per
file, and prints rows/s per file and overall, with the peak RSS of the process.
The database is a temp SQLite file, or with ``--database postgresql://...`` a
throwaway schema on that server (dropped afterwards).  Then the same files are
imported once more (nothing changes: every row compared, none written).
Targets (issue 3): >= 50,000 rows/s and peak RSS <= 300 MB for 1,000,000 products;
(issue 19): PostgreSQL at least as fast as SQLite (89k rows/s).
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pazar.commerce.importers import import_file  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.testing import postgres_schema  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(directory: Path, count: int) -> dict[str, Path]:
    files = {k: directory / f"{k}.csv" for k in ("products", "prices", "stocks")}
    with (
        files["products"].open("w", newline="") as p,
        files["prices"].open("w", newline="") as pr,
        files["stocks"].open("w", newline="") as st,
    ):
        wp, wpr, wst = csv.writer(p), csv.writer(pr), csv.writer(st)
        wp.writerow(["sku", "name", "categories", "images", "attributes"])
        wpr.writerow(["sku", "price", "currency"])
        wst.writerow(["sku", "quantity"])
        for n in range(count):
            sku = f"SKU-{n:07d}"
            wp.writerow(
                [sku, f"Product {n}", "Cat/Sub", f"https://img/{n}.jpg", '{"color": "red"}']
            )
            wpr.writerow([sku, f"{10 + n % 990}.90", "TRY"])
            wst.writerow([sku, n % 50])
    return files


@contextmanager
def database(url: str | None, tmp: str) -> Iterator[Database]:
    """A migrated, empty database: a temp SQLite file, or a throwaway PostgreSQL schema."""
    if url and url.startswith("postgres"):
        with postgres_schema(url) as schema_url:
            db = Database(schema_url)
            try:
                yield db
            finally:
                db.dispose()
        return
    db = Database(url or f"sqlite:///{tmp}/bench.db")
    db.ensure_ready()
    try:
        yield db
    finally:
        db.dispose()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(db: Database, files: dict[str, Path], label: str) -> None:
    """Import the three files; print wall time and this process's CPU time (on a loaded
    machine the wall time mostly measures the wait for a core)."""
    total_rows, total_seconds = 0, 0.0
    for kind in ("products", "prices", "stocks"):
        started, cpu = time.perf_counter(), cpu_seconds()
        with db.session() as session:
            result = import_file(session, kind, files[kind])
        seconds = time.perf_counter() - started
        total_rows += result.rows
        total_seconds += seconds
        print(
            f"{label} {kind:9} {result.rows:>10,} rows ({result.changed:>10,} changed) "
            f"in {seconds:6.1f} s = {result.rows / seconds:9,.0f} rows/s"
            f"   python CPU {cpu_seconds() - cpu:5.1f} s   peak RSS {peak_rss_mb():6.1f} MB"
        )
    print(
        f"{label} total     {total_rows:>10,} rows in {total_seconds:6.1f} s = "
        f"{total_rows / total_seconds:9,.0f} rows/s   peak RSS {peak_rss_mb():6.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--database", help="Database URL (default: a temp SQLite file).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        files = generate(Path(tmp), args.count)
        print(
            f"generated {args.count:,} products, prices, stocks in {time.perf_counter() - started:.1f} s"
        )
        with database(args.database, tmp) as db:
            print(f"database: {db.dialect}")
            run(db, files, "first ")
            run(db, files, "again ")


if __name__ == "__main__":
    main()
