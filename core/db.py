"""The database: URL, engine, sessions and schema revision checks.

SQLite (a file in the working directory) is the embedded default; PostgreSQL
serves many daemons.  An empty database is migrated on first use; a database at
an older revision is refused with a message saying how to upgrade, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pazar import json_text
from pazar.db_driver import (
    MIGRATIONS_DIR,
    POSTGRES_NAMES,
    SQLITE_CONNECT_ARGS,
    apply_sqlite_pragmas,
    database_url,
    newest_migration_file,
    server_options,
)
from pazar.db_stats import watch
from pazar.errors import DatabaseError

__all__ = [
    "MIGRATIONS_DIR",
    "Database",
    "current_revision",
    "database_url",
    "head_revision",
    "make_engine",
    "newest_migration_file",
    "redact_url",
]


def redact_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    apply_sqlite_pragmas(dbapi_conn)


def _without_jit(url: URL) -> URL:
    """``url`` with the server options of :func:`pazar.db_driver.server_options` (JIT off)."""
    options = url.query.get("options", "")
    if not isinstance(options, str):
        return url  # several options parameters: left as the operator wrote them
    return url.update_query_dict({"options": server_options(options)})


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"PAZAR_DATABASE_URL is not a database URL: {exc}") from None
    if parsed.drivername in POSTGRES_NAMES:
        parsed = _without_jit(parsed.set(drivername="postgresql+psycopg"))
    # JSON columns are written as json.dumps writes them, without its per-call setup.
    kwargs: dict[str, Any] = {"json_serializer": json_text.dumps}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = dict(SQLITE_CONNECT_ARGS)
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"the driver for {parsed.get_backend_name()} is not installed ({exc.name}); "
            "install pazar with the 'postgres' extra: pip install 'pazar[postgres]'"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        watch(engine)  # ANALYZE what bulk writes made stale (see pazar.db_stats)
    return engine


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)  # type: ignore[arg-type]
    return ScriptDirectory.from_config(cfg).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None when never migrated), read with one plain query."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(found) > 1:  # alembic words the "several heads" refusal
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(conn).get_current_revision()
    return found[0] if found else None


class Database:
    """An engine plus a session factory, checked against the migrations."""

    def __init__(self, url: str | None = None, *, auto_migrate: bool = True) -> None:
        self.url = url or database_url()
        self.engine = make_engine(self.url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._checked = False
        self._auto_migrate = auto_migrate

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> tuple[str | None, str]:
        """Migrate to the newest revision; returns (before, after)."""
        from alembic import command

        before = self._current()
        command.upgrade(_alembic_config(self.engine), "head")
        self._checked = True
        return before, head_revision()

    def _current(self) -> str | None:
        try:
            return current_revision(self.engine)
        except OperationalError as exc:
            raise DatabaseError(
                f"cannot open the database {redact_url(self.url)}: {exc.orig}"
            ) from None

    def ensure_ready(self) -> None:
        """Migrate an empty database; refuse an old or unknown revision."""
        if self._checked:
            return
        current = self._current()
        if current is not None and current == newest_migration_file():
            self._checked = True
            return
        head = head_revision()
        if current == head:
            self._checked = True
            return
        if current is None:
            tables = set(inspect(self.engine).get_table_names())
            if tables - {"alembic_version"}:
                raise DatabaseError(
                    f"the database {redact_url(self.url)} has tables but no pazar revision; "
                    "point PAZAR_DATABASE_URL at an empty database or a pazar one"
                )
            if not self._auto_migrate:
                raise DatabaseError("the database is empty; run `pazar db upgrade`")
            self.upgrade()
            return
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(_alembic_config(self.engine))
        known = {rev.revision for rev in script.walk_revisions()}
        if current not in known:
            raise DatabaseError(
                f"the database {redact_url(self.url)} is at revision {current}, "
                f"which this pazar does not know (newest here: {head}); upgrade pazar"
            )
        raise DatabaseError(
            f"the database {redact_url(self.url)} is at revision {current}, this pazar needs {head}; "
            "run `pazar db upgrade`"
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: commit on success, roll back on error."""
        self.ensure_ready()
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
