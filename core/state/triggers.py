"""Manual triggers of records (the seed's product trigger and CSV upload).

Before a flow runs for explicit SKUs, each SKU is checked and the ones that
cannot be taken are reported with the seed's messages: unknown SKU, record in
flight in an open batch, record not eligible (penalised, or not saleable on the
channel: not in its catalog; lacking its price or stock data: "Price data not found").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.commerce.saleability import MISSING_DATA
from pazar.errors import ValidationError
from pazar.state.actions import actions_for
from pazar.state.batches import open_batch_of
from pazar.state.lifecycle import missing_data_statement, new_products_statement
from pazar.state.selection import Scope, catalog_code, catalog_id, commerce_table, selection_query

CSV_HEADER_MESSAGE = (
    "sku cannot identify please check your csv file. Header value should be set this: sku"
)
UNKNOWN_SKU_MESSAGE = "The relevant SKU not exists in the commerce backend. SKU: {sku}"
IN_FLIGHT_MESSAGE = (
    "The relevant record is processing in another queue, LocalBatchId: {local_batch_id}"
)
NOT_IN_QUEUE_MESSAGE = "The relevant record is not in queue. the item may have been penalized or check product is saleable"

WAITING_MESSAGE = (
    "The relevant record waits for its {needs} to be created on the marketplace first "
    "(not a penalty: it goes out in the first run after that)"
)
ALREADY_CREATED_MESSAGE = (
    NOT_IN_QUEUE_MESSAGE + " (already created on this channel: the product trigger only "
    "creates; send changes with the product update flow)"
)

SOURCE_OF_STEP = {
    "commerce.changed_stocks": "stocks",
    "commerce.changed_prices": "prices",
    "commerce.changed_products": "products",
    "commerce.deleted_products": "deleted_products",
    "commerce.new_products": "new_products",
}


def read_sku_csv(path: str | Path) -> list[str]:
    """SKUs from a CSV whose header (first row) is exactly ``sku``.

    A wrong header is refused with the seed's message; empty lines are ignored.
    """
    from pazar.textfiles import read_text

    file = Path(path)
    text = read_text(file)  # UTF-8 with or without BOM; else file:line:column of the bad byte
    return parse_sku_csv(text, str(file))


def parse_sku_csv(text: str, where: str) -> list[str]:
    """:func:`read_sku_csv` for text already read (an upload); ``where`` names it in errors."""
    if "\x00" in text:
        raise ValidationError(f"{where}: contains a NUL byte: this is not a CSV text file")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None or [h.strip() for h in header if h.strip()] != ["sku"]:
        raise ValidationError(f"{where}:1: {CSV_HEADER_MESSAGE}")
    skus: list[str] = []
    for row in reader:
        value = row[0].strip() if row else ""
        if value:
            skus.append(value)
    return list(dict.fromkeys(skus))


@dataclass
class TriggerCheck:
    """Which SKUs a run may take, and why the others cannot be taken."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def source_of(flow: Any) -> str | None:
    """The change stream a flow reads, or None when its source is not one of ours."""
    return SOURCE_OF_STEP.get(getattr(getattr(flow, "source", None), "type", ""))


def check_trigger(
    session: Session,
    *,
    channel: Any,
    flow: Any,
    keys: Sequence[str],
    now: Any,
    needs: str | None = None,
    supersedes: bool = False,
) -> TriggerCheck:
    """Sort ``keys`` into those the flow can take now and those it cannot (with the reason).

    ``needs``: the content type the flow's records wait for on this channel (see
    ``dependency_in_force``); a record whose object lacks it is refused as waiting.
    ``supersedes``: the flow's sink lets a newer value go out while an older upload is
    unconfirmed (``sink_supersedes``); a record in flight at an older version is then taken,
    as the flow's own run takes it, and only one in flight at its current version is refused.

    Set-based: one query for the SKUs, one for open batches, one selection query
    per 1000 SKUs.
    """
    keys = list(dict.fromkeys(k.strip() for k in keys if k and k.strip()))
    source = source_of(flow)
    result = TriggerCheck()
    if source is None:
        result.accepted = keys
        return result
    content_type = str(getattr(flow, "content_type", None) or "DEFAULT")
    products = commerce_table("products")
    ids: dict[str, int] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        ids.update(
            dict(
                session.execute(
                    select(products.c.sku, products.c.id).where(products.c.sku.in_(chunk))
                ).all()
            )
        )
    in_flight = open_batch_of(session, channel.id, content_type, list(ids.values()))
    supersedes = supersedes and source != "new_products"
    scope = Scope(
        channel.id, content_type, catalog_id(session, catalog_code(channel)), needs, supersedes
    )
    # the selection itself leaves out what a superseding flow's in-flight uploads hold back
    candidates = [k for k in keys if k in ids and (supersedes or ids[k] not in in_flight)]
    eligible: set[str] = set()
    waiting: set[str] = set()
    created: set[int] = set()
    lacking: dict[str, str] = {}
    for start in range(0, len(candidates), 1000):
        chunk = candidates[start : start + 1000]
        if source == "new_products":
            eligible.update(_new_products(session, scope, chunk, now))
            lacking.update(_new_products(session, scope, chunk, now, lacking=True))
            created |= set(actions_for(session, channel.id, content_type, [ids[k] for k in chunk]))
        else:
            stmt = selection_query(source, scope, now=now, keys=chunk, limit=len(chunk))
            for row in session.execute(stmt).mappings():
                if needs is not None and not row["ready"]:
                    waiting.add(row["sku"])
                else:
                    eligible.add(row["sku"])
    for key in keys:
        if key not in ids:
            result.rejected.append((key, UNKNOWN_SKU_MESSAGE.format(sku=key)))
        elif key in eligible:
            result.accepted.append(key)
        elif ids[key] in in_flight:
            result.rejected.append(
                (key, IN_FLIGHT_MESSAGE.format(local_batch_id=in_flight[ids[key]]))
            )
        elif key in waiting:
            result.rejected.append((key, WAITING_MESSAGE.format(needs=needs)))
        elif key in lacking:
            result.rejected.append((key, "; ".join(MISSING_DATA[lacking[key]])))
        elif ids[key] in created:
            result.rejected.append((key, ALREADY_CREATED_MESSAGE))
        else:
            result.rejected.append((key, NOT_IN_QUEUE_MESSAGE))
    return result


def _new_products(
    session: Session, scope: Scope, skus: list[str], now: Any, *, lacking: bool = False
) -> dict[str, Any]:
    """Which of ``skus`` Product Create would take now: the source's own query, so the
    trigger and the run can never disagree (saleable, never created, not held back).
    ``lacking``: those it would take but for a price or stock row, with what they lack."""
    if scope.catalog_id is None:
        return {}
    dialect = session.get_bind().dialect.name
    if lacking:
        stmt = missing_data_statement(dialect, True, False)
    else:
        stmt = new_products_statement(dialect, True)
    params = {
        "np_channel": scope.channel_id,
        "np_content_type": scope.content_type,
        "np_catalog": scope.catalog_id,
        "np_now": now,
        "np_keys": skus,
        "np_after": 0,
        "np_limit": len(skus),
    }
    return {row["sku"]: row.get("_needs") for row in session.execute(stmt, params).mappings()}


def gather_keys(skus: Iterable[str], csv_file: str | None) -> list[str]:
    """SKUs from ``--sku`` options and/or a ``--csv`` file, in order, without repeats."""
    keys = [s.strip() for s in skus if s and s.strip()]
    if csv_file:
        keys += read_sku_csv(csv_file)
    if not keys:
        raise ValidationError(
            "no records given: pass --sku SKU (repeatable) or --csv FILE with a 'sku' header"
        )
    return list(dict.fromkeys(keys))
