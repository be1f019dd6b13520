"""The database below SQLAlchemy: which URL, how its driver is opened, which revision is
newest.

:mod:`pazar.db` builds its engine from these, and ``pazar status`` uses them to read with
the DB-API driver alone: importing SQLAlchemy and the models costs more than half a second,
several times what the status reads take.  So the URL default, the driver arguments and
SQLite's pragmas are written once, here, and both agree on what a URL opens.

:func:`open_plain` understands the URLs pazar documents (``sqlite:///FILE``,
``postgresql://user:password@host:port/db?options=...``); for anything else it returns
None and the caller goes through :class:`pazar.db.Database`, which says what is wrong.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Run on every new SQLite connection, by the engine and by the plain readers alike.
SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
)
SQLITE_CONNECT_ARGS: dict[str, Any] = {"check_same_thread": False, "timeout": 30}
# URL schemes that mean PostgreSQL through psycopg (the driver pazar installs).
POSTGRES_NAMES = ("postgresql", "postgres", "postgresql+psycopg")


def database_url() -> str:
    """``PAZAR_DATABASE_URL``, else ``pazar.db`` in the working directory."""
    url = os.environ.get("PAZAR_DATABASE_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{Path.cwd() / 'pazar.db'}"


def apply_sqlite_pragmas(dbapi_conn: Any) -> None:
    """:data:`SQLITE_PRAGMAS` on one DB-API connection."""
    cur = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cur.execute(pragma)
    cur.close()


_REVISION_LINE = re.compile(r"""^revision\s*=\s*["']([^"']+)["']\s*$""", re.MULTILINE)
_DOWN_REVISION_LINE = re.compile(
    r"""^down_revision\s*=\s*(?:None|["']([^"']+)["'])\s*$""", re.MULTILINE
)


def newest_migration_file() -> str | None:
    """The head revision as the migration files' header lines state it, without alembic.

    Importing alembic and scanning its script directory costs a few hundred milliseconds
    on every command; the header lines say the same for a plain chain of revisions.
    Anything else (a merge, a line that reads differently, two heads) gives None and the
    caller asks alembic.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    files = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    for path in files:
        source = path.read_text(encoding="utf-8")
        revision = _REVISION_LINE.search(source)
        down = _DOWN_REVISION_LINE.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    if len(revisions) != len(files) or len(heads) != 1 or not parents <= revisions:
        return None
    return heads.pop()


# SQLAlchemy's URL grammar (sqlalchemy.engine.url._parse_url), so both read a URL alike.
_URL = re.compile(
    r"""
    (?P<name>[\w\+]+)://
    (?:
        (?P<username>[^:/]*)
        (?::(?P<password>[^@]*))?
    @)?
    (?:
        (?:
            \[(?P<ipv6host>[^/\?]+)\] |
            (?P<ipv4host>[^/:\?]+)
        )?
        (?::(?P<port>[^/\?]*))?
    )?
    (?:/(?P<database>[^\?]*))?
    (?:\?(?P<query>.*))?
    """,
    re.X,
)


@dataclass(frozen=True)
class PlainConnection:
    """A DB-API connection and what its SQL must respect: ``dialect`` (``sqlite`` or
    ``postgresql``) for placeholders and for how times and JSON come back."""

    dbapi: Any
    dialect: str

    @property
    def error(self) -> type[Exception]:
        """The driver's base exception (DB-API ``Error``)."""
        return _driver_error(self.dialect)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Every row of one statement; ``?`` marks a parameter in either dialect."""
        if self.dialect == "postgresql":
            sql = sql.replace("%", "%%").replace("?", "%s")
        cur = self.dbapi.cursor()
        try:
            cur.execute(sql, params)
            return list(cur.fetchall())
        finally:
            cur.close()


def _driver_error(dialect: str) -> type[Exception]:
    if dialect == "sqlite":
        import sqlite3

        return sqlite3.Error
    import psycopg

    return psycopg.Error


def plain_target(url: str) -> tuple[str, dict[str, Any]] | None:
    """(``sqlite`` or ``postgresql``, the driver's connect arguments) for the URLs that
    :class:`pazar.db.Database` opens the same way; None for anything else (an in-memory
    database, other drivers, query options SQLAlchemy would interpret)."""
    match = _URL.fullmatch(url.strip())
    if match is None:
        return None
    parts = match.groupdict()
    name = parts["name"]
    query = parse_qsl(parts["query"] or "")
    if name in ("sqlite", "sqlite+pysqlite"):
        database = unquote(parts["database"] or "")
        if query or not database or database == ":memory:" or database.startswith("file:"):
            return None
        if parts["username"] is not None or parts["ipv4host"] or parts["ipv6host"]:
            return None
        return "sqlite", {"database": os.path.abspath(database), **SQLITE_CONNECT_ARGS}
    if name in POSTGRES_NAMES:
        keys = [key for key, _ in query]
        if len(set(keys)) != len(keys) or "host" in keys or "port" in keys:
            return None  # several hosts: SQLAlchemy's own rules
        args: dict[str, Any] = {}
        host = parts["ipv6host"] or parts["ipv4host"]
        if host:
            args["host"] = host
        if parts["port"]:
            if not parts["port"].isdigit():
                return None
            args["port"] = int(parts["port"])
        if parts["username"] is not None:
            args["user"] = unquote(parts["username"])
        if parts["password"] is not None:
            args["password"] = unquote(parts["password"])
        if parts["database"]:
            args["dbname"] = unquote(parts["database"])
        args.update(query)
        return "postgresql", args
    return None


class PlainConnectError(Exception):
    """The PostgreSQL server could not be reached; the message is the driver's, as
    :class:`pazar.db.Database` shows it after ``cannot open the database URL:``."""


def open_plain(url: str) -> PlainConnection | None:
    """A DB-API connection to ``url`` opened as :class:`pazar.db.Database` opens it (SQLite:
    an existing file only, with its pragmas), or None when this module does not handle the
    URL or opening fails otherwise: the caller then goes through :class:`pazar.db.Database`,
    which opens, migrates or refuses with its own messages.  Raises
    :class:`PlainConnectError` when a PostgreSQL server cannot be reached."""
    target = plain_target(url)
    if target is None:
        return None
    dialect, args = target
    if dialect == "sqlite":
        import sqlite3

        if not os.path.isfile(args["database"]):
            return None  # Database creates and migrates it
        try:
            conn = sqlite3.connect(**args)
            apply_sqlite_pragmas(conn)
        except sqlite3.Error:
            return None
        return PlainConnection(conn, "sqlite")
    try:
        import psycopg
    except ImportError:
        return None
    try:
        return PlainConnection(psycopg.connect(**args), "postgresql")
    except psycopg.OperationalError as exc:
        # Going through SQLAlchemy would wait for an unreachable server a second time.
        raise PlainConnectError(str(exc)) from None
    except psycopg.Error:
        return None


def at_newest_revision(conn: PlainConnection) -> bool:
    """Whether the database holds exactly the newest migration's revision: the only state
    in which a reader may skip :meth:`pazar.db.Database.ensure_ready` (which migrates an
    empty database and words every refusal)."""
    newest = newest_migration_file()
    if newest is None:
        return False
    try:
        found = conn.rows("SELECT version_num FROM alembic_version")
    except Exception:  # noqa: BLE001 - no table, no permission: Database says what
        return False
    return found == [(newest,)]


def session_connection(session: Any) -> PlainConnection:
    """The DB-API connection of a SQLAlchemy session, inside the session's transaction, so
    code written for :class:`PlainConnection` serves the web and the daemons too.  Pending
    ORM changes are flushed first, as a query through the session would."""
    if session.autoflush:
        session.flush()
    conn = session.connection()
    return PlainConnection(conn.connection.driver_connection, conn.dialect.name)
