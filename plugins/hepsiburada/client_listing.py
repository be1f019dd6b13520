"""Hepsiburada's listing service: what is on sale, and the asynchronous uploads.

Stock, price, inventory and shipping-info uploads answer with an id; each row's fate comes
later from the upload's status (``results.parse_upload_status``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import httpx

from pazar.plugin import MarketplaceClient, excerpt
from pazar_hepsiburada import api
from pazar_hepsiburada.results import UploadStatus, parse_upload_status


class ListingCalls(MarketplaceClient):
    """The listing calls of :class:`pazar_hepsiburada.client.HepsiburadaClient`."""

    listing_url: str
    merchant_id: str

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
            response = self.request(
                "GET", url, params={**params, "offset": offset, "limit": page_size}
            )
            body = self.json_body(response)
            rows = body.get("listings") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise self.error(
                    f"GET {httpx.URL(url).path}: no 'listings' list in the answer",
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
        response = self.request(
            "POST", url, content=payload, headers={"Content-Type": "application/json"}
        )
        body = self.json_body(response)
        upload_id = None
        if isinstance(body, dict):
            data = body.get("data")
            upload_id = body.get("id") or (data.get("id") if isinstance(data, dict) else None)
        elif isinstance(body, str):
            upload_id = body
        if not upload_id:
            raise self.error(
                f"POST {httpx.URL(url).path}: no upload id in {excerpt(response.content, 80)!r}",
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

    def upload_status(self, kind: str, upload_id: str) -> UploadStatus:
        """Where an upload stands, with its rejected rows (errors and price validations)."""
        kind = api.UPLOAD_KIND_ALIASES.get(kind, kind)
        url = self._listing_url(api.UPLOAD_STATUS_PATH, kind=kind, upload_id=upload_id)
        body = self.json_body(self.request("GET", url))
        if not isinstance(body, dict):
            raise self.error(
                f"GET {httpx.URL(url).path}: expected an object, got "
                f"{excerpt(json.dumps(body), 80)!r}",
                kind="malformed",
            )
        return parse_upload_status(kind, upload_id, body)
