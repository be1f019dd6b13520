"""``pazar catalog import/export``, ``pazar stock set``, ``pazar price set``."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from pazar.cli.context import app
from pazar.cli.output import console
from pazar.commerce.importers import FORMATS, IMPORTERS

EXPORTS = ("products", "prices", "stocks", "catalog_items")


@click.group("catalog")
def catalog() -> None:
    """The seller's catalog in the local commerce backend."""


@catalog.command("import")
@click.argument("kind", type=click.Choice(sorted(IMPORTERS)))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: from the file name.")
def import_command(kind: str, file: Path, fmt: str | None) -> None:
    """Import KIND rows from a CSV, JSON-lines or JSON file, all or nothing.

    \b
    Columns per kind (CSV header / JSON keys; * = required):
      products:             sku*, name, base_code, product_type (simple|meta), parent_sku,
                            categories, images (JSON list or a|b|c), attributes (JSON), active
      prices:               sku*, price*, retail_price, currency, tax_rate
      stocks:               sku*, quantity*, extra (JSON, e.g. {"maximumPurchasableQuantity": 5})
      catalog_items:        catalog*, sku*, deleted
      cargo_companies:      code*, name*, tracking_url
      cancellation_reasons: kind* (cancel|refund), code*, name*, active
      addresses:            city*, township*, district, postcode, channel,
                            city_code, township_code, district_code
    A bad row stops the import with file:line:column and nothing is applied.
    """
    from pazar.commerce.importers import import_file

    ctx = app()
    progress = _progress(sys.stderr.isatty())
    with progress as bar, ctx.db.session() as session:
        task = bar.add_task(f"{kind} ← {file.name}", total=None) if bar else None
        result = import_file(
            session,
            kind,
            file,
            fmt=fmt,
            clock=ctx.clock,
            on_rows=(lambda n: bar.update(task, completed=n)) if bar else None,
        )
    click.echo(f"imported {result.rows} {kind} rows from {file}")


def _progress(enabled: bool) -> Any:
    if not enabled:
        return _Null()
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}: {task.completed:,} rows"),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    )


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _export_query(kind: str) -> tuple[list[str], Any]:
    from pazar.models.commerce import Catalog, CatalogItem, Price, Product, Stock

    if kind == "products":
        parent = Product.__table__.alias("parent")
        p = Product.__table__
        cols = [
            "sku",
            "name",
            "base_code",
            "product_type",
            "parent_sku",
            "categories",
            "images",
            "attributes",
            "active",
            "version",
        ]
        stmt = (
            select(
                p.c.sku,
                p.c.name,
                p.c.base_code,
                p.c.product_type,
                parent.c.sku,
                p.c.categories,
                p.c.images,
                p.c.attributes,
                p.c.active,
                p.c.version,
            )
            .select_from(p.outerjoin(parent, parent.c.id == p.c.parent_id))
            .order_by(p.c.id)
        )
    elif kind == "prices":
        cols = ["sku", "price", "retail_price", "currency", "tax_rate", "version"]
        stmt = (
            select(
                Product.sku,
                Price.price,
                Price.retail_price,
                Price.currency,
                Price.tax_rate,
                Price.version,
            )
            .join(Product, Product.id == Price.product_id)
            .order_by(Price.id)
        )
    elif kind == "stocks":
        cols = ["sku", "quantity", "extra", "version"]
        stmt = (
            select(Product.sku, Stock.quantity, Stock.extra, Stock.version)
            .join(Product, Product.id == Stock.product_id)
            .order_by(Stock.id)
        )
    else:
        cols = ["catalog", "sku", "deleted", "version"]
        stmt = (
            select(Catalog.code, Product.sku, CatalogItem.deleted, CatalogItem.version)
            .join(Catalog, Catalog.id == CatalogItem.catalog_id)
            .join(Product, Product.id == CatalogItem.product_id)
            .order_by(CatalogItem.id)
        )
    return cols, stmt


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


@catalog.command("export")
@click.argument("kind", type=click.Choice(EXPORTS))
@click.option(
    "--format", "fmt", type=click.Choice(("csv", "jsonl")), default="csv", show_default=True
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
def export_command(kind: str, fmt: str, output: Path | None) -> None:
    """Stream KIND out as CSV (importable again) or JSON lines."""
    cols, stmt = _export_query(kind)
    handle = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.writer(handle) if fmt == "csv" else None
        if writer:
            writer.writerow(cols)
        with app().db.session() as session:
            for row in session.execute(stmt.execution_options(yield_per=2000)):
                if writer:
                    writer.writerow([_cell(v) for v in row])
                else:
                    handle.write(
                        json.dumps(
                            dict(zip(cols, row, strict=True)), ensure_ascii=False, default=str
                        )
                        + "\n"
                    )
    finally:
        if output:
            handle.close()


@click.group("stock")
def stock() -> None:
    """Stock levels in the local commerce backend."""


@stock.command("set")
@click.argument("sku")
@click.argument("quantity", type=click.IntRange(min=0))
@click.option("--extra", help="Extra fields as JSON, e.g. '{\"maximumPurchasableQuantity\": 5}'.")
def stock_set(sku: str, quantity: int, extra: str | None) -> None:
    """Set SKU's stock to QUANTITY (a changed value is sent by the stock flows)."""
    from pazar.commerce.importers import RowError, json_object
    from pazar.commerce.local import set_stock
    from pazar.errors import ValidationError

    try:
        extra_fields = None if extra is None else json_object(extra)
    except RowError as exc:
        raise ValidationError(f"--extra {exc}") from None
    ctx = app()
    with ctx.db.session() as session:
        set_stock(session, sku, quantity, extra_fields, clock=ctx.clock)
    click.echo(f"stock of {sku} set to {quantity}")


@click.group("price")
def price() -> None:
    """Prices in the local commerce backend."""


@price.command("set")
@click.argument("sku")
@click.argument("amount")
@click.option("--retail", help="Retail (list) price.")
@click.option("--currency", help="ISO currency code (default: unchanged, else TRY).")
def price_set(sku: str, amount: str, retail: str | None, currency: str | None) -> None:
    """Set SKU's price to AMOUNT (a changed value is sent by the price flows)."""
    from pazar.commerce.local import set_price

    ctx = app()
    with ctx.db.session() as session:
        set_price(session, sku, amount, retail_price=retail, currency=currency, clock=ctx.clock)
    click.echo(f"price of {sku} set to {amount}")


COMMANDS = [catalog, stock, price]
