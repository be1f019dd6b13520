"""PostgreSQL's COPY for bulk writes: values as COPY text, and column-wise inserts.

An ``executemany`` on PostgreSQL sends every row as its own prepared execution: the
state a push writes (a thousand batch items per upload) cost 30 µs a row that way, a
quarter of the push's database time.  ``COPY ... FROM STDIN`` sends the rows as one
stream of text that the server parses in bulk.  The import's staging tables and the
integration state share these formatters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, Numeric, Table
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from pazar.db_stats import note_written
from pazar.sqlbulk import per_run

NULL = r"\N"
_SPECIAL = re.compile(r"[\\\t\n\r]")
_JSON_ESCAPE = re.compile('[\x00-\x1f"\\\\\ud800-\udfff]')
"""What a JSON string may not hold unescaped (and lone surrogates, which UTF-8 cannot)."""


def copy_text(value: Any) -> str:
    """``value`` as a field of COPY's text format (backslash, tab and line breaks escaped)."""
    if value is None:
        return NULL
    text = value if isinstance(value, str) else str(value)
    if _SPECIAL.search(text) is None:
        return text
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_json(value: Any) -> str:
    """A JSON value as COPY text.

    The shapes a spreadsheet gives (``a|b|c`` lists, flat objects of strings) are
    written directly when no string needs escaping, a third of ``json.dumps``'s cost
    per value (three such values per product were a quarter of the client's time);
    anything else goes through ``json.dumps``, which escapes every control and
    non-ASCII character, so only its backslashes need doubling for COPY.
    """
    if value is None:
        return NULL
    kind = type(value)
    if kind is list or kind is dict:
        if not value:
            return "[]" if kind is list else "{}"
        try:  # str.join takes only strings: a TypeError is any other item
            if kind is list:
                if _JSON_ESCAPE.search("".join(value)) is None:
                    return '["' + '","'.join(value) + '"]'
            elif _JSON_ESCAPE.search("".join(value) + "".join(value.values())) is None:
                return '{"' + '","'.join(map('":"'.join, value.items())) + '"}'
        except TypeError:
            pass
    text = json.dumps(value)
    return text.replace("\\", "\\\\") if "\\" in text else text


def copy_number(value: Any) -> str:
    return NULL if value is None else str(value)


def copy_bool(value: Any) -> str:
    return NULL if value is None else ("t" if value else "f")


def copy_format(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    """How a value of a column of ``type_`` is written as COPY text."""
    if isinstance(type_, JSON):
        return copy_json
    if isinstance(type_, Boolean):
        return copy_bool
    if isinstance(type_, Integer | Numeric):
        return copy_number
    return copy_text


def quote_name(name: str) -> str:
    """A table or column name as PostgreSQL reads it verbatim (pazar's names hold no quote)."""
    return f'"{name}"'


def copy_statement(table: str, columns: Sequence[str]) -> str:
    """``COPY table (columns) FROM STDIN``: the rows follow as COPY text."""
    return f"COPY {quote_name(table)} ({', '.join(quote_name(n) for n in columns)}) FROM STDIN"


def copy_columns(
    session: Session, table: Table, columns: Mapping[str, list[Any]], count: int
) -> None:
    """INSERT ``count`` rows given column by column (``columns``: name → values) with one
    COPY in the session's transaction.

    A column's bind processor (a timestamp's UTC conversion) runs first, as it would for an
    INSERT; JSON columns are written from their Python value.
    """
    conn = session.connection()
    dialect = conn.dialect
    names = list(columns)
    texts: list[list[str]] = []
    for name in names:
        type_ = table.c[name].type
        fmt = copy_format(type_)
        processor = (
            None if isinstance(type_, JSON) else type_.dialect_impl(dialect).bind_processor(dialect)
        )
        values = columns[name]
        if processor is not None:
            values = per_run(processor, values)
        texts.append(per_run(fmt, values))
    body = "".join("\t".join(fields) + "\n" for fields in zip(*texts, strict=True))
    driver = conn.connection.driver_connection
    statement = copy_statement(table.name, names)
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        copy.write(body)
    # COPY passes no statement through SQLAlchemy: count its rows for the planner's
    # statistics as an INSERT's would be counted.
    note_written(conn, table.name, count)
