"""An in-memory imitation of the Hepsiburada merchant API for tests, the demo and development.

It answers the same paths, auth rules and envelopes as the real service (facts and choices in
:mod:`pazar_hepsiburada.api`): mpop categories / attributes / values / product import and
import status (:mod:`.sandbox_catalog`), the listing list and the asynchronous stock, price,
inventory and shipping-info uploads with per-row errors inside a 200 (:mod:`.sandbox_listing`),
and the OMS order side: open line items, packaging, the package list and the SIT test-order
stub (:mod:`.sandbox_orders` over :mod:`.sandbox_oms`).  Control endpoints under
``/_sandbox/`` (no auth) seed data, read back what arrived and inject faults (the engine's
``SandboxKit`` plus Hepsiburada's own: ``success_false``, stuck or failed uploads, price bands,
rejected rows and imports).  Everything is deterministic: ids come from counters, an upload
finishes after a fixed number of status polls.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pazar_hepsiburada import api
from pazar_hepsiburada.sandbox_catalog import (
    attribute_values,
    attributes,
    categories,
    import_status,
    product_import,
)
from pazar_hepsiburada.sandbox_claims import accept_claim, claims_by_status, reject_claim
from pazar_hepsiburada.sandbox_listing import listings, upload, upload_status
from pazar_hepsiburada.sandbox_oms import OmsError
from pazar_hepsiburada.sandbox_orders import (
    cancel_by_merchant,
    cancelled_lines,
    create_package,
    merchant_sku_to_hb,
    order_lines,
    package_feed,
    package_info,
    package_op,
    packages,
    test_order,
    unpacked_packages,
)
from pazar_hepsiburada.sandbox_shapes import envelope, listing_view
from pazar_hepsiburada.sandbox_state import SandboxState, service_of

Handler = Callable[[Request, SandboxState, bytes], Any]
Endpoint = Callable[[Request], Awaitable[Response]]


def _success_false(state: SandboxState, path: str) -> Response | None:
    """Hepsiburada's own fault: an error inside a 200 (mpop's ``success: false``)."""
    broken = state.kit.take_fault("success_false", path)
    if not broken:
        return None
    return JSONResponse(
        envelope(
            None,
            success=False,
            code=int(broken.get("code", 9999)),
            message=broken.get("message", "Sandbox failure"),
        )
    )


def _c_info(request: Request, state: SandboxState, doc: Any) -> Any:
    return state.info(str(request.base_url).rstrip("/"))


def _c_reset(request: Request, state: SandboxState, doc: Any) -> Any:
    state.reset(empty=bool((doc or {}).get("empty")))
    return {"reset": True, **state.info(str(request.base_url).rstrip("/"))}


def _c_seed(request: Request, state: SandboxState, doc: Any) -> Any:
    return state.seed(doc)


def _c_received(request: Request, state: SandboxState, doc: Any) -> Any:
    raw_kind = request.query_params.get("kind", "stock-uploads")
    with state.lock:
        if raw_kind in ("products", "product", "imports"):
            batches = [
                {
                    "trackingId": job["trackingId"],
                    "createdAt": job["createdAt"],
                    "done": job["results"] is not None,
                    "rows": [copy.deepcopy(r["product"]) for r in job["rows"]],
                }
                for job in state.imports.values()
            ]
            return {
                "kind": "products",
                "count": sum(len(b["rows"]) for b in batches),
                "batches": batches,
            }
        kind = api.UPLOAD_KIND_ALIASES.get(raw_kind, raw_kind)
        if kind not in api.UPLOAD_KINDS:
            raise ValueError(
                f"unknown kind {raw_kind!r}; one of products, {', '.join(api.UPLOAD_KIND_ALIASES)}"
            )
        batches = [
            {
                "id": u["id"],
                "createdAt": u["createdAt"],
                "status": (u["result"] or {}).get("status", api.UPLOAD_STATUS_PENDING),
                "rows": json.loads(u["body"]),
            }
            for u in state.uploads.values()
            if u["kind"] == kind
        ]
        return {"kind": kind, "count": sum(len(b["rows"]) for b in batches), "batches": batches}


def _c_listings(request: Request, state: SandboxState, doc: Any) -> Any:
    """GET: every listing. POST {listings: [{merchantSku, price?, availableStock?, ...}]}:
    change existing listings on the marketplace side (as a seller would in Hepsiburada's
    panel); only the given fields change, an unknown SKU changes nothing."""
    with state.lock:
        if request.method == "POST":
            changes = doc.get("listings") if isinstance(doc, Mapping) else None
            if not isinstance(changes, list) or not all(isinstance(c, Mapping) for c in changes):
                raise ValueError('body must be {"listings": [{"merchantSku": ..., ...}]}')
            unknown = [
                str(c.get("merchantSku"))
                for c in changes
                if c.get("merchantSku") not in state.listings
            ]
            if unknown:
                raise ValueError(f"no listing for merchantSku {', '.join(unknown)}")
            fixed = ("merchantSku", "hepsiburadaSku", "listingId")
            for change in changes:
                listing = state.listings[change["merchantSku"]]
                listing.update({k: v for k, v in change.items() if k not in fixed})
            return {"changed": len(changes)}
        return {"listings": [listing_view(r) for r in state.listings.values()]}


def _c_orders(request: Request, state: SandboxState, doc: Any) -> Any:
    """POST {orders: [...]} adds paid orders (see ``OmsBook.add_orders``); GET lists all."""
    with state.lock:
        if request.method == "POST":
            if not isinstance(doc, Mapping):
                raise ValueError('body must be {"orders": [...]}')
            try:
                return state.oms.add_orders(doc.get("orders"), merchant_sku_to_hb(state))
            except OmsError as exc:
                raise ValueError(exc.message) from None
        return {
            "lines": copy.deepcopy(list(state.oms.lines.values())),
            "packages": copy.deepcopy(list(state.oms.packages.values())),
            "cancelled": copy.deepcopy(state.oms.cancelled),
            **state.oms.snapshot(),
            "claims": copy.deepcopy(list(state.claims.claims.values())),
        }


def _c_cancel(request: Request, state: SandboxState, doc: Any) -> Any:
    """POST {cancellations: [{lineItemId, reason?, by?, cancelledAt?}]} cancels lines."""
    if not isinstance(doc, Mapping):
        raise ValueError('body must be {"cancellations": [...]}')
    with state.lock:
        try:
            return state.oms.cancel(doc.get("cancellations"))
        except OmsError as exc:
            raise ValueError(exc.message) from None


def _c_carrier(request: Request, state: SandboxState, doc: Any) -> Any:
    """The carrier and the customer act on a package: ``ship`` (HepsiJet picks it up:
    ``{trackingNumber?}``), ``deliver``, ``undeliver`` (``{reason}``), ``break`` (damaged:
    unpacked, its lines back to ``/orders``)."""
    number, act = request.path_params["pn"], request.path_params["act"]
    doc = doc if isinstance(doc, Mapping) else {}
    with state.lock:
        oms = state.oms
        try:
            if act == "ship":
                oms.in_transit(number, doc, by_carrier=True)
            elif act == "deliver":
                oms.deliver(number, doc)
            elif act == "undeliver":
                oms.undeliver(number, {"undeliveredReason": doc.get("reason") or "NotAtHome"})
            elif act == "break":
                oms.unpack(number)
            else:
                raise ValueError(f"unknown act {act!r}; one of ship, deliver, undeliver, break")
        except OmsError as exc:
            raise ValueError(exc.message) from None
        return oms.info(number)


def _c_claims(request: Request, state: SandboxState, doc: Any) -> Any:
    """POST {claims: [{lineItemId, reason?, explanation?, photos?, status?, claimDate?}]}
    opens claims as the customer; GET lists every claim."""
    with state.lock:
        if request.method == "POST":
            if not isinstance(doc, Mapping) or not isinstance(doc.get("claims"), list):
                raise ValueError('body must be {"claims": [...]}')
            try:
                return {"claims": [state.claims.open(c) for c in doc["claims"]]}
            except OmsError as exc:
                raise ValueError(exc.message) from None
        return {"claims": copy.deepcopy(list(state.claims.claims.values()))}


def _c_claim_status(request: Request, state: SandboxState, doc: Any) -> Any:
    """POST {status} moves a claim as Hepsiburada or the customer would (withdrawn:
    ``Cancelled``, refunded: ``Refunded``, ...)."""
    status = (doc or {}).get("status") if isinstance(doc, Mapping) else None
    if status not in api.CLAIM_STATUSES:
        raise ValueError(f"status must be one of {', '.join(api.CLAIM_STATUSES)}")
    with state.lock:
        claim = state.claims.claims.get(request.path_params["claim"])
        if claim is None:
            raise ValueError(f"no claim {request.path_params['claim']!r}")
        claim["status"] = status
        return copy.deepcopy(claim)


def create_app(*, pending_polls: int = 1) -> Starlette:
    """The sandbox as an ASGI app; its state is ``app.state.sandbox`` (a :class:`SandboxState`).

    ``app.state.sandbox_info(url)`` gives the channel config that points at it (used by
    ``pazar sandbox``).
    """
    state = SandboxState(pending_polls=pending_polls)

    def service(handler: Handler) -> Endpoint:
        return state.kit.endpoint(
            lambda request, body: handler(request, state, body),
            lock=state.lock,
            authorize=lambda request: state.check_auth(request, service_of(request.url.path)),
            after_ok=lambda request: _success_false(state, request.url.path),
        )

    def control(func: Callable[[Request, SandboxState, Any], Any]) -> Endpoint:
        return state.kit.control(lambda request, doc: func(request, state, doc))

    mpop = api.MPOP_PREFIX
    listing = "/listings/{casing}/{merchant_id}"
    routes = [
        Route(api.CATEGORIES_PATH, service(categories), methods=["GET"]),
        Route(
            f"{mpop}/categories/{{category_id}}/attributes", service(attributes), methods=["GET"]
        ),
        Route(
            f"{mpop}/categories/{{category_id}}/attribute/{{attribute_id}}/values",
            service(attribute_values),
            methods=["GET"],
        ),
        Route(api.PRODUCT_IMPORT_PATH, service(product_import), methods=["POST"]),
        Route(f"{mpop}/products/status/{{tracking_id}}", service(import_status), methods=["GET"]),
        Route(listing, service(listings), methods=["GET"]),
        Route(f"{listing}/{{kind}}", service(upload), methods=["POST"]),
        Route(f"{listing}/{{kind}}/id/{{upload_id}}", service(upload_status), methods=["GET"]),
        Route(api.TEST_ORDER_PATH, service(test_order), methods=["POST"]),
        # OMS and claims take /merchantid/ and /merchantId/ alike (reference, path casing).
        *(
            Route(path, service(handler), methods=methods)
            for template, handler, methods in (
                (api.ORDER_LINES_PATH, order_lines, ["GET"]),
                (api.CANCELLED_LINES_PATH, cancelled_lines, ["GET"]),
                (api.PACKAGES_PATH, packages, ["GET"]),
                (api.PACKAGES_PATH, create_package, ["POST"]),
                (api.UNPACKED_PATH, unpacked_packages, ["GET"]),
                (api.PACKAGE_PATH, package_info, ["GET"]),
                (api.PACKAGE_PATH + "/{op}", package_op, ["GET", "PUT", "POST"]),
                (api.PACKAGE_FEED_PATH, package_feed, ["GET"]),
                (api.CANCEL_BY_MERCHANT_PATH, cancel_by_merchant, ["POST"]),
                (api.CLAIMS_BY_STATUS_PATH, claims_by_status, ["GET"]),
            )
            for path in dict.fromkeys(
                (
                    template,
                    template.replace("/merchantid/", "/merchantId/"),
                    template.replace("/merchantId/", "/merchantid/"),
                )
            )
        ),
        Route(api.CLAIM_ACCEPT_PATH, service(accept_claim), methods=["POST"]),
        Route(api.CLAIM_REJECT_PATH, service(reject_claim), methods=["POST"]),
        Route("/_sandbox/packages/{pn}/{act}", control(_c_carrier), methods=["POST"]),
        Route("/_sandbox/claims", control(_c_claims), methods=["GET", "POST"]),
        Route("/_sandbox/claims/{claim}/status", control(_c_claim_status), methods=["POST"]),
        Route("/_sandbox/orders", control(_c_orders), methods=["GET", "POST"]),
        Route("/_sandbox/orders/cancel", control(_c_cancel), methods=["POST"]),
        Route("/_sandbox/info", control(_c_info), methods=["GET"]),
        Route("/_sandbox/reset", control(_c_reset), methods=["POST"]),
        Route("/_sandbox/seed", control(_c_seed), methods=["POST"]),
        Route("/_sandbox/received", control(_c_received), methods=["GET"]),
        Route("/_sandbox/listings", control(_c_listings), methods=["GET", "POST"]),
        *state.kit.control_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    app.state.sandbox_info = state.info
    return app
