"""The database below SQLAlchemy: which URL, how its driver is opened, which revision is
newest.

:mod:`pazar.db` builds its engine from these, and ``pazar status`` uses them to read with
the DB-API driver alone: importing SQLAlchemy and the models costs more than half a second,
several times what the status reads take.  So the URL default, the driver arguments and
SQLite's pragmas are written once, here, and both agree on what a URL opens.

:func:`open_plain` reads the URLs pazar documents (``sqlite:///FILE``,
``postgresql://user:password@host:port/db?options=...``) with the standard library's URL
parser; for anything else it returns None and the caller goes through
:class:`pazar.db.Database`, which says what is wrong.  :meth:`PlainConnection.batch` sends
statements that do not depend on one another together (psycopg's pipeline mode on the
PostgreSQL connections :func:`open_plain` opens): past the import of psycopg, round trips
to the server are what a status read on PostgreSQL waits for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

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


@dataclass(frozen=True)
class PlainConnection:
    """A DB-API connection and what its SQL must respect: ``dialect`` (``sqlite`` or
    ``postgresql``) for placeholders and for how times and JSON come back."""

    dbapi: Any
    dialect: str
    # Whether :meth:`batch` may send its statements in psycopg's pipeline mode: only on
    # connections :func:`open_plain` opened, never inside a caller's SQLAlchemy session.
    pipeline: bool = False

    @property
    def error(self) -> type[Exception]:
        """The driver's base exception (DB-API ``Error``)."""
        return _driver_error(self.dialect)

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Every row of one statement; ``?`` marks a parameter in either dialect."""
        cur = self.dbapi.cursor()
        try:
            cur.execute(self._sql(sql), params)
            return list(cur.fetchall())
        finally:
            cur.close()

    def batch(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]]
    ) -> list[list[tuple[Any, ...]]]:
        """Every row of each (statement, parameters), in order, as :meth:`rows` gives them.

        With :attr:`pipeline` the statements reach the PostgreSQL server together (psycopg's
        pipeline mode) and their results come back in one round trip, not one each: on a
        server across a network that is most of what a status read waits for.  Otherwise
        they run one after the other.  An error raises the driver's, as :meth:`rows` does.
        """
        if not self.pipeline:
            return [self.rows(sql, params) for sql, params in statements]
        cursors: list[Any] = []
        try:
            with self.dbapi.pipeline():
                for sql, params in statements:
                    cursors.append(self.dbapi.cursor())
                    cursors[-1].execute(self._sql(sql), params)
            return [list(cur.fetchall()) for cur in cursors]
        finally:
            for cur in cursors:
                cur.close()


def _driver_error(dialect: str) -> type[Exception]:
    if dialect == "sqlite":
        import sqlite3

        return sqlite3.Error
    import psycopg

    return psycopg.Error


def plain_target(url: str) -> tuple[str, dict[str, Any]] | None:
    """(``sqlite`` or ``postgresql``, the driver's connect arguments) for the plainly
    written URLs that :class:`pazar.db.Database` opens the same way; None for anything
    else (an in-memory database, other drivers, a second ``@``, query options SQLAlchemy
    would interpret): the caller then goes the ordinary way, which is always right."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    name = parts.scheme
    if not url.startswith(f"{name}://") or parts.fragment:
        return None  # urlsplit lowers a scheme's case; SQLAlchemy does not
    query = parse_qsl(parts.query)
    if name in ("sqlite", "sqlite+pysqlite"):
        database = unquote(parts.path[1:])
        if parts.netloc or query or not database or database == ":memory:":
            return None
        if database.startswith("file:"):
            return None
        return "sqlite", {"database": os.path.abspath(database), **SQLITE_CONNECT_ARGS}
    if name not in POSTGRES_NAMES:
        return None
    keys = [key for key, _ in query]
    if len(set(keys)) != len(keys) or "host" in keys or "port" in keys:
        return None  # several hosts: SQLAlchemy's own rules
    userinfo, at, hostport = parts.netloc.rpartition("@")
    args: dict[str, Any] = {}
    if at:
        user, colon, password = userinfo.partition(":")
        if not user or "@" in userinfo:
            return None
        args["user"] = unquote(user)
        if colon:
            args["password"] = unquote(password)
    if hostport.startswith("["):  # an IPv6 address
        host, bracket, rest = hostport[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    else:
        host, _, port = hostport.partition(":")
    if host:
        args["host"] = host
    if port:
        if not port.isdigit():
            return None
        args["port"] = int(port)
    if parts.path[1:]:
        args["dbname"] = unquote(parts.path[1:])
    args.update(query)
    options = server_options(args.get("options", ""))
    if options:
        args["options"] = options
    return "postgresql", args


def server_options(options: str) -> str:
    """The PostgreSQL server options pazar connects with: the URL's ``options``, plus
    ``-c jit=off`` unless they set ``jit`` themselves.

    PostgreSQL compiles a statement whose estimated cost passes ``jit_above_cost`` before
    running it.  pazar runs many small statements whose estimates are large but whose work
    is small: a page of a push's changes (500 rows through index probes, 3 ms) is costed at
    the whole scan its ``LIMIT`` cuts short, and on a second push of 300,000 stocks each page
    paid 15-18 ms of compilation, 12.8 s of the push's 19.2 s of SQL (1.8 s without).  The
    option travels in the connection's startup packet: no statement, nothing a rollback
    undoes.  An operator who wants JIT back writes ``options=-c jit=on`` in the URL.
    """
    if _SETS_JIT.search(options):
        return options
    return f"{options} -c jit=off".strip()


_SETS_JIT = re.compile(r"(?:-c\s*|--)jit\s*=")
"""An ``options`` string that sets ``jit`` itself (``-c jit=on``, ``-cjit=on``, ``--jit=on``),
not one that merely holds the letters (a schema named ``jitter``)."""


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
        # Pipeline mode needs libpq 14; the wheels psycopg[binary] installs bring newer.
        pipeline = psycopg.Pipeline.is_supported()
        return PlainConnection(psycopg.connect(**args), "postgresql", pipeline=pipeline)
    except psycopg.OperationalError as exc:
        # Going through SQLAlchemy would wait for an unreachable server a second time.
        raise PlainConnectError(str(exc)) from None
    except psycopg.Error:
        return None


REVISION_QUERY = "SELECT version_num FROM alembic_version"


def is_newest_revision(found: list[tuple[Any, ...]]) -> bool:
    """Whether ``found``, the rows of :data:`REVISION_QUERY`, is exactly the newest
    migration's revision: the only state in which a reader may skip
    :meth:`pazar.db.Database.ensure_ready` (which migrates an empty database and words
    every refusal).  A caller that sends the query in a batch with its reads checks the
    rows with this before trusting the reads."""
    newest = newest_migration_file()
    return newest is not None and found == [(newest,)]


def session_connection(session: Any) -> PlainConnection:
    """The DB-API connection of a SQLAlchemy session, inside the session's transaction, so
    code written for :class:`PlainConnection` serves the web and the daemons too.  Pending
    ORM changes are flushed first, as a query through the session would."""
    if session.autoflush:
        session.flush()
    conn = session.connection()
    return PlainConnection(conn.connection.driver_connection, conn.dialect.name)
