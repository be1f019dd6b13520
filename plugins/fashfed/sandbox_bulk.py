"""The sandbox's bulk uploads (products, stocks, prices): accepted at once, decided later.

A bulk answers ``202 {id, status: "waiting"}``; its status polls say ``processing`` until the
``pending_polls + 1``-th, which decides every row: accepted rows change the seller's products,
rejected ones are listed under ``/errors/`` with a Django-REST style message.  The faults
``stuck_bulks`` (never decided) and ``failed_bulks`` (the whole bulk fails) apply to the next
uploads; ``reject_skus`` rejects the rows of chosen SKUs with a given message.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pazar_fashfed import api
from pazar_fashfed.sandbox_state import SandboxState, uid


class BulkRefused(ValueError):
    """The bulk request itself is refused (400), nothing is stored."""


def create_bulk(state: SandboxState, kind: str, rows: Any) -> dict[str, Any]:
    if not isinstance(rows, list):
        raise BulkRefused('Expected a list of items but got type "dict".')
    if not rows:
        raise BulkRefused("This list may not be empty.")
    if len(rows) > api.BULK_MAX_ROWS:
        raise BulkRefused(f"Ensure this list has no more than {api.BULK_MAX_ROWS} elements.")
    bulk_id = uid("bulk", kind, str(state.next_id()))
    when = api.iso(state.now())
    state.bulks[bulk_id] = {
        "id": bulk_id,
        "kind": kind,
        "status": "waiting",
        "rows": copy.deepcopy(rows),
        "errors": [],
        "polls": 0,
        "stuck": state.kit.take_fault_count("stuck_bulks"),
        "fail": state.kit.take_fault_count("failed_bulks"),
        "created_at": when,
        "updated_at": when,
    }
    return {"id": bulk_id, "status": "waiting"}


def bulk_view(bulk: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": bulk["id"],
        "status": bulk["status"],
        "total": len(bulk["rows"]),
        "failed": len(bulk["errors"]),
        "created_at": bulk["created_at"],
        "updated_at": bulk["updated_at"],
    }


def poll_bulk(state: SandboxState, bulk: dict[str, Any]) -> dict[str, Any]:
    """One status poll: still processing, or decided now."""
    if bulk["status"] in api.BULK_PENDING:
        bulk["polls"] += 1
        if bulk["stuck"] or bulk["polls"] <= int(state.settings["pending_polls"]):
            bulk["status"] = "processing"
        elif bulk["fail"]:
            bulk["status"] = api.BULK_FAILED
        else:
            decide(state, bulk)
            bulk["status"] = api.BULK_DONE
        bulk["updated_at"] = api.iso(state.now())
    return bulk_view(bulk)


def decide(state: SandboxState, bulk: dict[str, Any]) -> None:
    reject = state.kit.fault("reject_skus") or {}
    check = {"products": _product, "stocks": _stock, "prices": _price}[bulk["kind"]]
    for row in bulk["rows"]:
        sku = str(row.get("sku") or "") if isinstance(row, Mapping) else ""
        if not sku:
            bulk["errors"].append(
                {"sku": None, "code": api.CODE_INVALID, "message": "sku: This field is required."}
            )
            continue
        problem = reject.get(sku) or check(state, row)
        if problem:
            code = (
                api.CODE_UNKNOWN_SKU
                if problem.startswith("Product not found")
                else api.CODE_INVALID
            )
            bulk["errors"].append({"sku": sku, "code": code, "message": problem})


def _known(state: SandboxState, sku: str) -> dict[str, Any] | None:
    product = state.products.get(sku)
    if product is None and state.settings["accept_unknown_skus"]:
        product = state.products[sku] = {"id": uid("product", sku), "sku": sku, "stock": 0}
    return product


def _stock(state: SandboxState, row: Mapping[str, Any]) -> str | None:
    product = _known(state, str(row["sku"]))
    if product is None:
        return f"Product not found: {row['sku']}"
    stock = row.get("stock")
    if not isinstance(stock, int) or isinstance(stock, bool) or stock < 0:
        return "stock: Ensure this value is a whole number greater than or equal to 0."
    product["stock"] = stock
    return None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _price(state: SandboxState, row: Mapping[str, Any]) -> str | None:
    product = _known(state, str(row["sku"]))
    if product is None:
        return f"Product not found: {row['sku']}"
    price = _number(row.get("price"))
    if price is None or price <= 0:
        return "price: Ensure this value is greater than 0."
    retail = _number(row.get("retail_price")) if row.get("retail_price") is not None else None
    if retail is not None and retail < price:
        return "retail_price: Ensure this value is greater than or equal to price."
    product.update(price=row["price"], retail_price=row.get("retail_price"))
    product["currency"] = row.get("currency") or api.DEFAULT_CURRENCY
    return None


def _product(state: SandboxState, row: Mapping[str, Any]) -> str | None:
    missing = [k for k in ("name", "base_code", "category") if not row.get(k)]
    if missing:
        return "; ".join(f"{k}: This field is required." for k in missing)
    category = state.categories.get(str(row["category"]))
    if category is None:
        return f"category: Category {row['category']} does not exist."
    if not category["is_leaf"]:
        return f"category: Category {category['name']} is not a leaf category."
    attributes = row.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        return "attributes: Expected a dictionary of items."
    for attr in state.attributes.get(category["id"], []):
        value = attributes.get(attr["key"])
        if value in (None, "", []):
            if attr["is_required"]:
                return f"attributes.{attr['key']}: This field is required."
            continue
        if attr["data_type"] in api.ENUM_DATA_TYPES:
            allowed = {v["value"] for v in state.values.get(str(attr["id"]), [])}
            for one in value if isinstance(value, list) else [value]:
                if one not in allowed:
                    return f'attributes.{attr["key"]}: "{one}" is not a valid choice.'
    price = _number(row.get("price"))
    if price is None or price <= 0:
        return "price: Ensure this value is greater than 0."
    stock = row.get("stock")
    if not isinstance(stock, int) or isinstance(stock, bool) or stock < 0:
        return "stock: Ensure this value is a whole number greater than or equal to 0."
    sku = str(row["sku"])
    now = api.iso(state.now())
    created = (state.products.get(sku) or {}).get("created_at") or now
    state.products[sku] = {
        "id": uid("product", sku),
        **copy.deepcopy(dict(row)),
        "created_at": created,
        "updated_at": now,
    }
    return None
