"""The Reports screen (seed 7.2.2): products not listed, price differences, stock
differences, streamed as CSV, JSON or XLSX.

Every report is one query read row by row (a server-side cursor on PostgreSQL)
and written as it is read, so a report over a million SKUs holds one row at a time;
XLSX uses XlsxWriter's constant-memory mode.

Not listed: saleable products of the channel's catalog (``pazar.commerce.saleability``)
without a listing on sale, with the reason pazar knows, the first that holds
(``not_listed_reason``): ``unmapped`` (a product penalty with reason mapping),
``penalised`` (the product rejected), ``in_flight`` (an upload holds the product),
``penalised`` (its stock or price rejected), ``not_salable`` (listed, not on sale),
``waiting_for_product`` (sent, not listed yet), ``never_sent``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import and_, select, true
from sqlalchemy.orm import Session

from pazar.commerce.saleability import saleable_clause
from pazar.errors import PazarError, ValidationError
from pazar.models.commerce import Price, Product, Stock
from pazar.models.ops import ListingRead, ListingSnapshot
from pazar.models.state import FailedIntegration, IntegrationAction
from pazar.ops.reconcile import Scope, difference_query, in_flight_batch, scope_for
from pazar.ops.settings import PRODUCT_CONTENT_TYPE
from pazar.ops.snapshot import current_read, unavailable_kinds
from pazar.suggest import did_you_mean

FORMATS = ("csv", "json", "xlsx")
PAGE = 1000


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: Callable[[Any, Scope], Iterator[dict[str, Any]]]


def _stream(db: Any, stmt: Any) -> Iterator[dict[str, Any]]:
    with db.session() as session:
        result = session.execute(stmt.execution_options(stream_results=True, yield_per=PAGE))
        for row in result.mappings():
            yield dict(row)


def _detail(row: dict[str, Any]) -> str:
    if row.get("penalty"):
        return str(row["penalty"])
    if row.get("local_batch_id"):
        return f"LocalBatchId: {row['local_batch_id']}"
    return ""


def _price_rows(db: Any, scope: Scope) -> Iterator[dict[str, Any]]:
    for row in _stream(db, difference_query("price", scope)):
        yield {
            "sku": row["sku"],
            "name": row["name"],
            "pazar_price": row["local"],
            "marketplace_price": row["marketplace"],
            "listing_status": row["listing_status"],
            "state": row["state"],
            "detail": _detail(row),
        }


def _stock_rows(db: Any, scope: Scope) -> Iterator[dict[str, Any]]:
    for row in _stream(db, difference_query("stock", scope)):
        yield {
            "sku": row["sku"],
            "name": row["name"],
            "pazar_stock": row["local"],
            "expected_stock": row["expected"],
            "marketplace_stock": row["marketplace"],
            "listing_status": row["listing_status"],
            "state": row["state"],
            "detail": _detail(row),
        }


def not_listed_query(scope: Scope, dialect: str) -> Any:
    """Saleable catalog products without a listing on sale, with what pazar knows of each."""
    p, s = Product.__table__, ListingSnapshot.__table__
    listed = s.alias("listed")
    on_sale = s.alias("on_sale")
    pr, st = Price.__table__, Stock.__table__
    ia = IntegrationAction.__table__.alias("sent")
    pen = FailedIntegration.__table__.alias("pen")
    ct = PRODUCT_CONTENT_TYPE
    other = FailedIntegration.__table__.alias("other_pen")
    other_penalty = (
        select(other.c.content_type + ": " + other.c.message)
        .where(other.c.channel_id == scope.channel_id, other.c.object_id == p.c.id)
        .order_by(other.c.content_type)
        .limit(1)
        .scalar_subquery()
    )
    in_flight = in_flight_batch(scope.channel_id, ct, p.c.id)
    base = (
        p.outerjoin(pr, pr.c.product_id == p.c.id)
        .outerjoin(st, st.c.product_id == p.c.id)
        .outerjoin(listed, and_(listed.c.read_id == scope.read_id, listed.c.sku == p.c.sku))
        .outerjoin(
            ia,
            and_(
                ia.c.channel_id == scope.channel_id,
                ia.c.content_type == ct,
                ia.c.object_id == p.c.id,
            ),
        )
        .outerjoin(
            pen,
            and_(
                pen.c.channel_id == scope.channel_id,
                pen.c.content_type == ct,
                pen.c.object_id == p.c.id,
            ),
        )
    )
    catalog = scope.catalog_id if scope.catalog_id is not None else -1
    return (
        select(
            p.c.sku,
            p.c.name,
            pr.c.price,
            st.c.quantity,
            listed.c.status.label("listing_status"),
            ia.c.updated_at.label("sent_at"),
            ia.c.status.label("sent_status"),
            pen.c.reason_type.label("penalty_reason"),
            pen.c.message.label("penalty"),
            other_penalty.label("other_penalty"),
            in_flight.label("local_batch_id"),
        )
        .select_from(base)
        .where(
            saleable_clause(dialect, catalog),
            ~select(on_sale.c.sku)
            .where(
                on_sale.c.read_id == scope.read_id,
                on_sale.c.sku == p.c.sku,
                on_sale.c.on_sale.is_(true()),
            )
            .exists(),
        )
        .order_by(p.c.sku)
    )


def not_listed_reason(row: dict[str, Any]) -> tuple[str, str]:
    """(reason, detail) of one not-listed product (see the module docstring)."""
    if row.get("penalty") is not None:
        reason = "unmapped" if row.get("penalty_reason") == "mapping" else "penalised"
        return reason, str(row["penalty"])
    if row.get("local_batch_id"):
        return "in_flight", f"LocalBatchId: {row['local_batch_id']}"
    if row.get("other_penalty") is not None:  # its stock or price was rejected
        return "penalised", str(row["other_penalty"])
    if row.get("listing_status") is not None:
        return "not_salable", str(row["listing_status"])
    if row.get("sent_at") is not None and row.get("sent_status") != "deleted":
        when = row["sent_at"].strftime("%Y-%m-%d %H:%M:%S")
        return "waiting_for_product", f"sent {when} UTC; not listed by the marketplace yet"
    return "never_sent", ""


def _not_listed_rows(db: Any, scope: Scope) -> Iterator[dict[str, Any]]:
    for row in _stream(db, not_listed_query(scope, db.dialect)):
        reason, detail = not_listed_reason(row)
        yield {
            "sku": row["sku"],
            "name": row["name"],
            "price": row["price"],
            "stock": row["quantity"],
            "reason": reason,
            "detail": detail,
        }


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report(
            "not_listed",
            "In the catalog and saleable, not on sale",
            ("sku", "name", "price", "stock", "reason", "detail"),
            _not_listed_rows,
        ),
        Report(
            "price_differences",
            "Price differences",
            (
                "sku",
                "name",
                "pazar_price",
                "marketplace_price",
                "listing_status",
                "state",
                "detail",
            ),
            _price_rows,
        ),
        Report(
            "stock_differences",
            "Stock differences",
            (
                "sku",
                "name",
                "pazar_stock",
                "expected_stock",
                "marketplace_stock",
                "listing_status",
                "state",
                "detail",
            ),
            _stock_rows,
        ),
    )
}


def report(name: str) -> Report:
    try:
        return REPORTS[name]
    except KeyError:
        raise ValidationError(
            f"unknown report {name!r}{did_you_mean(name, REPORTS)}; one of {', '.join(REPORTS)}"
        ) from None


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError(
            f"unknown format {fmt!r}{did_you_mean(fmt, FORMATS)}; one of {', '.join(FORMATS)}"
        )
    return fmt


# The kind of marketplace value (price, stock) a report compares; not_listed needs neither.
NEEDS = {"price_differences": "price", "stock_differences": "stock"}


def report_scope(session: Session, channel: Any, name: str | None = None) -> Scope:
    """The scope of a channel's reports: its current snapshot (an error without one, and
    for report ``name`` when the snapshot could not see what it compares)."""
    read: ListingRead | None = current_read(session, channel.id)
    if read is None:
        raise PazarError(
            f"channel {channel.slug!r} has no listings snapshot yet; run its listings flow "
            f"(`pazar run {channel.plugin}/listings --channel {channel.slug}`, "
            f"flag feature_flags.listings)"
        )
    unseen = unavailable_kinds(read)
    if name in NEEDS and NEEDS[name] in unseen:
        raise PazarError(f"{name} of channel {channel.slug!r}: {unseen[NEEDS[name]]}")
    return scope_for(session, channel, read)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def csv_chunks(columns: tuple[str, ...], rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """The header, then one encoded CSV line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield buffer.getvalue().encode("utf-8")
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(["" if row[c] is None else _plain(row[c]) for c in columns])
        yield buffer.getvalue().encode("utf-8")


def json_chunks(columns: tuple[str, ...], rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """A JSON array written one object at a time (a line each)."""
    first = True
    for row in rows:
        body = json.dumps({c: _plain(row[c]) for c in columns}, ensure_ascii=False, default=str)
        yield ("[\n" if first else ",\n").encode() + body.encode("utf-8")
        first = False
    yield b"[]\n" if first else b"\n]\n"


def text_chunks(
    fmt: str, columns: tuple[str, ...], rows: Iterator[dict[str, Any]]
) -> Iterator[bytes]:
    return csv_chunks(columns, rows) if fmt == "csv" else json_chunks(columns, rows)


class _Counted:
    """Counts the rows that pass (the report's size, for the summary line)."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            self.count += 1
            yield row


def _xlsx(
    title: str, columns: tuple[str, ...], rows: Iterator[dict[str, Any]], out: IO[bytes]
) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    try:
        sheet = book.add_worksheet(title[:31])
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, columns, bold)
        for n, row in enumerate(rows, start=1):
            sheet.write_row(
                n, 0, [float(v) if isinstance(v := row[c], Decimal) else v for c in columns]
            )
    finally:
        book.close()


def write_report(
    db: Any,
    channel: Any,
    name: str,
    fmt: str,
    out: IO[bytes],
    *,
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> int:
    """Write report ``name`` of ``channel`` as ``fmt`` to ``out``; returns the row count.

    ``keep`` filters the rows as they stream (the web's filtered download)."""
    spec = report(name)
    check_format(fmt)
    with db.session() as session:
        scope = report_scope(session, channel, spec.name)
    source = spec.rows(db, scope)
    rows = _Counted(source if keep is None else (row for row in source if keep(row)))
    if fmt == "xlsx":
        _xlsx(spec.title, spec.columns, iter(rows), out)
        return rows.count
    for chunk in text_chunks(fmt, spec.columns, iter(rows)):
        out.write(chunk)
    return rows.count


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
