"""An in-memory imitation of the Hepsiburada merchant API for tests, the demo and development.

It answers the same paths, auth rules and envelopes as the real service (facts and choices in
:mod:`pazar_hepsiburada.api`): mpop categories / attributes / values / product import and
import status, listing list and the asynchronous stock, price, inventory and shipping-info
uploads with per-row errors inside a 200, and the OMS order side: open line items, packaging,
the package list and the SIT test-order stub (:mod:`pazar_hepsiburada.sandbox_oms`).
Control endpoints under ``/_sandbox/`` (no auth)
seed data, read back what arrived and inject faults.  Everything is deterministic: ids come
from counters, an upload finishes after a fixed number of status polls.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pazar.clock import parse_instant
from pazar_hepsiburada import api
from pazar_hepsiburada.sandbox_oms import (
    OmsBook,
    OmsError,
    line_view,
    parse_oms_date,
    sit_order,
)

DEFAULT_MERCHANT_ID = "4e1d1a2b-7c3f-4b8e-9a61-5d2f0c9e8b17"
DEFAULT_PASSWORD = "Sbx4Pazar2Ky"  # a service key: 12 alphanumeric characters
DEFAULT_USER_AGENT = "pazar_dev"

SEED_KEYS = ("credentials", "settings", "categories", "attributes", "values", "listings")
FAULT_KINDS = ("http_error", "rate_limit", "timeout", "malformed", "success_false")


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- the default catalog -------------------------------------------------------------------
def _attr(
    id_: str, name: str, *, mandatory: bool = False, type_: str = "string", multi: bool = False
) -> dict[str, Any]:
    return {"id": id_, "name": name, "mandatory": mandatory, "type": type_, "multiValue": multi}


BASE_ATTRIBUTES: list[dict[str, Any]] = [
    _attr("merchantSku", "Satıcı Stok Kodu", mandatory=True),
    _attr("VaryantGroupID", "Varyant Grup Id"),
    _attr("Barcode", "Barkod", mandatory=True),
    _attr("UrunAdi", "Ürün Adı", mandatory=True),
    _attr("UrunAciklamasi", "Ürün Açıklaması", mandatory=True),
    _attr("Marka", "Marka", mandatory=True),
    _attr("GarantiSuresi", "Garanti Süresi (Ay)", mandatory=True),
    _attr("kg", "Desi", mandatory=True),
    _attr("tax_vat_rate", "KDV", mandatory=True),
    _attr("price", "Fiyat"),
    _attr("stock", "Stok"),
    _attr("Image1", "Görsel1", mandatory=True),
    *(_attr(f"Image{n}", f"Görsel{n}") for n in range(2, 6)),
]

_COLOURS = ["Siyah", "Beyaz", "Kırmızı", "Mavi", "Yeşil", "Gri", "Lacivert", "Bej"]
_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
_MATERIALS = ["Pamuk", "Polyester", "Keten", "Viskon", "Yün"]
_MUG_SIZES = ["250 ml", "350 ml", "500 ml"]


def _values(prefix: str, names: list[str]) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i + 1}", "value": name} for i, name in enumerate(names)]


def default_catalog() -> dict[str, Any]:
    """A small category tree with attributes and values, so a fresh sandbox is usable."""
    categories = [
        {"categoryId": 2147, "name": "Moda", "parentCategoryId": None, "leaf": False},
        {"categoryId": 21471, "name": "Giyim", "parentCategoryId": 2147, "leaf": False},
        {"categoryId": 60001001, "name": "Tişört", "parentCategoryId": 21471},
        {"categoryId": 60001002, "name": "Elbise", "parentCategoryId": 21471},
        {"categoryId": 60001003, "name": "Sweatshirt", "parentCategoryId": 21471},
        {"categoryId": 21472, "name": "Ayakkabı", "parentCategoryId": 2147, "leaf": False},
        {"categoryId": 60002001, "name": "Sneaker", "parentCategoryId": 21472},
        {"categoryId": 3000, "name": "Ev & Yaşam", "parentCategoryId": None, "leaf": False},
        {"categoryId": 60003001, "name": "Kupa", "parentCategoryId": 3000},
        {
            "categoryId": 60003002,
            "name": "Eski Kategori",
            "parentCategoryId": 3000,
            "available": False,
            "status": "ARCHIVED",
        },
    ]
    clothing = {
        "baseAttributes": BASE_ATTRIBUTES,
        "attributes": [
            _attr("materyal", "Materyal", type_="enum"),
            _attr("yaka_tipi", "Yaka Tipi", type_="enum"),
        ],
        "variantAttributes": [
            _attr("renk_variant_property", "Renk", mandatory=True, type_="enum"),
            _attr("ebatlar_variant_property", "Beden", mandatory=True, type_="enum"),
        ],
    }
    mug = {
        "baseAttributes": BASE_ATTRIBUTES,
        "attributes": [_attr("materyal", "Materyal", type_="enum")],
        "variantAttributes": [
            _attr("renk_variant_property", "Renk", mandatory=True, type_="enum"),
            _attr("hacim_variant_property", "Hacim", type_="enum"),
        ],
    }
    attributes = {
        "60001001": clothing,
        "60001002": clothing,
        "60001003": clothing,
        "60002001": clothing,
        "60003001": mug,
    }
    values = {
        "renk_variant_property": _values("renk", _COLOURS),
        "ebatlar_variant_property": _values("beden", _SIZES),
        "materyal": _values("materyal", _MATERIALS),
        "yaka_tipi": _values("yaka", ["Bisiklet Yaka", "V Yaka", "Polo Yaka"]),
        "hacim_variant_property": _values("hacim", _MUG_SIZES),
    }
    return {"categories": categories, "attributes": attributes, "values": values}


def _as_bool(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip().lower() in ("1", "true", "yes")


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _Reply(
            JSONResponse({"message": f"{name} must be an integer"}, status_code=400)
        ) from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_tr_number(value: Any) -> float | None:
    """``"130,50"`` (the import file's comma decimal) or a number → float."""
    if _is_number(value):
        return float(value)
    if isinstance(value, str) and value.strip():
        try:
            return float(
                value.strip().replace(".", "").replace(",", ".") if "," in value else value
            )
        except ValueError:
            return None
    return None


class _Reply(Exception):
    """Raised inside a handler to answer at once (auth failures, bad parameters)."""

    def __init__(self, response: Response) -> None:
        super().__init__("reply")
        self.response = response


def _envelope(
    data: Any, *, success: bool = True, code: int = 0, message: str | None = None
) -> dict:
    return {"success": success, "code": code, "version": 1, "message": message, "data": data}


def _paged(rows: list[Any], page: int, size: int) -> dict[str, Any]:
    size = max(1, size)
    total = len(rows)
    pages = (total + size - 1) // size
    chunk = rows[page * size : (page + 1) * size]
    body = _envelope(chunk)
    body.update(
        {
            "totalElements": total,
            "totalPages": pages,
            "number": page,
            "numberOfElements": len(chunk),
            "first": page == 0,
            "last": page + 1 >= pages,
        }
    )
    return body


LISTING_DEFAULTS: dict[str, Any] = {
    "price": 0,
    "availableStock": 0,
    "dispatchTime": 3,
    "cargoCompany1": "",
    "cargoCompany2": "",
    "cargoCompany3": "",
    "shippingAddressLabel": "",
    "shippingProfileName": "",
    "claimAddressLabel": "",
    "maximumPurchasableQuantity": None,
    "minimumPurchasableQuantity": 1,
    "pricings": [],
    "isSalable": True,
    "customizableProperties": [],
    "deactivationReasons": [],
    "isSuspended": False,
    "isLocked": False,
    "lockReasons": [],
    "isFrozen": False,
    "freezeReasons": [],
    "availableWarehouses": [],
    "isFulfilledByHB": False,
    "priceIncreaseDisabled": False,
    "priceDecreaseDisabled": False,
    "stockDecreaseDisabled": False,
    "productId": None,
    "hasVariant": False,
}


def listing_view(listing: Mapping[str, Any]) -> dict[str, Any]:
    """A stored listing in the full shape the listing API answers (reference §3)."""
    out = copy.deepcopy(LISTING_DEFAULTS)
    out["listingId"] = listing["listingId"]
    out["uniqueIdentifier"] = f"{listing['hepsiburadaSku']}-{listing['merchantSku']}"
    out["hepsiburadaSku"] = listing["hepsiburadaSku"]
    out["merchantSku"] = listing["merchantSku"]
    out.update(copy.deepcopy(dict(listing)))
    return out


class SandboxState:
    """Everything the sandbox holds; every access goes through ``lock``."""

    def __init__(self, *, pending_polls: int = 1) -> None:
        self.lock = threading.RLock()
        self._initial_pending_polls = pending_polls
        self.reset()

    # -- state -------------------------------------------------------------------------------
    def reset(self, *, empty: bool = False) -> None:
        with self.lock:
            self.credentials = {
                "merchant_id": DEFAULT_MERCHANT_ID,
                "password": DEFAULT_PASSWORD,
                "user_agent": DEFAULT_USER_AGENT,
            }
            self.settings: dict[str, Any] = {
                "pending_polls": self._initial_pending_polls,
                "accept_unknown_skus": False,
                "max_pending_uploads": 0,
                "max_upload_rows": api.MAX_UPLOAD_ROWS,
                # The OMS's "now" (ISO), for tests on an injected clock; null: the real time.
                "now": None,
            }
            self.categories: dict[int, dict[str, Any]] = {}
            self.attributes: dict[str, dict[str, list[dict[str, Any]]]] = {}
            self.values: dict[str, list[dict[str, Any]]] = {}
            self.listings: dict[str, dict[str, Any]] = {}
            self.by_hb_sku: dict[str, str] = {}
            self.uploads: dict[str, dict[str, Any]] = {}
            self.imports: dict[str, dict[str, Any]] = {}
            self.faults: dict[str, Any] = {}
            self.requests: deque[dict[str, Any]] = deque(maxlen=2000)
            self.oms = OmsBook(lambda: self.credentials["merchant_id"], self.oms_now)
            self._counter = 0
            self._hb_counter = 0
            self.correlation = 0
            if not empty:
                self.seed(default_catalog())

    def oms_now(self) -> datetime:
        fixed = self.settings.get("now")
        return parse_instant(fixed) if fixed else datetime.now(UTC)

    def _next_id(self) -> str:
        self._counter += 1
        n = self._counter
        return f"{n:08x}-5a4d-4b0c-8000-{n:012x}"

    def _next_hb_sku(self) -> str:
        self._hb_counter += 1
        return f"HBCV{self._hb_counter:09d}"

    def seed(self, doc: Mapping[str, Any]) -> dict[str, int]:
        """Add or replace credentials, settings, categories, attributes, values, listings.

        Everything is checked before anything changes, so a bad document changes nothing.
        """
        if not isinstance(doc, Mapping):
            raise ValueError("seed body must be a JSON object")
        unknown = sorted(set(doc) - set(SEED_KEYS))
        if unknown:
            raise ValueError(
                f"unknown seed key {', '.join(unknown)}; one of {', '.join(SEED_KEYS)}"
            )
        creds = dict(doc.get("credentials") or {})
        settings = dict(doc.get("settings") or {})
        with self.lock:
            for key in settings:
                if key not in self.settings:
                    raise ValueError(f"unknown setting {key!r}; one of {', '.join(self.settings)}")
            if settings.get("now"):
                parse_instant(settings["now"])
            categories = [self._category(raw) for raw in doc.get("categories") or []]
            attributes = {
                str(cid): {
                    g: [dict(a) for a in groups.get(g) or []]
                    for g in ("baseAttributes", "attributes", "variantAttributes")
                }
                for cid, groups in (doc.get("attributes") or {}).items()
            }
            values = {
                str(k): [dict(r) for r in rows] for k, rows in (doc.get("values") or {}).items()
            }
            listings = list(doc.get("listings") or [])
            for raw in listings:
                if not isinstance(raw, Mapping) or not raw.get("merchantSku"):
                    raise ValueError("each listing needs merchantSku")
            for key in ("merchant_id", "password", "user_agent"):
                if creds.get(key):
                    self.credentials[key] = str(creds[key])
            self.settings.update(settings)
            self.categories.update((c["categoryId"], c) for c in categories)
            self._fill_paths()
            self.attributes.update(attributes)
            self.values.update(values)
            for raw in listings:
                self.add_listing(raw)
            return {
                "categories": len(self.categories),
                "listings": len(self.listings),
                "attribute_sets": len(self.attributes),
            }

    @staticmethod
    def _category(raw: Mapping[str, Any]) -> dict[str, Any]:
        if "categoryId" not in raw or "name" not in raw:
            raise ValueError("each category needs categoryId and name")
        return {
            "categoryId": int(raw["categoryId"]),
            "name": raw["name"],
            "displayName": raw.get("displayName", raw["name"]),
            "parentCategoryId": raw.get("parentCategoryId"),
            "paths": list(raw.get("paths") or []),
            "leaf": bool(raw.get("leaf", True)),
            "status": raw.get("status", "ACTIVE"),
            "type": raw.get("type", "HB"),
            "sortId": raw.get("sortId", 0),
            "merge": bool(raw.get("merge", False)),
            "available": bool(raw.get("available", True)),
            "productTypes": list(raw.get("productTypes") or []),
        }

    def _fill_paths(self) -> None:
        for cat in self.categories.values():
            if cat["paths"]:
                continue
            names, seen, node = [], set(), cat
            while node is not None and node["categoryId"] not in seen:
                seen.add(node["categoryId"])
                names.append(node["name"])
                node = self.categories.get(node["parentCategoryId"])
            cat["paths"] = list(reversed(names))

    def _listing(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Store a listing compactly (only what was given); :func:`listing_view` fills the
        rest, so a 100,000-listing bench does not hold 30 fields per SKU."""
        if not raw.get("merchantSku"):
            raise ValueError("each listing needs merchantSku")
        listing = {k: v for k, v in raw.items() if v is not None}
        listing["merchantSku"] = str(raw["merchantSku"])
        listing["hepsiburadaSku"] = raw.get("hepsiburadaSku") or self._next_hb_sku()
        listing.setdefault("listingId", self._next_id())
        return listing

    def add_listing(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        listing = self._listing(raw)
        old = self.listings.get(listing["merchantSku"])
        if old is not None:
            self.by_hb_sku.pop(old["hepsiburadaSku"], None)
        self.listings[listing["merchantSku"]] = listing
        self.by_hb_sku[listing["hepsiburadaSku"]] = listing["merchantSku"]
        return listing

    def channel_config(self, url: str) -> dict[str, Any]:
        """The connection keys of a Hepsiburada channel config that this sandbox, served at
        ``url``, accepts (merge into the rest of the channel's config)."""
        with self.lock:
            return {
                "base_url": url,
                "oms_url": url,
                "listing_url": url,
                "username": self.credentials["merchant_id"],
                "password": self.credentials["password"],
                "merchant_id": self.credentials["merchant_id"],
                "user_agent": self.credentials["user_agent"],
            }

    def info(self) -> dict[str, Any]:
        """What ``pazar sandbox`` prints: the credentials it accepts and where things are."""
        with self.lock:
            return {
                "credentials": dict(self.credentials),
                "config": {
                    "username": self.credentials["merchant_id"],
                    "password": self.credentials["password"],
                    "merchant_id": self.credentials["merchant_id"],
                    "user_agent": self.credentials["user_agent"],
                },
                "hosts": "base_url, oms_url and listing_url all point at the sandbox's base URL",
                "control": [
                    "GET /_sandbox/info",
                    "POST /_sandbox/reset",
                    "POST /_sandbox/seed",
                    "GET /_sandbox/received?kind=stock",
                    "GET|POST /_sandbox/listings",
                    "GET|POST|DELETE /_sandbox/faults",
                    "GET /_sandbox/requests",
                    "POST /_sandbox/orders",
                    "GET /_sandbox/orders",
                    "POST /_sandbox/orders/cancel",
                ],
                "settings": dict(self.settings),
            }

    # -- faults ------------------------------------------------------------------------------
    def set_faults(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        allowed = {
            *FAULT_KINDS,
            "latency_ms",
            "rate_window",
            "stuck_uploads",
            "failed_uploads",
            "price_bands",
            "reject_rows",
            "import_rejections",
        }
        unknown = sorted(set(doc) - allowed)
        if unknown:
            raise ValueError(
                f"unknown fault {', '.join(unknown)}; one of {', '.join(sorted(allowed))}"
            )
        for key, value in doc.items():
            if key in (*FAULT_KINDS, "rate_window", "price_bands", "import_rejections"):
                if value is not None and not isinstance(value, Mapping):
                    raise ValueError(f"fault {key} must be an object")
            elif key == "reject_rows":
                if value is not None and not isinstance(value, list):
                    raise ValueError("fault reject_rows must be a list of {kind, sku, message}")
            elif value is not None and not isinstance(value, (int, float)):
                raise ValueError(f"fault {key} must be a number")
        with self.lock:
            for key, value in doc.items():
                if value is None:
                    self.faults.pop(key, None)
                elif key in FAULT_KINDS:
                    self.faults[key] = {"count": 1, **value}
                else:
                    self.faults[key] = copy.deepcopy(value)
            return copy.deepcopy(self.faults)

    def take_fault(self, kind: str, path: str) -> dict[str, Any] | None:
        """The fault to apply to this request, spending one of its ``count``."""
        with self.lock:
            fault = self.faults.get(kind)
            if not fault or int(fault.get("count", 0)) <= 0:
                return None
            match = fault.get("path")
            if match and match not in path:
                return None
            fault["count"] = int(fault["count"]) - 1
            return dict(fault)

    def take_fault_count(self, key: str) -> bool:
        """Spend one of an integer fault counter (``stuck_uploads``)."""
        with self.lock:
            left = int(self.faults.get(key) or 0)
            if left <= 0:
                return False
            self.faults[key] = left - 1
            return True

    # -- auth --------------------------------------------------------------------------------
    def check_auth(self, request: Request, service: str) -> None:
        header = request.headers.get("authorization", "")
        user = password = None
        if header[:6].lower() == "basic ":
            try:
                user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = None
        ua = request.headers.get("user-agent")
        creds = self.credentials
        if not header:
            raise _Reply(_unauthorized(service, api.LISTING_401_TEXT))
        if user != creds["merchant_id"] or password != creds["password"]:
            raise _Reply(_unauthorized(service, "Invalid Credentials!"))
        if ua != creds["user_agent"]:
            raise _Reply(
                _unauthorized(
                    service, "User-Agent is missing or is not the integrator name registered"
                )
            )

    def check_merchant(self, merchant_id: str, service: str) -> None:
        if merchant_id != self.credentials["merchant_id"]:
            message = "merchant id in the path does not belong to these credentials"
            if service == "listing":
                raise _Reply(PlainTextResponse(message, status_code=403))
            raise _Reply(
                JSONResponse(_envelope(None, success=False, code=403, message=message), 403)
            )


def _unauthorized(service: str, message: str) -> Response:
    status = api.UA_REJECT_STATUS
    if service == "listing":
        return PlainTextResponse(message, status_code=status)
    if service == "oms":
        return Response(b"", status_code=status, media_type="application/json")
    return JSONResponse(_envelope(None, success=False, code=status, message=message), status)


def _service(path: str) -> str:
    if path.startswith(api.MPOP_PREFIX):
        return "mpop"
    if path.startswith("/listings"):
        return "listing"
    return "oms"


Handler = Callable[[Request, "SandboxState", bytes], Any]


def _api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap an API handler with auth, faults and the request log."""

    async def endpoint(request: Request) -> Response:
        state: SandboxState = request.app.state.sandbox
        path = request.url.path
        service = _service(path)
        response = await _faulted_or_handled(request, state, service, handler)
        with state.lock:
            state.requests.append(
                {
                    "method": request.method,
                    "path": path,
                    "query": request.url.query,
                    "status": response.status_code,
                }
            )
            state.correlation += 1
            response.headers["x-correlation-id"] = f"sbx-{state.correlation:08d}"
            window = state.faults.get("rate_window")
            if window and response.status_code != 429:
                # A request window like OMS announces it: the counter starts again after the
                # answer that says 0 remain (the sandbox assumes the client waited the reset).
                limit = max(1, int(window.get("limit", 1000)))
                used = int(window.get("used", 0)) + 1
                window["used"] = 0 if used >= limit else used
                response.headers[api.HEADER_RL_LIMIT] = str(limit)
                response.headers[api.HEADER_RL_REMAINING] = str(limit - used)
                response.headers[api.HEADER_RL_RESET] = str(window.get("reset", 1))
        return response

    return endpoint


async def _faulted_or_handled(
    request: Request, state: SandboxState, service: str, handler: Handler
) -> Response:
    path = request.url.path
    latency = state.faults.get("latency_ms")
    if latency:
        await asyncio.sleep(float(latency) / 1000)
    # A request held back by a timeout fault is answered normally afterwards (the service did
    # the work, the client gave up) and spends no other fault: those belong to later requests.
    timeout = state.take_fault("timeout", path)
    if timeout:
        await asyncio.sleep(float(timeout.get("seconds", 1.0)))
    error = None if timeout else state.take_fault("http_error", path)
    if error:
        return _error_response(error)
    limited = None if timeout else state.take_fault("rate_limit", path)
    if limited:
        retry_after = limited.get("retry_after", 1)
        headers = {
            api.HEADER_RL_LIMIT: str(limited.get("limit", 1000)),
            api.HEADER_RL_REMAINING: "0",
            api.HEADER_RL_RESET: str(retry_after),
        }
        if limited.get("retry_after_header", True):
            headers[api.HEADER_RETRY_AFTER] = str(retry_after)
        return JSONResponse("TooManyRequest", status_code=429, headers=headers)
    try:
        with state.lock:
            state.check_auth(request, service)
        body = await request.body()
        with state.lock:
            result = handler(request, state, body)
    except _Reply as reply:
        return reply.response
    response = result if isinstance(result, Response) else JSONResponse(result)
    if 200 <= response.status_code < 300 and not timeout:
        if state.take_fault("malformed", path):
            return Response(b'{"success": tru', status_code=200, media_type="application/json")
        broken = state.take_fault("success_false", path)
        if broken:
            return JSONResponse(
                _envelope(
                    None,
                    success=False,
                    code=int(broken.get("code", 9999)),
                    message=broken.get("message", "Sandbox failure"),
                )
            )
    return response


def _error_response(fault: Mapping[str, Any]) -> Response:
    """An error in one of the service's shapes: ``body`` text | empty | string | json."""
    status = int(fault.get("status", 500))
    message = str(fault.get("message", "Internal Server Error"))
    shape = fault.get("body", "text")
    if shape == "empty":
        return Response(b"", status_code=status, media_type="application/json")
    if shape == "string":
        return JSONResponse(message, status_code=status)
    if shape == "json":
        return JSONResponse({"statusCode": status, "code": str(status), "message": message}, status)
    return PlainTextResponse(message, status_code=status)


def _bad_request(message: str, service: str = "listing") -> _Reply:
    if service == "mpop":
        return _Reply(JSONResponse(_envelope(None, success=False, code=400, message=message), 400))
    return _Reply(JSONResponse({"message": message}, status_code=400))


# --- mpop -----------------------------------------------------------------------------------
def _categories(request: Request, state: SandboxState, body: bytes) -> Any:
    q = request.query_params
    leaf, available = _as_bool(q.get("leaf")), _as_bool(q.get("available"))
    status, type_ = q.get("status"), q.get("type")
    rows = [
        c
        for _, c in sorted(state.categories.items())
        if (leaf is None or c["leaf"] == leaf)
        and (available is None or c["available"] == available)
        and (not status or c["status"] == status.upper())
        and (not type_ or c["type"] == type_.upper())
    ]
    page = _int_param(request, "page", 0)
    size = min(_int_param(request, "size", 1000), api.MPOP_MAX_PAGE_SIZE)
    return _paged(rows, page, size)


def _category_or_reply(state: SandboxState, raw_id: str) -> dict[str, Any]:
    try:
        category = state.categories.get(int(raw_id))
    except ValueError:
        category = None
    if category is None:
        raise _Reply(
            JSONResponse(
                _envelope(
                    None,
                    success=False,
                    code=api.CODE_CATEGORY_NOT_FOUND,
                    message=f"Category {raw_id} not found",
                )
            )
        )
    if not category["leaf"] or not category["available"]:
        raise _Reply(
            JSONResponse(
                _envelope(
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


def _attributes(request: Request, state: SandboxState, body: bytes) -> Any:
    category = _category_or_reply(state, request.path_params["category_id"])
    return _envelope(copy.deepcopy(_attributes_of(state, category["categoryId"])))


def _values_of(state: SandboxState, category_id: int, attribute_id: str) -> list[dict[str, Any]]:
    specific = state.values.get(f"{category_id}/{attribute_id}")
    return specific if specific is not None else state.values.get(attribute_id, [])


def _attribute_values(request: Request, state: SandboxState, body: bytes) -> Any:
    category = _category_or_reply(state, request.path_params["category_id"])
    attribute_id = request.path_params["attribute_id"]
    groups = _attributes_of(state, category["categoryId"])
    known = {a["id"]: a for g in groups.values() for a in g}
    if attribute_id not in known:
        return _envelope(
            None, success=False, code=1005, message=f"Attribute {attribute_id} not found"
        )
    rows = _values_of(state, category["categoryId"], attribute_id)
    page = _int_param(request, "page", 0)
    size = _int_param(request, "size", 1000)
    return _paged(rows, page, size)


def _multipart_file(request: Request, body: bytes) -> bytes:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise _bad_request("product import expects multipart/form-data with a 'file' part", "mpop")
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == api.IMPORT_FILE_FIELD:
            return part.get_payload(decode=True) or b""
    raise _bad_request("multipart body has no 'file' part", "mpop")


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
        price = _parse_tr_number(attrs["price"])
        if price is None or price <= 0:
            problems.append(
                {"attributeName": "price", "message": "price must be a positive amount"}
            )
    return sku, problems


def _import(request: Request, state: SandboxState, body: bytes) -> Any:
    content = _multipart_file(request, body)
    try:
        products = json.loads(content)
    except ValueError:
        return _envelope(None, success=False, code=400, message="file is not valid JSON")
    if not isinstance(products, list):
        return _envelope(None, success=False, code=400, message="file must hold a JSON array")
    tracking_id = state._next_id()
    rejections = state.faults.get("import_rejections") or {}
    rows, seen = [], set()
    for n, product in enumerate(products):
        sku, problems = _check_product(state, product, seen)
        if sku and sku in rejections and not problems:
            problems.append({"attributeName": "", "message": str(rejections[sku])})
        rows.append({"n": n, "sku": sku, "product": product, "problems": problems})
    state.imports[tracking_id] = {
        "trackingId": tracking_id,
        "createdAt": _now_iso(),
        "polls": 0,
        "stuck": bool(state.take_fault_count("stuck_uploads")),
        "rows": rows,
        "results": None,
    }
    return _envelope({"trackingId": tracking_id})


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
                "price": _parse_tr_number(attrs.get("price")) or 0,
                "availableStock": int(_parse_tr_number(attrs.get("stock")) or 0),
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


def _import_status(request: Request, state: SandboxState, body: bytes) -> Any:
    tracking_id = request.path_params["tracking_id"]
    job = state.imports.get(tracking_id)
    if job is None:
        return _envelope(
            None, success=False, code=1004, message=f"trackingId {tracking_id} not found"
        )
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
    page = _int_param(request, "page", 0)
    size = _int_param(request, "size", 1000)
    return _paged(page_rows, page, size)


# --- listing --------------------------------------------------------------------------------
def _listing_path(request: Request, state: SandboxState) -> None:
    if request.path_params["casing"] != "merchantid":
        raise _bad_request("path must use /merchantid/ (lower case)")
    state.check_merchant(request.path_params["merchant_id"], "listing")


def _listings(request: Request, state: SandboxState, body: bytes) -> Any:
    _listing_path(request, state)
    q = request.query_params
    offset = _int_param(request, "offset", 0)
    limit = _int_param(request, "limit", api.LISTING_DEFAULT_LIMIT)
    rows = list(state.listings.values())
    if q.get("merchantSkuList"):
        wanted = [s for s in q["merchantSkuList"].split(",") if s]
        if len(wanted) > api.MAX_LISTING_SKU_FILTER:
            raise _bad_request(f"merchantSkuList accepts at most {api.MAX_LISTING_SKU_FILTER} SKUs")
        rows = [state.listings[s] for s in wanted if s in state.listings]
    if q.get("hbSkuList"):
        wanted_hb = set(q["hbSkuList"].split(","))
        rows = [r for r in rows if r["hepsiburadaSku"] in wanted_hb]
    salable = _as_bool(q.get("salable-listings"))
    if salable:
        rows = [r for r in rows if r.get("isSalable", True)]
    if _as_bool(q.get("notsalable-listings")):
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
        raise _Reply(PlainTextResponse("Not Found", status_code=404))
    return kind


def _upload(request: Request, state: SandboxState, body: bytes) -> Any:
    _listing_path(request, state)
    kind = _upload_kind(request)
    try:
        rows = json.loads(body)
    except ValueError:
        raise _bad_request("body is not valid JSON") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise _bad_request("body must be a JSON array of objects")
    if not rows:
        raise _bad_request("body must not be empty")
    limit = int(state.settings["max_upload_rows"])
    if len(rows) > limit:
        raise _bad_request(f"an upload may hold at most {limit} items, got {len(rows)}")
    max_pending = int(state.settings["max_pending_uploads"] or 0)
    if max_pending:
        ongoing = sum(1 for u in state.uploads.values() if u["result"] is None)
        if ongoing >= max_pending:
            raise _bad_request(f"too many ongoing/waiting {kind.replace('-', ' ')}")
    upload_id = state._next_id()
    state.uploads[upload_id] = {
        "id": upload_id,
        "kind": kind,
        # The body as sent (compact), parsed again when the upload finishes or is read back.
        "body": bytes(body),
        "total": len(rows),
        "createdAt": _now_iso(),
        "polls": 0,
        "stuck": bool(state.take_fault_count("stuck_uploads")),
        "fail": bool(state.take_fault_count("failed_uploads")),
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
        if not _is_int(stock) or stock < 0:
            errors.append("availableStock must be a non-negative integer")
    elif kind == "stock-uploads":
        errors.append("availableStock is required")
    if "maximumPurchasableQuantity" in row and row["maximumPurchasableQuantity"] is not None:
        mpq = row["maximumPurchasableQuantity"]
        if not _is_int(mpq) or mpq < 1:
            errors.append("maximumPurchasableQuantity must be a positive integer")
    if "price" in row:
        price = row["price"]
        if not _is_number(price) or price <= 0:
            errors.append("price must be a positive number")
        else:
            band = (state.faults.get("price_bands") or {}).get(sku)
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
        if not _is_int(dispatch) or dispatch < 0:
            errors.append("dispatchTime must be a non-negative integer")
    for rule in state.faults.get("reject_rows") or []:
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
        for key, value in row.items():
            if key not in ("merchantSku", "hepsiburadaSku"):
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


def _upload_status(request: Request, state: SandboxState, body: bytes) -> Any:
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


# --- control --------------------------------------------------------------------------------
# --- oms ------------------------------------------------------------------------------------
def _oms(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except OmsError as exc:
        raise _Reply(JSONResponse({"message": exc.message}, status_code=exc.status)) from None


def _merchant_sku_to_hb(state: SandboxState) -> Callable[[str], str]:
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


def _order_lines(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    if "limit" not in request.query_params:
        raise _bad_request("limit is required", "oms")
    limit = _int_param(request, "limit", api.ORDER_LINES_MAX_LIMIT)
    if not 1 <= limit <= api.ORDER_LINES_MAX_LIMIT:
        raise _bad_request(f"limit must be between 1 and {api.ORDER_LINES_MAX_LIMIT}", "oms")
    begin, end = _oms_window(request)
    rows = state.oms.open_lines(begin, end)
    return _oms_page(rows, _int_param(request, "offset", 0), limit, line_view)


def _cancelled_lines(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    q = request.query_params
    if q.get("begindate") or q.get("enddate"):
        raise _bad_request(api.WRONG_DATE_FORMAT, "oms")  # as live probes saw (api.py)
    limit = _int_param(request, "limit", api.CANCELLED_MAX_LIMIT)
    if not 1 <= limit <= api.CANCELLED_MAX_LIMIT:
        raise _bad_request(f"limit must be between 1 and {api.CANCELLED_MAX_LIMIT}", "oms")
    return _oms_page(state.oms.cancelled, _int_param(request, "offset", 0), limit, copy.deepcopy)


def _packages(request: Request, state: SandboxState, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    q = request.query_params
    limit = _int_param(request, "limit", api.PACKAGES_MAX_LIMIT)
    if not 1 <= limit <= api.PACKAGES_MAX_LIMIT:
        raise _bad_request(f"limit must be between 1 and {api.PACKAGES_MAX_LIMIT}", "oms")
    offset = _int_param(request, "Offset", _int_param(request, "offset", 0))
    begin, end = _oms_window(request)
    hours = _int_param(request, "timespan", 0) if q.get("timespan") else None
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
        raise _bad_request("body is not valid JSON", "oms") from None
    if not isinstance(doc, Mapping):
        raise _bad_request("body must be a JSON object", "oms")
    return doc


def _create_package(request: Request, state: SandboxState, body: bytes) -> Any:
    doc = _oms_object(request, state, body)
    return _oms(
        lambda: state.oms.create_package(
            doc.get("lineItemRequests"), cargo_company=doc.get("cargoCompany")
        )
    )


def _test_order(request: Request, state: SandboxState, body: bytes) -> Any:
    order = _oms(lambda: sit_order(_oms_object(request, state, body)))
    _oms(lambda: state.oms.add_orders([order], _merchant_sku_to_hb(state)))
    return JSONResponse(str(order["orderNumber"]))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise _Reply(JSONResponse({"error": "body is not valid JSON"}, status_code=400)) from None


def _control(
    func: Callable[[Request, SandboxState, Any], Any],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state: SandboxState = request.app.state.sandbox
        try:
            doc = await _json_body(request) if request.method in ("POST", "PUT") else None
            result = func(request, state, doc)
        except _Reply as reply:
            return reply.response
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return result if isinstance(result, Response) else JSONResponse(result)

    return endpoint


def _c_info(request: Request, state: SandboxState, doc: Any) -> Any:
    return state.info()


def _c_reset(request: Request, state: SandboxState, doc: Any) -> Any:
    state.reset(empty=bool((doc or {}).get("empty")))
    return {"reset": True, **state.info()}


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
            for change in changes:
                listing = state.listings[change["merchantSku"]]
                listing.update(
                    {
                        k: v
                        for k, v in change.items()
                        if k not in ("merchantSku", "hepsiburadaSku", "listingId")
                    }
                )
            return {"changed": len(changes)}
        return {"listings": [listing_view(r) for r in state.listings.values()]}


def _c_faults(request: Request, state: SandboxState, doc: Any) -> Any:
    if request.method == "DELETE":
        with state.lock:
            state.faults.clear()
        return {}
    if request.method == "POST":
        if not isinstance(doc, Mapping):
            raise ValueError("faults body must be a JSON object")
        return state.set_faults(doc)
    with state.lock:
        return copy.deepcopy(state.faults)


def _c_orders(request: Request, state: SandboxState, doc: Any) -> Any:
    """POST {orders: [...]} adds paid orders (see ``OmsBook.add_orders``); GET lists all."""
    with state.lock:
        if request.method == "POST":
            if not isinstance(doc, Mapping):
                raise ValueError('body must be {"orders": [...]}')
            try:
                return state.oms.add_orders(doc.get("orders"), _merchant_sku_to_hb(state))
            except OmsError as exc:
                raise ValueError(exc.message) from None
        return {
            "lines": copy.deepcopy(list(state.oms.lines.values())),
            "packages": copy.deepcopy(list(state.oms.packages.values())),
            "cancelled": copy.deepcopy(state.oms.cancelled),
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


def _c_requests(request: Request, state: SandboxState, doc: Any) -> Any:
    with state.lock:
        return {"requests": list(state.requests)}


def create_app(*, pending_polls: int = 1) -> Starlette:
    """The sandbox as an ASGI app; its state is ``app.state.sandbox`` (a :class:`SandboxState`).

    ``app.state.sandbox_info()`` gives the credentials it accepts (used by ``pazar sandbox``).
    """
    mpop = api.MPOP_PREFIX
    listing = "/listings/{casing}/{merchant_id}"
    routes = [
        Route(api.CATEGORIES_PATH, _api(_categories), methods=["GET"]),
        Route(f"{mpop}/categories/{{category_id}}/attributes", _api(_attributes), methods=["GET"]),
        Route(
            f"{mpop}/categories/{{category_id}}/attribute/{{attribute_id}}/values",
            _api(_attribute_values),
            methods=["GET"],
        ),
        Route(api.PRODUCT_IMPORT_PATH, _api(_import), methods=["POST"]),
        Route(f"{mpop}/products/status/{{tracking_id}}", _api(_import_status), methods=["GET"]),
        Route(listing, _api(_listings), methods=["GET"]),
        Route(f"{listing}/{{kind}}", _api(_upload), methods=["POST"]),
        Route(f"{listing}/{{kind}}/id/{{upload_id}}", _api(_upload_status), methods=["GET"]),
        Route(api.ORDER_LINES_PATH, _api(_order_lines), methods=["GET"]),
        Route(api.CANCELLED_LINES_PATH, _api(_cancelled_lines), methods=["GET"]),
        Route(api.PACKAGES_PATH, _api(_packages), methods=["GET"]),
        Route(api.PACKAGES_PATH, _api(_create_package), methods=["POST"]),
        Route(api.TEST_ORDER_PATH, _api(_test_order), methods=["POST"]),
        Route("/_sandbox/orders", _control(_c_orders), methods=["GET", "POST"]),
        Route("/_sandbox/orders/cancel", _control(_c_cancel), methods=["POST"]),
        Route("/_sandbox/info", _control(_c_info), methods=["GET"]),
        Route("/_sandbox/reset", _control(_c_reset), methods=["POST"]),
        Route("/_sandbox/seed", _control(_c_seed), methods=["POST"]),
        Route("/_sandbox/received", _control(_c_received), methods=["GET"]),
        Route("/_sandbox/listings", _control(_c_listings), methods=["GET", "POST"]),
        Route("/_sandbox/faults", _control(_c_faults), methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/requests", _control(_c_requests), methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    state = SandboxState(pending_polls=pending_polls)
    app.state.sandbox = state
    app.state.sandbox_info = state.info
    return app
