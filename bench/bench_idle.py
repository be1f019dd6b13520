"""Idle cost of a daemon: many channels, every flow enabled, nothing to do.

Usage: python bench/bench_idle.py [--channels 500] [--seconds 60] [--database URL]

``--database`` must be a database of its own (e.g. an empty PostgreSQL one): the
bench empties its runs, jobs, schedule ticks, channels and catalogs when it ends.

Creates N active Hepsiburada channels with the flag of every Hepsiburada flow
on and an empty catalog, runs the daemon with its default schedules (stock and
upload checks every minute, the product, price and order flows every five), and
measures the daemon process's CPU time over the window, which includes the
scheduled empty runs, as a percentage of one core.  Target (issue 6): < 5%.
With nothing to send and no upload open, only get_orders calls the marketplace:
it asks the Hepsiburada sandbox (its own process, so its CPU is not counted)
for the last 12 hours of packages and gets an empty list.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import database_url  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from pazar.clock import SystemClock  # noqa: E402
from pazar.daemon import Daemon  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.flows.loader import load_flows  # noqa: E402
from pazar.models.channels import Channel  # noqa: E402
from pazar.models.commerce import Catalog  # noqa: E402
from pazar.plugins import load_plugins  # noqa: E402

CONFIG = {
    "catalog_code": "idle",  # an existing catalog with nothing to send
    "category_ids": [],
    "default_reason_id": 1,
    "cancellation_reason_id": 1,
    "cargo_company_mapping": {"default": 1},
}


def start_sandbox() -> tuple[subprocess.Popen[str], dict]:
    """``pazar sandbox hepsiburada`` in its own process; its URL and credentials."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pazar", "sandbox", "hepsiburada", "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    text = ""
    while True:  # the info is pretty-printed JSON: read until it parses
        text += process.stdout.readline()
        try:
            info = json.loads(text)
            break
        except ValueError:
            continue
    url = info["url"]
    return process, {"base_url": url, "oms_url": url, "listing_url": url, **info["config"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database",
        help="postgresql://… (a schema of its own, dropped after); default: a temp SQLite file",
    )
    args = parser.parse_args()
    registry = load_plugins().registry
    flags = sorted(
        {f.feature_flag for f in load_flows(registry).all() if f.plugin == "hepsiburada"} - {None}
    )
    clock = SystemClock()
    sandbox, connection = start_sandbox()
    config = {**CONFIG, **connection, "feature_flags": dict.fromkeys(flags, True)}
    with tempfile.TemporaryDirectory() as tmp, database_url(args.database, tmp, "idle") as url:
        db = Database(url)
        db.ensure_ready()
        now = clock.now()
        with db.session() as session:
            session.execute(insert(Catalog), [{"code": "idle", "name": "idle"}])
            session.execute(
                insert(Channel),
                [
                    {
                        "slug": f"idle{n}",
                        "name": f"idle {n}",
                        "plugin": "hepsiburada",
                        "status": "active",
                        "config": config,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(args.channels)
                ],
            )
        daemon = Daemon(db, registry, clock=clock, workers=args.workers, poll_seconds=1.0)
        thread = threading.Thread(target=daemon.run_forever, daemon=True)
        thread.start()
        time.sleep(args.warmup)  # the first pass runs every flow once (all ticks are new)
        runs0 = daemon.stats.runs
        cpu0, wall0 = time.process_time(), time.monotonic()
        time.sleep(args.seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        daemon.stop()
        thread.join()
        print(
            f"{args.channels} channels (flags: {', '.join(flags)}): "
            f"{daemon.stats.runs - runs0} empty runs in the window ({daemon.stats.failed} failed in total); idle window {wall:.1f} s used {cpu:.2f} s "
            f"CPU = {100 * cpu / wall:.1f}% of one core",
            flush=True,
        )
        sandbox.terminate()
        db.dispose()


if __name__ == "__main__":
    main()
