"""The Hepsiburada sandbox's catalog service (mpop): categories, attributes, values, product
imports and their status, in mpop's envelope with refusals inside a 200."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Mapping
from email import policy
from email.parser import BytesParser
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from pazar.plugin import SandboxReply
from pazar_hepsiburada import api
from pazar_hepsiburada.sandbox_shapes import (
    BASE_ATTRIBUTES,
    as_bool,
    bad_request,
    envelope,
    int_param,
    now_iso,
    paged,
    parse_tr_number,
)
from pazar_hepsiburada.sandbox_state import SandboxState


def categories(request: Request, state: SandboxState, body: bytes) -> Any:
    q = request.query_params
    leaf, available = as_bool(q.get("leaf")), as_bool(q.get("available"))
    status, type_ = q.get("status"), q.get("type")
    rows = [
        c
        for _, c in sorted(state.categories.items())
        if (leaf is None or c["leaf"] == leaf)
        and (available is None or c["available"] == available)
        and (not status or c["status"] == status.upper())
        and (not type_ or c["type"] == type_.upper())
    ]
    page = int_param(request, "page", 0)
    size = min(int_param(request, "size", 1000), api.MPOP_MAX_PAGE_SIZE)
    return paged(rows, page, size)


def _category_or_reply(state: SandboxState, raw_id: str) -> dict[str, Any]:
    try:
        category = state.categories.get(int(raw_id))
    except ValueError:
        category = None
    if category is None:
        raise SandboxReply(
            JSONResponse(
                envelope(
                    None,
                    success=False,
                    code=api.CODE_CATEGORY_NOT_FOUND,
                    message=f"Category {raw_id} not found",
                )
            )
        )
    if not category["leaf"] or not category["available"]:
        raise SandboxReply(
            JSONResponse(
                envelope(
                    None,
                    success=False,
                    code=api.CODE_CATEGORY_NOT_LEAF,
                    message=f"Category {raw_id} is not a leaf or not available",
                )
            )
        )
    return category


def _attributes_of(state: SandboxState, category_id: int) -> dict[str, list[dict[str, Any]]]:
    return state.attributes.get(str(category_id)) or {
        "baseAttributes": BASE_ATTRIBUTES,
        "attributes": [],
        "variantAttributes": [],
    }


def attributes(request: Request, state: SandboxState, body: bytes) -> Any:
    category = _category_or_reply(state, request.path_params["category_id"])
    return envelope(copy.deepcopy(_attributes_of(state, category["categoryId"])))


def _values_of(state: SandboxState, category_id: int, attribute_id: str) -> list[dict[str, Any]]:
    specific = state.values.get(f"{category_id}/{attribute_id}")
    return specific if specific is not None else state.values.get(attribute_id, [])


def attribute_values(request: Request, state: SandboxState, body: bytes) -> Any:
    category = _category_or_reply(state, request.path_params["category_id"])
    attribute_id = request.path_params["attribute_id"]
    groups = _attributes_of(state, category["categoryId"])
    known = {a["id"]: a for g in groups.values() for a in g}
    if attribute_id not in known:
        return envelope(
            None, success=False, code=1005, message=f"Attribute {attribute_id} not found"
        )
    rows = _values_of(state, category["categoryId"], attribute_id)
    page = int_param(request, "page", 0)
    size = int_param(request, "size", 1000)
    return paged(rows, page, size)


def _multipart_file(request: Request, body: bytes) -> bytes:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise bad_request("product import expects multipart/form-data with a 'file' part", "mpop")
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == api.IMPORT_FILE_FIELD:
            return part.get_payload(decode=True) or b""
    raise bad_request("multipart body has no 'file' part", "mpop")


def _check_product(
    state: SandboxState, product: Any, seen: set[str]
) -> tuple[str | None, list[dict[str, str]]]:
    """(merchantSku, validation problems) for one product of an import file."""
    if not isinstance(product, Mapping):
        return None, [{"attributeName": "", "message": "product must be an object"}]
    attrs = product.get("attributes")
    if not isinstance(attrs, Mapping):
        return None, [{"attributeName": "attributes", "message": "attributes must be an object"}]
    sku = attrs.get("merchantSku")
    problems: list[dict[str, str]] = []
    if not sku:
        problems.append({"attributeName": "merchantSku", "message": "merchantSku is required"})
    elif sku in seen:
        problems.append(
            {"attributeName": "merchantSku", "message": "duplicate merchantSku in file"}
        )
    else:
        seen.add(str(sku))
    if product.get("merchant") != state.credentials["merchant_id"]:
        problems.append({"attributeName": "merchant", "message": "merchant does not match"})
    category = None
    with contextlib.suppress(TypeError, ValueError):
        category = state.categories.get(int(product.get("categoryId")))
    if category is None:
        problems.append({"attributeName": "categoryId", "message": "unknown category"})
        return sku, problems
    if not (category["leaf"] and category["available"] and category["status"] == "ACTIVE"):
        problems.append(
            {"attributeName": "categoryId", "message": "category does not accept products"}
        )
        return sku, problems
    groups = _attributes_of(state, category["categoryId"])
    for attribute in (a for g in groups.values() for a in g):
        aid = attribute["id"]
        value = attrs.get(aid)
        if attribute.get("mandatory") and (value is None or str(value).strip() == ""):
            problems.append({"attributeName": aid, "message": f"{attribute['name']} is mandatory"})
            continue
        if value not in (None, "") and str(attribute.get("type", "")).lower() == "enum":
            allowed = _values_of(state, category["categoryId"], aid)
            if allowed and not any(
                str(value) in (str(v.get("value")), str(v.get("id"))) for v in allowed
            ):
                problems.append(
                    {"attributeName": aid, "message": f"'{value}' is not a valid value"}
                )
    if "price" in attrs and attrs["price"] not in (None, ""):
        price = parse_tr_number(attrs["price"])
        if price is None or price <= 0:
            problems.append(
                {"attributeName": "price", "message": "price must be a positive amount"}
            )
    return sku, problems


def product_import(request: Request, state: SandboxState, body: bytes) -> Any:
    content = _multipart_file(request, body)
    try:
        products = json.loads(content)
    except ValueError:
        return envelope(None, success=False, code=400, message="file is not valid JSON")
    if not isinstance(products, list):
        return envelope(None, success=False, code=400, message="file must hold a JSON array")
    tracking_id = state._next_id()
    rejections = state.kit.fault("import_rejections") or {}
    rows, seen = [], set()
    for n, product in enumerate(products):
        sku, problems = _check_product(state, product, seen)
        if sku and sku in rejections and not problems:
            problems.append({"attributeName": "", "message": str(rejections[sku])})
        rows.append({"n": n, "sku": sku, "product": product, "problems": problems})
    state.imports[tracking_id] = {
        "trackingId": tracking_id,
        "createdAt": now_iso(),
        "polls": 0,
        "stuck": bool(state.kit.take_fault_count("stuck_uploads")),
        "rows": rows,
        "results": None,
    }
    return envelope({"trackingId": tracking_id})


def _import_row(state: SandboxState, row: Mapping[str, Any], pending: bool) -> dict[str, Any]:
    product = row["product"] if isinstance(row["product"], Mapping) else {}
    attrs = product.get("attributes") if isinstance(product.get("attributes"), Mapping) else {}
    out: dict[str, Any] = {
        "itemOrderID": row["n"],
        "merchant": product.get("merchant"),
        "merchantSku": row["sku"],
        "hbSku": None,
        "barcode": attrs.get("Barcode"),
        "productName": attrs.get("UrunAdi"),
        "variantGroupId": attrs.get("VaryantGroupID"),
        "categoryId": product.get("categoryId"),
        "taskDetails": [],
        "validationResults": [],
        "rejectReasonsMessages": [],
        "importMessages": [],
        "matchedHbProductInfo": [],
        "qualityScore": None,
        "qualityStatus": None,
    }
    if pending:
        out.update({"productStatus": "WAITING", "importStatus": "PROCESSING"})
        return out
    if row["problems"]:
        out.update(
            {
                "productStatus": "REJECTED",
                "importStatus": "FAILED",
                "validationResults": list(row["problems"]),
                "importMessages": [
                    {"severity": "ERROR", "message": p["message"]} for p in row["problems"]
                ],
            }
        )
        return out
    sku = str(row["sku"])
    listing = state.listings.get(sku)
    if listing is None:
        listing = state.add_listing(
            {
                "merchantSku": sku,
                "price": parse_tr_number(attrs.get("price")) or 0,
                "availableStock": int(parse_tr_number(attrs.get("stock")) or 0),
            }
        )
    out.update(
        {
            "productStatus": "MATCHED",
            "importStatus": "SUCCESS",
            "hbSku": listing["hepsiburadaSku"],
            "importMessages": [{"severity": "INFORMATION", "message": "Product matched"}],
            "matchedHbProductInfo": [
                {
                    "hbSku": listing["hepsiburadaSku"],
                    "productName": attrs.get("UrunAdi"),
                    "brand": attrs.get("Marka"),
                    "images": [attrs[k] for k in sorted(attrs) if k.startswith("Image")],
                }
            ],
        }
    )
    return out


def import_status(request: Request, state: SandboxState, body: bytes) -> Any:
    tracking_id = request.path_params["tracking_id"]
    job = state.imports.get(tracking_id)
    if job is None:
        return envelope(
            None, success=False, code=1004, message=f"trackingId {tracking_id} not found"
        )
    if state.kit.take_fault_count("empty_import_status"):
        return paged([], 0, int_param(request, "size", 1000))
    job["polls"] += 1
    if job["results"] is None:
        pending = job["stuck"] or job["polls"] <= int(state.settings["pending_polls"])
        rows = [_import_row(state, row, pending) for row in job["rows"]]
        if pending:
            page_rows = rows
        else:
            job["results"] = rows
            page_rows = rows
    else:
        page_rows = job["results"]
    page = int_param(request, "page", 0)
    size = int_param(request, "size", 1000)
    return paged(page_rows, page, size)
