"""How long ``pazar --help``, ``pazar --version`` and ``pazar status`` take to answer.

Usage: python bench/bench_cli_start.py [--runs 9] [--products 10] [--python OTHER_PYTHON ...]

Each command runs as a fresh process (``python -m pazar …``) ``--runs`` times, after one
untimed run that leaves what an installed pazar has (compiled bytecode, kept in a
temporary ``PYTHONPYCACHEPREFIX`` so no checkout is written to, even where
``PYTHONDONTWRITEBYTECODE`` is set, and pazar's validated-flow cache in a temporary
``PAZAR_CACHE_DIR``); ``status, no flow cache`` is ``status`` with ``PAZAR_CACHE_DIR=off``
(the first command after an install, an upgrade or an edit of the flows: no validated flows
and no flow summary, so it loads plugins and checks flows, through SQLAlchemy).  The bench
prints the median and fastest wall-clock seconds and the median CPU seconds (user + system,
which a loaded machine disturbs less than wall time), then the ten imports with the largest
cumulative time from ``python -X importtime`` for ``--help`` and ``status``.  ``status``
runs against a SQLite database filled by ``pazar demo`` (a few seconds, once per
interpreter) in a temporary directory.

Every ``--python`` is measured the same way, after the interpreter running this script: give
another checkout's virtualenv (e.g. main's) to print before and after in one run.
Goal (issue 19): ``--help`` and ``status`` under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: list[tuple[str, list[str], dict[str, str]]] = [
    ("--help", ["--help"], {}),
    ("--version", ["--version"], {}),
    ("status", ["status"], {}),
    ("status, no flow cache", ["status"], {"PAZAR_CACHE_DIR": "off"}),
]


def environment(database: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PAZAR_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["PAZAR_DATABASE_URL"] = f"sqlite:///{database}"
    env["PYTHONPYCACHEPREFIX"] = str(database.parent / "pycache")
    env["PAZAR_CACHE_DIR"] = str(database.parent / "pazar-cache")
    return env


def timed(python: str, args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m pazar ARGS``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "pazar", *args], env=env, cwd=cwd, capture_output=True, timeout=300
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{python} -m pazar {' '.join(args)} failed:\n{done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def top_imports(python: str, args: list[str], env: dict[str, str], cwd: Path) -> list[str]:
    done = subprocess.run(
        [python, "-X", "importtime", "-m", "pazar", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    rows: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        rows.append((int(cumulative), name.rstrip()))
    rows.sort(reverse=True)
    return [f"{us / 1e6:7.3f} s  {name}" for us, name in rows[:10]]


def demo_database(python: str, workdir: Path, products: int) -> Path:
    database = workdir / "pazar-demo.db"
    done = subprocess.run(
        [python, "-m", "pazar", "demo", "--products", str(products), "--json"],
        env=environment(database),
        cwd=workdir,
        capture_output=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"pazar demo failed for {python}:\n{done.stderr.decode()}")
    return database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--products", type=int, default=10, help="catalog size of the demo")
    parser.add_argument(
        "--python", action="append", default=[], help="another interpreter to measure"
    )
    options = parser.parse_args()
    pythons = [sys.executable, *options.python]
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    print(f"{options.runs} runs per command, fresh process each\n")
    for python in pythons:
        with tempfile.TemporaryDirectory(prefix="pazar-cli-bench-") as tmp:
            workdir = Path(tmp)
            env = environment(demo_database(python, workdir, options.products))
            print(python)
            print(f"  {'command':<28}{'median s':>10}{'min s':>10}{'cpu median s':>14}")
            for label, args, extra in COMMANDS:
                walls, cpus = [], []
                timed(python, args, {**env, **extra}, workdir)  # bytecode, flow cache
                for _ in range(options.runs):
                    wall, cpu = timed(python, args, {**env, **extra}, workdir)
                    walls.append(wall)
                    cpus.append(cpu)
                print(
                    f"  {'pazar ' + label:<28}{statistics.median(walls):>10.3f}"
                    f"{min(walls):>10.3f}{statistics.median(cpus):>14.3f}"
                )
            for args in (["--help"], ["status"]):
                print(f"  top imports (cumulative) of pazar {' '.join(args)}:")
                for line in top_imports(python, args, env, workdir):
                    print(f"    {line}")
            print()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
