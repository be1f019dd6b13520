"""Idle cost of a daemon: many channels, every flow enabled, nothing to do.

Usage: python bench/bench_idle.py [--channels 500] [--seconds 20] [--database URL]

Creates N active test-plugin channels with their flags on, lets the due ticks
run once (empty flows), then measures the daemon process's CPU time over the
window while nothing is due, and prints it as a percentage of one core.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["PAZAR_PLUGINS"] = "tests.testplugin"
os.environ["PAZAR_DISABLE_PLUGIN_AUTOLOAD"] = "1"

from sqlalchemy import insert  # noqa: E402

from core.clock import SystemClock  # noqa: E402
from core.daemon import Daemon  # noqa: E402
from core.db import Database  # noqa: E402
from core.models.channels import Channel  # noqa: E402
from core.plugins import load_plugins  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--database")
    args = parser.parse_args()
    registry = load_plugins().registry
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        # Nothing to do: the test plugin's scheduled flow, overridden to find no records.
        overlay = Path(tmp) / "flows" / "testmarket"
        overlay.mkdir(parents=True)
        (overlay / "push.yaml").write_text(
            "flow: push\ntitle: Push (nothing to do)\nplugin: testmarket\nfeature_flag: push\n"
            "schedule: every 30s\nsource: {type: testmarket.generate, count: 0}\n"
            "sink: {type: testmarket.collect}\n"
        )
        os.environ["PAZAR_FLOWS_PATH"] = str(overlay.parent)
        db = Database(args.database or f"sqlite:///{tmp}/idle.db")
        db.ensure_ready()
        now = clock.now()
        config = {"feature_flags": {"push": True}, "base_url": "http://127.0.0.1:9", "api_key": ""}
        config["category_ids"] = []
        with db.session() as session:
            session.execute(
                insert(Channel),
                [
                    {
                        "slug": f"idle{n}",
                        "name": f"idle {n}",
                        "plugin": "testmarket",
                        "status": "active",
                        "config": config,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(args.channels)
                ],
            )
        daemon = Daemon(db, registry, clock=clock, workers=2, poll_seconds=1.0)
        thread = threading.Thread(target=daemon.run_forever, daemon=True)
        thread.start()
        time.sleep(5)  # let the first due ticks run
        cpu0, wall0 = time.process_time(), time.monotonic()
        time.sleep(args.seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        daemon.stop()
        thread.join()
        print(
            f"{args.channels} channels: {daemon.stats.runs} runs in total; "
            f"idle window {wall:.1f} s used {cpu:.2f} s CPU = {100 * cpu / wall:.1f}% of one core"
        )
        db.dispose()


if __name__ == "__main__":
    main()
