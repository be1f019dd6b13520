"""What the Fashfed sandbox holds: a category tree with attributes, the seller's products,
bulk uploads that finish after a fixed number of polls, packages and claims.

Everything is deterministic so tests can state exact outcomes: ids come from counters or from
``uuid5`` over names, a bulk upload is decided on its ``pending_polls + 1``-th status poll, and
"now" is the sandbox clock (``POST /_sandbox/seed {"now": ...}``) when one was set.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pazar.plugin import SandboxKit, parse_instant
from pazar_fashfed import api

TOKEN = "sandbox-token"
NAMESPACE = uuid.UUID("6f1d2a70-2c3b-4f45-9d43-5a0f0cfa7e11")

# Fashfed's own faults, next to the kit's (latency, 5xx, 429, timeouts, malformed bodies):
EXTRA_FAULTS: dict[str, Any] = {
    "reject_skus": "object",  # {sku: message}: rows of these SKUs are rejected in any bulk
    "stuck_bulks": "number",  # the next N bulk uploads never finish (stay "processing")
    "failed_bulks": "number",  # the next N bulk uploads fail as a whole
}

# The seed's example root ids (Kadın, Erkek) with a small tree under each.
KADIN = "99ae4410-7631-452c-bfb0-b7d636ea95eb"
ERKEK = "be6e5517-926f-40ad-9476-5c378adaf937"
COLOURS = ["Siyah", "Beyaz", "Kırmızı", "Lacivert"]
SIZES = ["S", "M", "L", "XL"]


def uid(*names: str) -> str:
    """A stable uuid for a sandbox object named by ``names``."""
    return str(uuid.uuid5(NAMESPACE, "/".join(names)))


def default_categories() -> list[dict[str, Any]]:
    tree = [
        (KADIN, "Kadın", None, False),
        (uid("kadin", "giyim"), "Giyim", KADIN, False),
        (uid("kadin", "elbise"), "Elbise", uid("kadin", "giyim"), True),
        (uid("kadin", "tisort"), "Tişört", uid("kadin", "giyim"), True),
        (ERKEK, "Erkek", None, False),
        (uid("erkek", "tisort"), "Tişört", ERKEK, True),
    ]
    return [
        {"id": i, "name": n, "parent": p, "is_leaf": leaf, "is_active": True}
        for i, n, p, leaf in tree
    ]


def default_attributes(category_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": uid(category_id, "renk"),
            "key": "renk",
            "name": "Renk",
            "is_required": True,
            "is_variant": False,
            "is_multiple": False,
            "data_type": "select",
        },
        {
            "id": uid(category_id, "beden"),
            "key": "beden",
            "name": "Beden",
            "is_required": True,
            "is_variant": True,
            "is_multiple": False,
            "data_type": "select",
        },
        {
            "id": uid(category_id, "materyal"),
            "key": "materyal",
            "name": "Materyal",
            "is_required": False,
            "is_variant": False,
            "is_multiple": False,
            "data_type": "text",
        },
    ]


def default_values(attribute: Mapping[str, Any]) -> list[dict[str, Any]]:
    words = {"renk": COLOURS, "beden": SIZES}.get(str(attribute["key"]), [])
    return [{"id": uid(str(attribute["id"]), w), "value": w} for w in words]


class SandboxState:
    """The sandbox's data; every access holds ``lock``."""

    def __init__(self, *, pending_polls: int = 1) -> None:
        self.lock = threading.RLock()
        self.kit = SandboxKit(extra_faults=EXTRA_FAULTS, correlation_prefix="ff")
        self.default_pending_polls = pending_polls
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def reset(self, *, empty: bool = False) -> None:
        with self.lock:
            self.kit.reset()
            self.token = TOKEN
            self.settings: dict[str, Any] = {
                "pending_polls": self.default_pending_polls,
                "accept_unknown_skus": False,
            }
            self.clock: datetime | None = None
            self.categories: dict[str, dict[str, Any]] = {}
            self.attributes: dict[str, list[dict[str, Any]]] = {}
            self.values: dict[str, list[dict[str, Any]]] = {}
            self.products: dict[str, dict[str, Any]] = {}
            self.bulks: dict[str, dict[str, Any]] = {}
            self.packages: dict[str, dict[str, Any]] = {}
            self.claims: dict[str, dict[str, Any]] = {}
            self.package_updates: list[dict[str, Any]] = []  # every Order Update call
            self.seller_cancels: dict[str, int] = {}  # package item → seller cancellations
            self.counter = 0
            if not empty:
                self.add_categories(default_categories())

    def now(self) -> datetime:
        return self.clock or datetime.now(UTC)

    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    def info(self, url: str) -> dict[str, Any]:
        """The channel config that points a Fashfed channel at this sandbox, and its controls."""
        return {
            "config": {"base_url": url, "access_token": self.token},
            "control": [
                f"GET  {url}/_sandbox/received?kind=products|stocks|prices  what arrived",
                f"GET  {url}/_sandbox/products  the seller's products as Fashfed holds them",
                f"POST {url}/_sandbox/packages  {{packages: [...]}} add orders",
                f"POST {url}/_sandbox/claims  {{claims: [...]}} add cancel/refund claims",
                f"POST {url}/_sandbox/packages/NUMBER/move  {{status: shipped|delivered, "
                "tracking_number} Fashfed's carrier moves a package",
                f"POST {url}/_sandbox/seed  {{products, categories, settings, now}}",
                f"POST {url}/_sandbox/faults  latency, http_error, rate_limit, timeout, malformed, "
                "reject_skus, stuck_bulks, failed_bulks",
                f"POST {url}/_sandbox/reset",
            ],
        }

    # -- seeding -----------------------------------------------------------------------------
    def add_categories(self, rows: Any) -> None:
        if not isinstance(rows, list):
            raise ValueError("categories must be a list")
        for row in rows:
            if not isinstance(row, Mapping) or not row.get("id") or not row.get("name"):
                raise ValueError("a category needs an id and a name")
            category = {
                "id": str(row["id"]),
                "name": str(row["name"]),
                "parent": None if row.get("parent") in (None, "") else str(row["parent"]),
                "is_leaf": bool(row.get("is_leaf", False)),
                "is_active": bool(row.get("is_active", True)),
            }
            self.categories[category["id"]] = category
            if category["is_leaf"]:
                attrs = row.get("attributes")
                self.attributes[category["id"]] = (
                    [dict(a) for a in attrs]
                    if isinstance(attrs, list)
                    else default_attributes(category["id"])
                )
                for attr in self.attributes[category["id"]]:
                    given = attr.pop("values", None)
                    self.values[str(attr["id"])] = (
                        [dict(v) for v in given]
                        if isinstance(given, list)
                        else default_values(attr)
                    )

    def seed(self, doc: Any) -> dict[str, Any]:
        if not isinstance(doc, Mapping):
            raise ValueError("seed body must be an object")
        with self.lock:
            if doc.get("now") is not None:
                self.clock = parse_instant(doc["now"])
            settings = doc.get("settings") or {}
            if not isinstance(settings, Mapping) or set(settings) - set(self.settings):
                raise ValueError(f"settings: only {', '.join(sorted(self.settings))}")
            self.settings.update(settings)
            if doc.get("categories") is not None:
                self.add_categories(doc["categories"])
            for row in doc.get("products") or []:
                if not isinstance(row, Mapping) or not row.get("sku"):
                    raise ValueError("a product needs a sku")
                self.products[str(row["sku"])] = {
                    "id": uid("product", str(row["sku"])),
                    "stock": 0,
                    **copy.deepcopy(dict(row)),
                }
            return {"products": len(self.products), "categories": len(self.categories)}

    def add_packages(self, rows: Any) -> dict[str, Any]:
        """Orders waiting for the seller; missing fields get plausible values."""
        if not isinstance(rows, list):
            raise ValueError('body must be {"packages": [...]}')
        for n, row in enumerate(rows):  # all checked before any is added
            if not isinstance(row, Mapping):
                raise ValueError(f"packages[{n}]: a package must be an object")
            if not isinstance(row.get("items"), list) or not row["items"]:
                hint = ' (Fashfed calls them "items", not "lines")' if "lines" in row else ""
                raise ValueError(f"packages[{n}]: items must be a non-empty list{hint}")
            for k, item in enumerate(row["items"]):
                if not isinstance(item, Mapping) or not item.get("sku"):
                    raise ValueError(f"packages[{n}].items[{k}]: a package item needs a sku")
        added = []
        with self.lock:
            for row in rows:
                n = self.next_id()
                number = str(row.get("number") or f"{3000000000000000 + n}")
                when = api.iso(self.now())
                items = []
                for k, item in enumerate(row["items"], start=1):
                    items.append(
                        {
                            "id": f"{number}-{k}",
                            "quantity": 1,
                            "price": "100.00",
                            **copy.deepcopy(dict(item)),
                        }
                    )
                package = {
                    "number": number,
                    "order_number": f"FF{100000 + n}",
                    "status": api.PACKAGE_STATUS["preparing"],
                    "created_at": when,
                    "updated_at": when,
                    "currency": api.DEFAULT_CURRENCY,
                    "shipping_company": {"slug": "yurtici", "name": "Yurtiçi Kargo"},
                    "tracking_number": f"TRK{number[-8:]}",
                    "shipping_address": sample_address(),
                    "billing_address": sample_address(),
                    **copy.deepcopy({k: v for k, v in row.items() if k != "items"}),
                    "items": items,
                }
                if "total_amount" not in row:
                    total = sum(float(i["price"]) * int(i["quantity"]) for i in items)
                    package["total_amount"] = f"{total:.2f}"
                self.packages[number] = package
                added.append(number)
        return {"added": added}

    def add_claims(self, rows: Any) -> dict[str, Any]:
        """Cancel or refund claims on package items."""
        if not isinstance(rows, list):
            raise ValueError('body must be {"claims": [...]}')
        added = []
        with self.lock:
            for row in rows:
                if not isinstance(row, Mapping) or not row.get("package_item"):
                    raise ValueError("a claim needs a package_item ('<package number>-<n>')")
                n = self.next_id()
                when = api.iso(self.now())
                claim = {
                    "id": uid("claim", str(n)),
                    "type": "cancel",
                    "status": "completed",
                    "cancelled_by": api.CANCELLED_BY_CUSTOMER,
                    "reason": {
                        "id": uid("reason", "customer"),
                        "subject": "Customer cancelled",
                        "translations": {"tr": "Müşteri iptal etti"},
                    },
                    "detail": "",
                    "created_at": when,
                    "updated_at": when,
                    **copy.deepcopy(dict(row)),
                }
                if claim.get("type") not in api.CLAIM_TYPES:
                    raise ValueError(f"claim type must be one of {', '.join(api.CLAIM_TYPES)}")
                if claim.get("status") not in api.CLAIM_STATUSES:
                    raise ValueError(f"claim status must be one of {', '.join(api.CLAIM_STATUSES)}")
                self.claims[claim["id"]] = claim
                added.append(claim["id"])
        return {"added": added}


def sample_address() -> dict[str, Any]:
    return {
        "email": "ayse@example.com",
        "phone_number": "05551112233",
        "first_name": "Ayşe",
        "last_name": "Yılmaz",
        "country": "Türkiye",
        "country_code": "TR",
        "city": "İstanbul",
        "township": "Kadıköy",
        "district": "Moda",
        "line": "Moda Cad. 1",
        "postcode": "34710",
    }
