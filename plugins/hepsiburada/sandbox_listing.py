"""The Hepsiburada sandbox's listing service: the listing list and the asynchronous uploads,
whose rows are judged when their status is asked (per-row errors inside a 200)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse

from pazar.plugin import SandboxReply
from pazar_hepsiburada import api
from pazar_hepsiburada.sandbox_shapes import (
    as_bool,
    bad_request,
    int_param,
    is_int,
    is_number,
    listing_view,
    now_iso,
)
from pazar_hepsiburada.sandbox_state import SandboxState


def _listing_path(request: Request, state: SandboxState) -> None:
    if request.path_params["casing"] != "merchantid":
        raise bad_request("path must use /merchantid/ (lower case)")
    state.check_merchant(request.path_params["merchant_id"], "listing")


def listings(request: Request, state: SandboxState, body: bytes) -> Any:
    _listing_path(request, state)
    q = request.query_params
    offset = int_param(request, "offset", 0)
    limit = int_param(request, "limit", api.LISTING_DEFAULT_LIMIT)
    rows = list(state.listings.values())
    if q.get("merchantSkuList"):
        wanted = [s for s in q["merchantSkuList"].split(",") if s]
        if len(wanted) > api.MAX_LISTING_SKU_FILTER:
            raise bad_request(f"merchantSkuList accepts at most {api.MAX_LISTING_SKU_FILTER} SKUs")
        rows = [state.listings[s] for s in wanted if s in state.listings]
    if q.get("hbSkuList"):
        wanted_hb = set(q["hbSkuList"].split(","))
        rows = [r for r in rows if r["hepsiburadaSku"] in wanted_hb]
    salable = as_bool(q.get("salable-listings"))
    if salable:
        rows = [r for r in rows if r.get("isSalable", True)]
    if as_bool(q.get("notsalable-listings")):
        rows = [r for r in rows if not r.get("isSalable", True)]
    return {
        "listings": [listing_view(r) for r in rows[offset : offset + limit]],
        "totalCount": len(rows),
        "limit": limit,
        "offset": offset,
    }


def _upload_kind(request: Request) -> str:
    kind = request.path_params["kind"]
    if kind not in api.UPLOAD_KINDS:
        raise SandboxReply(PlainTextResponse("Not Found", status_code=404))
    return kind


def upload(request: Request, state: SandboxState, body: bytes) -> Any:
    _listing_path(request, state)
    kind = _upload_kind(request)
    try:
        rows = json.loads(body)
    except ValueError:
        raise bad_request("body is not valid JSON") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise bad_request("body must be a JSON array of objects")
    if not rows:
        raise bad_request("body must not be empty")
    limit = int(state.settings["max_upload_rows"])
    if len(rows) > limit:
        raise bad_request(f"an upload may hold at most {limit} items, got {len(rows)}")
    max_pending = int(state.settings["max_pending_uploads"] or 0)
    if max_pending:
        ongoing = sum(1 for u in state.uploads.values() if u["result"] is None)
        if ongoing >= max_pending:
            raise bad_request(f"too many ongoing/waiting {kind.replace('-', ' ')}")
    upload_id = state._next_id()
    state.uploads[upload_id] = {
        "id": upload_id,
        "kind": kind,
        # The body as sent (compact), parsed again when the upload finishes or is read back.
        "body": bytes(body),
        "total": len(rows),
        "createdAt": now_iso(),
        "polls": 0,
        "stuck": bool(state.kit.take_fault_count("stuck_uploads")),
        "fail": bool(state.kit.take_fault_count("failed_uploads")),
        "result": None,
    }
    return {"id": upload_id}


def _row_problems(
    state: SandboxState, kind: str, row: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, list[str], dict[str, Any] | None]:
    """(listing, error words, price validation) for one upload row."""
    merchant_sku = row.get("merchantSku")
    hb_sku = row.get("hepsiburadaSku")
    listing = state.listings.get(str(merchant_sku)) if merchant_sku else None
    if listing is None and hb_sku:
        known = state.by_hb_sku.get(str(hb_sku))
        listing = state.listings.get(known) if known else None
    errors: list[str] = []
    validation = None
    if not merchant_sku and not hb_sku:
        return None, ["merchantSku or hepsiburadaSku is required"], None
    if listing is None:
        if state.settings["accept_unknown_skus"] and merchant_sku:
            listing = state.add_listing({"merchantSku": merchant_sku, "hepsiburadaSku": hb_sku})
        else:
            return (
                None,
                [f"{api.ERROR_LISTING_NOT_FOUND}: no listing for {merchant_sku or hb_sku}"],
                None,
            )
    sku = listing["merchantSku"]
    if "availableStock" in row:
        stock = row["availableStock"]
        if not is_int(stock) or stock < 0:
            errors.append("availableStock must be a non-negative integer")
    elif kind == "stock-uploads":
        errors.append("availableStock is required")
    if "maximumPurchasableQuantity" in row and row["maximumPurchasableQuantity"] is not None:
        mpq = row["maximumPurchasableQuantity"]
        if not is_int(mpq) or mpq < 1:
            errors.append("maximumPurchasableQuantity must be a positive integer")
    if "price" in row:
        price = row["price"]
        if not is_number(price) or price <= 0:
            errors.append("price must be a positive number")
        else:
            band = (state.kit.fault("price_bands") or {}).get(sku)
            if band:
                low, high = band.get("min"), band.get("max")
                if (low is not None and price < low) or (high is not None and price > high):
                    lock = "MinLock" if low is not None and price < low else "MaxLock"
                    errors.append(api.ERROR_OUT_OF_PRICE_RANGE)
                    validation = {
                        "type": lock,
                        "minPrice": low,
                        "maxPrice": high,
                        "regulativePriceDetail": None,
                        "description": f"Price {price} is outside the allowed range {low}-{high}",
                    }
    elif kind == "price-uploads":
        errors.append("price is required")
    if kind == "inventory-uploads" and "dispatchTime" in row:
        errors.append(
            "dispatchTime is no longer accepted by inventory-uploads; use shipping-info-uploads"
        )
    if kind == "shipping-info-uploads" and "dispatchTime" in row:
        dispatch = row["dispatchTime"]
        if not is_int(dispatch) or dispatch < 0:
            errors.append("dispatchTime must be a non-negative integer")
    for rule in state.kit.fault("reject_rows") or []:
        if rule.get("kind", "*") in ("*", kind) and rule.get("sku") in (
            sku,
            listing["hepsiburadaSku"],
        ):
            errors.append(str(rule.get("message", "Rejected")))
    return listing, errors, validation


def _finish_upload(state: SandboxState, upload: dict[str, Any]) -> dict[str, Any]:
    kind = upload["kind"]
    errors, validations = [], []
    for n, row in enumerate(json.loads(upload["body"])):
        listing, problems, validation = _row_problems(state, kind, row)
        ident = {
            "elementNo": n,
            "hepsiburadaSku": row.get("hepsiburadaSku") or (listing or {}).get("hepsiburadaSku"),
            "merchantSku": row.get("merchantSku") or (listing or {}).get("merchantSku"),
        }
        if validation:
            validations.append({**ident, **validation})
        if problems:
            errors.append({**ident, "errors": problems})
            continue
        assert listing is not None
        takes = api.UPLOAD_FIELDS.get(kind, ())
        for key, value in row.items():
            if key in takes:
                listing[key] = value
    result: dict[str, Any] = {
        "id": upload["id"],
        "status": api.UPLOAD_STATUS_DONE,
        "createdAt": upload["createdAt"],
        "total": upload["total"],
        "errors": errors,
    }
    if kind == "price-uploads":
        result["priceValidations"] = validations
    return result


def upload_status(request: Request, state: SandboxState, body: bytes) -> Any:
    _listing_path(request, state)
    kind = _upload_kind(request)
    upload = state.uploads.get(request.path_params["upload_id"])
    if upload is None or upload["kind"] != kind:
        return JSONResponse({"message": "upload not found"}, status_code=404)
    upload["polls"] += 1
    if upload["result"] is None:
        if upload["stuck"] or upload["polls"] <= int(state.settings["pending_polls"]):
            return {
                "id": upload["id"],
                "status": api.UPLOAD_STATUS_PENDING,
                "createdAt": upload["createdAt"],
                "total": upload["total"],
                "errors": [],
            }
        if upload["fail"]:
            upload["result"] = {
                "id": upload["id"],
                "status": api.UPLOAD_STATUS_FAILED,
                "createdAt": upload["createdAt"],
                "total": upload["total"],
                "errors": [],
            }
        else:
            upload["result"] = _finish_upload(state, upload)
    return upload["result"]
