"""What the Hepsiburada sandbox holds (catalog, listings, uploads, imports, the OMS book),
the credentials it accepts, and how each of Hepsiburada's services refuses a request.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from pazar.plugin import SandboxKit, SandboxReply, parse_instant
from pazar_hepsiburada import api
from pazar_hepsiburada.sandbox_claims import ClaimBook
from pazar_hepsiburada.sandbox_oms import OmsBook
from pazar_hepsiburada.sandbox_shapes import (
    DEFAULT_MERCHANT_ID,
    DEFAULT_PASSWORD,
    DEFAULT_USER_AGENT,
    SEED_KEYS,
    default_catalog,
    envelope,
)

# Hepsiburada's own faults, next to the ones every sandbox has (``pazar.plugin.SandboxKit``).
EXTRA_FAULTS = {
    "success_false": "request",
    "stuck_uploads": "number",
    "failed_uploads": "number",
    "price_bands": "object",
    "reject_rows": "list",
    "import_rejections": "object",
    "empty_import_status": "number",
}


def new_kit() -> SandboxKit:
    """The fault and request-log kit of a Hepsiburada sandbox."""
    return SandboxKit(
        extra_faults=EXTRA_FAULTS,  # type: ignore[arg-type]
        rate_headers=(api.HEADER_RL_LIMIT, api.HEADER_RL_REMAINING, api.HEADER_RL_RESET),
        rate_limit_body="TooManyRequest",
    )


class SandboxState:
    """Everything the sandbox holds; every access goes through ``lock``."""

    def __init__(self, *, pending_polls: int = 1) -> None:
        self.lock = threading.RLock()
        self.kit = new_kit()
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
                # Lines the merchant may cancel a day before the OMS answers 406.
                "cancel_daily_limit": api.CANCEL_DAILY_LIMIT,
            }
            self.categories: dict[int, dict[str, Any]] = {}
            self.attributes: dict[str, dict[str, list[dict[str, Any]]]] = {}
            self.values: dict[str, list[dict[str, Any]]] = {}
            self.listings: dict[str, dict[str, Any]] = {}
            self.by_hb_sku: dict[str, str] = {}
            self.uploads: dict[str, dict[str, Any]] = {}
            self.imports: dict[str, dict[str, Any]] = {}
            self.kit.reset()
            self.oms = OmsBook(lambda: self.credentials["merchant_id"], self.oms_now)
            self.claims = ClaimBook(self.oms, self.oms_now)
            self._counter = 0
            self._hb_counter = 0
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
            self.oms.cancel_daily_limit = int(self.settings["cancel_daily_limit"])
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

    def info(self, url: str | None = None) -> dict[str, Any]:
        """What ``pazar sandbox`` prints: the channel config that points at this sandbox
        (served at ``url``), the credentials it accepts, its control endpoints."""
        with self.lock:
            config = self.channel_config(url or "<sandbox url>")
            return {
                "credentials": dict(self.credentials),
                "config": config if url else {k: v for k, v in config.items() if "url" not in k},
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
                    "POST /_sandbox/packages/{packageNumber}/ship|deliver|undeliver|break",
                    "GET|POST /_sandbox/claims",
                ],
                "settings": dict(self.settings),
            }

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
            raise SandboxReply(unauthorized(service, api.LISTING_401_TEXT))
        if user != creds["merchant_id"] or password != creds["password"]:
            raise SandboxReply(unauthorized(service, "Invalid Credentials!"))
        if ua != creds["user_agent"]:
            raise SandboxReply(
                unauthorized(
                    service, "User-Agent is missing or is not the integrator name registered"
                )
            )

    def check_merchant(self, merchant_id: str, service: str) -> None:
        if merchant_id != self.credentials["merchant_id"]:
            message = "merchant id in the path does not belong to these credentials"
            if service == "listing":
                raise SandboxReply(PlainTextResponse(message, status_code=403))
            raise SandboxReply(
                JSONResponse(envelope(None, success=False, code=403, message=message), 403)
            )


def unauthorized(service: str, message: str) -> Response:
    status = api.UA_REJECT_STATUS
    if service == "listing":
        return PlainTextResponse(message, status_code=status)
    if service == "oms":
        return Response(b"", status_code=status, media_type="application/json")
    return JSONResponse(envelope(None, success=False, code=status, message=message), status)


def service_of(path: str) -> str:
    if path.startswith(api.MPOP_PREFIX):
        return "mpop"
    if path.startswith("/listings"):
        return "listing"
    return "oms"
