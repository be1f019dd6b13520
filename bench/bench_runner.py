"""Runner throughput and memory: N records through a flow of the engine's own steps.

Usage: python bench/bench_runner.py [--count 100000]

Runs a ``core`` flow (``core.read_jsonl`` → ``core.map`` → ``core.write_jsonl``, batches of
1000) for a channel in a fresh SQLite file and prints records/s and peak RSS, after a run of
a tenth as many records in the same process, so a flat memory profile shows as two close RSS
figures.  The input file is written first (not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["PAZAR_PLUGINS"] = "pazar_hepsiburada"
os.environ["PAZAR_DISABLE_PLUGIN_AUTOLOAD"] = "1"

from pazar.channels import ChannelService  # noqa: E402
from pazar.clock import SystemClock  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.flows.model import FlowDef, StepDef  # noqa: E402
from pazar.plugins import load_plugins  # noqa: E402
from pazar.runner import RunOptions, run_flow  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bulk_flow(source: Path, target: Path) -> FlowDef:
    """What the old test-plugin flow measured: one render per field, a batch of 1000."""
    return FlowDef(
        flow="bulk",
        title="Bulk (benchmark)",
        plugin="core",
        content_type="productstock",
        source=StepDef("core.read_jsonl", {"path": str(source), "key": "sku"}, "/source"),
        steps=(
            StepDef(
                "core.map",
                {
                    "fields": {
                        "sku": "{{ record.sku }}",
                        "stock": "{{ [record.quantity - (config.buffer_stock or 0), 0] | max }}",
                    }
                },
                "/steps/0",
            ),
        ),
        sink=StepDef("core.write_jsonl", {"path": str(target), "batch_size": 1000}, "/sink"),
    )


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
            ChannelService(session, plugins.registry, clock=clock).add("hepsiburada", "bench")
        with db.session() as session:
            channel = ChannelService(session, plugins.registry, clock=clock).get("bench")
            session.expunge(channel)
        for count in (args.count // 10, args.count):
            source = Path(tmp) / f"in-{count}.jsonl"
            with source.open("w") as handle:
                for i in range(count):
                    handle.write(json.dumps({"sku": f"SKU-{i}", "quantity": i % 7}) + "\n")
            flow = bulk_flow(source, Path(tmp) / f"out-{count}.jsonl")
            started = time.perf_counter()
            result = run_flow(
                db, plugins.registry, flow, channel, clock=clock, options=RunOptions(force=True)
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
