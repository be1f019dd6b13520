"""Issue 6 acceptance: SIGKILL a daemon in the middle of a large stock push and
of an order import, 20 times at random points, restart, and compare the
marketplace with the commerce data — nothing lost, nothing duplicated.

Real processes (``pazar daemon`` on PostgreSQL, killed with SIGKILL) push to the
Hepsiburada sandbox over loopback HTTP.  Between kills some stocks change, so
every restart has new work as well as the work the killed daemon left: a job
whose lease expired, a run left ``running``, uploads whose results were never
read.  The kill points are drawn from a seeded random generator (reproducible):
right after a job was leased, or after a random amount of further progress
(uploads received by the sandbox; orders stored locally).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from pazar.channels import ChannelService
from pazar.clock import SystemClock
from pazar.commerce.importers import import_file
from pazar.db import Database
from pazar.jobs.queue import enqueue
from pazar.models.commerce import CargoCompany, Order
from pazar.models.jobs import Job
from pazar.models.runs import Run
from pazar.models.state import BatchRequest, BatchRequestItem, FailedIntegration
from pazar.plugins import load_plugins
from pazar.sandbox_server import serve_in_thread
from pazar_hepsiburada.sandbox import create_app
from tests.conftest import BUILTIN_MARKETPLACES

ROOT = Path(__file__).resolve().parents[2]
STOCKS, CHANGED_PER_ROUND, KILLS, BATCH = 6_000, 600, 20, 1000
WAIT = threading.Event()  # never set: its wait() is a bounded poll interval, not a sleep


def _until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        WAIT.wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Daemons:
    """Starts real ``pazar daemon`` processes on one database, their stderr in one log."""

    def __init__(self, pg_url: str, tmp_path: Path) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PAZAR_")},
            "PAZAR_DATABASE_URL": pg_url,
            "PAZAR_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PAZAR_PLUGINS": BUILTIN_MARKETPLACES,
            "PYTHONPATH": str(ROOT),
        }
        self.log = (tmp_path / "daemons.log").open("a")  # what the daemons said, for a failure
        self.started: list[subprocess.Popen[str]] = []

    def start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "pazar", "daemon", "--poll", "0.1", "--lease-seconds", "1"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            text=True,
        )
        self.started.append(process)
        return process

    def finish(self, db: Database, queue: Callable[[], None], done: Callable[[], bool]) -> None:
        """Restart a daemon and queue work until ``done()``; it then exits 0 on SIGTERM."""
        process = self.start()
        try:
            for _ in range(10):
                queue()
                _until(lambda: not _busy(db), "the queue to drain", seconds=120)
                if done():
                    break
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()

    def close(self) -> None:
        """Kill what a failed wait left running: a live daemon would take the next test's jobs."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        self.log.close()


def _write_stocks(path: Path, rng: random.Random, skus: list[int]) -> None:
    path.write_text("sku,quantity\n" + "".join(f"S{i:06d},{rng.randrange(0, 500)}\n" for i in skus))


def test_sigkilled_daemons_lose_nothing_and_duplicate_nothing(pg_url: str, tmp_path: Path) -> None:
    rng = random.Random(20261129)
    app = create_app(pending_polls=0)
    sandbox = serve_in_thread(app)
    state = app.state.sandbox
    state.seed({"settings": {"accept_unknown_skus": True}})
    db = Database(pg_url)
    registry = load_plugins().registry
    (tmp_path / "products.csv").write_text(
        "sku,name,categories\n" + "".join(f"S{i:06d},P{i},A\n" for i in range(STOCKS))
    )
    (tmp_path / "catalog_items.csv").write_text(
        "catalog,sku\n" + "".join(f"hb,S{i:06d}\n" for i in range(STOCKS))
    )
    _write_stocks(tmp_path / "stocks.csv", rng, list(range(STOCKS)))
    with db.session() as session:
        for kind in ("products", "stocks", "catalog_items"):
            import_file(session, kind, tmp_path / f"{kind}.csv")
    channel_id = _hb_channel(
        db, registry, state.channel_config(sandbox.url), stock=True, catalog_code="hb"
    )
    daemons = Daemons(pg_url, tmp_path)
    daemon = daemons.start

    def queue_push() -> None:
        with db.session() as session:
            now = datetime.now(UTC)
            for flow in ("hepsiburada/stock", "hepsiburada/check_uploads"):
                enqueue(session, channel_id=channel_id, flow=flow, trigger="manual", now=now)

    def uploads() -> int:
        with state.lock:
            return len(state.uploads)

    try:
        for kill in range(KILLS):
            if kill:  # new changes arrive while the previous push may be half done
                _write_stocks(
                    tmp_path / "changed.csv", rng, rng.sample(range(STOCKS), CHANGED_PER_ROUND)
                )
                with db.session() as session:
                    import_file(session, "stocks", tmp_path / "changed.csv")
            queue_push()
            process = daemon()
            if rng.random() < 0.25:
                _until(lambda p=process.pid: _leased(db, p), "a job to be leased")
            else:
                target = uploads() + rng.randint(1, 4)
                _until(  # or the push was smaller than that and is over
                    lambda t=target: uploads() >= t or not _busy(db),
                    f"uploads to reach the sandbox (kill {kill + 1})",
                )
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)

        # Restart and let it finish: push and check until nothing is left to do.
        daemons.finish(db, queue_push, lambda: _settled(db, channel_id))

        with db.engine.connect() as conn:
            local = dict(
                conn.execute(
                    text(
                        "SELECT p.sku, s.quantity FROM stocks s JOIN products p ON p.id = s.product_id"
                    )
                ).all()
            )
            stale = conn.execute(
                text(
                    "SELECT count(*) FROM stocks s LEFT JOIN integration_actions a "
                    "ON a.object_id = s.product_id AND a.content_type = 'productstock' "
                    "WHERE a.id IS NULL OR a.version <> s.version"
                )
            ).scalar()
        with state.lock:
            remote = {sku: listing.get("availableStock") for sku, listing in state.listings.items()}
            rows_received = sum(u["total"] for u in state.uploads.values())
        with db.session() as session:
            penalties = session.scalar(select(func.count()).select_from(FailedIntegration))
            in_flight = session.scalar(
                select(func.count())
                .select_from(BatchRequestItem)
                .where(BatchRequestItem.in_flight.is_(True))
            )
            open_batches = session.scalar(
                select(func.count())
                .select_from(BatchRequest)
                .where(BatchRequest.status.not_in(("done", "fail")))
            )
            still_running = session.scalar(
                select(func.count()).select_from(Run).where(Run.status == "running")
            )
            interrupted = session.scalar(
                select(func.count())
                .select_from(Run)
                .where(Run.error == "interrupted: the daemon running it stopped")
            )
    finally:
        sandbox.stop()
        db.dispose()
        daemons.close()

    # Nothing lost: the marketplace holds every current stock, and pazar knows it.
    assert remote == local
    assert (stale, penalties, in_flight, open_batches, still_running) == (0, 0, 0, 0, 0)
    # Nothing duplicated beyond what a crash can cause: every change was sent,
    # and a kill re-sends at most the one upload it interrupted (uploads set
    # absolute values, so a re-send is harmless).
    changes = STOCKS + (KILLS - 1) * CHANGED_PER_ROUND
    assert rows_received <= changes + KILLS * BATCH
    assert interrupted >= 1  # some kills did land mid-run and were cleaned up


def _hb_channel(
    db: Database,
    registry: Any,
    connection: dict[str, Any],
    *,
    cargo: int = 1,
    catalog_code: str | None = None,
    settings: dict[str, Any] | None = None,
    **flags: bool,
) -> int:
    """An active Hepsiburada channel ``hb`` on the sandbox with these flags on (and these
    other ``settings``); its id."""
    config = {
        **connection,
        "category_ids": [60001001],
        "default_reason_id": 1,
        "cancellation_reason_id": 1,
        "cargo_company_mapping": {"default": cargo},
        "feature_flags": flags,
        **(settings or {}),
    }
    if catalog_code:
        config["catalog_code"] = catalog_code
    with db.session() as session:
        service = ChannelService(session, registry, clock=SystemClock())
        service.apply(
            {"channel": "hb", "plugin": "hepsiburada", "config": config, "status": "active"}
        )
        return service.get("hb").id


def _leased(db: Database, pid: int) -> bool:
    """Whether the daemon with ``pid`` holds a job (not a job a killed daemon still holds)."""
    with db.session() as session:
        return bool(
            session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.status == "running", Job.lease_owner.like(f"%-{pid}-%"))
            )
        )


def _busy(db: Database) -> bool:
    with db.session() as session:
        return bool(
            session.scalar(
                select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running")))
            )
        )


def _settled(db: Database, channel_id: int) -> bool:
    """No open batch and no stock changed since its last integration."""
    with db.engine.connect() as conn:
        open_batches = conn.execute(
            text("SELECT count(*) FROM batch_requests WHERE status NOT IN ('done', 'fail')")
        ).scalar()
        changed = conn.execute(
            text(
                "SELECT count(*) FROM stocks s LEFT JOIN integration_actions a "
                "ON a.object_id = s.product_id AND a.channel_id = :c "
                "AND a.content_type = 'productstock' WHERE a.id IS NULL OR a.version < s.version"
            ),
            {"c": channel_id},
        ).scalar()
    return not open_batches and not changed


ORDERS, NEW_ORDERS_PER_ROUND, ORDER_BATCH = 2_000, 100, 50


def _orders(rng: random.Random, start: int, count: int, packaged_at: str) -> list[dict]:
    return [
        {
            "orderNumber": f"{7_000_000 + n}",
            "customer": {
                "id": f"c{n % 300}",
                "name": "Deniz Kaya",
                "email": f"c{n % 300}@example.com",
            },
            "shippingAddress": {
                "name": "Deniz Kaya",
                "address": "Cd. 1",
                "city": "İzmir",
                "town": "Konak",
            },
            "lines": [
                {
                    "merchantSku": f"S{rng.randrange(50):06d}",
                    "quantity": rng.randint(1, 3),
                    "price": 40,
                }
                for _ in range(rng.randint(1, 3))
            ],
            "packaged": True,
            "packagedAt": packaged_at,
        }
        for n in range(start, start + count)
    ]


def test_sigkilled_daemons_import_every_order_exactly_once(pg_url: str, tmp_path: Path) -> None:
    rng = random.Random(20261130)
    app = create_app()
    sandbox = serve_in_thread(app)
    state = app.state.sandbox
    db = Database(pg_url)
    registry = load_plugins().registry
    packaged_at = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with state.lock:
        state.oms.add_orders(_orders(rng, 0, ORDERS, packaged_at), lambda sku: f"HBV{sku}")
    (tmp_path / "cargo.csv").write_text("code,name\nhepsijet,HepsiJet\n")
    (tmp_path / "addresses.csv").write_text("city,township\nİzmir,Konak\n")
    (tmp_path / "products.csv").write_text(
        "sku,name\n" + "".join(f"S{i:06d},P{i}\n" for i in range(50))
    )
    with db.session() as session:
        import_file(session, "cargo_companies", tmp_path / "cargo.csv")
        import_file(session, "addresses", tmp_path / "addresses.csv")
        import_file(session, "products", tmp_path / "products.csv")
        cargo_id = session.scalar(select(CargoCompany.id))
    channel_id = _hb_channel(
        db, registry, state.channel_config(sandbox.url), get_orders=True, cargo=cargo_id
    )
    daemons = Daemons(pg_url, tmp_path)

    def queue_import() -> None:
        with db.session() as session:
            enqueue(
                session,
                channel_id=channel_id,
                flow="hepsiburada/get_orders",
                trigger="manual",
                now=datetime.now(UTC),
            )

    def stored() -> int:
        with db.session() as session:
            return int(session.scalar(select(func.count()).select_from(Order)) or 0)

    try:
        total = ORDERS
        for kill in range(KILLS):
            if kill:  # new orders arrive while the previous import may be half done
                with state.lock:
                    state.oms.add_orders(
                        _orders(rng, total, NEW_ORDERS_PER_ROUND, packaged_at), lambda s: s
                    )
                total += NEW_ORDERS_PER_ROUND
            queue_import()
            process = daemons.start()
            if rng.random() < 0.25:
                _until(lambda p=process.pid: _leased(db, p), "a job to be leased")
            else:
                target = stored() + rng.randint(1, 4 * ORDER_BATCH)
                _until(
                    lambda t=target: stored() >= t or not _busy(db),
                    f"orders to be stored (kill {kill + 1})",
                )
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        killed_at = stored()

        daemons.finish(db, queue_import, lambda: stored() >= total)

        with state.lock:
            remote = {
                (item["orderNumber"], package["packageNumber"]): sorted(
                    (i["lineItemId"], i["merchantSku"], i["quantity"]) for i in package["items"]
                )
                for package in state.oms.packages.values()
                for item in package["items"][:1]
            }
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT o.remote_number, o.package_id, i.remote_id, i.sku, i.quantity "
                    "FROM orders o JOIN order_items i ON i.order_id = o.id"
                )
            ).all()
            order_rows = conn.execute(text("SELECT count(*) FROM orders")).scalar()
            still_running = conn.execute(
                text("SELECT count(*) FROM runs WHERE status = 'running'")
            ).scalar()
            interrupted = conn.execute(
                text("SELECT count(*) FROM runs WHERE error = :e"),
                {"e": "interrupted: the daemon running it stopped"},
            ).scalar()
    finally:
        sandbox.stop()
        db.dispose()
        daemons.close()

    local: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
    for number, package, line, sku, quantity in rows:
        local.setdefault((number, package), []).append((line, sku, quantity))
    # Nothing lost and nothing twice: every package is one order with exactly its lines.
    assert len(remote) == total
    assert {k: sorted(v) for k, v in local.items()} == remote
    assert order_rows == total
    assert still_running == 0
    assert 0 < killed_at < total  # the kills did land in the middle of the import
    assert interrupted >= 1
