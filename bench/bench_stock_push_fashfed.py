"""Stock push end to end for Fashfed: N changed stocks to the Fashfed sandbox over real HTTP.

Usage: python bench/bench_stock_push_fashfed.py [--count 100000] [--latency-ms 0]

The Fashfed counterpart of ``bench_stock_push.py`` (Hepsiburada); run both to compare.
pazar: the built-in ``fashfed/stock`` flow (selection, buffer stock, skip-unchanged, stocks
bulks of 1000 rows opened as batch requests) followed by ``fashfed/check_uploads`` (each
bulk's status and rejected rows read, results recorded per SKU), on a fresh SQLite file.
Floor: what a minimal script does for the same work — one SQL query, JSON bulks prepared up
front, the same HTTP calls on one connection.  Prints records/s for both, pazar as a share of
the floor, and peak RSS.  ``--latency-ms`` makes the sandbox answer every request that much
later, as a real marketplace does.
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
from pazar_fashfed import api  # noqa: E402
from pazar_fashfed.sandbox import create_app  # noqa: E402

BUFFER = 2


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_catalog(root: Path, n: int) -> None:
    skus = [f"F{i:07d}" for i in range(n)]
    (root / "products.csv").write_text(
        "sku,name,categories,images\n" + "".join(f"{s},P{s},A,https://img/{s}.jpg\n" for s in skus)
    )
    (root / "stocks.csv").write_text(
        "sku,quantity\n" + "".join(f"{s},{i % 40}\n" for i, s in enumerate(skus))
    )
    (root / "catalog_items.csv").write_text("catalog,sku\n" + "".join(f"ff,{s}\n" for s in skus))


def floor_run(db: Database, url: str, token: str) -> float:
    """The same work by a minimal script; returns seconds."""
    started = time.perf_counter()
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.sku, s.quantity FROM stocks s JOIN products p ON p.id = s.product_id "
                "ORDER BY s.version"
            )
        ).all()
    bulks = [
        json.dumps(
            [
                {"sku": sku, "stock": max(q - BUFFER, 0)}
                for sku, q in rows[i : i + api.BULK_MAX_ROWS]
            ]
        ).encode()
        for i in range(0, len(rows), api.BULK_MAX_ROWS)
    ]
    headers = {api.AUTH_HEADER: api.authorization(token), "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers) as client:
        path = api.BULK_PATH.format(kind="stocks")
        ids = [client.post(path, content=body).raise_for_status().json()["id"] for body in bulks]
        for bulk_id in ids:
            client.get(
                api.BULK_STATUS_PATH.format(kind="stocks", bulk_id=bulk_id)
            ).raise_for_status()
            client.get(
                api.BULK_ERRORS_PATH.format(kind="stocks", bulk_id=bulk_id)
            ).raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="The sandbox answers each request this much later (default 0).",
    )
    args = parser.parse_args()
    n = args.count
    app = create_app(pending_polls=0)
    sandbox = serve_in_thread(app)
    app.state.sandbox.seed({"settings": {"accept_unknown_skus": True}})
    if args.latency_ms:
        app.state.sandbox.kit.set_faults({"latency_ms": args.latency_ms})
    token = app.state.sandbox.token
    registry = load_plugins().registry
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_catalog(root, n)
        db = Database(f"sqlite:///{tmp}/bench.db")
        with db.session() as session:
            for kind in ("products", "stocks", "catalog_items"):
                import_file(session, kind, root / f"{kind}.csv")
        config = {
            "base_url": sandbox.url,
            "access_token": token,
            "category_ids": ["99ae4410-7631-452c-bfb0-b7d636ea95eb"],
            "default_reason_id": 1,
            "cancellation_reason_id": 1,
            "cargo_company_mapping": {"default": 1},
            "feature_flags": {"stock": True},
            "catalog_code": "ff",
            "buffer_stock": BUFFER,
        }
        with db.session() as session:
            service = ChannelService(session, registry, clock=clock)
            service.apply(
                {"channel": "ff", "plugin": "fashfed", "config": config, "status": "active"}
            )
        with db.session() as session:
            channel = ChannelService(session, registry, clock=clock).get("ff")
            session.expunge(channel)
        flows = load_flows(registry)

        started = time.perf_counter()
        pushed = run_flow(db, registry, flows.get("fashfed/stock"), channel, clock=clock)
        checked = run_flow(db, registry, flows.get("fashfed/check_uploads"), channel, clock=clock)
        seconds = time.perf_counter() - started
        assert pushed.sent == n and checked.status == "success", (pushed, checked)
        rate = n / seconds
        print(
            f"pazar (fashfed): {n:,} stocks in {seconds:.2f} s = {rate:,.0f} records/s "
            f"({pushed.sent} sent in bulks, {checked.succeeded} bulks checked), "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )
        floor = floor_run(db, sandbox.url, token)
        print(f"floor: {n:,} stocks in {floor:.2f} s = {n / floor:,.0f} records/s")
        print(f"pazar at {100 * floor / seconds:.0f}% of the floor")
        db.dispose()
    sandbox.stop()


if __name__ == "__main__":
    main()
