"""Stock push end to end: N changed stocks to the Hepsiburada sandbox over real HTTP.

Usage: python bench/bench_stock_push.py [--count 100000]

pazar: the built-in ``hepsiburada/stock`` flow (selection, mapping with buffer
stock, skip-unchanged, uploads of 1000 rows opened as batch requests) followed by
``check_uploads`` (results recorded per SKU), on a fresh SQLite file.
Floor: what a minimal script does for the same work — one SQL query, JSON
batches prepared up front, the same HTTP uploads on one connection pool.
Prints records/s for both, pazar as a share of the floor, and peak RSS.
Targets (issue 5): >= 10,000 records/s, peak RSS <= 250 MB, >= 50% of the floor.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from pazar.channels import ChannelService  # noqa: E402
from pazar.clock import SystemClock  # noqa: E402
from pazar.commerce.importers import import_file  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.flows.loader import load_flows  # noqa: E402
from pazar.plugins import load_plugins  # noqa: E402
from pazar.runner import run_flow  # noqa: E402
from pazar.sandbox_server import serve_in_thread  # noqa: E402
from pazar_hepsiburada.sandbox import create_app  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    n = args.count
    app = create_app(pending_polls=0)
    sandbox = serve_in_thread(app)
    app.state.sandbox.seed({"settings": {"accept_unknown_skus": True}})
    registry = load_plugins().registry
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "products.csv").write_text(
            "sku,name,categories,images\n"
            + "".join(f"S{i:07d},P{i},A,https://img/{i}.jpg\n" for i in range(n))
        )
        (root / "stocks.csv").write_text(
            "sku,quantity\n" + "".join(f"S{i:07d},{i % 40}\n" for i in range(n))
        )
        (root / "catalog_items.csv").write_text(
            "catalog,sku\n" + "".join(f"hb,S{i:07d}\n" for i in range(n))
        )
        db = Database(f"sqlite:///{tmp}/bench.db")
        with db.session() as session:
            for kind in ("products", "stocks", "catalog_items"):
                import_file(session, kind, root / f"{kind}.csv")
        config = {
            **app.state.sandbox.channel_config(sandbox.url),
            "category_ids": [60001001],
            "default_reason_id": 1,
            "cancellation_reason_id": 1,
            "cargo_company_mapping": {"default": 1},
            "feature_flags": {"stock": True},
            "catalog_code": "hb",
            "buffer_stock": 2,
        }
        with db.session() as session:
            ChannelService(session, registry, clock=clock).apply(
                {"channel": "hb", "plugin": "hepsiburada", "config": config, "status": "active"}
            )
        with db.session() as session:
            channel = ChannelService(session, registry, clock=clock).get("hb")
            session.expunge(channel)
        flows = load_flows(registry)

        started = time.perf_counter()
        pushed = run_flow(db, registry, flows.get("hepsiburada/stock"), channel, clock=clock)
        checked = run_flow(
            db, registry, flows.get("hepsiburada/check_uploads"), channel, clock=clock
        )
        seconds = time.perf_counter() - started
        assert pushed.sent == n and checked.status == "success", (pushed, checked)
        received = app.state.sandbox  # noqa: F841 - kept alive for the floor below
        pazar_rate = n / seconds
        print(
            f"pazar: {n:,} stocks in {seconds:.2f} s = {pazar_rate:,.0f} records/s "
            f"({pushed.sent} sent in uploads, {checked.succeeded} uploads checked), "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )

        started = time.perf_counter()
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.sku, s.quantity FROM stocks s JOIN products p ON p.id = s.product_id "
                    "ORDER BY s.version"
                )
            ).all()
        batches = [
            json.dumps(
                [
                    {"merchantSku": sku, "availableStock": max(q - 2, 0)}
                    for sku, q in rows[i : i + 1000]
                ]
            ).encode()
            for i in range(0, len(rows), 1000)
        ]
        url = f"{sandbox.url}/listings/merchantid/{config['merchant_id']}/stock-uploads"
        with httpx.Client(
            auth=(config["username"], config["password"]),
            headers={"User-Agent": config["user_agent"], "Content-Type": "application/json"},
        ) as client:
            ids = [
                client.post(url, content=body).raise_for_status().json()["id"] for body in batches
            ]
            for upload_id in ids:
                client.get(f"{url}/id/{upload_id}").raise_for_status()
        floor = time.perf_counter() - started
        floor_rate = n / floor
        print(f"floor: {n:,} stocks in {floor:.2f} s = {floor_rate:,.0f} records/s")
        print(f"pazar at {100 * pazar_rate / floor_rate:.0f}% of the floor")
        db.dispose()
    sandbox.stop()


if __name__ == "__main__":
    main()
