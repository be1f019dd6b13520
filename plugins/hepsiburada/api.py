"""Hepsiburada API facts shared by the client and the sandbox, and every choice made where
the reference (``reference/hepsiburada-api.md``) is unsure.

Keeping paths, status words and limits here means the client and the sandbox cannot drift
apart, and a corrected fact from the real service is a one-line change.  Each choice names
the sources it follows (TK = live-probe notes, LC = SIT-verified SDK, OAS = official spec).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pazar.plugin import as_utc

# --- mpop (catalog), base = config "base_url" ---------------------------------------------
MPOP_PREFIX: Final = "/product/api"
CATEGORIES_PATH: Final = f"{MPOP_PREFIX}/categories/get-all-categories"
ATTRIBUTES_PATH: Final = MPOP_PREFIX + "/categories/{category_id}/attributes"
ATTRIBUTE_VALUES_PATH: Final = (
    MPOP_PREFIX + "/categories/{category_id}/attribute/{attribute_id}/values"
)
PRODUCT_IMPORT_PATH: Final = f"{MPOP_PREFIX}/products/import"
IMPORT_STATUS_PATH: Final = MPOP_PREFIX + "/products/status/{tracking_id}"

# The ``version`` query parameter per operation, as the OAS defaults give them.
CATEGORIES_VERSION: Final = 1
ATTRIBUTES_VERSION: Final = 2
ATTRIBUTE_VALUES_VERSION: Final = 5
IMPORT_VERSION: Final = 1

# mpop paging: 0-based ``page`` + ``size``; the portal allows up to 2000 per page.
MPOP_MAX_PAGE_SIZE: Final = 2000

# CHOICE: the multipart part name and file name of a product import.  OAS + DOC example
# send one part named ``file`` holding JSON; LC/KS send raw JSON (contradicts the spec).
IMPORT_FILE_FIELD: Final = "file"
IMPORT_FILE_NAME: Final = "integrator.json"

# CHOICE: where the import tracking id sits.  TK says ``data.trackingId``; LC mocks put it at
# the top level.  The sandbox answers ``data.trackingId`` (TK, a live probe); the client
# accepts both.
TRACKING_ID_KEYS: Final = ("trackingId", "trackingID", "id")

# mpop codes seen (TK, LC): 1003 = category is not a leaf.
# CHOICE: 1002 for an unknown category is ours (no source gives a code); clients must key
# on ``success:false`` and show the message, never on the code.
CODE_OK: Final = 0
CODE_CATEGORY_NOT_FOUND: Final = 1002
CODE_CATEGORY_NOT_LEAF: Final = 1003

# --- listing-external, base = config "listing_url" ----------------------------------------
# Listing accepts only lower-case ``merchantid`` in the path (TK, LC); camel case → 400.
LISTINGS_PATH: Final = "/listings/merchantid/{merchant_id}"
UPLOAD_PATH: Final = "/listings/merchantid/{merchant_id}/{kind}"
UPLOAD_STATUS_PATH: Final = "/listings/merchantid/{merchant_id}/{kind}/id/{upload_id}"

UPLOAD_KINDS: Final = (
    "inventory-uploads",
    "stock-uploads",
    "price-uploads",
    "shipping-info-uploads",
)
# What each upload kind sets on a listing (reference: the item fields of each kind); the
# sandbox applies these and nothing else, as a stock upload does not change a price.
_SHIPPING_FIELDS: Final = (
    "fixedShippingPrice",
    "claimAddressLabel",
    "shippingAddressLabel",
    "cargoCompany1",
    "cargoCompany2",
    "cargoCompany3",
    "btCargoCompany",
    "ytCargoCompany",
    "availableWarehouses",
    "shippingProfileName",
)
UPLOAD_FIELDS: Final = {
    "inventory-uploads": (
        "price",
        "availableStock",
        "maximumPurchasableQuantity",
        "customizationTextType",
        "customizationTextLength",
        "hasInstallation",
        *_SHIPPING_FIELDS,
    ),
    "stock-uploads": ("availableStock", "maximumPurchasableQuantity"),
    "price-uploads": ("price",),
    "shipping-info-uploads": ("dispatchTime", *_SHIPPING_FIELDS),
}
# Short names accepted by the sandbox's control endpoints (``?kind=stock``).
UPLOAD_KIND_ALIASES: Final = {
    "inventory": "inventory-uploads",
    "stock": "stock-uploads",
    "price": "price-uploads",
    "shipping-info": "shipping-info-uploads",
    "shipping_info": "shipping-info-uploads",
}

# CHOICE: rows per upload request.  TK + two secondary notes say ≤ 4000; LC caps at 1000 by
# its own choice.  We follow the 4000 figure; the sandbox answers 400 above it.
MAX_UPLOAD_ROWS: Final = 4000
# CHOICE: "≤ 5 uploads pending at once" comes from secondary sources only.  The sandbox can
# enforce it (control setting ``max_pending_uploads``) but does not by default, so a flow that
# sends many batches before it polls still works; the refusal is a 400 with a message, not 429.
MAX_PENDING_UPLOADS_REAL: Final = 5
# The words of those refusals, and of a used-up daily upload allowance (same sources): a 400
# that says "not now", so the job is retried and no SKU of the upload is penalised.
BUSY_WORDS: Final = ("too many ongoing", "exceeds his inventory upload limit")

# ``merchantSkuList`` filter on the listing list: at most 50 SKUs (DOC).
MAX_LISTING_SKU_FILTER: Final = 50
# Listing list paging: ``offset`` + ``limit`` (OAS default limit 10).
LISTING_DEFAULT_LIMIT: Final = 10

# CHOICE: upload status words are unpublished.  TK (live) saw ``Processing``/``Done``/``Failed``;
# LC mocks use ``PROCESSING``/``COMPLETED``/``COMPLETED_WITH_ERRORS``.  The sandbox answers TK's
# words; the client maps every word below case-insensitively and treats unknown words as
# still pending (so a new word delays a batch rather than losing it).
UPLOAD_STATUS_PENDING: Final = "Processing"
UPLOAD_STATUS_DONE: Final = "Done"
UPLOAD_STATUS_FAILED: Final = "Failed"
PENDING_WORDS: Final = frozenset(
    {"processing", "pending", "waiting", "inprogress", "in_progress", "created", "queued"}
)
DONE_WORDS: Final = frozenset(
    {"done", "completed", "completed_with_errors", "completedwitherrors", "success", "finished"}
)
FAILED_WORDS: Final = frozenset({"failed", "error", "cancelled", "canceled"})


def upload_state(status: object) -> str:
    """``"pending"``, ``"done"`` or ``"failed"`` for any status word a service may send."""
    word = str(status or "").strip().lower().replace(" ", "_").replace("-", "_")
    if word in DONE_WORDS:
        return "done"
    if word in FAILED_WORDS:
        return "failed"
    return "pending"


# Import status (mpop): ``importStatus`` SUCCESS | FAILED | PROCESSING (OAS).
IMPORT_PENDING_WORDS: Final = frozenset({"processing", "waiting", "in_external_progress"})

# Per-row business error words seen in upload results (TK): used by the sandbox's rejections.
ERROR_OUT_OF_PRICE_RANGE: Final = "OutOfPriceRange"
ERROR_LISTING_NOT_FOUND: Final = "ListingNotFound"

# --- auth ---------------------------------------------------------------------------------
# Basic auth: username = merchant id (GUID), password = the service key (DOC changelog Jan 2024;
# TK, PY, EO).  The seed's config has both ``username`` and ``merchant_id``; the client sends
# ``username`` and falls back to ``merchant_id`` when it is empty.
# CHOICE: a missing or wrong User-Agent answers 401 (TK, LC) rather than 403 (PY only).
UA_REJECT_STATUS: Final = 401
# 401 bodies differ per service (TK): listing sends ``text/plain`` "Missing Credentials!";
# OMS sends an empty body; for mpop no source shows one, the sandbox sends the mpop envelope.
LISTING_401_TEXT: Final = "Missing Credentials!"

# --- rate limits --------------------------------------------------------------------------
# 429 carries ``Retry-After`` (TK, LC) and OMS adds X-RateLimit-Limit/-Remaining/-Reset (seconds).
HEADER_RETRY_AFTER: Final = "Retry-After"
HEADER_RL_REMAINING: Final = "X-RateLimit-Remaining"
HEADER_RL_RESET: Final = "X-RateLimit-Reset"
HEADER_RL_LIMIT: Final = "X-RateLimit-Limit"

# --- oms-external (orders, packages), base = config "oms_url" -------------------------------
ORDER_LINES_PATH: Final = "/orders/merchantid/{merchant_id}"
PACKAGES_PATH: Final = "/packages/merchantid/{merchant_id}"
# The SIT test-order stub (its own host in SIT; the sandbox serves it on its one base URL).
# Note the camel-case ``merchantId`` the stub uses (DOC, TK, LC).
TEST_ORDER_PATH: Final = "/orders/merchantId/{merchant_id}"

# Open line items: ``offset``/``limit``, limit required, at most 100 (OAS, DOC, UR).
ORDER_LINES_MAX_LIMIT: Final = 100
# Package list: ``limit`` at most 10 (also the default) and a capital-O ``Offset`` (OAS);
# ``begindate``/``enddate`` span at most 24 hours.
PACKAGES_MAX_LIMIT: Final = 10
PACKAGES_MAX_WINDOW_HOURS: Final = 24
# CHOICE: the package list is a bare array with its paging counts in response headers whose
# names no source gives.  The sandbox sends ``X-Total-Count``; the client does not rely on it
# and reads pages until one comes back shorter than the limit.
HEADER_TOTAL_COUNT: Final = "X-Total-Count"

# OMS dates are ``yyyy-MM-dd HH:mm`` in Turkey's local time (UTC+3, no DST since 2016); ISO
# values silently match nothing (DOC, UR, TK).
OMS_DATE_FORMAT: Final = "%Y-%m-%d %H:%M"
TURKEY_UTC_OFFSET_HOURS: Final = 3


def body_instant(moment: datetime) -> str:
    """A date in a fulfilment call's body (``shippedDate``, ``receivedDate``,
    ``undeliveredDate``) as the reference's example writes it: UTC, milliseconds, ``Z``
    (``2020-05-10T11:30:30.230Z``)."""
    utc = as_utc(moment)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# Seed section 9, flag get_orders: packages of the last 12 hours are retrieved on every run.
GET_ORDERS_WINDOW_HOURS: Final = 12

# CHOICE: the reference lists a package row's "shipping/billing address fields" without their
# names.  Packages here carry the line representation's documented objects instead:
# ``shippingAddress`` {addressId, name, address, email, phoneNumber, countryCode, city, town,
# district, postalCode} and ``invoice`` {turkishIdentityNumber, taxNumber, taxOffice,
# address{...same keys}}; the client reads both from one place (``pazar_hepsiburada.orders``).

# Cancelled lines of the last month: ``offset``/``limit`` (at most 50), items
# {cancelDate, cancelReasonCode, cancelledBy, lineItemId, merchantSku, orderNumber, quantity, sku}
# (OAS, DOC).  CHOICE: no dates are sent: live probes (TK) saw ``400 WrongDateFormat`` for any
# date on this path, against the docs; the window is applied to ``cancelDate`` by the client.
CANCELLED_LINES_PATH: Final = "/orders/merchantid/{merchant_id}/cancelled"
CANCELLED_MAX_LIMIT: Final = 50
# Seed section 9, flag get_cancel_orders: cancellations of the last 12 hours, every 5 minutes.
GET_CANCEL_ORDERS_WINDOW_HOURS: Final = 12
WRONG_DATE_FORMAT: Final = "WrongDateFormat"

# --- the rest of the order side (issue 15) --------------------------------------------------
# One package, by number: cargo info, invoice, labels, the merchant's own shipping steps,
# unpack, split, warehouse (OAS, DOC).  ``{pn}`` is the package number.
PACKAGE_PATH: Final = "/packages/merchantid/{merchant_id}/packagenumber/{pn}"
PACKAGE_OPS: Final = (
    "invoice",
    "labels",
    "intransit",
    "deliver",
    "undeliver",
    "unpack",
    "split",
    "warehouse",
)
# The shipped / delivered / undelivered feeds (the last month, offset/limit at most 50,
# PascalCase rows) and the unpacked list (limit at most 10, capital-O ``Offset``).
PACKAGE_FEED_PATH: Final = "/packages/merchantid/{merchant_id}/{feed}"
PACKAGE_FEEDS: Final = ("shipped", "delivered", "undelivered")
FEED_MAX_LIMIT: Final = 50
UNPACKED_PATH: Final = "/packages/merchantid/{merchant_id}/status/unpacked"
UNPACKED_MAX_LIMIT: Final = 10
# CHOICE: live probes (TK) saw ``400 WrongDateFormat`` for any date on the feeds, against the
# docs; the client sends none and applies the window to the row's date itself (as for
# ``/cancelled``).  The unpacked list takes ``timespan`` (hours back), which is sent.
# Seed section 9, flag get_updated_orders: shipped/delivered/undelivered of the last 24 hours.
GET_UPDATED_ORDERS_WINDOW_HOURS: Final = 24
UNPACKED_WINDOW_HOURS: Final = 12

# Cancel a line by the merchant: ``{reasonId}``; 406 past the daily limit, 409 not cancellable.
CANCEL_BY_MERCHANT_PATH: Final = "/lineitems/merchantid/{merchant_id}/id/{line_id}/cancelbymerchant"
CANCEL_DAILY_LIMIT: Final = 100
# The seed's Send Cancellation Reason ID values (80 is not confirmed by any API source).
CANCEL_REASONS: Final = {80: "WrongPrice", 83: "MerchantCanNotBeSupplied"}
# CHOICE: the reference says only ``Open`` lines can be cancelled by the merchant, but pazar
# imports orders from packages, so a seller's partial cancellation is of a packaged line.
# The sandbox accepts a line whose package has not left yet (``Packaged``) and refuses one in
# transit, delivered or cancelled with 409, as the line's ``isCancellable`` suggests.
CANCELLABLE_LINE_STATUSES: Final = ("Open", "Unpacked", "Packaged")

# Cargo labels: ``format`` one of these; mutual barcodes only for HepsiJet and Aras at first
# (DOC); any other carrier answers 400 "Cargo company does not provide mutual barcodes".
# CHOICE: ``/labels`` (OAS) rather than ``/label`` (KS, PY).
LABEL_FORMATS: Final = ("zpl", "base64zpl", "pdf", "png", "jpg")
DEFAULT_LABEL_FORMAT: Final = "pdf"
MUTUAL_BARCODE_CARRIERS: Final = ("hepsijet", "hx", "hj", "aras", "ar")
NO_MUTUAL_BARCODE: Final = "Cargo company does not provide mutual barcodes"

# Claims (returns), on the OMS host: list by status, accept, reject.
CLAIMS_BY_STATUS_PATH: Final = "/claims/merchantId/{merchant_id}/status/{status}"
CLAIM_ACCEPT_PATH: Final = "/claims/number/{claim}/accept"
CLAIM_REJECT_PATH: Final = "/claims/number/{claim}/reject"
CLAIM_STATUSES: Final = (
    "NewRequest",
    "Accepted",
    "AwaitingAction",
    "InDispute",
    "Rejected",
    "Refunded",
    "Cancelled",
    "AwaitingPreApproval",
)
CLAIMS_MAX_LIMIT: Final = 100
# CHOICE: the seed's Order Refund reads claims with the 'Refunded' status, but Approve and
# Reject Refund act on them afterwards, which Hepsiburada allows only while a claim awaits
# the merchant.  Order Refund reads the claims awaiting the merchant (NewRequest and
# AwaitingAction; the flow's ``statuses`` param changes it), so the decisions taken on them
# can be sent.
REFUND_CLAIM_STATUSES: Final = ("NewRequest", "AwaitingAction")
DECIDABLE_CLAIM_STATUSES: Final = ("NewRequest", "AwaitingAction", "InDispute")
WRONG_CLAIM_STATUS: Final = "Wrong Claim Status"
LIMIT_CANNOT_BE_EMPTY: Final = "LimitCannotBeEmpty"

# CHOICE: the seed applies Billing Address Same As Shipping to "micro export orders" only and
# no source says how a package shows it.  A package is micro export when it says so
# (``isMicroExport``) or ships abroad (its shipping address's ``countryCode`` is set and is
# not ``TR``).
DOMESTIC_COUNTRY: Final = "TR"
