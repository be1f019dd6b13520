"""The Hepsiburada sandbox's order service (OMS) endpoints over its order book
(:mod:`pazar_hepsiburada.sandbox_oms`)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from pazar.plugin import SandboxReply
from pazar_hepsiburada import api
from pazar_hepsiburada.sandbox_oms import OmsError, line_view, parse_oms_date, sit_order
from pazar_hepsiburada.sandbox_shapes import (
    bad_request,
    int_param,
)
from pazar_hepsiburada.sandbox_state import SandboxState


def _oms(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except OmsError as exc:
        raise SandboxReply(JSONResponse({"message": exc.message}, status_code=exc.status)) from None


def merchant_sku_to_hb(state: SandboxState) -> Callable[[str], str]:
    def hb_sku(merchant_sku: str) -> str:
        listing = state.listings.get(merchant_sku)
        return str(listing["hepsiburadaSku"]) if listing else f"HBV{merchant_sku}"

    return hb_sku


def _oms_window(request: Request) -> tuple[Any, Any]:
    q = request.query_params
    return _oms(
        lambda: (
            parse_oms_date(q.get("begindate"), "begindate"),
            parse_oms_date(q.get("enddate"), "enddate"),
        )
    )


def _oms_page(
    rows: list[Any], offset: int, limit: int, view: Callable[[Any], Any]
) -> dict[str, Any]:
    """One page of an OMS list in its envelope (``items`` and the paging counts)."""
    return {
        "items": [view(row) for row in rows[offset : offset + limit]],
        "totalCount": len(rows),
        "limit": limit,
        "offset": offset,
        "pageCount": (len(rows) + limit - 1) // limit,
    }


def order_lines(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    if "limit" not in request.query_params:
        raise bad_request("limit is required", "oms")
    limit = int_param(request, "limit", api.ORDER_LINES_MAX_LIMIT)
    if not 1 <= limit <= api.ORDER_LINES_MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {api.ORDER_LINES_MAX_LIMIT}", "oms")
    begin, end = _oms_window(request)
    rows = state.oms.open_lines(begin, end)
    return _oms_page(rows, int_param(request, "offset", 0), limit, line_view)


def cancelled_lines(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    q = request.query_params
    if q.get("begindate") or q.get("enddate"):
        raise bad_request(api.WRONG_DATE_FORMAT, "oms")  # as live probes saw (api.py)
    limit = int_param(request, "limit", api.CANCELLED_MAX_LIMIT)
    if not 1 <= limit <= api.CANCELLED_MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {api.CANCELLED_MAX_LIMIT}", "oms")
    return _oms_page(state.oms.cancelled, int_param(request, "offset", 0), limit, copy.deepcopy)


def packages(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    q = request.query_params
    limit = int_param(request, "limit", api.PACKAGES_MAX_LIMIT)
    if not 1 <= limit <= api.PACKAGES_MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {api.PACKAGES_MAX_LIMIT}", "oms")
    offset = int_param(request, "Offset", int_param(request, "offset", 0))
    begin, end = _oms_window(request)
    hours = int_param(request, "timespan", 0) if q.get("timespan") else None
    rows = _oms(lambda: state.oms.packages_between(begin, end, hours))
    return JSONResponse(
        copy.deepcopy(rows[offset : offset + limit]),
        headers={api.HEADER_TOTAL_COUNT: str(len(rows))},
    )


def _oms_object(request: Request, state: SandboxState, body: bytes) -> Mapping[str, Any]:
    """The JSON object an OMS POST carries, after the merchant check."""
    state.check_merchant(request.path_params["merchant_id"], "oms")
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        raise bad_request("body is not valid JSON", "oms") from None
    if not isinstance(doc, Mapping):
        raise bad_request("body must be a JSON object", "oms")
    return doc


def create_package(request: Request, state: SandboxState, body: bytes) -> Any:
    doc = _oms_object(request, state, body)
    return _oms(
        lambda: state.oms.create_package(
            doc.get("lineItemRequests"), cargo_company=doc.get("cargoCompany")
        )
    )


def test_order(request: Request, state: SandboxState, body: bytes) -> Any:
    order = _oms(lambda: sit_order(_oms_object(request, state, body)))
    _oms(lambda: state.oms.add_orders([order], merchant_sku_to_hb(state)))
    return JSONResponse(str(order["orderNumber"]))
