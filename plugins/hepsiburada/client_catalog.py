"""Hepsiburada's catalog service (mpop): category tree, attributes, values, product imports.

mpop wraps every answer in an envelope (``success``, ``code``, ``message``, ``data`` and
paging fields) and reports refusals inside a 200, so every call goes through
:meth:`CatalogCalls.mpop`, which turns ``success: false`` into the one error type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from pazar.plugin import MarketplaceClient, excerpt
from pazar_hepsiburada import api
from pazar_hepsiburada.results import ImportResult, import_result


class CatalogCalls(MarketplaceClient):
    """The mpop calls of :class:`pazar_hepsiburada.client.HepsiburadaClient`."""

    base_url: str
    merchant_id: str
    page_size: int

    def mpop(self, response: httpx.Response) -> Mapping[str, Any]:
        """The mpop envelope, raising on ``success:false`` / non-zero ``code`` inside a 200."""
        body = self.json_body(response)
        what = f"{response.request.method} {response.request.url.path}"
        if not isinstance(body, dict):
            raise self.error(
                f"{what}: expected the mpop envelope, got {excerpt(json.dumps(body), 80)!r}",
                kind="malformed",
                status=response.status_code,
                remote_message=body if isinstance(body, str) else None,
            )
        code = body.get("code")
        if body.get("success") is False or code not in (None, 0, "0"):
            remote = body.get("message") or body.get("msg") or "no message"
            raise self.error(
                f"{what}: {remote} (code {code})",
                kind="rejected",
                status=response.status_code,
                remote_message=str(remote),
                code=code,
            )
        return body

    def mpop_pages(
        self, url: str, params: Mapping[str, Any], page_size: int | None
    ) -> Iterator[Mapping[str, Any]]:
        """Every row of a paged mpop list (0-based ``page`` + ``size``)."""
        size = min(page_size or self.page_size, api.MPOP_MAX_PAGE_SIZE)
        page = 0
        while True:
            body = self.mpop(
                self.request("GET", url, params={**params, "page": page, "size": size})
            )
            rows = body.get("data") or []
            if not isinstance(rows, list):
                raise self.error(
                    f"GET {httpx.URL(url).path}: 'data' is not a list", kind="malformed"
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
        return self.mpop_pages(self.base_url + api.CATEGORIES_PATH, params, page_size)

    def category_attributes(self, category_id: int | str) -> dict[str, list[Mapping[str, Any]]]:
        """``{"baseAttributes": [...], "attributes": [...], "variantAttributes": [...]}``."""
        url = self.base_url + api.ATTRIBUTES_PATH.format(category_id=category_id)
        body = self.mpop(self.request("GET", url, params={"version": api.ATTRIBUTES_VERSION}))
        data = body.get("data")
        if not isinstance(data, dict):
            raise self.error(
                f"GET {httpx.URL(url).path}: 'data' is not an object", kind="malformed"
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
        for row in self.mpop_pages(url, {"version": api.ATTRIBUTE_VALUES_VERSION}, page_size):
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
        response = self.request(
            "POST",
            url,
            params={"version": api.IMPORT_VERSION},
            files={api.IMPORT_FILE_FIELD: (api.IMPORT_FILE_NAME, payload, "application/json")},
        )
        body = self.mpop(response)
        for holder in (body.get("data"), body):
            if isinstance(holder, dict):
                for key in api.TRACKING_ID_KEYS:
                    if holder.get(key):
                        return str(holder[key])
            elif isinstance(holder, str) and holder:
                return holder
        raise self.error("POST product import: no tracking id in the answer", kind="malformed")

    def iter_import_status(
        self, tracking_id: str, *, page_size: int | None = None
    ) -> Iterator[ImportResult]:
        """Per-product outcome of an import, page by page."""
        url = self.base_url + api.IMPORT_STATUS_PATH.format(tracking_id=tracking_id)
        for row in self.mpop_pages(url, {"version": api.IMPORT_VERSION}, page_size):
            yield import_result(row)
