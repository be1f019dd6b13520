"""Scale-out: one daemon against three draining the same backlog on PostgreSQL.

Usage: python bench/bench_daemons.py --database postgresql://postgres@127.0.0.1:5432/test
       [--channels 40] [--rounds 5] [--skus 20] [--latency-ms 200 0] [--daemons 1 3]
       [--workers 2] [--poll 1.0]

For every latency and daemon count, a fresh schema (dropped afterwards) gets the same
setup: ``--channels`` Hepsiburada channels against one Hepsiburada sandbox served in this
process over loopback HTTP (answering each request after ``--latency-ms``, so 200 ms makes
the work I/O-bound like a real marketplace and 0 ms makes it CPU-bound), and a backlog of
``channels x rounds x 2`` queued runs: a forced ``stock`` and ``price`` push per channel
and round, each for ``--skus`` SKUs of its own (one upload request each).  The jobs wait
until every daemon process (``pazar daemon``, as in production) has registered, then
become runnable at once; the bench watches the jobs table and stops the daemons with
SIGTERM when the backlog is done.  It prints runs/s from the first lease to the last
finished job, how the jobs were shared among the daemons, the daemons' CPU seconds per run, and
the ratio of N daemons to one.  Targets (issue 19): three daemons >= 2.5x one daemon at
200 ms; the 0 ms figure is reported beside it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PLUGINS = "pazar_hepsiburada"
os.environ["PAZAR_PLUGINS"] = PLUGINS
os.environ["PAZAR_DISABLE_PLUGIN_AUTOLOAD"] = "1"

from benchkit import database_url, hepsiburada_config  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from pazar.channels import ChannelService  # noqa: E402
from pazar.clock import SystemClock  # noqa: E402
from pazar.commerce.importers import import_file  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.models.jobs import Daemon as DaemonRow  # noqa: E402
from pazar.models.jobs import Job  # noqa: E402
from pazar.models.runs import Run  # noqa: E402
from pazar.plugins import load_plugins  # noqa: E402
from pazar.sandbox_server import serve_in_thread  # noqa: E402
from pazar_hepsiburada.sandbox import create_app  # noqa: E402

FLOWS = ("hepsiburada/stock", "hepsiburada/price")
PAUSE = threading.Event()  # never set: wait() is a bounded poll interval


@dataclass
class Outcome:
    daemons: int
    latency_ms: int
    jobs: int
    seconds: float
    failed: int
    shares: list[int]
    cpu_seconds: float
    pg_cpu_seconds: float
    sandbox_cpu_seconds: float
    uploads: int
    busy: float  # mean seconds a worker held a job
    idle: float  # mean seconds a worker spent between finishing one job and leasing the next

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


def set_up(db: Database, sandbox_config: dict, args: argparse.Namespace, tmp: Path) -> None:
    """Catalog, stocks and prices for every round's SKUs; ``--channels`` inactive channels
    (the scheduler then queues nothing of its own: only the backlog runs)."""
    n = args.rounds * args.skus
    skus = [f"S{i:06d}" for i in range(n)]
    (tmp / "products.csv").write_text(
        "sku,name,categories\n" + "".join(f"{s},P{s},A\n" for s in skus)
    )
    (tmp / "stocks.csv").write_text("sku,quantity\n" + "".join(f"{s},7\n" for s in skus))
    (tmp / "prices.csv").write_text("sku,price\n" + "".join(f"{s},19.90\n" for s in skus))
    (tmp / "catalog_items.csv").write_text("catalog,sku\n" + "".join(f"hb,{s}\n" for s in skus))
    registry = load_plugins().registry
    with db.session() as session:
        for kind in ("products", "stocks", "prices", "catalog_items"):
            import_file(session, kind, tmp / f"{kind}.csv")
    config = hepsiburada_config(sandbox_config)
    with db.session() as session:
        service = ChannelService(session, registry, clock=SystemClock())
        for c in range(args.channels):
            service.apply(
                {
                    "channel": f"hb{c}",
                    "plugin": "hepsiburada",
                    "config": config,
                    "status": "inactive",
                }
            )


def queue_backlog(db: Database, args: argparse.Namespace, at: datetime) -> int:
    """Every round of every channel's forced stock and price push, runnable at ``at``, in one
    statement; round by round, so the queue holds every (channel, flow) at once."""
    with db.session() as session:
        channel_ids = list(session.execute(text("SELECT id FROM channels ORDER BY id")).scalars())
        rows = [
            {
                "channel_id": channel_id,
                "flow": flow,
                "trigger": "manual",
                "status": "queued",
                "payload": {
                    "skus": [f"S{i:06d}" for i in range(r * args.skus, (r + 1) * args.skus)],
                    "resend": True,
                },
                "not_before": at,
                "attempts": 0,
                "created_at": at,
            }
            for r in range(args.rounds)
            for channel_id in channel_ids
            for flow in FLOWS
        ]
        session.execute(insert(Job), rows)
    return len(rows)


def start_daemons(url: str, args: argparse.Namespace, count: int, log: Path) -> list:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PAZAR_")},
        "PAZAR_DATABASE_URL": url,
        "PAZAR_PLUGINS": PLUGINS,
        "PAZAR_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "pazar", "daemon", "--workers", str(args.workers)]
    command += ["--poll", str(args.poll), "--no-prune", "--log-level", "warning"]
    with log.open("a") as err:
        return [
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
            for _ in range(count)
        ]


def wait_for(condition, what: str, seconds: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        PAUSE.wait(0.1)


def _busy_and_idle(spans: list) -> tuple[float, float]:  # noqa: ANN001
    held = [(finished - started).total_seconds() for _o, started, finished in spans]
    gaps = [
        (b[1] - a[2]).total_seconds()
        for a, b in zip(spans, spans[1:], strict=False)
        if a[0] == b[0]
    ]
    return sum(held) / max(len(held), 1), sum(gaps) / max(len(gaps), 1)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _backend_cpu(db: Database, processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving these processes (found by the client
    ports of their connections; other sessions on the server are not counted)."""
    ports = {
        c.laddr.port
        for p in processes
        for c in p.net_connections(kind="tcp")
        if c.raddr and c.raddr.port == (db.engine.url.port or 5432)
    }
    with db.session() as session:
        pids = session.execute(
            text("SELECT pid, client_port FROM pg_stat_activity WHERE client_port IS NOT NULL")
        ).all()
    cpu: dict[int, float] = {}
    for pid, port in pids:
        if port in ports:
            try:
                cpu[pid] = _cpu(psutil.Process(pid))
            except psutil.Error:
                continue
    return cpu


def measure(base_url: str, args: argparse.Namespace, daemons: int, latency_ms: int) -> Outcome:
    app = create_app(pending_polls=0)
    sandbox = serve_in_thread(app)
    state = app.state.sandbox
    state.seed({"settings": {"accept_unknown_skus": True}})
    state.kit.set_faults({"latency_ms": latency_ms} if latency_ms else {"latency_ms": None})
    with tempfile.TemporaryDirectory() as tmpdir, database_url(base_url, tmpdir) as url:
        tmp = Path(tmpdir)
        db = Database(url)
        set_up(db, state.channel_config(sandbox.url), args, tmp)
        processes = start_daemons(url, args, daemons, tmp / "daemons.log")
        try:

            def registered() -> bool:
                with db.session() as session:
                    return session.scalar(select(func.count()).select_from(DaemonRow)) == daemons

            wait_for(registered, "the daemons to start", 120)
            watched = [psutil.Process(p.pid) for p in processes]
            before = sum(_cpu(p) for p in watched)
            before_pg, before_me = _backend_cpu(db, watched), _cpu(psutil.Process())
            # Runnable a moment from now: every worker is polling by then.
            total = queue_backlog(db, args, datetime.now(UTC) + timedelta(seconds=0.5))
            open_jobs = (
                select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running")))
            )

            def drained() -> bool:
                with db.session() as session:
                    return session.scalar(open_jobs) == 0

            wait_for(drained, "the backlog to drain", 3600)
            cpu = sum(_cpu(p) for p in watched) - before
            after_pg, my_cpu = _backend_cpu(db, watched), _cpu(psutil.Process()) - before_me
            pg_cpu = sum(v - before_pg.get(pid, 0.0) for pid, v in after_pg.items())
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
        with db.session() as session:
            first, last = session.execute(
                select(func.min(Job.started_at), func.max(Job.finished_at))
            ).one()
            owners = session.execute(select(Job.lease_owner, Job.status)).all()
            spans = session.execute(
                select(Job.lease_owner, Job.started_at, Job.finished_at).order_by(
                    Job.lease_owner, Job.started_at
                )
            ).all()
            runs_ok = session.scalar(
                select(func.count()).select_from(Run).where(Run.status == "success")
            )
        db.dispose()
        failed = sum(1 for _owner, status in owners if status != "done")
        if failed or runs_ok != total:
            log = (tmp / "daemons.log").read_text()[-3000:]
            print(f"warning: {failed} jobs not done, {runs_ok}/{total} runs succeeded\n{log}")
        busy, idle = _busy_and_idle(spans)
        shares = Counter(owner.rsplit("-w", 1)[0] for owner, _status in owners if owner)
        with state.lock:
            uploads = len(state.uploads)
    sandbox.stop()
    return Outcome(
        daemons=daemons,
        latency_ms=latency_ms,
        jobs=total,
        seconds=(last - first).total_seconds(),
        failed=failed,
        shares=sorted(shares.values(), reverse=True),
        cpu_seconds=cpu,
        pg_cpu_seconds=pg_cpu,
        sandbox_cpu_seconds=my_cpu,
        uploads=uploads,
        busy=busy,
        idle=idle,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="postgresql://… (a schema of its own)")
    parser.add_argument("--channels", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skus", type=int, default=20, help="SKUs per push")
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[200, 0])
    parser.add_argument("--daemons", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--workers", type=int, default=2, help="worker threads per daemon")
    parser.add_argument("--poll", type=float, default=1.0, help="daemon --poll seconds")
    args = parser.parse_args()
    if not args.database.startswith("postgresql://"):
        parser.error("--database must be a postgresql:// URL (SQLite serves one daemon)")
    print(
        f"{args.channels} channels x {args.rounds} rounds x {len(FLOWS)} flows, "
        f"{args.skus} SKUs per push, {args.workers} workers per daemon, "
        f"{os.cpu_count()} CPUs, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    for latency in args.latency_ms:
        base: Outcome | None = None
        for count in args.daemons:
            load = os.getloadavg()[0]
            got = measure(args.database, args, count, latency)
            base = base or got
            print(
                f"latency {latency:>3} ms, {count} daemon(s): {got.jobs} runs in "
                f"{got.seconds:.1f} s = {got.rate:.1f} runs/s "
                f"({got.rate / base.rate:.2f}x of {base.daemons}); jobs per daemon "
                f"{'/'.join(map(str, got.shares))}; {got.failed} not done; "
                f"{got.uploads} uploads received; a worker held a job "
                f"{1000 * got.busy:.0f} ms, then waited {1000 * got.idle:.0f} ms; CPU per run: daemons "
                f"{1000 * got.cpu_seconds / got.jobs:.0f} ms, PostgreSQL "
                f"{1000 * got.pg_cpu_seconds / got.jobs:.0f} ms, sandbox and bench "
                f"{1000 * got.sandbox_cpu_seconds / got.jobs:.0f} ms; load before {load:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
