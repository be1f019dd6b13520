"""``pazar catalog import/export``, ``pazar stock set``, ``pazar price set``."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click

from pazar.cli.choice import Choice
from pazar.cli.context import app
from pazar.cli.numbers import QUANTITY
from pazar.cli.output import console, json_option, print_json
from pazar.cli.output_file import output_file
from pazar.commerce.exports import EXPORTS, export_rows
from pazar.commerce.importers import FORMATS, IMPORTERS

# A negative number is an argument to refuse with its own words ("-1 is not in the range
# x>=0"), not an unknown option ("No such option '-1'").
NUMBER_ARGUMENTS = {"ignore_unknown_options": True}


@click.group("catalog")
def catalog() -> None:
    """The seller's catalog in the local commerce backend."""


@catalog.command("import")
@click.argument("kind", type=Choice(sorted(IMPORTERS)))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=Choice(FORMATS), help="Default: from the file name.")
@click.option(
    "--encoding",
    default="utf-8",
    show_default=True,
    help="The file's text encoding, e.g. cp1254 for Excel on Turkish Windows "
    "(UTF-8 with or without BOM is the default).",
)
@json_option
def import_command(kind: str, file: Path, fmt: str | None, encoding: str, as_json: bool) -> None:
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
    CSV may be comma-, semicolon- (Excel on Turkish systems) or tab-separated: the
    header line decides. A bad row, a field over 128 KB, an object named twice or a
    byte that is not in the encoding stops the import with file:line[:column] and
    nothing is applied. What `catalog export KIND` writes is accepted as it is.
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
            encoding=encoding,
        )
    if as_json:
        print_json(result.as_dict())
        return
    click.echo(
        f"imported {result.rows} {kind} rows from {file}: "
        f"{result.changed} changed, {result.unchanged} unchanged"
    )


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


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


@catalog.command("export")
@click.argument("kind", type=Choice(list(EXPORTS)))
@click.option("--format", "fmt", type=Choice(("csv", "jsonl")), default="csv", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (replaced only once complete); default: standard output.",
)
def export_command(kind: str, fmt: str, output: Path | None) -> None:
    """Stream KIND out as CSV or JSON lines, in the shape `catalog import KIND` reads
    (plus read-only columns: version, and the local id of cargo companies and reasons)."""
    if output is None:
        _export(kind, fmt, sys.stdout)
        return
    with output_file(output, "--output", text=True) as handle:
        _export(kind, fmt, handle)


def _export(kind: str, fmt: str, handle: Any) -> None:
    writer = csv.writer(handle) if fmt == "csv" else None
    with app().db.session() as session:
        cols, rows = export_rows(session, kind)
        if writer:
            writer.writerow(cols)
        for row in rows:
            if writer:
                writer.writerow([_cell(v) for v in row])
            else:
                handle.write(
                    json.dumps(dict(zip(cols, row, strict=True)), ensure_ascii=False, default=str)
                    + "\n"
                )


@click.group("stock")
def stock() -> None:
    """Stock levels in the local commerce backend."""


@stock.command("set", context_settings=NUMBER_ARGUMENTS)
@click.argument("sku")
@click.argument("quantity", type=QUANTITY)
@click.option("--extra", help="Extra fields as JSON, e.g. '{\"maximumPurchasableQuantity\": 5}'.")
def stock_set(sku: str, quantity: int, extra: str | None) -> None:
    """Set SKU's stock to QUANTITY (a changed value is sent by the stock flows)."""
    from pazar.commerce.import_values import RowError, stock_extra
    from pazar.commerce.local import set_stock
    from pazar.errors import ValidationError

    try:
        extra_fields = None if extra is None else stock_extra(extra)
    except RowError as exc:
        raise ValidationError(f"--extra {exc}") from None
    ctx = app()
    with ctx.db.session() as session:
        set_stock(session, sku, quantity, extra_fields, clock=ctx.clock)
    click.echo(f"stock of {sku} set to {quantity}")


@click.group("price")
def price() -> None:
    """Prices in the local commerce backend."""


@price.command("set", context_settings=NUMBER_ARGUMENTS)
@click.argument("sku")
@click.argument("amount")
@click.option("--retail", help="Retail (list) price.")
@click.option("--currency", help="ISO currency code (default: unchanged, else TRY).")
def price_set(sku: str, amount: str, retail: str | None, currency: str | None) -> None:
    """Set SKU's price to AMOUNT (a changed value is sent by the price flows)."""
    from pazar.commerce.local import set_price

    ctx = app()
    with ctx.db.session() as session:
        stored, code = set_price(
            session, sku, amount, retail_price=retail, currency=currency, clock=ctx.clock
        )
    click.echo(f"price of {sku} set to {stored} {code}")


COMMANDS = [catalog, stock, price]
