"""Issue 6 acceptance: SIGKILL a daemon in the middle of a large stock push, 20
times at random points, restart, and compare the marketplace with the commerce
data — nothing lost, nothing duplicated.

Real processes (``pazar daemon`` on PostgreSQL, killed with SIGKILL) push to the
Hepsiburada sandbox over loopback HTTP.  Between kills some stocks change, so
every restart has new work as well as the work the killed daemon left: a job
whose lease expired, a run left ``running``, uploads whose results were never
read.  The kill points are drawn from a seeded random generator (reproducible):
right after a job was leased, or after the sandbox received a random number of
further uploads.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text

from core.channels import ChannelService
from core.clock import SystemClock
from core.commerce.importers import import_file
from core.db import Database
from core.jobs.queue import enqueue
from core.models.jobs import Job
from core.models.runs import Run
from core.models.state import BatchRequest, BatchRequestItem, FailedIntegration
from core.plugins import load_plugins
from core.sandbox_server import serve_in_thread
from plugins.hepsiburada.sandbox import create_app

ROOT = Path(__file__).resolve().parent.parent
STOCKS, CHANGED_PER_ROUND, KILLS, BATCH = 6_000, 600, 20, 1000
WAIT = threading.Event()  # never set: its wait() is a bounded poll interval, not a sleep


def _until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        WAIT.wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")


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
    clock = SystemClock()
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
    config = {
        **state.channel_config(sandbox.url),
        "category_ids": [60001001],
        "default_reason_id": 1,
        "cancellation_reason_id": 1,
        "cargo_company_mapping": {"default": 1},
        "feature_flags": {"stock": True},
        "catalog_code": "hb",
    }
    with db.session() as session:
        service = ChannelService(session, registry, clock=clock)
        service.apply(
            {"channel": "hb", "plugin": "hepsiburada", "config": config, "status": "active"}
        )
        channel_id = service.get("hb").id
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PAZAR_")},
        "PAZAR_DATABASE_URL": pg_url,
        "PAZAR_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONPATH": str(ROOT),
    }

    log = (tmp_path / "daemons.log").open("a")  # what the daemons said, for a failure

    def daemon() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "core", "daemon", "--poll", "0.1", "--lease-seconds", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )

    def queue_push() -> None:
        with db.session() as session:
            now = datetime.now(UTC)
            for flow in ("hepsiburada/stock", "hepsiburada/check_uploads"):
                enqueue(session, channel_id=channel_id, flow=flow, trigger="manual", now=now)

    def leased() -> bool:
        with db.session() as session:
            return bool(
                session.scalar(select(func.count()).select_from(Job).where(Job.status == "running"))
            )

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
                _until(leased, "a job to be leased")
            else:
                target = uploads() + rng.randint(1, 4)
                _until(  # or the push was smaller than that and is over
                    lambda t=target: uploads() >= t or not _busy(db),
                    f"uploads to reach the sandbox (kill {kill + 1})",
                )
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)

        # Restart and let it finish: push and check until nothing is left to do.
        process = daemon()
        try:
            for _ in range(10):
                queue_push()
                _until(lambda: not _busy(db), "the queue to drain", seconds=120)
                if _settled(db, channel_id):
                    break
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()

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
        log.close()

    # Nothing lost: the marketplace holds every current stock, and pazar knows it.
    assert remote == local
    assert (stale, penalties, in_flight, open_batches, still_running) == (0, 0, 0, 0, 0)
    # Nothing duplicated beyond what a crash can cause: every change was sent,
    # and a kill re-sends at most the one upload it interrupted (uploads set
    # absolute values, so a re-send is harmless).
    changes = STOCKS + (KILLS - 1) * CHANGED_PER_ROUND
    assert rows_received <= changes + KILLS * BATCH
    assert interrupted >= 1  # some kills did land mid-run and were cleaned up


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
