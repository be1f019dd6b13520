"""``pazar --help`` and ``pazar status`` answer without loading what they do not use.

The root group lists commands from a table and imports a command's module only when that
command runs; the plugin door, the HTTP client and the schema check import their heavy
libraries on first use.  Speed itself is measured by bench/bench_cli_start.py; these tests
check what can be observed without a clock: which modules a fresh interpreter loaded, and
that every command still resolves, helps and completes as before.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import text

import pazar.cli
from pazar.cli import COMMAND_TABLE, cli
from pazar.cli.lazy_group import LazyGroup
from pazar.db import Database, head_revision, newest_migration_file

ROOT = Path(__file__).resolve().parents[2]

# Loaded by no part of `pazar --help`.
NOT_FOR_HELP = [
    "alembic",
    "httpx",
    "jinja2",
    "jsonschema",
    "pluggy",
    "rich",
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "yaml",
    "pazar.models",
    "pazar.plugins",
    *(f"pazar.cli.{module}" for module in {t.target.split(":")[0] for t in COMMAND_TABLE.values()}),
]
# `pazar status` reads the database and the flows, but sends nothing and serves nothing.
NOT_FOR_STATUS = ["alembic", "httpx", "starlette", "uvicorn", "pazar.runner", "pazar.web"]

# Runs the CLI in a fresh interpreter, then reports which of the named modules it loaded.
PROBE = """
import json, sys
watched = json.loads(sys.argv[1])
from pazar.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
sys.stderr.write("\\nLOADED " + json.dumps(sorted(m for m in watched if m in sys.modules)))
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAZAR_", "_PAZAR"))},
        "PAZAR_DATABASE_URL": f"sqlite:///{tmp_path / 'startup.db'}",
        "PAZAR_PLUGINS": "pazar_hepsiburada,pazar_fashfed",
        "PAZAR_DISABLE_PLUGIN_AUTOLOAD": "1",
        "COLUMNS": "100",
        **extra,
    }


def _probe(
    tmp_path: Path, watched: list[str], *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(watched), *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path, **env),
        cwd=tmp_path,
        timeout=120,
    )
    marker = done.stderr.rindex("LOADED ")
    return done, json.loads(done.stderr[marker + len("LOADED ") :])


def _migrated(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'startup.db'}")
    database.ensure_ready()
    return database


def test_help_lists_every_command_without_importing_them(tmp_path: Path) -> None:
    done, loaded = _probe(tmp_path, NOT_FOR_HELP, "--help")
    assert done.returncode == 0, done.stderr
    assert loaded == []
    listed = [
        line.split()[0]
        for line in done.stdout.split("Commands:\n", 1)[1].splitlines()
        if line.startswith("  ") and not line.startswith("   ")
    ]
    assert listed == sorted(COMMAND_TABLE)
    assert "status     What the daemons are doing and what waits." in done.stdout


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    done, loaded = _probe(tmp_path, NOT_FOR_HELP, "--version")
    assert done.stdout.strip() == f"pazar, version {pazar.__version__}"
    assert loaded == []


@pytest.mark.parametrize("width", [60, 80, 100, 200])
def test_the_listing_from_the_table_is_the_one_click_prints_for_the_commands(width: int) -> None:
    group = LazyGroup(name="pazar", lazy_commands=COMMAND_TABLE)  # nothing imported into it
    ctx = click.Context(group, info_name="pazar")
    from_table = click.HelpFormatter(width=width)
    group.format_commands(ctx, from_table)
    group.load_all()
    from_commands = click.HelpFormatter(width=width)
    click.Group.format_commands(group, ctx, from_commands)
    assert from_table.getvalue() == from_commands.getvalue()


def _resolved(name: str) -> click.Command:
    with click.Context(cli) as ctx:
        command = cli.get_command(ctx, name)
    assert command is not None, name
    return command


def test_the_table_names_every_command_module_s_commands() -> None:
    declared: dict[str, str] = {}
    for info in pkgutil.iter_modules(pazar.cli.__path__):
        module = importlib.import_module(f"pazar.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            declared[command.name] = module.__name__
    assert {name: entry.target.split(":")[0] for name, entry in COMMAND_TABLE.items()} == declared


@pytest.mark.parametrize("name", sorted(COMMAND_TABLE))
def test_every_listed_command_resolves_with_the_table_s_help(name: str) -> None:
    command = _resolved(name)
    assert command.name == name
    assert COMMAND_TABLE[name].short_help == command.get_short_help_str(limit=10_000)
    result = CliRunner().invoke(cli, [name, "--help"], prog_name="pazar")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: pazar {name} ")


def test_status_reads_the_database_without_the_http_or_web_stack(tmp_path: Path) -> None:
    _migrated(tmp_path).dispose()
    done, loaded = _probe(tmp_path, NOT_FOR_STATUS, "status", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["daemons"] == [] and report["queue"] == []
    assert loaded == []


# What a `pazar status` whose flows come from the validated-flow cache does not load.
NOT_FOR_CACHED_STATUS = [
    *NOT_FOR_STATUS,
    "jinja2",
    "jsonschema",
    "yaml",
    "pazar.flows.validate",
    "pazar.flows.yamlpos",
    "pazar.templating",
]


def test_a_second_status_takes_the_flows_from_the_cache_without_checking_them(
    tmp_path: Path,
) -> None:
    _migrated(tmp_path).dispose()
    cache = {"PAZAR_CACHE_DIR": str(tmp_path / "cache")}
    first, loaded_first = _probe(tmp_path, NOT_FOR_CACHED_STATUS, "status", **cache)
    assert first.returncode == 0, first.stderr
    assert "jsonschema" in loaded_first  # the first one checked the flow files
    second, loaded = _probe(tmp_path, NOT_FOR_CACHED_STATUS, "status", **cache)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert loaded == []


def test_completing_a_command_name_offers_its_help_without_importing_it(tmp_path: Path) -> None:
    done, loaded = _probe(
        tmp_path,
        NOT_FOR_HELP,
        _PAZAR_COMPLETE="zsh_complete",
        COMP_WORDS="pazar st",
        COMP_CWORD="1",
    )
    assert done.stdout.splitlines() == [
        "plain",
        "status",
        "What the daemons are doing and what waits.",
        "plain",
        "stock",
        "Stock levels in the local commerce backend.",
    ]
    assert loaded == []


def test_completing_a_subcommand_loads_its_group(tmp_path: Path) -> None:
    done, _ = _probe(
        tmp_path, [], _PAZAR_COMPLETE="bash_complete", COMP_WORDS="pazar db up", COMP_CWORD="2"
    )
    assert done.stdout.strip() == "plain,upgrade"


def test_a_mistyped_command_still_gets_a_suggestion() -> None:
    result = CliRunner().invoke(cli, ["stauts"])
    assert result.exit_code == 2
    assert "No such command 'stauts'" in result.output
    assert "status" in result.output.split("No such command 'stauts'")[1]


def test_the_migration_headers_name_alembic_s_head() -> None:
    assert newest_migration_file() == head_revision()


@pytest.mark.parametrize(
    ("stored", "message"),
    [("0001", "run `pazar db upgrade`"), ("9999", "which this pazar does not know")],
)
def test_a_database_at_another_revision_is_still_refused(
    db: Database, stored: str, message: str
) -> None:
    db.ensure_ready()
    head = newest_migration_file()

    def set_revision(revision: str | None) -> None:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})

    set_revision(stored)
    try:  # the PostgreSQL database is shared by the session's tests: put the revision back
        result = CliRunner().invoke(cli, ["status"], env={"PAZAR_DATABASE_URL": db.url})
    finally:
        set_revision(head)
    assert result.exit_code == 1
    assert message in result.output
