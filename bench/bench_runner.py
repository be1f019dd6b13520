"""Runner throughput and memory: N generated records through a test-plugin flow.

Usage: python bench/bench_runner.py [--count 100000]

Runs ``testmarket/bulk`` (generate → core.map → collect, batches of 1000) into a
fresh SQLite file and prints records/s and peak RSS, after a run of a tenth as
many records in the same process, so a flat memory profile shows as two close
RSS figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["PAZAR_PLUGINS"] = "pazar_hepsiburada,pazar_fashfed,tests.testplugin"
os.environ["PAZAR_DISABLE_PLUGIN_AUTOLOAD"] = "1"

from pazar.channels import ChannelService  # noqa: E402
from pazar.clock import SystemClock  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.flows.loader import load_flows  # noqa: E402
from pazar.plugins import load_plugins  # noqa: E402
from pazar.runner import RunOptions, run_flow  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    plugins = load_plugins()
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.ensure_ready()
        with db.session() as session:
            service = ChannelService(session, plugins.registry, clock=clock)
            service.add("testmarket", "bench", None)
        with db.session() as session:
            channel = ChannelService(session, plugins.registry, clock=clock).get("bench")
            session.expunge(channel)
        flow = load_flows(plugins.registry).get("testmarket/bulk")
        for count in (args.count // 10, args.count):
            sized = replace(flow, source=replace(flow.source, params={"count": count}))
            started = time.perf_counter()
            result = run_flow(
                db, plugins.registry, sized, channel, clock=clock, options=RunOptions(force=True)
            )
            seconds = time.perf_counter() - started
            assert result.status == "success" and result.succeeded == count, result
            print(
                f"{count:>9,} records: {seconds:6.2f} s, {count / seconds:9,.0f} records/s, "
                f"peak RSS {peak_rss_mb():6.1f} MB, run {result.run_id}: "
                f"read={result.read} sent={result.sent} succeeded={result.succeeded}"
            )
        db.dispose()


if __name__ == "__main__":
    main()
