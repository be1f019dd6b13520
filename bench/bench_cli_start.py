"""How long ``pazar --help``, ``pazar --version`` and ``pazar status`` take to answer.

Usage: python bench/bench_cli_start.py [--runs 9] [--products 10] [--database POSTGRES_URL]
                                       [--python OTHER_PYTHON ...]

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
interpreter) in a temporary directory; with ``--database postgresql://…`` it runs against
PostgreSQL instead, in a throwaway schema on that server (``pazar.testing.postgres_schema``,
one per interpreter, filled by ``pazar demo`` and dropped at the end), because psycopg and
a server round trip cost what SQLite does not.  The URL's password is never printed.

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

COMMANDS: list[tuple[str, list[str], dict[str, str]]] = [
    ("--help", ["--help"], {}),
    ("--version", ["--version"], {}),
    ("status", ["status"], {}),
    ("status, no flow cache", ["status"], {"PAZAR_CACHE_DIR": "off"}),
]


def environment(url: str, workdir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PAZAR_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["PAZAR_DATABASE_URL"] = url
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    env["PAZAR_CACHE_DIR"] = str(workdir / "pazar-cache")
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


def fill_demo(python: str, url: str, workdir: Path, products: int) -> None:
    """``pazar demo`` into the database at ``url`` (the demo ignores ``PAZAR_DATABASE_URL``
    and, without ``--database``, writes ``pazar-demo.db`` in the working directory)."""
    done = subprocess.run(
        [python, "-m", "pazar", "demo", "--products", str(products), "--database", url, "--json"],
        env=environment(url, workdir),
        cwd=workdir,
        capture_output=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"pazar demo failed for {python}:\n{done.stderr.decode()}")


@contextmanager
def demo_database(workdir: Path, postgres: str | None) -> Iterator[str]:
    """The URL of an empty database for one interpreter's run: a SQLite file in
    ``workdir``, or a migrated throwaway schema on the PostgreSQL server ``postgres``,
    dropped when the block ends."""
    if not postgres:
        yield f"sqlite:///{workdir / 'pazar-demo.db'}"
        return
    from pazar.testing import postgres_schema

    with postgres_schema(postgres) as url:
        yield url


def measure(python: str, workdir: Path, url: str, runs: int) -> None:
    env = environment(url, workdir)
    print(python)
    print(f"  {'command':<28}{'median s':>10}{'min s':>10}{'cpu median s':>14}")
    for label, args, extra in COMMANDS:
        walls, cpus = [], []
        timed(python, args, {**env, **extra}, workdir)  # bytecode, flow cache
        for _ in range(runs):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--products", type=int, default=10, help="catalog size of the demo")
    parser.add_argument(
        "--database",
        metavar="POSTGRES_URL",
        help="run status against a throwaway schema on this PostgreSQL server, not SQLite",
    )
    parser.add_argument(
        "--python", action="append", default=[], help="another interpreter to measure"
    )
    options = parser.parse_args()
    if options.database and not options.database.startswith(("postgresql://", "postgres://")):
        parser.error("--database takes a postgresql:// URL")
    pythons = [sys.executable, *options.python]
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    where = "SQLite"
    if options.database:
        from pazar.db import redact_url

        where = f"PostgreSQL {redact_url(options.database)}, a throwaway schema"
    print(f"{options.runs} runs per command, fresh process each; status reads {where}\n")
    for python in pythons:
        with (
            tempfile.TemporaryDirectory(prefix="pazar-cli-bench-") as tmp,
            demo_database(Path(tmp), options.database) as url,
        ):
            fill_demo(python, url, Path(tmp), options.products)
            measure(python, Path(tmp), url, options.runs)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
