"""Shared fixtures: a fresh database per test on SQLite and, when
``PAZAR_TEST_POSTGRES_URL`` is set, the same test again on PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from pazar.clock import FixedClock
from pazar.db import Database
from pazar.models import Base
from pazar.plugins import reset_plugin_system

PG_URL = os.environ.get("PAZAR_TEST_POSTGRES_URL", "").strip()
TESTS_DIR = Path(__file__).resolve().parent
BUILTIN_MARKETPLACES = "pazar_hepsiburada,pazar_fashfed"


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str | None]:
    """A throwaway schema on the test PostgreSQL for this session."""
    if not PG_URL:
        yield None
        return
    schema = f"pazar_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = _pg_schema_url(PG_URL, schema)
        Database(url).upgrade()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _truncate_all(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


def _db_params() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if PG_URL:
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


@pytest.fixture(params=_db_params())
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_base_url: str | None
) -> Iterator[str]:
    """A database URL, empty and migrated, for SQLite and PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'pazar.db'}"
        Database(url).upgrade()
        yield url
        return
    assert pg_base_url is not None
    database = Database(pg_base_url)
    _truncate_all(database)
    database.dispose()
    yield pg_base_url


@pytest.fixture
def pg_url(pg_base_url: str | None) -> Iterator[str]:
    """An empty PostgreSQL database only (tests of many daemons sharing one)."""
    if pg_base_url is None:
        pytest.skip("needs PAZAR_TEST_POSTGRES_URL (CI always sets it)")
    database = Database(pg_base_url)
    _truncate_all(database)
    database.dispose()
    yield pg_base_url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test starts with no stray pazar environment and a fresh plugin load."""
    for var in ("PAZAR_DATABASE_URL", "PAZAR_FLOWS_PATH"):
        monkeypatch.delenv(var, raising=False)
    # Installed third-party plugins stay out; the built-in marketplaces come in the
    # way the plugin guide tells anyone with autoload off: by PAZAR_PLUGINS.
    monkeypatch.setenv("PAZAR_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PAZAR_PLUGINS", BUILTIN_MARKETPLACES)
    monkeypatch.chdir(tmp_path)
    reset_plugin_system()
    yield
    reset_plugin_system()


class Cli:
    """Runs ``pazar`` in-process against one database, as a user would."""

    def __init__(self, url: str, env: dict[str, str] | None = None) -> None:
        self.url = url
        self.env = dict(env or {})

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        from pazar.cli import cli

        runner = CliRunner()
        full_env = {"PAZAR_DATABASE_URL": self.url, **self.env, **(env or {})}
        reset_plugin_system()
        return runner.invoke(cli, list(args), input=input, env=full_env, catch_exceptions=False)


@pytest.fixture
def cli(db_url: str) -> Cli:
    return Cli(db_url, env={"PAZAR_PLUGINS": "pazar_hepsiburada,pazar_fashfed,tests.testplugin"})
