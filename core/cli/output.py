"""Tables for people, JSON for scripts: one helper so every command does both.

rich is imported when a table is printed, not with this module: the root group needs
:class:`OutputClosed` from here, and ``pazar --help`` should not pay for rich.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(data: Any) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False, indent=2)


def print_json(data: Any) -> None:
    click.echo(to_json(data))


@cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich would exit 1 here; a closed pipe is how `| head` ends the output.
            self.quiet = True
            raise OutputClosed

    return _Console


def console(stderr: bool = False) -> Console:
    """A rich console; when piped, wide enough that tables stay greppable, one row a line."""
    console_class = _console_class()
    out = console_class(stderr=stderr, highlight=False, soft_wrap=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = console_class(stderr=stderr, highlight=False, soft_wrap=False, width=200)
    return out


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=_default)
    return str(value)


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    rows = list(rows)
    if not rows:
        click.echo(empty)
        return
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*[fmt(v) for v in row])
    console().print(table)


def emit(
    as_json: bool,
    data: Any,
    columns: Sequence[str] | None = None,
    rows: Iterable[Sequence[Any]] | None = None,
    *,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """JSON of ``data`` with ``--json``, else a table of ``rows``."""
    if as_json:
        print_json(data)
    else:
        print_table(columns or [], rows or [], title=title, empty=empty)


class OutputClosed(BaseException):  # noqa: N818 - a signal, like KeyboardInterrupt
    """The reader of stdout went away (``pazar … | head``).

    A BaseException so that a run printing payloads stops at once instead of the
    runner recording the closed pipe as the run's error; the CLI ends quietly (exit 0).
    """


def guard_pipe(write: Any) -> Any:
    """``write`` that raises :class:`OutputClosed` instead of ``BrokenPipeError``."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return write(*args, **kwargs)
        except BrokenPipeError:
            raise OutputClosed from None

    return guarded
