"""Shared fixtures: a fresh database per test on SQLite and, when
``PAZAR_TEST_POSTGRES_URL`` is set, the same test again on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pazar.clock import FixedClock
from pazar.db import Database
from pazar.plugins import reset_plugin_system
from pazar.testing import (
    Cli,
    database_params,
    empty_database,
    migrated_sqlite,
)

TESTS_DIR = Path(__file__).resolve().parent
BUILTIN_MARKETPLACES = "pazar_hepsiburada,pazar_fashfed"


@pytest.fixture(scope="session")
def pg_base_url(pazar_postgres_base: str | None) -> str | None:
    """A throwaway schema on the test PostgreSQL for this session: pazar.testing's, so the
    engine's tests and the example plugin's share one per session (None without a server)."""
    return pazar_postgres_base


@pytest.fixture(params=database_params())
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    pg_base_url: str | None,
    pazar_sqlite_template: Path,
) -> Iterator[str]:
    """A database URL, empty and migrated, for SQLite and PostgreSQL."""
    if request.param == "sqlite":
        yield migrated_sqlite(pazar_sqlite_template, tmp_path)
        return
    assert pg_base_url is not None
    empty_database(pg_base_url)
    yield pg_base_url


@pytest.fixture
def pg_url(pg_base_url: str | None) -> Iterator[str]:
    """An empty PostgreSQL database only (tests of many daemons sharing one)."""
    if pg_base_url is None:
        pytest.skip("needs PAZAR_TEST_POSTGRES_URL (CI always sets it)")
    empty_database(pg_base_url)
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
    # COLUMNS/LINES: a terminal's size (pytest-xdist's workers set 80x24) would narrow the
    # tables pazar prints when piped.
    for var in ("PAZAR_DATABASE_URL", "PAZAR_FLOWS_PATH", "COLUMNS", "LINES"):
        monkeypatch.delenv(var, raising=False)
    # Installed third-party plugins stay out; the built-in marketplaces come in the
    # way the plugin guide tells anyone with autoload off: by PAZAR_PLUGINS.
    monkeypatch.setenv("PAZAR_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PAZAR_PLUGINS", BUILTIN_MARKETPLACES)
    # The validated-flow cache of this test only, never the user's ~/.cache/pazar (the
    # XDG variable reaches the subprocesses that drop every PAZAR_ variable).
    monkeypatch.setenv("PAZAR_CACHE_DIR", str(tmp_path / "pazar-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.chdir(tmp_path)
    reset_plugin_system()
    yield
    reset_plugin_system()


@pytest.fixture
def cli(db_url: str) -> Cli:
    """``pazar`` in-process on the test's database, with the built-in marketplaces and the
    engine's test marketplace loaded."""
    return Cli(db_url, plugins=f"{BUILTIN_MARKETPLACES},tests.testplugin")
