"""Importing the seller's data from CSV / JSON lines, streaming and all-or-nothing.

A file is read row by row (:mod:`pazar.commerce.import_reader`), each value
checked by its column's rule (:mod:`pazar.commerce.import_values`), and written
in chunks of set-based upserts (:mod:`pazar.commerce.import_kinds`,
:mod:`pazar.commerce.import_writer`), all in the caller's one transaction: a bad
row raises a ValidationError naming ``file:line``, the column and the rule, and
the caller's rollback leaves the database as it was.  A file that names the same
object twice is refused, naming both lines, instead of silently keeping the
last.  Rows whose values did not change keep their version, so re-importing a
file changes nothing and nothing is re-sent to marketplaces.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pazar.clock import SystemClock
from pazar.commerce.import_kinds import IMPORTERS, Importer
from pazar.commerce.import_reader import FORMATS, detect_format, read_rows
from pazar.commerce.import_staging import Lines, uses_staging
from pazar.commerce.import_values import RowError, decimal, json_object
from pazar.commerce.import_writer import product_ids, upsert_changed
from pazar.errors import ValidationError
from pazar.jobs.wake import IMPORT_MARKS, mark_changes
from pazar.textfiles import DEFAULT_ENCODING, check_encoding
from pazar.thread_switch import short_switch_interval

CHUNK = 5000
STAGED_CHUNK = 10_000
"""Rows per chunk of COPY lines on PostgreSQL: each chunk costs a few round trips and
statements whatever its size, and a line takes a tenth of a parsed row's memory."""

__all__ = [
    "CHUNK",
    "STAGED_CHUNK",
    "FORMATS",
    "IMPORTERS",
    "ImportResult",
    "RowError",
    "decimal",
    "import_file",
    "importer",
    "json_object",
    "product_ids",
    "upsert_changed",
]


@dataclass
class ImportResult:
    """What one import did: rows read, and how many of them changed something."""

    kind: str
    path: Path
    rows: int
    changed: int = 0

    @property
    def unchanged(self) -> int:
        return self.rows - self.changed

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": str(self.path),
            "rows": self.rows,
            "changed": self.changed,
            "unchanged": self.unchanged,
        }


def importer(kind: str) -> Importer:
    from pazar.suggest import did_you_mean

    try:
        return IMPORTERS[kind]
    except KeyError:
        raise ValidationError(
            f"unknown kind {kind!r}{did_you_mean(kind, IMPORTERS)}; one of {', '.join(IMPORTERS)}"
        ) from None


def _describe(key: tuple[str, ...], row: dict[str, Any]) -> str:
    parts = [f"{name} {row.get(name)!r}" for name in key if row.get(name) not in (None, "")]
    return ", ".join(parts) or "the same row"


def import_file(
    session: Session,
    kind: str,
    path: Path | str,
    *,
    fmt: str | None = None,
    clock: Any = None,
    on_rows: Callable[[int], None] | None = None,
    chunk_size: int | None = None,
    encoding: str = DEFAULT_ENCODING,
) -> ImportResult:
    """Import one file of ``kind`` inside the session's transaction (the caller commits)."""
    handler = importer(kind)
    path = Path(path)
    fmt = detect_format(path, fmt)
    encoding = check_encoding(encoding)
    now = (clock or SystemClock()).now()
    total = 0
    key = handler.key
    seen: dict[Any, int] = {}  # identity (the value itself for a one-column key): first line
    chunk: list[tuple[int, dict[str, Any]]] = []
    stage = handler.stage if uses_staging(session) else None
    lines = stage.lines() if stage is not None else None
    chunk_size = chunk_size or (CHUNK if lines is None else STAGED_CHUNK)
    with _Writer(session, handler, path.name, now, on_rows) as writer:
        try:
            for line, row in read_rows(path, fmt, handler.columns, encoding=encoding):
                if key:
                    identity = row.get(key[0]) if len(key) == 1 else tuple(map(row.get, key))
                    first = seen.setdefault(identity, line)
                    if first != line:
                        raise ValidationError(
                            f"{path.name}:{line}: {_describe(handler.key, row)} is also on line "
                            f"{first}; a file may name each {kind[:-1].replace('_', ' ')} once"
                        )
                if lines is not None:
                    lines.add(line, row)
                    if len(lines) >= chunk_size:
                        writer.write(lines)
                        total += len(lines)
                        lines = lines.stage.lines()
                    continue
                chunk.append((line, row))
                if len(chunk) >= chunk_size:
                    writer.write(chunk)
                    total += len(chunk)
                    chunk = []
            for rest in (chunk, lines):
                if rest:
                    writer.write(rest)
                    total += len(rest)
        except BaseException:
            writer.finish()  # an earlier chunk's error names an earlier line: it wins
            raise
        changed = writer.finish()
    if changed:  # however the rows were written: the flows that send them wake on commit
        mark_changes(session, IMPORT_MARKS.get(kind, ()), now)
    return ImportResult(kind=kind, path=path, rows=total, changed=min(changed, total))


class _Writer:
    """Writes the chunks of one import, in order.

    On PostgreSQL a chunk is written on a worker thread while the next one is
    read and checked: the server's merge and the Python parsing then overlap
    instead of taking turns (the thread waits on the socket without the GIL).
    At most one chunk is in flight, and :meth:`finish` waits for it, so the
    session is never used by two threads at once and the caller's commit or
    rollback comes after every write.  Meanwhile the thread switch interval is
    short (:mod:`pazar.thread_switch`): at the default the worker waited for the
    GIL after every reply from the server, and the two took turns after all.
    SQLite writes in-process, in the caller.
    """

    def __init__(
        self,
        session: Session,
        handler: Importer,
        where: str,
        now: Any,
        on_rows: Callable[[int], None] | None,
    ) -> None:
        self.session, self.handler, self.where, self.now = session, handler, where, now
        self.on_rows = on_rows
        self.written = self.changed = 0
        self.pool = ThreadPoolExecutor(1) if uses_staging(session) else None
        self.pending: tuple[Future[int], int] | None = None
        self.switching = ExitStack()

    def __enter__(self) -> _Writer:
        if self.pool is not None:  # the worker waits on the server, the reader computes
            self.switching.enter_context(short_switch_interval())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        self.switching.close()

    def write(self, chunk: list[tuple[int, dict[str, Any]]] | Lines) -> None:
        """Write a chunk: parsed rows through the kind's ``write``, or a stage's COPY lines."""
        self.finish()
        write = chunk.stage.write if isinstance(chunk, Lines) else self.handler.write
        args = (self.session, chunk, self.where, self.now)
        if self.pool is None:
            self._done(write(*args), len(chunk))
            return
        self.pending = (self.pool.submit(write, *args), len(chunk))

    def finish(self) -> int:
        """Wait for the chunk in flight (raising its error); the rows changed so far."""
        if self.pending is not None:
            (future, rows), self.pending = self.pending, None
            self._done(future.result(), rows)
        return self.changed

    def _done(self, changed: int, rows: int) -> None:
        self.changed += changed
        self.written += rows
        if self.on_rows is not None:
            self.on_rows(self.written)
