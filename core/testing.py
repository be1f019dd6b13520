"""Testing a marketplace plugin: databases, the real CLI, sandboxes on loopback, a clock.

A plugin's test suite needs nothing from pazar's own ``tests/``.  Installing pazar makes
these fixtures available to pytest (the ``pytest11`` entry point ``pazar``); nothing here is
autouse, so a project that merely has pazar installed sees no difference:

- ``pazar_db_url``: an empty, migrated database — SQLite in the test's temporary directory,
  and the same test again on PostgreSQL when ``PAZAR_TEST_POSTGRES_URL`` is set (each session
  gets a schema of its own, dropped at the end);
- ``pazar_cli``: a :class:`Cli` running ``pazar`` commands in-process against that database,
  with the plugins the test names (``pazar_cli.plugins = "my_plugin"``), as a user would;
- ``pazar_clock``: a :class:`FixedClock` that moves only when told (never sleep in a test);
- ``pazar_no_waits``: marketplace clients built on ``pazar.plugin.MarketplaceClient`` record
  their backoff and ``Retry-After`` waits in this list instead of sleeping;
- :func:`serve_sandbox`: a marketplace's sandbox app served over real HTTP on loopback.

A test that uses ``pazar_cli`` or ``pazar_db_url`` runs with no stray ``PAZAR_*`` environment
and plugin autoload off, so only the plugins the test names are loaded.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from pazar.clock import FixedClock
from pazar.db import Database
from pazar.models import Base
from pazar.plugins import reset_plugin_system
from pazar.sandbox_server import RunningSandbox, serve_in_thread

__all__ = [
    "Cli",
    "FixedClock",
    "RunningSandbox",
    "pazar_clean_environment",
    "pazar_clock",
    "pazar_cli",
    "pazar_db_url",
    "pazar_no_waits",
    "postgres_url",
    "serve_sandbox",
]

POSTGRES_ENV = "PAZAR_TEST_POSTGRES_URL"


def postgres_url() -> str:
    """The PostgreSQL server tests may use (``PAZAR_TEST_POSTGRES_URL``), or ""."""
    return os.environ.get(POSTGRES_ENV, "").strip()


@contextmanager
def serve_sandbox(app: Any) -> Iterator[RunningSandbox]:
    """Serve an ASGI app (a marketplace's sandbox) on a free loopback port until the block
    ends; ``.url`` is its base URL."""
    running = serve_in_thread(app)
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def postgres_schema(base_url: str, *, migrated: bool = True) -> Iterator[str]:
    """A throwaway schema on ``base_url``, migrated unless ``migrated`` is false (a schema
    with no tables, as a new database is); yields a URL that uses it."""
    schema = f"pazar_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base_url else "?"
        url = f"{base_url}{sep}options=-csearch_path%3D{schema}"
        if migrated:
            Database(url).upgrade()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def empty_database(url: str) -> None:
    """Delete every row of every pazar table (PostgreSQL: one TRUNCATE)."""
    database = Database(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    try:
        with database.engine.begin() as conn:
            if database.dialect == "postgresql":
                names = ", ".join(f'"{t}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f'DELETE FROM "{table}"'))
    finally:
        database.dispose()


def database_params() -> list[Any]:
    """``sqlite``, plus ``postgresql`` when a server is configured (for parametrizing)."""
    params = [pytest.param("sqlite", id="sqlite")]
    if postgres_url():
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


@pytest.fixture(scope="session")
def pazar_postgres_base() -> Iterator[str | None]:
    """A migrated throwaway schema on the test PostgreSQL for this session (None without)."""
    base = postgres_url()
    if not base:
        yield None
        return
    with postgres_schema(base) as url:
        yield url


@pytest.fixture(scope="session")
def pazar_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file for this session, which tests copy.

    Running every migration took a third of a second per test; a copy takes a millisecond.
    """
    path = tmp_path_factory.mktemp("pazar-template") / "pazar.db"
    database = Database(f"sqlite:///{path}")
    try:
        database.upgrade()
    finally:
        database.dispose()  # the last connection's close folds the WAL into the file
    return path


def migrated_sqlite(template: Path, directory: Path) -> str:
    """The URL of a fresh copy of ``template`` (see :func:`pazar_sqlite_template`)."""
    target = directory / "pazar.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=database_params())
def pazar_db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    pazar_postgres_base: str | None,
    pazar_clean_environment: None,
    pazar_sqlite_template: Path,
) -> Iterator[str]:
    """An empty, migrated database URL: SQLite, and PostgreSQL when configured."""
    if request.param == "sqlite":
        yield migrated_sqlite(pazar_sqlite_template, tmp_path)
        return
    assert pazar_postgres_base is not None
    empty_database(pazar_postgres_base)
    yield pazar_postgres_base


@pytest.fixture
def pazar_no_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Clients wait for nobody: each wait (backoff, Retry-After) is appended here instead."""
    import pazar.http_client

    waits: list[float] = []
    monkeypatch.setattr(pazar.http_client, "SLEEP", waits.append)
    return waits


@pytest.fixture
def pazar_clock() -> FixedClock:
    """A clock at 2026-01-01T00:00Z that moves only with ``advance()``/``set()``."""
    return FixedClock()


@dataclass
class Cli:
    """Runs ``pazar`` commands in-process against one database, as a user would.

    ``plugins``: the plugin modules to load (``PAZAR_PLUGINS``; autoload stays off so an
    unrelated installed plugin cannot change what a test sees).  ``env``: more variables.
    ``clock``: the clock the commands run with, e.g. ``pazar_clock`` (runs, penalties and
    schedules then see time move only when the test moves it); None: the system clock.
    A call returns click's :class:`~click.testing.Result` (``exit_code``, ``output``,
    ``stdout``, ``stderr``); a non-zero exit does not raise.
    """

    database_url: str
    plugins: str = ""
    env: dict[str, str] = field(default_factory=dict)
    clock: Any = None

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        from pazar.cli import cli
        from pazar.cli.context import AppContext

        full_env = {
            "PAZAR_DATABASE_URL": self.database_url,
            "PAZAR_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PAZAR_PLUGINS": self.plugins,
            **self.env,
            **(env or {}),
        }
        reset_plugin_system()
        try:
            given = AppContext(clock=self.clock) if self.clock is not None else None
            return CliRunner().invoke(
                cli, list(args), input=input, env=full_env, catch_exceptions=False, obj=given
            )
        finally:
            reset_plugin_system()


@pytest.fixture
def pazar_cli(pazar_db_url: str) -> Cli:
    """A :class:`Cli` on the test's database; set ``.plugins`` to the plugins to load."""
    return Cli(pazar_db_url)


@pytest.fixture
def pazar_clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No stray ``PAZAR_*`` settings of the developer's shell leak into a test."""
    for name in list(os.environ):
        if name.startswith("PAZAR_") and name != POSTGRES_ENV:
            monkeypatch.delenv(name, raising=False)
    # A terminal's size (pytest-xdist's workers set 80x24) would narrow pazar's tables.
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    monkeypatch.setenv("PAZAR_DISABLE_PLUGIN_AUTOLOAD", "1")
    reset_plugin_system()
    yield
    reset_plugin_system()
