"""Import throughput and memory: N products with prices and stocks into a fresh SQLite file.

Usage: python bench/bench_import.py [--count 1000000] [--database URL]

Generates products.csv, prices.csv and stocks.csv (streamed to a temp dir), then
imports them with the same code as `pazar catalog import`, one transaction per
file, and prints rows/s per file and overall, with the peak RSS of the process.
Targets (issue 3): >= 50,000 rows/s and peak RSS <= 300 MB for 1,000,000 products.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pazar.commerce.importers import import_file  # noqa: E402
from pazar.db import Database  # noqa: E402


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
        db = Database(args.database or f"sqlite:///{tmp}/bench.db")
        db.ensure_ready()
        total_rows, total_seconds = 0, 0.0
        for kind in ("products", "prices", "stocks"):
            started = time.perf_counter()
            with db.session() as session:
                result = import_file(session, kind, files[kind])
            seconds = time.perf_counter() - started
            total_rows += result.rows
            total_seconds += seconds
            print(
                f"{kind:9} {result.rows:>10,} rows in {seconds:6.1f} s = {result.rows / seconds:9,.0f} rows/s"
                f"   peak RSS {peak_rss_mb():6.1f} MB"
            )
        print(
            f"total     {total_rows:>10,} rows in {total_seconds:6.1f} s = "
            f"{total_rows / total_seconds:9,.0f} rows/s   peak RSS {peak_rss_mb():6.1f} MB"
        )
        db.dispose()


if __name__ == "__main__":
    main()
