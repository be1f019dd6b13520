"""The order side end to end: N Hepsiburada packages through import, update and refund
flows over real HTTP.

Usage: python bench/bench_orders.py [--count 10000] [--database postgresql://…]

Import: see below.  Update: every order is then marked shipped with a tracking number in
the commerce backend and ``hepsiburada/send_update_orders`` (Send Shipping Info on) tells
Hepsiburada, one in-transit call per package.  Refund: the customer opens a claim on one
line of every order and ``hepsiburada/get_refund_orders`` stores N refund requests (claims
read 100 per page).  Each phase prints rows/s.

The sandbox holds N packaged orders (1 to 3 lines each, customers shared by a
few orders each) created in the last hour; the built-in ``hepsiburada/get_orders``
flow reads them (10 packages per page, Hepsiburada's limit) and stores orders,
items, customers and addresses in batches of 50.  A second run shows what an
idle check costs with N packages in the window: it reads every page again and
stores nothing.  Prints orders/s, the idle re-read, and peak RSS.  There is no
target in an issue; the figure is here so a regression shows.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import database_url  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from pazar.channels import ChannelService  # noqa: E402
from pazar.clock import SystemClock  # noqa: E402
from pazar.commerce.importers import import_file  # noqa: E402
from pazar.commerce.versioning import reserve_versions  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.flows.loader import load_flows  # noqa: E402
from pazar.models.commerce import CargoCompany, Order  # noqa: E402
from pazar.plugins import load_plugins  # noqa: E402
from pazar.runner import run_flow  # noqa: E402
from pazar.sandbox_server import serve_in_thread  # noqa: E402
from pazar_hepsiburada.sandbox import create_app  # noqa: E402

SKUS = 500


def orders(count: int, packaged_at: str) -> list[dict]:
    rng = random.Random(7)
    return [
        {
            "orderNumber": f"{9_000_000 + n}",
            "orderDate": packaged_at,
            "customer": {
                "id": f"c{n // 3}",
                "name": "Deniz Kaya",
                "email": f"c{n // 3}@example.com",
            },
            "shippingAddress": {
                "name": "Deniz Kaya",
                "address": "Cd. 1",
                "city": "İzmir",
                "town": "Konak",
                "district": "Alsancak",
            },
            "invoice": {
                "taxNumber": "1234567890",
                "address": {"name": "Deniz Kaya", "city": "İzmir"},
            },
            "lines": [
                {"merchantSku": f"S{rng.randrange(SKUS):05d}", "quantity": 1, "price": 99.9}
                for _ in range(rng.randint(1, 3))
            ],
            "packaged": True,
            "packagedAt": packaged_at,
        }
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument(
        "--database", help="postgresql://… (a schema of its own, dropped after); default SQLite"
    )
    args = parser.parse_args()
    app = create_app()
    sandbox = serve_in_thread(app)
    state = app.state.sandbox
    at = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with state.lock:
        state.oms.add_orders(orders(args.count, at), lambda sku: f"HBV{sku}")
    registry = load_plugins().registry
    flows = load_flows(registry)
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp, database_url(args.database, tmp, "orders") as url:
        root = Path(tmp)
        db = Database(url)
        db.ensure_ready()
        (root / "products.csv").write_text(
            "sku,name\n" + "".join(f"S{i:05d},P{i}\n" for i in range(SKUS))
        )
        (root / "cargo.csv").write_text("code,name\nhepsijet,HepsiJet\n")
        (root / "reasons.csv").write_text("kind,code,name\nrefund,other,Other\n")
        (root / "addresses.csv").write_text("city,township,district\nİzmir,Konak,Alsancak\n")
        with db.session() as session:
            import_file(session, "products", root / "products.csv")
            import_file(session, "cargo_companies", root / "cargo.csv")
            import_file(session, "cancellation_reasons", root / "reasons.csv")
            reason = session.scalar(text("SELECT id FROM cancellation_reasons"))
            import_file(session, "addresses", root / "addresses.csv")
            cargo = session.scalar(select(CargoCompany.id))
            service = ChannelService(session, registry, clock=clock)
            service.apply(
                {
                    "channel": "hb",
                    "plugin": "hepsiburada",
                    "status": "active",
                    "config": {
                        **state.channel_config(sandbox.url),
                        "category_ids": [1],
                        "default_reason_id": reason,
                        "cancellation_reason_id": 1,
                        "cargo_company_mapping": {"default": cargo},
                        "feature_flags": {
                            "get_orders": True,
                            "send_update_orders": True,
                            "get_refund_orders": True,
                        },
                        "use_neighborhood": True,
                        "send_shipping_info": True,
                        "shipping_provider": {
                            "hepsijet": {"tracking_url": "https://hj.example/{tracking_number}"}
                        },
                    },
                }
            )
        with db.session() as session:
            channel = ChannelService(session, registry, clock=clock).get("hb")
            session.expunge(channel)
        flow = flows.get("hepsiburada/get_orders")
        started = time.perf_counter()
        first = run_flow(db, registry, flow, channel, clock=clock)
        took = time.perf_counter() - started
        started = time.perf_counter()
        again = run_flow(db, registry, flow, channel, clock=clock)
        idle = time.perf_counter() - started
        with db.session() as session:
            stored = session.scalar(select(func.count()).select_from(Order))
            items = session.execute(text("SELECT count(*) FROM order_items")).scalar()
            first_version = reserve_versions(session, int(stored or 0))
            session.execute(  # the seller ships everything: one new version per order
                text(
                    "UPDATE orders SET status = 'shipped', tracking_number = 'T' || id, "
                    "version = :first + id - (SELECT min(id) FROM orders)"
                ),
                {"first": first_version},
            )
        update_flow = flows.get("hepsiburada/send_update_orders")
        started = time.perf_counter()
        updated = run_flow(db, registry, update_flow, channel, clock=clock)
        update_took = time.perf_counter() - started
        with state.lock:
            for package in list(state.oms.packages.values()):
                state.claims.open({"lineItemId": package["items"][0]["lineItemId"], "reason": "X"})
        refund_flow = flows.get("hepsiburada/get_refund_orders")
        started = time.perf_counter()
        refunded = run_flow(db, registry, refund_flow, channel, clock=clock)
        refund_took = time.perf_counter() - started
        if args.database:
            with db.engine.begin() as conn:  # ready for the next run of the bench
                for table in (
                    "cancellation_requests",
                    "integration_actions",
                    "order_items",
                    "addresses",
                    "orders",
                    "customers",
                    "runs",
                ):
                    conn.execute(text(f"DELETE FROM {table}"))
        db.dispose()
    sandbox.stop()
    print(
        f"get_orders: {first.succeeded} orders ({items} lines) from {args.count} packages in "
        f"{took:.2f} s = {first.succeeded / took:,.0f} orders/s ({first.status}, "
        f"{first.failed} failed; {stored} stored)"
    )
    print(
        f"idle re-read of the same {args.count} packages: {idle:.2f} s, "
        f"{again.read} read, {again.succeeded} stored"
    )
    print(
        f"send_update_orders: {updated.succeeded} packages in transit in {update_took:.2f} s = "
        f"{updated.succeeded / update_took:,.0f} rows/s ({updated.status}, {updated.failed} failed)"
    )
    print(
        f"get_refund_orders: {refunded.succeeded} refund requests in {refund_took:.2f} s = "
        f"{refunded.succeeded / refund_took:,.0f} rows/s ({refunded.status}, "
        f"{refunded.failed} failed)"
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
