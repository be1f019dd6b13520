"""Importing the seller's data from CSV / JSON lines, streaming and all-or-nothing.

A file is read row by row and written in chunks of set-based upserts, all in the
caller's one transaction: a bad row raises a ValidationError naming
``file:line``, the column and the rule, and the caller's rollback leaves the
database as it was.  Rows whose values did not change keep their version, so
re-importing a file changes nothing and nothing is re-sent to marketplaces.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, or_, select
from sqlalchemy.orm import Session

from pazar.clock import SystemClock
from pazar.commerce.versioning import reserve_versions
from pazar.errors import ValidationError
from pazar.models.channels import Channel
from pazar.models.commerce import (
    AddressMapping,
    CancellationReason,
    CargoCompany,
    Catalog,
    CatalogItem,
    City,
    District,
    Price,
    Product,
    Stock,
    Township,
)
from pazar.sqlbulk import dialect_insert, executemany

CHUNK = 5000
FORMATS = ("csv", "jsonl", "json")


class RowError(Exception):
    """A value that breaks its column's rule; the reader adds file, line and column."""


# --- value parsers: each takes what the file holds (str from CSV, native from JSON) ----


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def opt_text(value: Any) -> str | None:
    text = _text(value)
    return text or None


def req_text(value: Any) -> str:
    text = _text(value)
    if not text:
        raise RowError("is required")
    return text


def integer(value: Any) -> int:
    if isinstance(value, bool):
        raise RowError(f"{value!r} is not an integer")
    if isinstance(value, int):
        return value
    try:
        return int(_text(value))
    except ValueError:
        raise RowError(f"{value!r} is not an integer") from None


def decimal(value: Any) -> Decimal:
    try:
        number = (
            Decimal(_text(value).replace(",", "."))
            if not isinstance(value, int | float)
            else Decimal(str(value))
        )
    except InvalidOperation:
        raise RowError(f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise RowError(f"{value!r} is not a non-negative number")
    return number


def opt_decimal(value: Any) -> Decimal | None:
    return None if _text(value) == "" else decimal(value)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("true", "1", "yes", "y", "on", ""):
        return True
    if text in ("false", "0", "no", "n", "off"):
        return False
    raise RowError(f"{value!r} is not a boolean (true/false)")


def json_list(value: Any) -> list[Any]:
    """A JSON list, or ``a|b|c`` for spreadsheets; empty → []."""
    if isinstance(value, list):
        return value
    text = _text(value)
    if not text:
        return []
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RowError(f"is not a valid JSON list ({exc.msg})") from None
        if not isinstance(parsed, list):
            raise RowError("is not a JSON list")
        return parsed
    return [part.strip() for part in text.split("|") if part.strip()]


def json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    text = _text(value)
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError(f"is not a valid JSON object ({exc.msg})") from None
    if not isinstance(parsed, dict):
        raise RowError("is not a JSON object")
    return parsed


def product_type(value: Any) -> str:
    text = _text(value).lower() or "simple"
    if text not in ("simple", "meta"):
        raise RowError(f"{value!r} is not a product type (simple or meta)")
    return text


def reason_kind(value: Any) -> str:
    text = _text(value).lower()
    if text not in ("cancel", "refund"):
        raise RowError(f"{value!r} is not a reason kind (cancel or refund)")
    return text


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[Any], Any]
    required: bool = False


# --- reading --------------------------------------------------------------------


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    return {"ndjson": "jsonl"}.get(suffix, suffix if suffix in FORMATS else "csv")


def read_rows(
    path: Path, fmt: str, columns: Sequence[Column]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, parsed row) for every data row; a bad row raises ValidationError."""
    names = [c.name for c in columns]
    where = path.name
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ValidationError(f"{where}: empty file; expected a header: {','.join(names)}")
            header = [h.strip() for h in header]
            unknown = [h for h in header if h not in names]
            missing = [c.name for c in columns if c.required and c.name not in header]
            if unknown or missing:
                problems = []
                if missing:
                    problems.append(f"missing column(s) {', '.join(missing)}")
                if unknown:
                    problems.append(f"unknown column(s) {', '.join(unknown)}")
                raise ValidationError(
                    f"{where}:1: {'; '.join(problems)}; expected columns: {', '.join(names)}"
                )
            positions = {name: header.index(name) for name in header}
            plan = [(c.name, positions[c.name], c.parse) for c in columns if c.name in positions]
            width = len(header)
            for row in reader:
                if len(row) != width:
                    if not row or all(not cell.strip() for cell in row):
                        continue
                    raise ValidationError(
                        f"{where}:{reader.line_num}: {len(row)} fields, the header has {width}"
                    )
                try:
                    parsed = {name: parse(row[i]) for name, i, parse in plan}
                except RowError:
                    # Slow path, only for the bad row: find the column and say which.
                    raw = {n: row[i] for n, i in positions.items()}
                    _parse(where, reader.line_num, raw, columns, positions)
                    raise
                yield reader.line_num, parsed
        return
    if fmt == "jsonl":
        with path.open(encoding="utf-8") as handle:
            for line, text in enumerate(handle, start=1):
                if text.strip():
                    yield line, _parse(where, line, _json_row(where, line, text), columns, None)
        return
    if fmt == "json":
        # A JSON array has no line per record: use JSON lines for large files.
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{where}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, list):
            raise ValidationError(f"{where}: expected a JSON array of objects")
        for index, record in enumerate(data):
            if not isinstance(record, dict):
                raise ValidationError(f"{where}: item {index}: expected an object")
            yield index + 1, _parse(f"{where} item", index, record, columns, None)
        return
    raise ValidationError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def _json_row(where: str, line: int, text: str) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{where}:{line}:{exc.colno}: not valid JSON ({exc.msg})") from None
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
        if column.name not in raw:
            if column.required:
                raise ValidationError(f"{where}:{line}: column '{column.name}' is required")
            continue
        try:
            out[column.name] = column.parse(raw[column.name])
        except RowError as exc:
            at = f"{line}:{positions[column.name] + 1}" if positions else f"{line}"
            raise ValidationError(f"{where}:{at}: column '{column.name}': {exc}") from None
    unknown = sorted(set(raw) - {c.name for c in columns}) if positions is None else []
    if unknown:
        raise ValidationError(f"{where}:{line}: unknown field(s) {', '.join(unknown)}")
    return out


# --- writing --------------------------------------------------------------------


def upsert_changed(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    keys: Sequence[str],
    compare: Sequence[str],
    *,
    versioned: bool = True,
    now: Any = None,
) -> None:
    """Insert new rows; update existing ones only where a compared value differs.

    Versions are assigned in file order from one reserved range; an unchanged row
    keeps its old version (the WHERE clause skips it entirely).
    """
    if not rows:
        return
    if versioned:
        first = reserve_versions(session, len(rows))
        for offset, row in enumerate(rows):
            row["version"] = first + offset
            row["updated_at"] = now
    stmt = dialect_insert(session, table)
    excluded = stmt.excluded
    updates = {name: excluded[name] for name in compare}
    if versioned:
        updates.update(version=excluded.version, updated_at=excluded.updated_at)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_=updates,
        where=or_(*[table.c[name].is_distinct_from(excluded[name]) for name in compare]),
    )
    executemany(session, table, stmt, rows)


def _dedupe(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Last row wins when a file names the same object twice in one chunk."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        seen[tuple(row[k] for k in keys)] = row
    return list(seen.values())


def product_ids(session: Session, skus: Sequence[str]) -> dict[str, int]:
    table = Product.__table__
    out: dict[str, int] = {}
    unique = list(dict.fromkeys(skus))
    for start in range(0, len(unique), 900):
        part = unique[start : start + 900]
        out.update(
            session.execute(select(table.c.sku, table.c.id).where(table.c.sku.in_(part))).all()
        )
    return out


def _resolve_skus(
    session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, column: str = "sku"
) -> dict[str, int]:
    ids = product_ids(session, [row[column] for _, row in chunk if row.get(column)])
    for line, row in chunk:
        value = row.get(column)
        if value and value not in ids:
            raise ValidationError(
                f"{where}:{line}: column '{column}': unknown SKU {value!r} (import the products first)"
            )
    return ids


class Importer:
    """One KIND: its columns and how a chunk of parsed rows is written."""

    columns: Sequence[Column] = ()

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> None:
        raise NotImplementedError


class Products(Importer):
    columns = (
        Column("sku", req_text, required=True),
        Column("name", _text),
        Column("base_code", opt_text),
        Column("product_type", product_type),
        Column("parent_sku", opt_text),
        Column("categories", json_list),
        Column("images", json_list),
        Column("attributes", json_object),
        Column("active", boolean),
    )
    fields = ("name", "base_code", "product_type", "categories", "images", "attributes", "active")
    defaults: Mapping[str, Any] = {
        "name": "",
        "base_code": None,
        "product_type": "simple",
        "categories": [],
        "images": [],
        "attributes": {},
        "active": True,
    }

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> None:
        rows = _dedupe(
            [
                {**self.defaults, **{k: v for k, v in row.items() if k != "parent_sku"}}
                for _, row in chunk
            ],
            ["sku"],
        )
        upsert_changed(session, Product.__table__, rows, ["sku"], self.fields, now=now)
        parents = [(line, row) for line, row in chunk if row.get("parent_sku")]
        if parents:
            ids = _resolve_skus(session, parents, where, "parent_sku")
            table = Product.__table__
            session.execute(
                table.update()
                .where(table.c.sku == bindparam("b_sku"))
                .where(table.c.parent_id.is_distinct_from(bindparam("b_parent")))
                .values(parent_id=bindparam("b_parent")),
                [{"b_sku": row["sku"], "b_parent": ids[row["parent_sku"]]} for _, row in parents],
            )


class Prices(Importer):
    columns = (
        Column("sku", req_text, required=True),
        Column("price", decimal, required=True),
        Column("retail_price", opt_decimal),
        Column("currency", lambda v: (_text(v) or "TRY").upper()),
        Column("tax_rate", opt_decimal),
    )

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> None:
        ids = _resolve_skus(session, chunk, where)
        rows = _dedupe(
            [
                {
                    "product_id": ids[row["sku"]],
                    "price": row["price"],
                    "retail_price": row.get("retail_price"),
                    "currency": row.get("currency") or "TRY",
                    "tax_rate": row.get("tax_rate"),
                }
                for _, row in chunk
            ],
            ["product_id"],
        )
        upsert_changed(
            session,
            Price.__table__,
            rows,
            ["product_id"],
            ("price", "retail_price", "currency", "tax_rate"),
            now=now,
        )


class Stocks(Importer):
    columns = (
        Column("sku", req_text, required=True),
        Column("quantity", integer, required=True),
        Column("extra", json_object),
    )

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> None:
        ids = _resolve_skus(session, chunk, where)
        rows = _dedupe(
            [
                {
                    "product_id": ids[row["sku"]],
                    "quantity": row["quantity"],
                    "extra": row.get("extra", {}),
                }
                for _, row in chunk
            ],
            ["product_id"],
        )
        upsert_changed(
            session, Stock.__table__, rows, ["product_id"], ("quantity", "extra"), now=now
        )


class CatalogItems(Importer):
    columns = (
        Column("catalog", req_text, required=True),
        Column("sku", req_text, required=True),
        Column("deleted", lambda v: _text(v) != "" and boolean(v)),
    )

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> None:
        ids = _resolve_skus(session, chunk, where)
        catalogs = Catalog.__table__
        codes = sorted({row["catalog"] for _, row in chunk})
        session.execute(
            dialect_insert(session, catalogs).on_conflict_do_nothing(index_elements=["code"]),
            [{"code": code, "name": code} for code in codes],
        )
        catalog_ids = dict(
            session.execute(
                select(catalogs.c.code, catalogs.c.id).where(catalogs.c.code.in_(codes))
            ).all()
        )
        rows = _dedupe(
            [
                {
                    "catalog_id": catalog_ids[row["catalog"]],
                    "product_id": ids[row["sku"]],
                    "deleted": bool(row.get("deleted", False)),
                }
                for _, row in chunk
            ],
            ["catalog_id", "product_id"],
        )
        upsert_changed(
            session,
            CatalogItem.__table__,
            rows,
            ["catalog_id", "product_id"],
            ("deleted",),
            now=now,
        )


class CargoCompanies(Importer):
    columns = (
        Column("code", req_text, required=True),
        Column("name", req_text, required=True),
        Column("tracking_url", opt_text),
    )

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> None:
        rows = _dedupe([{"tracking_url": None, **row} for _, row in chunk], ["code"])
        upsert_changed(
            session,
            CargoCompany.__table__,
            rows,
            ["code"],
            ("name", "tracking_url"),
            versioned=False,
        )


class CancellationReasons(Importer):
    columns = (
        Column("kind", reason_kind, required=True),
        Column("code", req_text, required=True),
        Column("name", req_text, required=True),
        Column("active", boolean),
    )

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> None:
        rows = _dedupe([{"active": True, **row} for _, row in chunk], ["kind", "code"])
        upsert_changed(
            session,
            CancellationReason.__table__,
            rows,
            ["kind", "code"],
            ("name", "active"),
            versioned=False,
        )


class Addresses(Importer):
    """City / township / district rows, with optional marketplace codes per channel."""

    columns = (
        Column("city", req_text, required=True),
        Column("township", req_text, required=True),
        Column("district", opt_text),
        Column("postcode", opt_text),
        Column("channel", opt_text),
        Column("city_code", opt_text),
        Column("township_code", opt_text),
        Column("district_code", opt_text),
    )

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> None:
        rows = [row for _, row in chunk]
        cities, towns, districts = City.__table__, Township.__table__, District.__table__
        names = sorted({r["city"] for r in rows})
        session.execute(
            dialect_insert(session, cities).on_conflict_do_nothing(index_elements=["name"]),
            [{"name": n} for n in names],
        )
        city_id = dict(
            session.execute(
                select(cities.c.name, cities.c.id).where(cities.c.name.in_(names))
            ).all()
        )
        pairs = sorted({(city_id[r["city"]], r["township"]) for r in rows})
        session.execute(
            dialect_insert(session, towns).on_conflict_do_nothing(
                index_elements=["city_id", "name"]
            ),
            [{"city_id": c, "name": t} for c, t in pairs],
        )
        town_id = {
            (c, n): i
            for i, c, n in session.execute(
                select(towns.c.id, towns.c.city_id, towns.c.name).where(
                    towns.c.city_id.in_(sorted({c for c, _ in pairs}))
                )
            )
        }
        with_district = [r for r in rows if r.get("district")]
        if with_district:
            upsert_changed(
                session,
                districts,
                _dedupe(
                    [
                        {
                            "township_id": town_id[(city_id[r["city"]], r["township"])],
                            "name": r["district"],
                            "postcode": r.get("postcode"),
                        }
                        for r in with_district
                    ],
                    ["township_id", "name"],
                ),
                ["township_id", "name"],
                ("postcode",),
                versioned=False,
            )
        self._mappings(session, chunk, where, city_id, town_id)

    def _mappings(
        self,
        session: Session,
        chunk: list[tuple[int, dict[str, Any]]],
        where: str,
        city_id: Mapping[str, int],
        town_id: Mapping[tuple[int, str], int],
    ) -> None:
        coded = [
            (line, r)
            for line, r in chunk
            if r.get("city_code") or r.get("township_code") or r.get("district_code")
        ]
        if not coded:
            return
        slugs = sorted({r["channel"] for _, r in coded if r.get("channel")})
        channel_id = dict(
            session.execute(select(Channel.slug, Channel.id).where(Channel.slug.in_(slugs))).all()
        )
        for line, r in coded:
            if r.get("channel") and r["channel"] not in channel_id:
                raise ValidationError(
                    f"{where}:{line}: column 'channel': no channel {r['channel']!r}"
                )
        districts = District.__table__
        district_id = {
            (t, n): i
            for i, t, n in session.execute(
                select(districts.c.id, districts.c.township_id, districts.c.name).where(
                    districts.c.township_id.in_(sorted(set(town_id.values())))
                )
            )
        }
        mappings = AddressMapping.__table__
        rows: dict[tuple[Any, ...], dict[str, Any]] = {}
        for _, r in coded:
            cid = channel_id.get(r.get("channel") or "")
            city = city_id[r["city"]]
            town = town_id[(city, r["township"])]
            for level, code, local in (
                ("city", r.get("city_code"), city),
                ("township", r.get("township_code"), town),
                (
                    "district",
                    r.get("district_code"),
                    district_id.get((town, r.get("district") or "")),
                ),
            ):
                if code and local is not None:
                    rows[(cid, level, code)] = {
                        "channel_id": cid,
                        "level": level,
                        "remote_code": code,
                        "local_id": local,
                    }
        for key in rows:
            cond = (
                (mappings.c.level == key[1])
                & (mappings.c.remote_code == key[2])
                & (
                    mappings.c.channel_id.is_(None)
                    if key[0] is None
                    else mappings.c.channel_id == key[0]
                )
            )
            session.execute(mappings.delete().where(cond))
        session.execute(mappings.insert(), list(rows.values()))


IMPORTERS: dict[str, Importer] = {
    "products": Products(),
    "prices": Prices(),
    "stocks": Stocks(),
    "catalog_items": CatalogItems(),
    "cargo_companies": CargoCompanies(),
    "cancellation_reasons": CancellationReasons(),
    "addresses": Addresses(),
}


@dataclass
class ImportResult:
    kind: str
    path: Path
    rows: int


def importer(kind: str) -> Importer:
    from pazar.suggest import did_you_mean

    try:
        return IMPORTERS[kind]
    except KeyError:
        raise ValidationError(
            f"unknown kind {kind!r}{did_you_mean(kind, IMPORTERS)}; one of {', '.join(IMPORTERS)}"
        ) from None


def import_file(
    session: Session,
    kind: str,
    path: Path | str,
    *,
    fmt: str | None = None,
    clock: Any = None,
    on_rows: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK,
) -> ImportResult:
    """Import one file of ``kind`` inside the session's transaction (the caller commits)."""
    handler = importer(kind)
    path = Path(path)
    fmt = detect_format(path, fmt)
    now = (clock or SystemClock()).now()
    total = 0
    chunk: list[tuple[int, dict[str, Any]]] = []
    for line, row in read_rows(path, fmt, handler.columns):
        chunk.append((line, row))
        if len(chunk) >= chunk_size:
            handler.write(session, chunk, path.name, now)
            total += len(chunk)
            chunk = []
            if on_rows is not None:
                on_rows(total)
    if chunk:
        handler.write(session, chunk, path.name, now)
        total += len(chunk)
        if on_rows is not None:
            on_rows(total)
    return ImportResult(kind=kind, path=path, rows=total)
