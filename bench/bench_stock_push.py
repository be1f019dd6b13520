"""Stock push end to end: N changed stocks to the Hepsiburada sandbox over real HTTP.

Usage: python bench/bench_stock_push.py [--count 100000 ...] [--database URL] [--pushes 2]
       [--analyze] [--floor-runs 3] [--latency-ms 0]

pazar: the built-in ``hepsiburada/stock`` flow (selection, mapping with buffer
stock, skip-unchanged, uploads of 1000 rows opened as batch requests) followed by
``check_uploads`` (results recorded per SKU), on a fresh SQLite file, or with
``--database postgresql://...`` in a fresh schema of that database (dropped after).
With ``--pushes K`` every stock changes between pushes (an import, not timed) and
each push prints its own rate: a later push must be as fast as the first (no manual
``ANALYZE`` in between).
Floor: what a minimal script does for the same work in the same run — one SQL
query streamed in pages, each page dumped as JSON and uploaded, then every upload's
status read once, on one connection pool.  It runs ``--floor-runs`` times (default 3)
after the pushes and the shares are of its median run.
The sandbox runs in a process of its own and the untimed imports in child
processes, so the peak RSS printed is the pushes' own (the sandbox keeps every
listing and upload it received); it is taken before the floor runs.  ``--analyze``
(PostgreSQL) runs ANALYZE after each untimed import, to measure apart from
stale-statistics plans; the acceptance runs without it.  ``--latency-ms`` makes the sandbox
answer every request that much later, as a real marketplace does (the acceptance runs
without it: it measures the engine's own cost).  Several ``--count`` values run one after another, each in a fresh
process, and end with a table.  Targets (issue 19): >= 80% of the floor at 100k and
1M records, peak RSS <= 250 MB and flat between the two, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import database_url, hepsiburada_config  # noqa: E402
from sqlalchemy import text  # noqa: E402

from pazar.channels import ChannelService  # noqa: E402
from pazar.clock import SystemClock  # noqa: E402
from pazar.commerce.importers import import_file  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.flows.loader import load_flows  # noqa: E402
from pazar.plugins import load_plugins  # noqa: E402
from pazar.runner import run_flow  # noqa: E402

BUFFER = 2
RESULT = "RESULT "


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve_sandbox(latency_ms: int) -> None:
    """The child process: the Hepsiburada sandbox, its address on stdout, until stdin ends."""
    from pazar.sandbox_server import serve_in_thread
    from pazar_hepsiburada.sandbox import create_app

    app = create_app(pending_polls=0)
    running = serve_in_thread(app)
    app.state.sandbox.seed({"settings": {"accept_unknown_skus": True}})
    if latency_ms:
        app.state.sandbox.kit.set_faults({"latency_ms": latency_ms})
    print(json.dumps(app.state.sandbox.channel_config(running.url)), flush=True)
    sys.stdin.read()
    running.stop()


@contextlib.contextmanager
def sandbox_process(latency_ms: int = 0) -> Iterator[dict[str, Any]]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-sandbox", str(latency_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline())
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)


def write_stocks(path: Path, n: int, push: int) -> None:
    """Every quantity moves up by 3 per push: after the buffer, every payload changes."""
    with path.open("w") as out:
        out.write("sku,quantity\n")
        out.writelines(f"S{i:07d},{i % 40 + 3 * push}\n" for i in range(n))


def floor(db: Database, config: dict[str, Any]) -> float:
    """The minimal script: one query streamed in pages of 1000, JSON, upload, then poll."""
    started = time.perf_counter()
    url = f"{config['listing_url']}/listings/merchantid/{config['merchant_id']}/stock-uploads"
    ids = []
    with (
        httpx.Client(
            auth=(config["username"], config["password"]),
            headers={"User-Agent": config["user_agent"], "Content-Type": "application/json"},
        ) as client,
        db.engine.connect() as conn,
    ):
        result = conn.execution_options(stream_results=True).execute(
            text(
                "SELECT p.sku, s.quantity FROM stocks s JOIN products p ON p.id = s.product_id "
                "ORDER BY s.version"
            )
        )
        while page := result.fetchmany(1000):
            body = json.dumps(
                [{"merchantSku": sku, "availableStock": max(q - BUFFER, 0)} for sku, q in page]
            ).encode()
            ids.append(client.post(url, content=body).raise_for_status().json()["id"])
        for upload_id in ids:
            client.get(f"{url}/id/{upload_id}").raise_for_status()
    return time.perf_counter() - started


def prepare(url: str, n: int, tmp: str, push: int, sandbox: dict[str, Any], analyze: bool) -> None:
    """The untimed part, in a child process (its memory is not the push's): import the
    catalog and stocks and create the channel (push 0), or change every stock (push > 0)."""
    registry = load_plugins().registry
    clock = SystemClock()
    root = Path(tmp)
    db = Database(url)
    write_stocks(root / "stocks.csv", n, push)
    kinds = ["stocks"]
    if push == 0:
        with (root / "products.csv").open("w") as out:
            out.write("sku,name,categories,images\n")
            out.writelines(f"S{i:07d},P{i},A,https://img/{i}.jpg\n" for i in range(n))
        with (root / "catalog_items.csv").open("w") as out:
            out.write("catalog,sku\n")
            out.writelines(f"hb,S{i:07d}\n" for i in range(n))
        kinds = ["products", "stocks", "catalog_items"]
    with db.session() as session:
        for kind in kinds:
            import_file(session, kind, root / f"{kind}.csv")
    if push == 0:
        with db.session() as session:
            ChannelService(session, registry, clock=clock).apply(
                {
                    "channel": "hb",
                    "plugin": "hepsiburada",
                    "config": hepsiburada_config(
                        sandbox, feature_flags={"stock": True}, buffer_stock=BUFFER
                    ),
                    "status": "active",
                }
            )
    if analyze and db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    db.dispose()


def run_one(
    n: int,
    database: str | None,
    pushes: int,
    analyze: bool,
    floor_runs: int = 3,
    latency_ms: int = 0,
) -> dict[str, Any]:
    registry = load_plugins().registry
    clock = SystemClock()
    out: dict[str, Any] = {"count": n, "pushes": []}
    with (
        sandbox_process(latency_ms) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
        database_url(database, tmp) as url,
    ):
        config = hepsiburada_config(sandbox, feature_flags={"stock": True}, buffer_stock=BUFFER)

        def untimed(push: int) -> None:
            command = [sys.executable, __file__, "--prepare", url, str(n), tmp, str(push)]
            flags = ["--analyze"] if analyze else []
            subprocess.run([*command, json.dumps(sandbox), *flags], check=True)

        untimed(0)
        db = Database(url)
        out["database"] = db.dialect
        with db.session() as session:
            channel = ChannelService(session, registry, clock=clock).get("hb")
            session.expunge(channel)
        flows = load_flows(registry)

        for push in range(pushes):
            if push:
                untimed(push)
            started, cpu = time.perf_counter(), time.process_time()
            pushed = run_flow(db, registry, flows.get("hepsiburada/stock"), channel, clock=clock)
            checked = run_flow(
                db, registry, flows.get("hepsiburada/check_uploads"), channel, clock=clock
            )
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert pushed.sent == n and checked.status == "success", (pushed, checked)
            rate = n / seconds
            out["pushes"].append({"seconds": seconds, "cpu": cpu, "rate": rate})
            print(
                f"pazar push {push + 1}: {n:,} stocks in {seconds:.2f} s = {rate:,.0f} records/s "
                f"(CPU {cpu:.2f} s; {pushed.sent} sent, {checked.succeeded} uploads checked), "
                f"peak RSS {peak_rss_mb():.0f} MB",
                flush=True,
            )
        out["rss"] = peak_rss_mb()

        runs = []
        for _ in range(floor_runs):
            cpu = time.process_time()
            floor_seconds = floor(db, config)
            runs.append((floor_seconds, time.process_time() - cpu))
            print(
                f"floor: {n:,} stocks in {floor_seconds:.2f} s = "
                f"{n / floor_seconds:,.0f} records/s (CPU {runs[-1][1]:.2f} s)",
                flush=True,
            )
        floor_seconds, cpu = sorted(runs)[len(runs) // 2]  # the median run
        out["floor"] = {"seconds": floor_seconds, "cpu": cpu, "rate": n / floor_seconds}
        if floor_runs > 1:
            rates = sorted(n / seconds for seconds, _ in runs)
            print(
                f"floor, median of {floor_runs}: {n / floor_seconds:,.0f} records/s "
                f"(from {rates[0]:,.0f} to {rates[-1]:,.0f})"
            )
        for number, push in enumerate(out["pushes"], start=1):
            share = 100 * push["rate"] / out["floor"]["rate"]
            print(f"pazar push {number} at {share:.0f}% of the floor")
        db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count",
        type=int,
        action="append",
        help="Records to push (repeat for several sizes; default 100000).",
    )
    parser.add_argument("--database", help="Database URL (default: a temp SQLite file).")
    parser.add_argument(
        "--pushes", type=int, default=1, help="Pushes, every stock changed before each."
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="PostgreSQL: ANALYZE after each untimed import (to measure apart from stale "
        "statistics; issue 19's acceptance runs without it).",
    )
    parser.add_argument(
        "--floor-runs",
        type=int,
        default=3,
        help="Times the floor script runs; shares are of its median run (default 3: one "
        "run of it varied by more than 2x on a busy 2-core machine).",
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="The sandbox answers each request this much later, like a real marketplace "
        "(default 0: the engine's own cost alone).",
    )
    parser.add_argument("--serve-sandbox", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Stopped from outside: still drop the PostgreSQL schema and stop the sandbox.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if args.serve_sandbox is not None:
        serve_sandbox(args.serve_sandbox)
        return
    if args.prepare:
        url, n, tmp, push, sandbox = args.prepare
        prepare(url, int(n), tmp, int(push), json.loads(sandbox), args.analyze)
        return
    if args.pushes < 1:
        parser.error("--pushes must be at least 1")
    if args.floor_runs < 1:
        parser.error("--floor-runs must be at least 1")
    counts = args.count or [100_000]
    if len(counts) == 1:
        result = run_one(
            counts[0], args.database, args.pushes, args.analyze, args.floor_runs, args.latency_ms
        )
        print(RESULT + json.dumps(result))
        return
    results = []
    for n in counts:  # each size in a fresh process: peak RSS is that size's own
        extra = ["--database", args.database] if args.database else []
        extra += ["--analyze"] if args.analyze else []
        extra += ["--floor-runs", str(args.floor_runs), "--latency-ms", str(args.latency_ms)]
        command = [sys.executable, __file__, "--count", str(n), "--pushes", str(args.pushes)]
        child = subprocess.run([*command, *extra], capture_output=True, text=True, check=True)
        for line in child.stdout.splitlines():
            if line.startswith(RESULT):
                results.append(json.loads(line[len(RESULT) :]))
            else:
                print(line, flush=True)
    print(f"{'records':>10} {'floor/s':>10} {'pazar/s':>10} {'share':>6} {'peak RSS':>9}")
    for r in results:
        for number, push in enumerate(r["pushes"], start=1):
            share = 100 * push["rate"] / r["floor"]["rate"]
            label = f"{r['count']:,}" + (f" #{number}" if len(r["pushes"]) > 1 else "")
            print(
                f"{label:>10} {r['floor']['rate']:>10,.0f} {push['rate']:>10,.0f} "
                f"{share:>5.0f}% {r['rss']:>6.0f} MB"
            )


if __name__ == "__main__":
    main()
