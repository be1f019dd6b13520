"""Reading an import file row by row: CSV, JSON lines or a JSON array.

Streams (a catalog never sits in memory) and refuses, with ``file:line[:column]``,
everything a spreadsheet can hand over: another encoding (named with
``--encoding``, or recognised and named in the message), a semicolon-separated
CSV (Excel's default on Turkish systems: read as such), a field over 128 KB, a
NUL byte (not a text file), a row with the wrong number of fields, a value that
breaks its column's rule.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pazar import json_input
from pazar.commerce.import_values import Column, RowError
from pazar.errors import ValidationError, short
from pazar.textfiles import DEFAULT_ENCODING, decode_lines, read_text

FORMATS = ("csv", "jsonl", "json")
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    return {"ndjson": "jsonl"}.get(suffix, suffix if suffix in FORMATS else "csv")


def sniff_delimiter(header: str) -> str:
    """The delimiter of a CSV from its header line: the most frequent of comma,
    semicolon and tab outside quotes (a one-column header is comma-separated)."""
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return (
            f"a field is longer than {csv.field_size_limit()} characters (128 KB), "
            "the most one CSV field may hold"
        )
    if "NUL" in text:
        return "contains a NUL byte: this is not a CSV text file"
    return f"not valid CSV ({text})"


def read_rows(
    path: Path, fmt: str, columns: Sequence[Column], *, encoding: str = DEFAULT_ENCODING
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, parsed row) for every data row; a bad row raises ValidationError."""
    where = path.name
    if not path.is_file():
        if path.is_dir():
            raise ValidationError(f"{path}: is a directory, not a file")
        if path.exists():
            raise ValidationError(f"{path}: not a regular file (a device, a pipe or a socket)")
        raise ValidationError(f"{path}: no such file")
    if fmt == "csv":
        yield from _csv_rows(path, where, columns, encoding)
        return
    if fmt == "jsonl":
        with path.open("rb") as handle:
            for line, text in enumerate(decode_lines(handle, where, encoding), start=1):
                if text.strip():
                    yield line, _parse(where, line, _json_row(where, line, text), columns, None)
        return
    if fmt == "json":
        # A JSON array has no line per record: use JSON lines for large files.
        try:
            data = json_input.loads(
                read_text(
                    path,
                    encoding,
                    name=where,
                    hint="; write JSON lines (.jsonl), read a line at a time",
                ),
                unique_keys=True,  # {"sku": "A", ..., "sku": "B"} is a mistake, not B
            )
        except json_input.JsonProblem as exc:
            at = f":{exc.lineno}" if exc.lineno else ""
            raise ValidationError(f"{where}{at}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, list):
            raise ValidationError(f"{where}: expected a JSON array of objects")
        for index, record in enumerate(data):
            if not isinstance(record, dict):
                raise ValidationError(f"{where}: item {index}: expected an object")
            yield index + 1, _parse(f"{where} item", index, record, columns, None)
        return
    raise ValidationError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def _csv_rows(
    path: Path, where: str, columns: Sequence[Column], encoding: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    names = [c.name for c in columns if not c.ignored]
    with path.open("rb") as handle:
        lines = decode_lines(handle, where, encoding)
        first = next(lines, None)
        if first is None or not first.strip():
            raise ValidationError(f"{where}: empty file; expected a header: {','.join(names)}")
        delimiter = sniff_delimiter(first)
        reader = csv.reader(_chain(first, lines), delimiter=delimiter)
        try:
            header = [h.strip() for h in next(reader)]
            plan, width = _header_plan(where, header, columns, delimiter)
            for row in reader:
                if len(row) != width:
                    if not row or all(not cell.strip() for cell in row):
                        continue
                    raise ValidationError(
                        f"{where}:{reader.line_num}: {len(row)} fields, the header has {width}"
                        + _delimiter_hint(row, delimiter)
                    )
                try:
                    parsed = {name: parse(row[i]) for name, i, parse in plan}
                except RowError:
                    # Slow path, only for the bad row: find the column and say which.
                    raw = {name: row[i] for name, i, _ in plan}
                    positions = {name: i for name, i, _ in plan}
                    _parse(where, reader.line_num, raw, columns, positions)
                    raise
                yield reader.line_num, parsed
        except csv.Error as exc:
            raise ValidationError(f"{where}:{reader.line_num}: {_csv_problem(exc)}") from None


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _some(names: list[str], most: int = 10) -> str:
    """The first ``most`` names, and how many more: a 10,000-column line once made a
    message of 69 KB."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _header_plan(
    where: str, header: list[str], columns: Sequence[Column], delimiter: str
) -> tuple[list[tuple[str, int, Any]], int]:
    names = [c.name for c in columns if not c.ignored]
    known = {c.name for c in columns}
    # Spreadsheets capitalise headers and pad them ("SKU", " Quantity"): the names are
    # pazar's lower-case ones, so read each header that way when it then names a column.
    header = [n if (n := h.strip().lower()) in known else h for h in header]
    unknown = [h for h in header if h not in known]
    present = set(header)
    missing = [c.name for c in columns if c.required and c.name not in present]
    repeated = sorted(h for h, n in Counter(header).items() if h and n > 1)
    if unknown or missing or repeated:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            named = _some([f"{short(h, 40)}{_meant(h, known - present)}" for h in unknown])
            problems.append(f"unknown column(s) {named}")
        if repeated:
            problems.append(f"column(s) named twice: {_some([short(h, 40) for h in repeated])}")
        hint = _delimiter_hint(header, delimiter)
        raise ValidationError(
            f"{where}:1: {'; '.join(problems)}; expected columns: {', '.join(names)}{hint}"
        )
    positions = {name: header.index(name) for name in header}
    plan = [
        (c.name, positions[c.name], c.parse)
        for c in columns
        if c.name in positions and not c.ignored
    ]
    return plan, len(header)


def _meant(name: str, candidates: set[str]) -> str:
    """`` (did you mean 'x'?)`` for a misspelt header, among the columns not given."""
    from pazar.suggest import nearest

    match = nearest(name, sorted(candidates))
    return f" (did you mean {match!r}?)" if match else ""


def _delimiter_hint(cells: list[str], delimiter: str) -> str:
    """Say which delimiter was used when a cell holds another one."""
    others = [d for d in DELIMITERS if d != delimiter and any(d in c for c in cells)]
    if not others:
        return ""
    return (
        f" (read as {DELIMITERS[delimiter]}-separated; the cells contain "
        f"{' and '.join(DELIMITERS[d] + 's' for d in others)})"
    )


def _json_row(where: str, line: int, text: str) -> dict[str, Any]:
    try:
        record = json_input.loads(text, unique_keys=True)
    except json_input.JsonProblem as exc:
        at = f":{exc.colno}" if exc.colno else ""
        raise ValidationError(f"{where}:{line}{at}: not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise ValidationError(f"{where}:{line}: expected a JSON object")
    return record


def _parse(
    where: str,
    line: int,
    raw: Mapping[str, Any],
    columns: Sequence[Column],
    positions: Mapping[str, int] | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in columns:
        if column.ignored:
            continue
        if column.name not in raw:
            if column.required:
                raise ValidationError(f"{where}:{line}: column '{column.name}' is required")
            continue
        try:
            out[column.name] = column.parse(raw[column.name])
        except RowError as exc:
            at = f"{line}:{positions[column.name] + 1}" if positions else f"{line}"
            raise ValidationError(f"{where}:{at}: column '{column.name}': {exc}") from None
    known = {c.name for c in columns}
    unknown = sorted(set(raw) - known) if positions is None else []
    if unknown:
        raise ValidationError(f"{where}:{line}: unknown field(s) {', '.join(unknown)}")
    return out
