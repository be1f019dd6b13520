"""The Hepsiburada sandbox's order service (OMS) endpoints over its order book
(:mod:`pazar_hepsiburada.sandbox_oms`)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pazar.plugin import SandboxReply, parse_instant
from pazar_hepsiburada import api
from pazar_hepsiburada.sandbox_oms import OmsError, line_view, parse_oms_date, sit_order
from pazar_hepsiburada.sandbox_shapes import (
    bad_request,
    int_param,
    oms_error,
    required_limit,
)
from pazar_hepsiburada.sandbox_state import SandboxState


def _oms(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except OmsError as exc:
        raise oms_error(exc.status, exc.message) from None


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
    limit = required_limit(request, api.ORDER_LINES_MAX_LIMIT)
    begin, end = _oms_window(request)
    rows = state.oms.open_lines(begin, end)
    return _oms_page(rows, int_param(request, "offset", 0), limit, line_view)


def cancelled_lines(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    q = request.query_params
    if q.get("begindate") or q.get("enddate"):
        raise bad_request(api.WRONG_DATE_FORMAT, "oms")  # as live probes saw (api.py)
    limit = required_limit(request, api.CANCELLED_MAX_LIMIT)
    return _oms_page(state.oms.cancelled, int_param(request, "offset", 0), limit, copy.deepcopy)


def packages(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    q = request.query_params
    limit = required_limit(request, api.PACKAGES_MAX_LIMIT)
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


# -- packages after packing (sandbox_fulfilment) ----------------------------------------------
def _body(body: bytes) -> Mapping[str, Any]:
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        raise bad_request("body is not valid JSON", "oms") from None
    if not isinstance(doc, Mapping):
        raise bad_request("body must be a JSON object", "oms")
    return doc


def package_info(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    return _oms(lambda: state.oms.info(request.path_params["pn"]))


def package_op(request: Request, state: SandboxState, body: bytes) -> Any:
    """``…/packagenumber/{pn}/{op}``: invoice, labels, intransit, deliver, undeliver, unpack,
    split, warehouse, each with its method."""
    state.check_merchant(request.path_params["merchant_id"], "oms")
    pn, op = request.path_params["pn"], request.path_params["op"]
    methods = {
        "invoice": "PUT",
        "labels": "GET",
        "warehouse": "PUT",
        "intransit": "POST",
        "deliver": "POST",
        "undeliver": "POST",
        "unpack": "POST",
        "split": "POST",
    }
    if op not in methods:
        raise oms_error(404, f"no operation {op!r}")
    if request.method != methods[op]:
        raise SandboxReply(JSONResponse({"message": "method not allowed"}, status_code=405))
    oms = state.oms
    if op == "labels":
        return _oms(lambda: oms.labels(pn, request.query_params.get("format")))
    if op == "unpack":
        _oms(lambda: oms.unpack(pn))
        return JSONResponse("Package unpacked")
    doc = _body(body)
    if op == "invoice":
        _oms(lambda: oms.invoice(pn, doc))
        return Response(status_code=204)
    if op == "split":
        return JSONResponse(",".join(_oms(lambda: oms.split(pn, doc))))
    action = {
        "warehouse": oms.warehouse,
        "intransit": oms.in_transit,
        "deliver": oms.deliver,
        "undeliver": oms.undeliver,
    }[op]
    _oms(lambda: action(pn, doc))
    return JSONResponse("OK")


def package_feed(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    feed = request.path_params["feed"]
    if feed not in api.PACKAGE_FEEDS:
        raise oms_error(404, f"no feed {feed!r}")
    q = request.query_params
    if q.get("begindate") or q.get("enddate"):
        raise bad_request(api.WRONG_DATE_FORMAT, "oms")  # as live probes saw (api.py)
    limit = required_limit(request, api.FEED_MAX_LIMIT)
    rows = state.oms.feed(feed)
    return _oms_page(rows, int_param(request, "offset", 0), limit, copy.deepcopy)


def unpacked_packages(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    limit = required_limit(request, api.UNPACKED_MAX_LIMIT)
    offset = int_param(request, "Offset", int_param(request, "offset", 0))
    begin, end = _oms_window(request)
    if request.query_params.get("timespan"):
        end, begin = None, state.oms_now() - timedelta(hours=int_param(request, "timespan", 0))
    rows = [
        row
        for row in state.oms.unpacked
        if (begin is None or parse_instant(row["unpackedDate"]) >= begin)
        and (end is None or parse_instant(row["unpackedDate"]) <= end)
    ]
    return _oms_page(rows, offset, limit, copy.deepcopy)


def cancel_by_merchant(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    doc = _body(body)
    _oms(lambda: state.oms.cancel_by_merchant(request.path_params["line_id"], doc))
    return JSONResponse("OK")
