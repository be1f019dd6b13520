"""An in-memory imitation of Fashfed's seller API (Akinon Seller Center, i2) for tests, the
demo and development.

Paths, fields and the auth rule come from :mod:`pazar_fashfed.api` — the client's own facts,
documented and assumed — so the sandbox follows every correction made there.  It answers like
a Django-REST service: page-number paging with absolute ``next`` URLs, ``{"detail": ...}`` on
401/404, per-field lists on 400.  Control endpoints under ``/_sandbox/`` (no auth) seed data,
add packages and claims, read back what arrived and inject faults (the engine's ``SandboxKit``
plus ``reject_skus``, ``stuck_bulks`` and ``failed_bulks``).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pazar.plugin import SandboxReply, parse_instant
from pazar_fashfed import api, sandbox_orders
from pazar_fashfed.sandbox_bulk import BulkRefused, bulk_view, create_bulk, poll_bulk
from pazar_fashfed.sandbox_orders import Refused
from pazar_fashfed.sandbox_state import SandboxState

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, SandboxState, bytes], Any]


def _reply(status: int, body: Any) -> SandboxReply:
    return SandboxReply(JSONResponse(body, status_code=status))


def _not_found() -> SandboxReply:
    return _reply(404, {"detail": "Not found."})


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _reply(404 if name == api.PAGE_PARAM else 400, {"detail": "Invalid page."}) from None
    if value < 1:
        raise _reply(404, {"detail": "Invalid page."})
    return value


def paged(request: Request, rows: list[Any]) -> dict[str, Any]:
    """One page as Django-REST's page-number paging answers it (``limit`` capped)."""
    page = _int_param(request, api.PAGE_PARAM, 1)
    limit = min(_int_param(request, api.LIMIT_PARAM, api.DEFAULT_LIMIT), api.MAX_LIMIT)
    start = (page - 1) * limit
    if start >= len(rows) and page != 1:
        raise _reply(404, {"detail": "Invalid page."})
    more = start + limit < len(rows)
    return {
        "count": len(rows),
        "next": str(request.url.include_query_params(page=page + 1)) if more else None,
        "previous": str(request.url.include_query_params(page=page - 1)) if page > 1 else None,
        "results": copy.deepcopy(rows[start : start + limit]),
    }


def _dates(request: Request, rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows matching the ``created_at`` / ``updated_at`` lookups of the query."""
    tests = []
    for field in ("created_at", "updated_at"):
        for lookup in ("gt", "gte", "lt", "lte"):
            raw = request.query_params.get(f"{field}__{lookup}")
            if raw is None:
                continue
            try:
                bound = parse_instant(raw)
            except ValueError:
                raise _reply(400, {f"{field}__{lookup}": ["Enter a valid date/time."]}) from None
            tests.append((field, lookup, bound))
    out = []
    for row in rows:
        keep = True
        for field, lookup, bound in tests:
            when = parse_instant(row[field])
            keep = (
                keep
                and {
                    "gt": when > bound,
                    "gte": when >= bound,
                    "lt": when < bound,
                    "lte": when <= bound,
                }[lookup]
            )
        if keep:
            out.append(row)
    return out


# -- catalog ---------------------------------------------------------------------------------
def category_tree(request: Request, state: SandboxState, body: bytes) -> Any:
    root = request.path_params["category_id"]
    if root not in state.categories:
        raise _not_found()
    rows, stack = [], [root]
    while stack:
        current = stack.pop(0)
        rows.append(state.categories[current])
        stack += [c["id"] for c in state.categories.values() if c["parent"] == current]
    return paged(request, rows)


def category_attributes(request: Request, state: SandboxState, body: bytes) -> Any:
    category = request.path_params["category_id"]
    if category not in state.categories:
        raise _not_found()
    return paged(request, state.attributes.get(category, []))


def attribute_values(request: Request, state: SandboxState, body: bytes) -> Any:
    category, attribute = request.path_params["category_id"], request.path_params["attribute_id"]
    if not any(a["id"] == attribute for a in state.attributes.get(category, [])):
        raise _not_found()
    return paged(request, state.values.get(attribute, []))


def product_view(row: Mapping[str, Any], now: str) -> dict[str, Any]:
    """A product as PRD102 documents it (``api.PRODUCT_FIELDS``): the price and stock the
    sandbox keeps to check uploads are not part of it, as they are not on Fashfed's answer."""
    view = {key: copy.deepcopy(row.get(key)) for key in api.PRODUCT_FIELDS}
    view["attributes"] = view["attributes"] or {}
    view["images"], view["videos"] = view["images"] or [], view["videos"] or []
    view["created_at"] = view["created_at"] or now
    view["updated_at"] = view["updated_at"] or view["created_at"]
    return view


def products(request: Request, state: SandboxState, body: bytes) -> Any:
    rows = list(state.products.values())
    wanted = request.query_params.get("sku")
    if wanted is not None:
        rows = [r for r in rows if r["sku"] == wanted]
    now = api.iso(state.now())
    return paged(request, [product_view(r, now) for r in rows])


# -- bulk uploads ----------------------------------------------------------------------------
def _json(body: bytes) -> Any:
    import json

    try:
        return json.loads(body or b"null")
    except ValueError:
        raise _reply(400, {"detail": "JSON parse error."}) from None


def bulk(request: Request, state: SandboxState, body: bytes) -> Any:
    kind = request.path_params["kind"]
    if kind not in api.BULK_KINDS:
        raise _not_found()
    try:
        return JSONResponse(create_bulk(state, kind, _json(body)), status_code=202)
    except BulkRefused as exc:
        raise _reply(400, {"non_field_errors": [str(exc)]}) from None


def _bulk_of(request: Request, state: SandboxState) -> dict[str, Any]:
    found = state.bulks.get(request.path_params["bulk_id"])
    if found is None or found["kind"] != request.path_params["kind"]:
        raise _not_found()
    return found


def bulk_status(request: Request, state: SandboxState, body: bytes) -> Any:
    return poll_bulk(state, _bulk_of(request, state))


def bulk_errors(request: Request, state: SandboxState, body: bytes) -> Any:
    return paged(request, _bulk_of(request, state)["errors"])


# -- orders ----------------------------------------------------------------------------------
def packages(request: Request, state: SandboxState, body: bytes) -> Any:
    rows: list[Mapping[str, Any]] = list(state.packages.values())
    status = request.query_params.get("status")
    if status is not None:
        rows = [r for r in rows if str(r["status"]) == status]
    number = request.query_params.get("number")
    if number is not None:
        rows = [r for r in rows if r["number"] == number]
    return paged(request, sorted(_dates(request, rows), key=lambda r: r["created_at"]))


def package_label(request: Request, state: SandboxState, body: bytes) -> Any:
    number = request.path_params["number"]
    if number not in state.packages:
        raise _not_found()
    pdf = b"%PDF-1.4\n% Fashfed sandbox cargo label " + number.encode() + b"\n%%EOF\n"
    return Response(pdf, media_type=api.LABEL_CONTENT_TYPE)


def claims(request: Request, state: SandboxState, body: bytes) -> Any:
    rows: list[Mapping[str, Any]] = list(state.claims.values())
    q = request.query_params
    if q.get("type"):
        rows = [r for r in rows if r["type"] == q["type"]]
    if q.get("status"):
        rows = [r for r in rows if r["status"] == q["status"]]
    if q.get("status__in"):
        rows = [r for r in rows if r["status"] in q["status__in"].split(",")]
    if q.get("cancelled_by"):
        rows = [r for r in rows if str(r.get("cancelled_by")) == q["cancelled_by"]]
    return paged(request, sorted(_dates(request, rows), key=lambda r: r["updated_at"]))


def _answer(call: Callable[[], Any], created: bool = False) -> Any:
    try:
        body = call()
    except Refused as exc:
        raise _reply(exc.status, exc.body) from None
    return JSONResponse(body, status_code=201) if created else body


def claims_or_cancel(request: Request, state: SandboxState, body: bytes) -> Any:
    if request.method == "POST":
        return _answer(lambda: sandbox_orders.cancel_by_seller(state, _json(body)), created=True)
    return claims(request, state, body)


def package_status(request: Request, state: SandboxState, body: bytes) -> Any:
    number = request.path_params["number"]
    return _answer(lambda: sandbox_orders.update_status(state, number, _json(body)))


def package_split(request: Request, state: SandboxState, body: bytes) -> Any:
    number = request.path_params["number"]
    return _answer(lambda: sandbox_orders.split(state, number, _json(body)))


def claim_detail(request: Request, state: SandboxState, body: bytes) -> Any:
    return _answer(lambda: sandbox_orders.claim_view(state, request.path_params["claim_id"]))


def claim_decision(decision: str) -> Handler:
    def handler(request: Request, state: SandboxState, body: bytes) -> Any:
        claim_id = request.path_params["claim_id"]
        return _answer(lambda: sandbox_orders.decide(state, claim_id, decision, _json(body)))

    return handler


# -- control ---------------------------------------------------------------------------------
def _c_received(request: Request, state: SandboxState, doc: Any) -> Any:
    kind = request.query_params.get("kind", "stocks")
    if kind not in api.BULK_KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(api.BULK_KINDS)}")
    with state.lock:
        bulks = [
            {**bulk_view(b), "rows": copy.deepcopy(b["rows"]), "errors": copy.deepcopy(b["errors"])}
            for b in state.bulks.values()
            if b["kind"] == kind
        ]
    return {"kind": kind, "count": sum(len(b["rows"]) for b in bulks), "bulks": bulks}


def _c_products(request: Request, state: SandboxState, doc: Any) -> Any:
    with state.lock:
        return {"products": copy.deepcopy(list(state.products.values()))}


def _c_packages(request: Request, state: SandboxState, doc: Any) -> Any:
    if request.method == "POST":
        return state.add_packages((doc or {}).get("packages"))
    with state.lock:
        return {
            "packages": copy.deepcopy(list(state.packages.values())),
            "updates": copy.deepcopy(state.package_updates),
            "seller_cancels": dict(state.seller_cancels),
        }


def _c_move(request: Request, state: SandboxState, doc: Any) -> Any:
    with state.lock:
        try:
            return sandbox_orders.move(state, request.path_params["number"], doc)
        except Refused as exc:
            raise ValueError(str(exc.body.get("detail") or exc.body)) from None


def _c_claims(request: Request, state: SandboxState, doc: Any) -> Any:
    if request.method == "POST":
        return state.add_claims((doc or {}).get("claims"))
    with state.lock:
        return {"claims": copy.deepcopy(list(state.claims.values()))}


def create_app(*, pending_polls: int = 1) -> Starlette:
    """The sandbox as an ASGI app; its state is ``app.state.sandbox`` (a :class:`SandboxState`);
    ``app.state.sandbox_info(url)`` is what ``pazar sandbox fashfed`` prints."""
    state = SandboxState(pending_polls=pending_polls)

    def authorize(request: Request) -> None:
        given = request.headers.get(api.AUTH_HEADER)
        if not given:
            raise _reply(401, {"detail": "Authentication credentials were not provided."})
        if given != api.authorization(state.token):
            raise _reply(401, {"detail": "Invalid token.", "code": "authentication_failed"})

    def service(handler: Handler) -> Endpoint:
        return state.kit.endpoint(
            lambda request, body: handler(request, state, body),
            lock=state.lock,
            authorize=authorize,
        )

    def control(func: Callable[[Request, SandboxState, Any], Any]) -> Endpoint:
        return state.kit.control(lambda request, doc: func(request, state, doc))

    def info(request: Request, state: SandboxState, doc: Any) -> Any:
        return state.info(str(request.base_url).rstrip("/"))

    def reset(request: Request, state: SandboxState, doc: Any) -> Any:
        state.reset(empty=bool((doc or {}).get("empty")))
        return {"reset": True}

    routes = [
        Route(api.CATEGORY_TREE_PATH, service(category_tree), methods=["GET"]),
        Route(api.CATEGORY_ATTRIBUTES_PATH, service(category_attributes), methods=["GET"]),
        Route(api.ATTRIBUTE_VALUES_PATH, service(attribute_values), methods=["GET"]),
        Route(api.PRODUCTS_PATH, service(products), methods=["GET"]),
        Route(api.BULK_PATH, service(bulk), methods=["POST"]),
        Route(api.BULK_STATUS_PATH, service(bulk_status), methods=["GET"]),
        Route(api.BULK_ERRORS_PATH, service(bulk_errors), methods=["GET"]),
        Route(api.PACKAGES_PATH, service(packages), methods=["GET"]),
        Route(api.PACKAGE_LABEL_PATH, service(package_label), methods=["GET"]),
        Route(api.CLAIMS_PATH, service(claims_or_cancel), methods=["GET", "POST"]),
        Route(api.CLAIM_PATH, service(claim_detail), methods=["GET"]),
        Route(api.CLAIM_APPROVE_PATH, service(claim_decision("approved")), methods=["POST"]),
        Route(api.CLAIM_REJECT_PATH, service(claim_decision("rejected")), methods=["POST"]),
        Route(api.PACKAGE_STATUS_PATH, service(package_status), methods=["POST"]),
        Route(api.PACKAGE_SPLIT_PATH, service(package_split), methods=["POST"]),
        Route("/_sandbox/info", control(info), methods=["GET"]),
        Route("/_sandbox/reset", control(reset), methods=["POST"]),
        Route("/_sandbox/seed", control(lambda r, s, doc: s.seed(doc)), methods=["POST"]),
        Route("/_sandbox/received", control(_c_received), methods=["GET"]),
        Route("/_sandbox/products", control(_c_products), methods=["GET"]),
        Route("/_sandbox/packages", control(_c_packages), methods=["GET", "POST"]),
        Route("/_sandbox/claims", control(_c_claims), methods=["GET", "POST"]),
        Route("/_sandbox/packages/{number}/move", control(_c_move), methods=["POST"]),
        *state.kit.control_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    app.state.sandbox_info = state.info
    return app
