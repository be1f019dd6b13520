"""The Hepsiburada sandbox's data and answer shapes: the default catalog, envelopes, paging,
the listing view and the number formats the real services use.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from pazar.plugin import SandboxReply

DEFAULT_MERCHANT_ID = "4e1d1a2b-7c3f-4b8e-9a61-5d2f0c9e8b17"
DEFAULT_PASSWORD = "Sbx4Pazar2Ky"  # a service key: 12 alphanumeric characters
DEFAULT_USER_AGENT = "pazar_dev"

SEED_KEYS = ("credentials", "settings", "categories", "attributes", "values", "listings")


def now_iso() -> str:
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


def as_bool(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip().lower() in ("1", "true", "yes")


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SandboxReply(
            JSONResponse({"message": f"{name} must be an integer"}, status_code=400)
        ) from None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_tr_number(value: Any) -> float | None:
    """``"130,50"`` (the import file's comma decimal) or a number → float."""
    if is_number(value):
        return float(value)
    if isinstance(value, str) and value.strip():
        try:
            return float(
                value.strip().replace(".", "").replace(",", ".") if "," in value else value
            )
        except ValueError:
            return None
    return None


def envelope(data: Any, *, success: bool = True, code: int = 0, message: str | None = None) -> dict:
    return {"success": success, "code": code, "version": 1, "message": message, "data": data}


def paged(rows: list[Any], page: int, size: int) -> dict[str, Any]:
    size = max(1, size)
    total = len(rows)
    pages = (total + size - 1) // size
    chunk = rows[page * size : (page + 1) * size]
    body = envelope(chunk)
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


def bad_request(message: str, service: str = "listing") -> SandboxReply:
    """A 400 in the service's shape (mpop: its envelope; listing: ``{message}``; OMS and
    claims, Go services: a bare JSON string, reference section 6)."""
    if service == "mpop":
        return SandboxReply(
            JSONResponse(envelope(None, success=False, code=400, message=message), 400)
        )
    if service == "oms":
        return SandboxReply(JSONResponse(message, status_code=400))
    return SandboxReply(JSONResponse({"message": message}, status_code=400))


def oms_error(status: int, message: str) -> SandboxReply:
    """An OMS refusal as the service words it: a 404 in its old object shape (code 1004),
    anything else a bare JSON string (reference section 6)."""
    if status == 404:
        body: Any = {
            "statusCode": 404,
            "code": "1004",
            "defaultMessage": None,
            "correlationId": str(uuid.uuid4()),
            "message": message,
        }
    else:
        body = message
    return SandboxReply(JSONResponse(body, status_code=status))


def required_limit(request: Request, maximum: int) -> int:
    """An OMS list's ``limit``: required (``LimitCannotBeEmpty``), 1..``maximum``."""
    if not request.query_params.get("limit"):
        raise bad_request("LimitCannotBeEmpty", "oms")
    limit = int_param(request, "limit", maximum)
    if not 1 <= limit <= maximum:
        raise bad_request(f"limit must be between 1 and {maximum}", "oms")
    return limit
