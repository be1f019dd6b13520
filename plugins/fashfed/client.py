"""The HTTP client of one Fashfed channel (Akinon Seller Center, i2).

Retries, backoff, 429 waits and the classification of failures come from the engine's client
base; this module adds Fashfed's token, the i2 page-number paging (following the absolute
``next`` URLs the service returns, never to another host: the token would go with them), the
Django-REST error shapes, and one method per call the flows make.  Paths and field names come
from :mod:`pazar_fashfed.api`, which says which of them are documented and which assumed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from pazar.plugin import ChannelInfo, ConfigError, MarketplaceClient, MarketplaceError, excerpt
from pazar_fashfed import api

PLACEHOLDER_TOKEN = "default"  # what the seed's freshly created channel holds
MAX_PAGES = 100_000  # a service whose ``next`` never ends must not hold a run forever


class FashfedError(MarketplaceError):
    """A failed Fashfed call or a rejected record; messages never carry the token."""


def drf_message(body: Any) -> str | None:
    """The words of a Django-REST error body: ``detail``, ``non_field_errors`` or per-field
    lists (``sku: This field is required.``)."""
    if isinstance(body, str):
        return excerpt(body)
    if isinstance(body, list):
        return excerpt("; ".join(str(x) for x in body)) if body else None
    if not isinstance(body, Mapping):
        return None
    if isinstance(body.get("detail"), str):
        return excerpt(body["detail"])
    parts = []
    for key, value in body.items():
        if key == "code":
            continue
        words = value if isinstance(value, list) else [value]
        text = " ".join(str(w) for w in words)
        parts.append(text if key == "non_field_errors" else f"{key}: {text}")
    return excerpt("; ".join(parts)) if parts else None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class FashfedClient(MarketplaceClient):
    """The seller API of one Fashfed channel.  Use as a context manager or call :meth:`close`.

    ``options`` are the engine client's (``timeout``, ``max_attempts``, ``backoff``,
    ``sleep``, ``transport``, ...).
    """

    title: ClassVar[str] = "Fashfed"
    error_type: ClassVar[type[MarketplaceError]] = FashfedError
    AUTH_REFUSED: ClassVar[str] = "access token refused"

    def __init__(self, *, base_url: str, token: str, page_size: int = 100, **options: Any) -> None:
        super().__init__(headers={api.AUTH_HEADER: api.authorization(token)}, **options)
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(httpx.URL(self.base_url))
        self.page_size = max(1, min(page_size, api.MAX_LIMIT))

    def __enter__(self) -> FashfedClient:
        return self

    def __repr__(self) -> str:  # never the token
        return f"FashfedClient(base_url={self.base_url!r})"

    # -- shapes ------------------------------------------------------------------------------
    def remote_message(self, response: httpx.Response) -> str | None:
        try:
            return drf_message(response.json())
        except ValueError:
            return super().remote_message(response)

    def url(self, template: str, **parts: Any) -> str:
        """An absolute URL for a path template of :mod:`pazar_fashfed.api`."""
        return self.base_url + template.format(
            **{k: quote(str(v), safe="") for k, v in parts.items()}
        )

    def _malformed(self, what: str, problem: str) -> MarketplaceError:
        return self.error(f"{what}: {problem}", kind="malformed")

    def pages(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[Mapping[str, Any]]:
        """Every row of a paged list, following ``next`` (absolute, on the configured host,
        read with the configured scheme and port);
        ``page_size`` rows a page (capped at ``api.MAX_LIMIT``), else the client's."""
        limit = self.page_size if page_size is None else max(1, min(page_size, api.MAX_LIMIT))
        query: dict[str, Any] | None = {
            **(params or {}),
            api.PAGE_PARAM: 1,
            api.LIMIT_PARAM: limit,
        }
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            response = self.request("GET", url, params=query)
            what = f"GET {response.request.url.path}"
            body = self.json_body(response)
            rows = body.get("results") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise self._malformed(what, "no 'results' list in a paged answer")
            for row in rows:
                if not isinstance(row, Mapping):
                    raise self._malformed(
                        what, f"a result is not an object: {excerpt(str(row), 60)}"
                    )
                yield row
            following = body.get("next")
            if not following:
                return
            if not isinstance(following, str):
                raise self._malformed(what, "'next' is not a URL")
            target = httpx.URL(following)
            if target.host != self._origin[1]:
                raise self._malformed(
                    what, f"'next' points to {target.host!r}, not to the configured base_url"
                )
            if _origin(target) != self._origin:
                # Behind a TLS-terminating balancer Django writes ``next`` as http:// (or
                # with the inner port): the same host, read the way it was configured, so
                # the token never travels in clear text.
                scheme, _host, port = self._origin
                following = str(target.copy_with(scheme=scheme, port=port))
            if following in seen:
                raise self._malformed(what, "'next' repeats a page already read")
            seen.add(following)
            url, query = following, None
        raise self._malformed(f"GET {httpx.URL(url).path}", f"more than {MAX_PAGES} pages")

    def _object(self, response: httpx.Response) -> Mapping[str, Any]:
        body = self.json_body(response)
        if not isinstance(body, dict):
            raise self._malformed(
                f"{response.request.method} {response.request.url.path}", "answer is not an object"
            )
        return body

    # -- catalog -----------------------------------------------------------------------------
    def category_tree(self, category_id: str) -> Iterator[Mapping[str, Any]]:
        """A root category and every category under it."""
        return self.pages(self.url(api.CATEGORY_TREE_PATH, category_id=category_id))

    def category_attributes(self, category_id: str) -> Iterator[Mapping[str, Any]]:
        return self.pages(self.url(api.CATEGORY_ATTRIBUTES_PATH, category_id=category_id))

    def attribute_values(self, category_id: str, attribute_id: str) -> Iterator[Mapping[str, Any]]:
        return self.pages(
            self.url(api.ATTRIBUTE_VALUES_PATH, category_id=category_id, attribute_id=attribute_id)
        )

    def products(
        self, *, sku: str | None = None, page_size: int | None = None
    ) -> Iterator[Mapping[str, Any]]:
        """The seller's products on Fashfed (PRD102), optionally only the one with ``sku``
        (the documented exact filter; a list filter is not documented for PRD102); each has
        ``api.PRODUCT_FIELDS`` (no price, no stock)."""
        params = {"sku": sku} if sku else None
        return self.pages(self.url(api.PRODUCTS_PATH), params, page_size=page_size)

    # -- uploads -----------------------------------------------------------------------------
    def bulk(self, kind: str, rows: Sequence[Mapping[str, Any]]) -> str:
        """Send one bulk upload of ``kind`` (products, stocks, prices); returns its id."""
        if kind not in api.BULK_KINDS:
            raise ValueError(f"unknown bulk kind {kind!r}; one of {', '.join(api.BULK_KINDS)}")
        if len(rows) > api.BULK_MAX_ROWS:
            raise ValueError(f"at most {api.BULK_MAX_ROWS} rows per bulk upload, got {len(rows)}")
        response = self.request("POST", self.url(api.BULK_PATH, kind=kind), json_body=list(rows))
        body = self._object(response)
        bulk_id = body.get("id")
        if bulk_id in (None, ""):
            raise self._malformed(f"POST {response.request.url.path}", "no 'id' in the answer")
        return str(bulk_id)

    def bulk_status(self, kind: str, bulk_id: str) -> Mapping[str, Any]:
        """Where a bulk upload stands: ``status`` waiting | processing | completed | failed."""
        response = self.request("GET", self.url(api.BULK_STATUS_PATH, kind=kind, bulk_id=bulk_id))
        return self._object(response)

    def bulk_errors(self, kind: str, bulk_id: str) -> Iterator[Mapping[str, Any]]:
        """The rows a finished bulk upload rejected: ``{sku, code, message}``."""
        return self.pages(self.url(api.BULK_ERRORS_PATH, kind=kind, bulk_id=bulk_id))

    # -- orders ------------------------------------------------------------------------------
    def packages(self, *, status: int, since: datetime) -> Iterator[Mapping[str, Any]]:
        """Packages (the seller's orders) in ``status`` updated since ``since`` (PKG101)."""
        return self.pages(
            self.url(api.PACKAGES_PATH),
            {"status": status, api.PACKAGE_WINDOW_FILTER: api.iso(since)},
        )

    def package_label(self, number: str) -> bytes:
        """The cargo label of a package Fashfed ships (a PDF)."""
        response = self.request(
            "GET",
            self.url(api.PACKAGE_LABEL_PATH, number=number),
            headers={"Accept": api.LABEL_CONTENT_TYPE},
        )
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if kind != api.LABEL_CONTENT_TYPE or not response.content.startswith(b"%PDF"):
            raise self._malformed(
                f"GET {response.request.url.path}",
                f"expected a PDF label, got {kind or 'no content type'}",
            )
        return response.content

    def claims(self, *, type: str, status: str, since: datetime) -> Iterator[Mapping[str, Any]]:
        """Claims (cancel or refund requests) of ``type`` in ``status`` updated since ``since``."""
        return self.pages(
            self.url(api.CLAIMS_PATH),
            {"type": type, "status": status, api.CLAIM_WINDOW_FILTER: api.iso(since)},
        )

    def refund_claims(self, *, since: datetime | None) -> Iterator[Mapping[str, Any]]:
        """Refund claims still awaiting a decision (open, waiting), created since ``since``."""
        params: dict[str, Any] = {
            "type": "refund",
            "status__in": ",".join(api.REFUND_CLAIM_STATUSES),
        }
        if since is not None:
            params["created_at__gte"] = api.iso(since)
        return self.pages(self.url(api.CLAIMS_PATH), params)

    def seller_cancellations(self, *, since: datetime) -> Iterator[Mapping[str, Any]]:
        """Cancel claims the seller made (``cancelled_by`` 2) since ``since``."""
        return self.pages(
            self.url(api.CLAIMS_PATH),
            {
                "type": "cancel",
                "cancelled_by": api.CANCELLED_BY_SELLER,
                "created_at__gte": api.iso(since),
            },
        )

    def claim(self, claim_id: str) -> Mapping[str, Any]:
        """One claim (assumed retrieve)."""
        return self._object(self.request("GET", self.url(api.CLAIM_PATH, claim_id=claim_id)))

    def approve_claim(self, claim_id: str) -> Mapping[str, Any]:
        """Approve a refund claim awaiting a decision."""
        path = api.CLAIM_APPROVE_PATH
        return self._object(self.request("POST", self.url(path, claim_id=claim_id), json_body={}))

    def reject_claim(self, claim_id: str, *, reason: str, detail: str) -> Mapping[str, Any]:
        """Reject a refund claim awaiting a decision, with the reason and an explanation."""
        return self._object(
            self.request(
                "POST",
                self.url(api.CLAIM_REJECT_PATH, claim_id=claim_id),
                json_body={"reason": reason, "detail": detail},
            )
        )

    def cancel_item(
        self, package_item: str, *, quantity: int, reason: int, detail: str = ""
    ) -> Mapping[str, Any]:
        """Cancel a package item as the seller (a cancel claim of the seller's)."""
        body = {
            "type": "cancel",
            "package_item": package_item,
            "quantity": quantity,
            "reason": reason,
            "detail": detail,
        }
        return self._object(self.request("POST", self.url(api.CLAIMS_PATH), json_body=body))

    def package(self, number: str) -> Mapping[str, Any] | None:
        """One package by its number (PKG101's ``number`` filter), or None."""
        for row in self.pages(self.url(api.PACKAGES_PATH), {"number": number}):
            if str(row.get("number")) == str(number):
                return row
        return None

    def packages_updated(self, *, since: datetime) -> Iterator[Mapping[str, Any]]:
        """Every package updated since ``since``, whatever its status."""
        return self.pages(self.url(api.PACKAGES_PATH), {api.PACKAGE_WINDOW_FILTER: api.iso(since)})

    def update_package(self, number: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """Tell Fashfed a package's status with its invoice, tracking and waybill fields."""
        return self._object(
            self.request(
                "POST", self.url(api.PACKAGE_STATUS_PATH, number=number), json_body=dict(body)
            )
        )

    def split_package(
        self, number: str, groups: Sequence[Sequence[str]]
    ) -> list[Mapping[str, Any]]:
        """Split a package into groups of its items; the packages it became (assumed)."""
        body = {"packages": [{"items": list(group)} for group in groups]}
        response = self.request(
            "POST", self.url(api.PACKAGE_SPLIT_PATH, number=number), json_body=body
        )
        rows = self._object(response).get("packages")
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise self._malformed(f"POST {response.request.url.path}", "no 'packages' list")
        return rows


def client_for_channel(
    channel: ChannelInfo | str, config: Mapping[str, Any], **options: Any
) -> FashfedClient:
    """The client for one channel from its resolved config (secrets already resolved).

    ``options`` pass through to :class:`FashfedClient` (``sleep``, ``timeout``, ...).
    """
    slug = getattr(channel, "slug", channel)
    missing = [key for key in ("base_url", "access_token") if not config.get(key)]
    if missing:
        raise ConfigError(f"channel {slug!r}: Fashfed config is missing {', '.join(missing)}")
    if str(config["access_token"]).strip() == PLACEHOLDER_TOKEN:
        raise ConfigError(
            f"channel {slug!r}: access_token is still the placeholder {PLACEHOLDER_TOKEN!r}; set "
            "the token Fashfed gave you: pazar channel set SLUG access_token=env:FASHFED_TOKEN"
        )
    return FashfedClient(
        base_url=str(config["base_url"]), token=str(config["access_token"]), **options
    )
