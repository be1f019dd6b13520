"""Fashfed (Akinon Seller Center, API generation i2) facts shared by the client and the sandbox.

Fashfed runs on the Akinon Seller Center API.  Its public documentation
(``reference/akinon-api.md`` section 5) covers authentication, paging, products, packages
and claims; everything else a marketplace integration needs (categories and attributes,
price, stock and product uploads, shipping labels) is not published.  This module keeps
both apart: ``DOCUMENTED`` facts name their source, ``ASSUMED`` ones are designed in the
same i2 style and are the first thing to check against a real Fashfed account.  The client
and the sandbox both read this module, so a corrected fact is a one-place change and the
sandbox can never drift from the client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pazar.plugin import as_utc

# =========================================================================================
# DOCUMENTED ([SC:*] = apidocs.akinon.com/seller-center, OpenAPI 3.1.0 v1.0.1)
# =========================================================================================

PREFIX: Final = "/api/i2"

# Paging ([SC:introduction], three pages agree): ``page`` from 1 and ``limit`` (default 10);
# answers ``{count, next, previous, results}``; ``next`` is an absolute URL or null.
PAGE_PARAM: Final = "page"
LIMIT_PARAM: Final = "limit"
DEFAULT_LIMIT: Final = 10
PAGE_KEYS: Final = ("count", "next", "previous", "results")

# Dates are ISO-8601 in UTC with a ``Z`` ([SC:introduction]).
DATE_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"

# PRD102: the seller's products; filters ``sku`` (exact, ``__contains``, ``__icontains``),
# ``name``, ``base_code``, ``category``, ``category__in`` (comma-separated).
# A product is exactly these fields: no price, no stock and no sale status are documented, so
# what pazar reads from Fashfed is which SKUs it has (the listings snapshot of a Fashfed
# channel has SKUs and no price or stock; see docs/fashfed.md).
PRODUCTS_PATH: Final = f"{PREFIX}/products/"
PRODUCT_FIELDS: Final = (
    "id",
    "name",
    "base_code",
    "sku",
    "category",
    "attributes",
    "images",
    "videos",
    "created_at",
    "updated_at",
)

# PKG101: packages (the seller's orders).  Filters: ``number``, ``status`` (integer),
# ``created_at`` / ``updated_at`` with ``__gt``, ``__gte``, ``__lt``, ``__lte``.  A package row
# has ``number``, ``order_number``, ``status`` and the two addresses below.
PACKAGES_PATH: Final = f"{PREFIX}/packages/"
ADDRESS_FIELDS: Final = (
    "email",
    "phone_number",
    "first_name",
    "last_name",
    "country",
    "country_code",
    "city",
    "township",
    "district",
    "line",
    "postcode",
    "company_name",
    "tax_office",
    "tax_no",
    "e_bill_taxpayer",
    "identity_number",
    "notes",
)

# CLM001: claims (cancel and refund requests).  Filters: ``type``, ``cancelled_by`` (1 customer,
# 2 seller), ``status``, ``status__in`` (comma-separated), ``updated_at`` / ``created_at`` with
# ``__gte`` / ``__lte``.  A claim has ``id`` (uuid), ``package_item`` ("<package number>-<n>"),
# ``product`` (the SKU), ``reason`` {id, subject, translations}, ``type``, ``status``, dates.
CLAIMS_PATH: Final = f"{PREFIX}/claims/"
CLAIM_TYPES: Final = ("cancel", "refund")
CLAIM_STATUSES: Final = ("open", "waiting", "approved", "rejected", "completed")
CANCELLED_BY_CUSTOMER: Final = 1
CANCELLED_BY_SELLER: Final = 2

# 401 answers ``{"detail": ...}`` (DRF); 400 answers ``{field: [messages]}``,
# ``{"non_field_errors": [...]}`` or ``{"detail": ...}`` (the Omnitron error shapes of the same
# platform, reference section 1).
AUTH_HEADER: Final = "Authorization"

# Seed section 9: Order Create reads the last 12 hours, Order Cancel the last 12 hours.
GET_ORDERS_WINDOW_HOURS: Final = 12
GET_CANCEL_ORDERS_WINDOW_HOURS: Final = 12

# =========================================================================================
# ASSUMED (not published; designed in the i2 style above — verify against a real account)
# =========================================================================================

# ASSUMED: the i2 examples show the raw key as the ``Authorization`` value (apiKey scheme);
# the older i1 used ``Bearer`` and Omnitron uses ``Token``.  We send the token as it is
# configured, so an account that wants a prefix can have it written into ``access_token``
# (e.g. ``Token abc``); the sandbox accepts exactly the configured value.
AUTH_SCHEME: Final = ""

# ASSUMED: the largest ``limit`` the service accepts (DRF page-number paging usually caps it).
MAX_LIMIT: Final = 100

# ASSUMED: category tree and attributes.  ``tree`` lists a root category and every category
# under it (paged): {id (uuid), name, parent (uuid | null), is_leaf, is_active}.
CATEGORY_TREE_PATH: Final = PREFIX + "/categories/{category_id}/tree/"
# {id (uuid), key (the code a product's ``attributes`` use), name, is_required, is_variant,
# is_multiple, data_type: text | number | boolean | select | multiselect}
CATEGORY_ATTRIBUTES_PATH: Final = PREFIX + "/categories/{category_id}/attributes/"
# {id (uuid), value} for select/multiselect attributes
ATTRIBUTE_VALUES_PATH: Final = (
    PREFIX + "/categories/{category_id}/attributes/{attribute_id}/values/"
)
ENUM_DATA_TYPES: Final = frozenset({"select", "multiselect"})
MULTI_DATA_TYPES: Final = frozenset({"multiselect"})

# ASSUMED: the fields every product carries besides its category attributes (the seed's
# "Default Attributes": remote_id, title, ...).  The documented product shape has ``name``,
# ``base_code``, ``sku``, ``category``, ``attributes``, ``images``; ``description`` is assumed.
# pazar fills ``sku``, ``category``, ``images``, price and stock itself.
DEFAULT_ATTRIBUTES: Final = (
    # (key, name, mandatory)
    ("name", "Product Name", True),
    ("base_code", "Base Code", True),
    ("description", "Description", False),
)
FILLED_BY_PAZAR: Final = ("sku", "category", "images", "price", "retail_price", "stock")

# ASSUMED: uploads.  Products (create or update, by SKU), stocks and prices are sent in bulk
# and processed asynchronously, as Akinon's channel app treats them (check_* commands):
#   POST {PREFIX}/{kind}/bulk/            JSON list of rows → 202 {id, status}
#   GET  {PREFIX}/{kind}/bulk/{id}/       {id, status, total, failed, created_at, updated_at}
#   GET  {PREFIX}/{kind}/bulk/{id}/errors/  paged {sku, code, message} of the rejected rows
BULK_KINDS: Final = ("products", "stocks", "prices")
BULK_PATH: Final = PREFIX + "/{kind}/bulk/"
BULK_STATUS_PATH: Final = PREFIX + "/{kind}/bulk/{bulk_id}/"
BULK_ERRORS_PATH: Final = PREFIX + "/{kind}/bulk/{bulk_id}/errors/"
BULK_MAX_ROWS: Final = 1000
BULK_PENDING: Final = frozenset({"waiting", "processing"})
BULK_DONE: Final = "completed"
BULK_FAILED: Final = "failed"

# Row shapes (ASSUMED): a stock row {sku, stock}; a price row {sku, price, retail_price?,
# currency}; a product row {sku, base_code, name, description?, category, attributes {key: value},
# images [url], price, retail_price?, currency, stock}.
DEFAULT_CURRENCY: Final = "TRY"
# Rejection codes the sandbox uses (ASSUMED; the client shows the message, never keys on them).
CODE_UNKNOWN_SKU: Final = "product_not_found"
CODE_INVALID: Final = "invalid"

# ASSUMED: the integer package statuses.  The documentation shows ``2`` in an example and
# names no values; the seed speaks of Preparing, Shipped, Delivered.
PACKAGE_STATUS: Final = {
    "waiting": 1,
    "preparing": 2,
    "shipped": 3,
    "delivered": 4,
    "cancelled": 5,
}
# CHOICE: Order Create filters ``updated_at__gte`` rather than ``created_at__gte`` (both are
# documented filters): a package that became Preparing late (payment checks) is still read.
PACKAGE_WINDOW_FILTER: Final = "updated_at__gte"
CLAIM_WINDOW_FILTER: Final = "updated_at__gte"

# ASSUMED: the rest of a package row: ``created_at``, ``updated_at``, ``currency``,
# ``total_amount``, ``shipping_company`` {slug, name}, ``tracking_number``, and ``items``
# [{id ("<package number>-<n>", the documented ``package_item`` format), sku, quantity, price}].
# ASSUMED: the cargo label of a package Fashfed ships, a PDF ("a fixed PDF format", seed).
PACKAGE_LABEL_PATH: Final = PREFIX + "/packages/{number}/label/"
LABEL_CONTENT_TYPE: Final = "application/pdf"

# Seed section 9: Updated Orders reads 24 hours back; Order Refund reads the claims still
# awaiting a decision (the seed's "Open" and "Waiting"), since Refund Start Date when set.
GET_UPDATED_ORDERS_WINDOW_HOURS: Final = 24
REFUND_CLAIM_STATUSES: Final = ("open", "waiting")

# ASSUMED: Order Update.  One call per package carries its status and, when known, the
# invoice, tracking and waybill fields the seed's Order Update names (invoice_number,
# invoice_date, e_archive_url; tracking_number, tracking_url, shipped_date; waybill_number):
#   POST {PREFIX}/packages/{number}/status/  {status: <integer>, ...fields} → 200 the package
# The status is the package's integer status (``PACKAGE_STATUS``); a package is never moved
# back (400 ``{"status": [...]}``), and the status it holds may be sent again with new
# fields (an invoice number that came later), so a repeated call is harmless.
PACKAGE_STATUS_PATH: Final = PREFIX + "/packages/{number}/status/"
UPDATE_STATUSES: Final = ("preparing", "shipped", "delivered")  # what Order Update sends
INVOICE_FIELDS: Final = ("invoice_number", "invoice_date", "e_archive_url")
TRACKING_FIELDS: Final = ("tracking_number", "tracking_url", "shipped_date")
WAYBILL_FIELD: Final = "waybill_number"
WAYBILL_STATUSES: Final = ("shipped", "delivered")  # seed: waybill_option applies to these
BACKWARDS_MESSAGE: Final = "Package status cannot be updated retrospectively."

# ASSUMED: one claim (CLM002 is probably its retrieve; not captured) and the decisions on a
# refund claim awaiting one (the seed's "Approves or rejects the created return request"):
#   GET  {PREFIX}/claims/{id}/                                  → the claim
#   POST {PREFIX}/claims/{id}/approve/                          → 200 the claim (approved)
#   POST {PREFIX}/claims/{id}/reject/  {reason, detail}         → 200 the claim (rejected)
# A claim no longer awaiting a decision answers 400 ``{"non_field_errors": [...]}``.
CLAIM_PATH: Final = PREFIX + "/claims/{claim_id}/"
CLAIM_APPROVE_PATH: Final = PREFIX + "/claims/{claim_id}/approve/"
CLAIM_REJECT_PATH: Final = PREFIX + "/claims/{claim_id}/reject/"
DECIDED_STATUS: Final = {"approved": "approved", "rejected": "rejected"}

# ASSUMED: a seller's cancellation (Send Cancel Order Items) is a cancel claim the seller
# creates; claims list it with ``cancelled_by`` 2 (documented) and status completed:
#   POST {PREFIX}/claims/  {type: "cancel", package_item, quantity, reason, detail} → 201 claim
# ``reason`` carries the channel's Send Cancel Reason ID (seed section 2).  A line cancelled
# already answers 400 ``{"package_item": [...]}``.
SELLER_CANCEL_WINDOW_DAYS: Final = 30  # how far back a refused cancel is looked for (lost answer)

# ASSUMED: Split Packages (seed: "forwards split order requests from Omnitron or another OMS
# system to the marketplace"):
#   POST {PREFIX}/packages/{number}/split/  {packages: [{items: [package_item id, ...]}, ...]}
#   → 200 {packages: [{number, items: [...]}, ...]}
# The package keeps the first group's items; every other group, and the items no group names,
# become new packages (new numbers, status Preparing).  A package item keeps its id
# ("<original package number>-<n>") wherever it moves, so claims still name it.  An item not
# in the package answers 400 ``{"packages": [...]}``.
PACKAGE_SPLIT_PATH: Final = PREFIX + "/packages/{number}/split/"


def authorization(token: str) -> str:
    """The ``Authorization`` value for a token (see ``AUTH_SCHEME``)."""
    return f"{AUTH_SCHEME} {token}" if AUTH_SCHEME else token


def iso(moment: datetime) -> str:
    """A date as the i2 API writes it: ISO-8601 in UTC with ``Z``."""
    return as_utc(moment).strftime(DATE_FORMAT)


def package_of(package_item: str) -> str:
    """The package number in a claim's ``package_item`` ("<package number>-<n>")."""
    number, sep, _ = str(package_item).rpartition("-")
    return number if sep else ""
