"""Change-to-marketplace latency: a running daemon, the Hepsiburada sandbox over real HTTP.

Usage: python bench/bench_latency.py [--changes 50] [--spread 180] [--database URL]

A catalog of ``--products`` SKUs is imported and pushed once; then ``pazar daemon``
starts as its own process with default settings, and this script makes ``--changes``
stock changes (one SKU each, the same write as ``pazar stock set``) at random moments
over ``--spread`` seconds.  For each change it measures the seconds from its commit to

- the marketplace: the sandbox received an upload carrying the new quantity (it then
  processes the upload asynchronously, as Hepsiburada does);
- confirmation: pazar recorded the upload's success for that version (``check_uploads``
  polled it to the end).

With ``--again S`` every SKU changes a second time S seconds after its first change
(while the first upload is typically unconfirmed), and the figures are about the second,
latest value: how long a seller waits for the value the shop holds now (issue 19 item 4).

Prints p50 / p95 / max of both, and the daemon's jobs by trigger.  ``--database
postgresql://...`` runs in a throwaway schema of that database.
Goal (issue 19): p95 <= 10 s to the marketplace, <= 20 s to confirmation.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import database_url, hepsiburada_config  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from pazar.channels import ChannelService  # noqa: E402
from pazar.clock import SystemClock  # noqa: E402
from pazar.commerce.importers import import_file  # noqa: E402
from pazar.commerce.local import set_stock  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.flows.loader import load_flows  # noqa: E402
from pazar.models.commerce import Product, Stock  # noqa: E402
from pazar.models.jobs import Daemon as DaemonRow  # noqa: E402
from pazar.models.jobs import Job  # noqa: E402
from pazar.models.state import IntegrationAction  # noqa: E402
from pazar.plugins import load_plugins  # noqa: E402
from pazar.runner import run_flow  # noqa: E402
from pazar.sandbox_server import serve_in_thread  # noqa: E402
from pazar_hepsiburada.sandbox import create_app  # noqa: E402


class Watcher:
    """Notes when each awaited (sku, quantity) reaches the sandbox and is confirmed."""

    def __init__(self, db: Database, sandbox: object, channel_id: int) -> None:
        self.db, self.state, self.channel_id = db, sandbox, channel_id
        self.lock = threading.Lock()
        self.waiting: dict[str, tuple[int, int, int]] = {}  # sku -> (product id, qty, version)
        self.arrived: dict[tuple[str, int], float] = {}
        self.confirmed: dict[tuple[str, int], float] = {}
        self.scanned: set[str] = set()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def expect(self, sku: str, product_id: int, quantity: int, version: int) -> None:
        with self.lock:
            self.waiting[sku] = (product_id, quantity, version)

    def pending(self) -> int:
        with self.lock:
            return sum(
                1 for sku, (_, q, _) in self.waiting.items() if (sku, q) not in self.confirmed
            )

    def _loop(self) -> None:
        while not self.done.wait(0.05):
            self._scan_uploads()
            self._scan_confirmations()

    def _scan_uploads(self) -> None:
        now = time.time()
        try:
            uploads = list(self.state.uploads.values())  # type: ignore[attr-defined]
        except RuntimeError:  # the sandbox added one meanwhile: next round
            return
        for upload in uploads:
            if upload["id"] in self.scanned or upload["kind"] != "stock-uploads":
                continue
            self.scanned.add(upload["id"])
            for row in json.loads(upload["body"]):
                self.arrived.setdefault((row["merchantSku"], int(row["availableStock"])), now)

    def _scan_confirmations(self) -> None:
        with self.lock:
            open_ = {
                pid: (sku, q, v)
                for sku, (pid, q, v) in self.waiting.items()
                if (sku, q) not in self.confirmed
            }
        if not open_:
            return
        a = IntegrationAction.__table__
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(a.c.object_id, a.c.version).where(
                    a.c.channel_id == self.channel_id,
                    a.c.content_type == "productstock",
                    a.c.object_id.in_(list(open_)),
                )
            ).all()
        now = time.time()
        for object_id, version in rows:
            sku, quantity, wanted = open_[object_id]
            if version is not None and version >= wanted:
                self.confirmed.setdefault((sku, quantity), now)


def summary(name: str, values: list[float], expected: int) -> str:
    if not values:
        return f"{name:>13}: none of {expected} arrived"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{name:>13}: p50 {statistics.median(ordered):5.1f} s   p95 {p95:5.1f} s   "
        f"max {ordered[-1]:5.1f} s   ({len(values)}/{expected})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--spread", type=float, default=180.0, help="Seconds the changes span.")
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--database", help="PostgreSQL URL (default: a temp SQLite file).")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument(
        "--timeout", type=float, default=240.0, help="Seconds to wait after the last change."
    )
    parser.add_argument(
        "--again",
        type=float,
        default=0.0,
        help="Change each SKU once more this many seconds later; measure the latest value.",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    n = args.products
    app = create_app()
    sandbox = serve_in_thread(app)
    app.state.sandbox.seed({"settings": {"accept_unknown_skus": True}})
    registry = load_plugins().registry
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp, database_url(args.database, tmp, "latency") as url:
        root = Path(tmp)
        (root / "products.csv").write_text(
            "sku,name,categories,images\n"
            + "".join(f"S{i:06d},P{i},A,https://img/{i}.jpg\n" for i in range(n))
        )
        (root / "stocks.csv").write_text(
            "sku,quantity\n" + "".join(f"S{i:06d},{i % 40}\n" for i in range(n))
        )
        (root / "catalog_items.csv").write_text(
            "catalog,sku\n" + "".join(f"hb,S{i:06d}\n" for i in range(n))
        )
        db = Database(url)
        with db.session() as session:
            for kind in ("products", "stocks", "catalog_items"):
                import_file(session, kind, root / f"{kind}.csv")
        config = hepsiburada_config(
            app.state.sandbox.channel_config(sandbox.url), feature_flags={"stock": True}
        )
        with db.session() as session:
            ChannelService(session, registry, clock=clock).apply(
                {"channel": "hb", "plugin": "hepsiburada", "config": config, "status": "active"}
            )
        with db.session() as session:
            channel = ChannelService(session, registry, clock=clock).get("hb")
            session.expunge(channel)
        flows = load_flows(registry)
        run_flow(db, registry, flows.get("hepsiburada/stock"), channel, clock=clock)
        for _ in range(3):  # the sandbox answers "pending" first
            run_flow(db, registry, flows.get("hepsiburada/check_uploads"), channel, clock=clock)

        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PAZAR_")},
            "PAZAR_DATABASE_URL": url,
            "PAZAR_PLUGINS": "pazar_hepsiburada",
            "PAZAR_DISABLE_PLUGIN_AUTOLOAD": "1",
        }
        log = (root / "daemon.log").open("w")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "pazar", "daemon"], env=env, stdout=log, stderr=log
        )
        watcher = Watcher(db, app.state.sandbox, channel.id)
        try:
            for _ in range(600):
                with db.session() as session:
                    if session.scalar(select(func.count()).select_from(DaemonRow)):
                        break
                time.sleep(0.1)
            watcher.thread.start()
            started = time.time()
            moments = sorted(rng.uniform(0, args.spread) for _ in range(args.changes))
            skus = rng.sample(range(n), args.changes)
            # (moment, SKU index, quantity, measured): the second change of a SKU is what
            # counts with --again; its quantities never repeat the first one's
            changes = [
                (m, i, 100 + rng.randrange(1000), not args.again)
                for m, i in zip(moments, skus, strict=True)
            ]
            if args.again:
                changes += [
                    (m + args.again, i, 1100 + rng.randrange(1000), True) for m, i, _, _ in changes
                ]
                changes.sort()
            committed: dict[tuple[str, int], float] = {}
            for moment, index, quantity, measured in changes:
                time.sleep(max(0.0, started + moment - time.time()))
                sku = f"S{index:06d}"
                with db.session() as session:
                    set_stock(session, sku, quantity, clock=clock)
                    product_id, version = session.execute(
                        select(Product.id, Stock.version)
                        .join(Stock, Stock.product_id == Product.id)
                        .where(Product.sku == sku)
                    ).one()
                if measured:
                    committed[(sku, quantity)] = time.time()
                watcher.expect(sku, product_id, quantity, version)
            deadline = time.time() + args.timeout
            while watcher.pending() and time.time() < deadline:
                time.sleep(0.2)
        finally:
            watcher.done.set()
            daemon.terminate()
            daemon.wait(timeout=60)
            log.close()
        to_market = [watcher.arrived[k] - t for k, t in committed.items() if k in watcher.arrived]
        to_confirm = [
            watcher.confirmed[k] - t for k, t in committed.items() if k in watcher.confirmed
        ]
        with db.session() as session:
            jobs = dict(
                session.execute(
                    select(Job.trigger, func.count())
                    .where(Job.run_id.is_not(None))
                    .group_by(Job.trigger)
                ).all()
            )
        again = f", each changed again {args.again:g} s later (latest value measured)"
        print(
            f"{args.changes} stock changes over {args.spread:.0f} s"
            f"{again if args.again else ''}, {db.dialect}, "
            f"{n} products, daemon with default settings"
        )
        print(summary("to marketplace", to_market, len(committed)))
        print(summary("to confirmed", to_confirm, len(committed)))
        print(f"jobs that ran, by trigger: {jobs}")
        db.dispose()
    sandbox.stop()


if __name__ == "__main__":
    main()
