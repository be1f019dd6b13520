"""HTTP client for the Hepsiburada merchant API: catalog (mpop), listing and orders (OMS).

Every client shares the process's pooled ``httpx.Client`` (:mod:`pazar.http_pool`), sending
its channel's credentials and User-Agent with each request, so calls reuse connections across
runs and channels and the number of open sockets stays bounded.
Transport trouble (connection errors, timeouts, 5xx) is retried a bounded number of times with
exponential backoff; 429 answers are waited out (``Retry-After`` / ``X-RateLimit-Reset``) and
retried without counting as a failed attempt, so a rate-limit storm delays records but never
penalises them.  All waiting goes through the injectable ``sleep`` so tests never sleep.
Every error shape of the service becomes :class:`HepsiburadaError` with the marketplace's words.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from pazar.errors import ConfigError
from pazar.http_pool import shared_http_client
from pazar.tls import shared_tls_context
from pazar_hepsiburada import api
from pazar_hepsiburada.errors import HepsiburadaError, excerpt, remote_message_of

log = logging.getLogger(__name__)

REQUIRED_CONFIG = ("base_url", "listing_url", "password", "merchant_id", "user_agent")


@dataclass(frozen=True)
class RowError:
    """One rejected row of an upload, in the marketplace's words."""

    element_no: int | None
    hepsiburada_sku: str | None
    merchant_sku: str | None
    messages: tuple[str, ...]

    @property
    def sku(self) -> str | None:
        return self.merchant_sku or self.hepsiburada_sku

    @property
    def message(self) -> str:
        return "; ".join(self.messages) or "rejected by Hepsiburada"

    def as_error(self) -> HepsiburadaError:
        """The row as the one typed error, e.g. to penalise just this SKU."""
        return HepsiburadaError(
            f"Hepsiburada rejected {self.sku or f'row {self.element_no}'}: {self.message}",
            kind="rejected",
            remote_message=self.message,
            sku=self.sku,
        )


@dataclass(frozen=True)
class UploadStatus:
    """The result of a listing upload (stock, price, inventory, shipping info)."""

    upload_id: str
    kind: str
    status: str
    state: str  # "pending" | "done" | "failed"
    total: int | None
    row_errors: tuple[RowError, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    @property
    def done(self) -> bool:
        return self.state == "done"

    @property
    def failed(self) -> bool:
        return self.state == "failed"

    def rejected(self) -> dict[str, str]:
        """SKU → marketplace message for every rejected row that names a SKU."""
        out: dict[str, str] = {}
        for row in self.row_errors:
            if row.sku:
                out[row.sku] = (
                    row.message if row.sku not in out else f"{out[row.sku]}; {row.message}"
                )
        return out


@dataclass(frozen=True)
class ImportResult:
    """One product of an import: ``state`` is "pending", "accepted" or "rejected"."""

    merchant_sku: str | None
    hb_sku: str | None
    state: str
    product_status: str | None
    import_status: str | None
    message: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


_REJECTED_PRODUCT = frozenset({"rejected", "missing_info", "blocked"})
_PENDING_PRODUCT = frozenset({"waiting", "in_external_progress"})


def _import_result(row: Mapping[str, Any]) -> ImportResult:
    product_status = row.get("productStatus")
    import_status = row.get("importStatus")
    ps = str(product_status or "").lower()
    imp = str(import_status or "").lower()
    messages: list[str] = []
    for item in row.get("validationResults") or []:
        if isinstance(item, Mapping):
            name, text = item.get("attributeName"), item.get("message")
            messages.append(f"{name}: {text}" if name else str(text))
    messages.extend(str(m) for m in row.get("rejectReasonsMessages") or [] if m)
    if not messages:  # import messages repeat the validation results when both are present
        for item in row.get("importMessages") or []:
            if isinstance(item, Mapping) and str(item.get("severity", "")).upper() == "ERROR":
                messages.append(str(item.get("message")))
    if imp == "failed" or ps in _REJECTED_PRODUCT:
        state = "rejected"
    elif imp in api.IMPORT_PENDING_WORDS or ps in _PENDING_PRODUCT or not (imp or ps):
        state = "pending"
    else:
        state = "accepted"
    return ImportResult(
        merchant_sku=row.get("merchantSku"),
        hb_sku=row.get("hbSku") or None,
        state=state,
        product_status=product_status,
        import_status=import_status,
        message="; ".join(m for m in messages if m) or None,
        raw=row,
    )


def _retry_after_seconds(response: httpx.Response, default: float) -> float:
    value = response.headers.get(api.HEADER_RETRY_AFTER)
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    reset = response.headers.get(api.HEADER_RL_RESET)
    if reset:
        try:
            return max(0.0, float(reset))
        except ValueError:
            pass
    return default


class HepsiburadaClient:
    """The merchant API for one channel.  Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        *,
        base_url: str,
        listing_url: str,
        oms_url: str | None = None,
        username: str | None = None,
        password: str,
        merchant_id: str,
        user_agent: str,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_rate_limit_waits: int = 100,
        max_wait: float = 120.0,
        default_retry_after: float = 1.0,
        page_size: int = 1000,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.listing_url = listing_url.rstrip("/")
        self.oms_url = (oms_url or "").rstrip("/")
        self.merchant_id = merchant_id
        self.user_agent = user_agent
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_rate_limit_waits = max_rate_limit_waits
        self.max_wait = max_wait
        self.default_retry_after = default_retry_after
        self.page_size = page_size
        self.sleep = sleep
        # Seconds slept for rate limits and backoff, so callers can report the delay.
        self.waited_rate_limit = 0.0
        self.waited_backoff = 0.0
        self._pending_wait = 0.0
        self._auth = httpx.BasicAuth(username or merchant_id, password)
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        # A transport (tests) gets a client of its own; otherwise the process's shared pool.
        self._owns_http = transport is not None
        self._http = (
            httpx.Client(
                timeout=httpx.Timeout(timeout), verify=shared_tls_context(), transport=transport
            )
            if transport is not None
            else shared_http_client(timeout)
        )

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connections of a client built with its own transport; the shared pool
        stays open for the next client."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> HepsiburadaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never the password
        return f"HepsiburadaClient(merchant_id={self.merchant_id!r}, base_url={self.base_url!r})"

    # -- transport ---------------------------------------------------------------------------
    def _wait(self, seconds: float, *, rate_limit: bool) -> None:
        seconds = min(max(0.0, seconds), self.max_wait)
        if rate_limit:
            self.waited_rate_limit += seconds
        else:
            self.waited_backoff += seconds
        self.sleep(seconds)

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        path = httpx.URL(url).path
        what = f"{method} {path}"
        failures = 0
        waits = 0
        while True:
            if self._pending_wait > 0:
                pending, self._pending_wait = self._pending_wait, 0.0
                self._wait(pending, rate_limit=True)
            started = time.perf_counter()
            try:
                response = self._http.request(
                    method,
                    url,
                    params=params,
                    content=content,
                    files=files,
                    headers={**self._headers, **headers} if headers else self._headers,
                    auth=self._auth,
                )
            except httpx.TimeoutException:
                failures += 1
                problem = "timed out"
            except httpx.TransportError as exc:
                failures += 1
                problem = f"connection failed ({type(exc).__name__})"
            else:
                status = response.status_code
                log.debug(
                    "%s -> %s in %.0f ms", what, status, (time.perf_counter() - started) * 1000
                )
                if status == 429:
                    waits += 1
                    if waits > self.max_rate_limit_waits:
                        raise HepsiburadaError(
                            f"Hepsiburada {what}: still rate limited after {waits - 1} waits",
                            kind="rate_limited",
                            status=429,
                            remote_message=remote_message_of(response.content),
                        )
                    delay = _retry_after_seconds(response, self.default_retry_after)
                    log.info("%s rate limited, waiting %.2f s", what, delay)
                    self._wait(delay, rate_limit=True)
                    continue
                if status >= 500:
                    failures += 1
                    remote = remote_message_of(response.content)
                    problem = f"HTTP {status}" + (f": {remote}" if remote else "")
                    if failures >= self.max_attempts:
                        raise HepsiburadaError(
                            f"Hepsiburada {what} failed after {failures} attempts: {problem}",
                            kind="transport",
                            status=status,
                            remote_message=remote,
                        )
                    self._backoff(failures, what, problem)
                    continue
                self._note_rate_window(response)
                if status >= 400:
                    raise self._http_error(what, response)
                return response
            if failures >= self.max_attempts:
                raise HepsiburadaError(
                    f"Hepsiburada {what} {problem} after {failures} attempts",
                    kind="transport",
                )
            self._backoff(failures, what, problem)

    def _backoff(self, failures: int, what: str, problem: str) -> None:
        delay = min(self.backoff * (2 ** (failures - 1)), self.max_backoff)
        log.info("%s %s, retry %d in %.2f s", what, problem, failures, delay)
        self._wait(delay, rate_limit=False)

    def _note_rate_window(self, response: httpx.Response) -> None:
        """Wait out an exhausted window before the next call instead of provoking a 429."""
        remaining = response.headers.get(api.HEADER_RL_REMAINING)
        if remaining is None:
            return
        try:
            if int(float(remaining)) > 0:
                return
            self._pending_wait = float(response.headers.get(api.HEADER_RL_RESET, "0") or 0)
        except ValueError:
            return

    @staticmethod
    def _http_error(what: str, response: httpx.Response) -> HepsiburadaError:
        status = response.status_code
        remote = remote_message_of(response.content, response.headers.get("content-type", ""))
        kind = "auth" if status in (401, 403) else "rejected"
        text = remote or ("credentials or User-Agent refused" if kind == "auth" else "no message")
        code = None
        try:
            body = response.json()
            if isinstance(body, dict):
                code = body.get("code")
        except ValueError:
            pass
        correlation = response.headers.get("x-correlation-id")
        return HepsiburadaError(
            f"Hepsiburada {what}: HTTP {status}: {text}",
            kind=kind,  # type: ignore[arg-type]
            status=status,
            remote_message=remote,
            code=code,
            details=[f"correlation id: {correlation}"] if correlation else None,
        )

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        what = f"{response.request.method} {response.request.url.path}"
        if not response.content.strip():
            raise HepsiburadaError(
                f"Hepsiburada {what}: empty body where JSON was expected (HTTP {response.status_code})",
                kind="malformed",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            raise HepsiburadaError(
                f"Hepsiburada {what}: malformed JSON (HTTP {response.status_code}): "
                f"{excerpt(response.content, 80)!r}",
                kind="malformed",
                status=response.status_code,
            ) from None

    def _mpop(self, response: httpx.Response) -> Mapping[str, Any]:
        """The mpop envelope, raising on ``success:false`` / non-zero ``code`` inside a 200."""
        body = self._json(response)
        what = f"{response.request.method} {response.request.url.path}"
        if not isinstance(body, dict):
            raise HepsiburadaError(
                f"Hepsiburada {what}: expected the mpop envelope, got {excerpt(json.dumps(body), 80)!r}",
                kind="malformed",
                status=response.status_code,
                remote_message=body if isinstance(body, str) else None,
            )
        code = body.get("code")
        if body.get("success") is False or code not in (None, 0, "0"):
            remote = body.get("message") or body.get("msg") or "no message"
            raise HepsiburadaError(
                f"Hepsiburada {what}: {remote} (code {code})",
                kind="rejected",
                status=response.status_code,
                remote_message=str(remote),
                code=code,
            )
        return body

    def _mpop_pages(
        self, url: str, params: Mapping[str, Any], page_size: int | None
    ) -> Iterator[Mapping[str, Any]]:
        size = min(page_size or self.page_size, api.MPOP_MAX_PAGE_SIZE)
        page = 0
        while True:
            body = self._mpop(
                self._request("GET", url, params={**params, "page": page, "size": size})
            )
            rows = body.get("data") or []
            if not isinstance(rows, list):
                raise HepsiburadaError(
                    f"Hepsiburada GET {httpx.URL(url).path}: 'data' is not a list",
                    kind="malformed",
                )
            yield from rows
            total_pages = body.get("totalPages")
            if not rows or body.get("last") is True:
                return
            if isinstance(total_pages, int) and page + 1 >= total_pages:
                return
            if total_pages is None and body.get("last") is None and len(rows) < size:
                return
            page += 1

    # -- catalog (mpop) ----------------------------------------------------------------------
    def categories(
        self,
        *,
        leaf: bool | None = None,
        status: str | None = None,
        available: bool | None = None,
        type: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Mapping[str, Any]]:
        """Every category matching the filters, page by page (rows as Hepsiburada sends them)."""
        params: dict[str, Any] = {"version": api.CATEGORIES_VERSION}
        for key, value in (
            ("leaf", leaf),
            ("status", status),
            ("available", available),
            ("type", type),
        ):
            if value is not None:
                params[key] = str(value).lower() if isinstance(value, bool) else value
        return self._mpop_pages(self.base_url + api.CATEGORIES_PATH, params, page_size)

    def category_attributes(self, category_id: int | str) -> dict[str, list[Mapping[str, Any]]]:
        """``{"baseAttributes": [...], "attributes": [...], "variantAttributes": [...]}``."""
        url = self.base_url + api.ATTRIBUTES_PATH.format(category_id=category_id)
        body = self._mpop(self._request("GET", url, params={"version": api.ATTRIBUTES_VERSION}))
        data = body.get("data")
        if not isinstance(data, dict):
            raise HepsiburadaError(
                f"Hepsiburada GET {httpx.URL(url).path}: 'data' is not an object",
                kind="malformed",
            )
        return {
            group: list(data.get(group) or [])
            for group in ("baseAttributes", "attributes", "variantAttributes")
        }

    def attribute_values(
        self, category_id: int | str, attribute_id: str, *, page_size: int | None = None
    ) -> Iterator[Mapping[str, Any]]:
        """Values of an enum attribute, page by page; each row gets ``value`` even when the
        service names it ``name`` (the row shape is unpublished)."""
        url = self.base_url + api.ATTRIBUTE_VALUES_PATH.format(
            category_id=category_id, attribute_id=attribute_id
        )
        for row in self._mpop_pages(url, {"version": api.ATTRIBUTE_VALUES_VERSION}, page_size):
            if isinstance(row, dict) and "value" not in row and "name" in row:
                row = {**row, "value": row["name"]}
            yield row

    def import_products(self, products: Sequence[Mapping[str, Any]] | bytes) -> str:
        """Upload products (``[{categoryId, merchant, attributes}]``) as a multipart JSON file;
        returns the tracking id.  ``merchant`` defaults to this channel's merchant id."""
        if isinstance(products, bytes):
            payload = products
        else:
            payload = json.dumps(
                [{**p, "merchant": p.get("merchant") or self.merchant_id} for p in products],
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode()
        url = self.base_url + api.PRODUCT_IMPORT_PATH
        response = self._request(
            "POST",
            url,
            params={"version": api.IMPORT_VERSION},
            files={api.IMPORT_FILE_FIELD: (api.IMPORT_FILE_NAME, payload, "application/json")},
        )
        body = self._mpop(response)
        for holder in (body.get("data"), body):
            if isinstance(holder, dict):
                for key in api.TRACKING_ID_KEYS:
                    if holder.get(key):
                        return str(holder[key])
            elif isinstance(holder, str) and holder:
                return holder
        raise HepsiburadaError(
            "Hepsiburada POST product import: no tracking id in the answer", kind="malformed"
        )

    def iter_import_status(
        self, tracking_id: str, *, page_size: int | None = None
    ) -> Iterator[ImportResult]:
        """Per-product outcome of an import, page by page."""
        url = self.base_url + api.IMPORT_STATUS_PATH.format(tracking_id=tracking_id)
        for row in self._mpop_pages(url, {"version": api.IMPORT_VERSION}, page_size):
            yield _import_result(row)

    # -- listing -----------------------------------------------------------------------------
    def _listing_url(self, template: str, **parts: Any) -> str:
        return self.listing_url + template.format(merchant_id=self.merchant_id, **parts)

    def listings(
        self,
        *,
        merchant_skus: Iterable[str] | None = None,
        hb_skus: Iterable[str] | None = None,
        page_size: int = 500,
        extra: Mapping[str, Any] | None = None,
    ) -> Iterator[Mapping[str, Any]]:
        """The merchant's listings, page by page (``offset``/``limit``)."""
        params: dict[str, Any] = dict(extra or {})
        if merchant_skus is not None:
            skus = list(merchant_skus)
            if len(skus) > api.MAX_LISTING_SKU_FILTER:
                raise ValueError(f"at most {api.MAX_LISTING_SKU_FILTER} merchant SKUs per call")
            params["merchantSkuList"] = ",".join(skus)
        if hb_skus is not None:
            params["hbSkuList"] = ",".join(hb_skus)
        url = self._listing_url(api.LISTINGS_PATH)
        offset = 0
        while True:
            response = self._request(
                "GET", url, params={**params, "offset": offset, "limit": page_size}
            )
            body = self._json(response)
            rows = body.get("listings") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise HepsiburadaError(
                    f"Hepsiburada GET {httpx.URL(url).path}: no 'listings' list in the answer",
                    kind="malformed",
                )
            yield from rows
            offset += len(rows)
            total = body.get("totalCount")
            if not rows or (isinstance(total, int) and offset >= total):
                return

    def upload(self, kind: str, rows: Sequence[Mapping[str, Any]] | bytes) -> str:
        """POST one listing upload (a bare JSON array); returns the upload id.

        ``rows`` may be pre-encoded JSON bytes (a flow that renders payloads once)."""
        kind = api.UPLOAD_KIND_ALIASES.get(kind, kind)
        if kind not in api.UPLOAD_KINDS:
            raise ValueError(f"unknown upload kind {kind!r}; one of {', '.join(api.UPLOAD_KINDS)}")
        if isinstance(rows, bytes):
            payload = rows
        else:
            if len(rows) > api.MAX_UPLOAD_ROWS:
                raise ValueError(f"at most {api.MAX_UPLOAD_ROWS} rows per upload, got {len(rows)}")
            payload = json.dumps(list(rows), ensure_ascii=False, separators=(",", ":")).encode()
        url = self._listing_url(api.UPLOAD_PATH, kind=kind)
        response = self._request(
            "POST", url, content=payload, headers={"Content-Type": "application/json"}
        )
        body = self._json(response)
        upload_id = None
        if isinstance(body, dict):
            data = body.get("data")
            upload_id = body.get("id") or (data.get("id") if isinstance(data, dict) else None)
        elif isinstance(body, str):
            upload_id = body
        if not upload_id:
            raise HepsiburadaError(
                f"Hepsiburada POST {httpx.URL(url).path}: no upload id in {excerpt(response.content, 80)!r}",
                kind="malformed",
                status=response.status_code,
            )
        return str(upload_id)

    def upload_stock(self, rows: Sequence[Mapping[str, Any]] | bytes) -> str:
        return self.upload("stock-uploads", rows)

    def upload_prices(self, rows: Sequence[Mapping[str, Any]] | bytes) -> str:
        return self.upload("price-uploads", rows)

    def upload_inventory(self, rows: Sequence[Mapping[str, Any]] | bytes) -> str:
        return self.upload("inventory-uploads", rows)

    def upload_shipping_info(self, rows: Sequence[Mapping[str, Any]] | bytes) -> str:
        return self.upload("shipping-info-uploads", rows)

    # -- orders (oms) ------------------------------------------------------------------------
    def _oms_url(self, template: str) -> str:
        if not self.oms_url:
            raise ConfigError("oms_url is empty: set the Hepsiburada OMS URL in the channel config")
        return self.oms_url + template.format(merchant_id=self.merchant_id)

    def _oms_list(self, response: httpx.Response, key: str | None) -> list[Any]:
        body = self._json(response)
        rows = body.get(key) if key and isinstance(body, dict) else body
        if not isinstance(rows, list):
            where = f"'{key}' list" if key else "JSON array"
            raise HepsiburadaError(
                f"Hepsiburada {response.request.method} {response.request.url.path}: expected a "
                f"{where}, got {excerpt(response.content, 80)!r}",
                kind="malformed",
                status=response.status_code,
            )
        if not all(isinstance(row, dict) for row in rows):
            raise HepsiburadaError(
                f"Hepsiburada {response.request.method} {response.request.url.path}: "
                "a row is not an object",
                kind="malformed",
                status=response.status_code,
            )
        return rows

    def order_lines(
        self,
        *,
        begin: datetime | None = None,
        end: datetime | None = None,
        page_size: int = api.ORDER_LINES_MAX_LIMIT,
    ) -> Iterator[Mapping[str, Any]]:
        """Paid line items not packaged yet (``Open``), page by page (``offset``/``limit``)."""
        url = self._oms_url(api.ORDER_LINES_PATH)
        params: dict[str, Any] = {"limit": min(page_size, api.ORDER_LINES_MAX_LIMIT)}
        if begin is not None:
            params["begindate"] = oms_date(begin)
        if end is not None:
            params["enddate"] = oms_date(end)
        offset = 0
        while True:
            rows = self._oms_list(
                self._request("GET", url, params={**params, "offset": offset}), "items"
            )
            yield from rows
            offset += len(rows)
            if len(rows) < params["limit"]:
                return

    def cancelled_lines(
        self, *, page_size: int = api.CANCELLED_MAX_LIMIT
    ) -> Iterator[Mapping[str, Any]]:
        """Lines cancelled in the last month, oldest first, page by page.

        No dates are sent (see ``api.CANCELLED_LINES_PATH``): callers filter on ``cancelDate``.
        """
        url = self._oms_url(api.CANCELLED_LINES_PATH)
        limit = min(page_size, api.CANCELLED_MAX_LIMIT)
        offset = 0
        while True:
            rows = self._oms_list(
                self._request("GET", url, params={"offset": offset, "limit": limit}), "items"
            )
            yield from rows
            offset += len(rows)
            if len(rows) < limit:
                return

    def packages(
        self, *, begin: datetime, end: datetime, page_size: int = api.PACKAGES_MAX_LIMIT
    ) -> Iterator[Mapping[str, Any]]:
        """Packages created between ``begin`` and ``end`` (at most 24 hours apart).

        The list is a bare array; pages are read until one is shorter than the limit
        (the paging headers' names are unpublished, see ``api.HEADER_TOTAL_COUNT``).
        """
        if end - begin > timedelta(hours=api.PACKAGES_MAX_WINDOW_HOURS):
            raise ValueError(
                f"Hepsiburada lists packages of at most {api.PACKAGES_MAX_WINDOW_HOURS} hours at once"
            )
        url = self._oms_url(api.PACKAGES_PATH)
        limit = min(page_size, api.PACKAGES_MAX_LIMIT)
        params = {"begindate": oms_date(begin), "enddate": oms_date(end), "limit": limit}
        offset = 0
        while True:
            rows = self._oms_list(
                self._request("GET", url, params={**params, "Offset": offset}), None
            )
            yield from rows
            offset += len(rows)
            if len(rows) < limit:
                return

    def create_package(
        self, lines: Sequence[Mapping[str, Any]], *, cargo_company: str | None = None
    ) -> Mapping[str, Any]:
        """Pack open line items (``[{id, quantity}]``); returns ``{packageNumber, barcode}``."""
        body: dict[str, Any] = {
            "lineItemRequests": [
                {"id": str(x["id"]), "quantity": int(x["quantity"])} for x in lines
            ]
        }
        if cargo_company:
            body["cargoCompany"] = cargo_company
        url = self._oms_url(api.PACKAGES_PATH)
        response = self._request(
            "POST",
            url,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        answer = self._json(response)
        if not isinstance(answer, dict) or not answer.get("packageNumber"):
            raise HepsiburadaError(
                f"Hepsiburada POST {httpx.URL(url).path}: no packageNumber in "
                f"{excerpt(response.content, 80)!r}",
                kind="malformed",
                status=response.status_code,
            )
        return answer

    def upload_status(self, kind: str, upload_id: str) -> UploadStatus:
        """Where an upload stands, with its rejected rows (errors and price validations)."""
        kind = api.UPLOAD_KIND_ALIASES.get(kind, kind)
        url = self._listing_url(api.UPLOAD_STATUS_PATH, kind=kind, upload_id=upload_id)
        body = self._json(self._request("GET", url))
        if not isinstance(body, dict):
            raise HepsiburadaError(
                f"Hepsiburada GET {httpx.URL(url).path}: expected an object, got "
                f"{excerpt(json.dumps(body), 80)!r}",
                kind="malformed",
            )
        return parse_upload_status(kind, upload_id, body)


def oms_date(moment: datetime) -> str:
    """An OMS query date: ``yyyy-MM-dd HH:mm`` in Turkey's local time (UTC+3)."""
    local = moment.astimezone(UTC) + timedelta(hours=api.TURKEY_UTC_OFFSET_HOURS)
    return local.strftime(api.OMS_DATE_FORMAT)


def parse_upload_status(kind: str, upload_id: str, body: Mapping[str, Any]) -> UploadStatus:
    """Turn an upload result body into :class:`UploadStatus` (rows merged by element/SKU)."""
    merged: dict[tuple[Any, Any, Any], list[str]] = {}
    for row in body.get("errors") or []:
        if not isinstance(row, Mapping):
            continue
        key = (row.get("elementNo"), row.get("hepsiburadaSku"), row.get("merchantSku"))
        messages = row.get("errors") or row.get("messages") or []
        if isinstance(messages, str):
            messages = [messages]
        merged.setdefault(key, []).extend(str(m) for m in messages if m)
    for row in body.get("priceValidations") or []:
        if not isinstance(row, Mapping):
            continue
        key = (row.get("elementNo"), row.get("hepsiburadaSku"), row.get("merchantSku"))
        text = row.get("description") or row.get("type") or "price validation failed"
        band = [
            f"{name} {row[name]}" for name in ("minPrice", "maxPrice") if row.get(name) is not None
        ]
        if band:
            text = f"{text} ({', '.join(band)})"
        merged.setdefault(key, []).append(str(text))
    row_errors = tuple(
        RowError(
            element_no=k[0] if isinstance(k[0], int) else None,
            hepsiburada_sku=k[1],
            merchant_sku=k[2],
            messages=tuple(dict.fromkeys(v)),
        )
        for k, v in merged.items()
    )
    status = str(body.get("status") or "")
    total = body.get("total")
    return UploadStatus(
        upload_id=str(body.get("id") or upload_id),
        kind=kind,
        status=status,
        state=api.upload_state(status),
        total=total if isinstance(total, int) else None,
        row_errors=row_errors,
        raw=body,
    )


def client_for_channel(
    channel: Any, config: Mapping[str, Any], **options: Any
) -> HepsiburadaClient:
    """The client for one channel from its resolved config (secrets already resolved).

    ``options`` pass through to :class:`HepsiburadaClient` (``sleep``, ``timeout``, ...).
    """
    missing = [key for key in REQUIRED_CONFIG if not config.get(key)]
    if missing:
        slug = getattr(channel, "slug", channel)
        raise ConfigError(
            f"channel {slug!r}: Hepsiburada config is missing {', '.join(missing)}",
        )
    return HepsiburadaClient(
        base_url=str(config["base_url"]),
        listing_url=str(config["listing_url"]),
        oms_url=str(config.get("oms_url") or ""),
        username=str(config.get("username") or config["merchant_id"]),
        password=str(config["password"]),
        merchant_id=str(config["merchant_id"]),
        user_agent=str(config["user_agent"]),
        **options,
    )
