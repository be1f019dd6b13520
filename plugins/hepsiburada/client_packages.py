"""Hepsiburada's calls on packages after they are made (OMS): invoice link, cargo labels,
the merchant's own shipping steps, unpack, split, warehouse, cancel by merchant, and the
shipped / delivered / undelivered / unpacked feeds.

A refusal about one package (4xx: not found, wrong state, over a limit) is that record's
fault (``rejected``); 5xx, 429 and malformed answers are outages (the engine's client base).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from pazar.plugin import MarketplaceClient, excerpt
from pazar_hepsiburada import api


class PackageCalls(MarketplaceClient):
    """The package calls of :class:`pazar_hepsiburada.client.HepsiburadaClient`."""

    oms_url: str
    merchant_id: str

    def _oms_url(self, template: str) -> str:  # provided by OrderCalls
        raise NotImplementedError

    def _oms_list(self, response: httpx.Response, key: str | None) -> list[Any]:  # OrderCalls
        raise NotImplementedError

    def _path(self, template: str, **values: Any) -> str:
        """An OMS URL: ``template`` filled with the merchant id and ``values``."""
        return self._oms_url("") + template.format(merchant_id=self.merchant_id, **values)

    def _package_url(self, number: str, op: str = "") -> str:
        url = self._path(api.PACKAGE_PATH, pn=number)
        return f"{url}/{op}" if op else url

    def _send(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> httpx.Response:
        return self.request(
            method,
            url,
            content=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"} if body is not None else None,
        )

    def send_invoice(self, number: str, link: str) -> None:
        """PUT the invoice link of a package (409: it has one already)."""
        self._send("PUT", self._package_url(number, "invoice"), {"invoiceLink": link})

    def label(self, number: str, fmt: str) -> Mapping[str, Any]:
        """The shared cargo label: ``{data: [...], format, hasMerchantMutualBarcode}``."""
        response = self.request("GET", self._package_url(number, "labels"), params={"format": fmt})
        body = self.json_body(response)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise self.error(
                f"GET labels of {number}: expected {{data: [...]}}, got "
                f"{excerpt(response.content, 80)!r}",
                kind="malformed",
                status=response.status_code,
            )
        return body

    def in_transit(self, number: str, body: Mapping[str, Any]) -> None:
        """The merchant's own cargo took the package (tracking number and URL)."""
        self._send("POST", self._package_url(number, "intransit"), body)

    def deliver(self, number: str, body: Mapping[str, Any]) -> None:
        self._send("POST", self._package_url(number, "deliver"), body)

    def undeliver(self, number: str, body: Mapping[str, Any]) -> None:
        self._send("POST", self._package_url(number, "undeliver"), body)

    def set_warehouse(self, number: str, label: str) -> None:
        """PUT the package's warehouse (``shippingAddressLabel``)."""
        self._send("PUT", self._package_url(number, "warehouse"), {"shippingAddressLabel": label})

    def split(self, number: str, groups: Sequence[Sequence[Mapping[str, Any]]]) -> str:
        """Split a package: each group of ``[{orderLineId, quantity}]`` becomes a package
        (lines left over one more).  Returns the answer's text (its shape is unpublished)."""
        body = {"packageDetails": [{"lines": [dict(line) for line in g]} for g in groups]}
        response = self._send("POST", self._package_url(number, "split"), body)
        try:
            answer = response.json()
        except ValueError:
            return response.text
        return answer if isinstance(answer, str) else json.dumps(answer)

    def cancel_line(self, line_id: str, reason_id: int) -> None:
        """Cancel an order line as the merchant (406 past the daily limit, 409 not now)."""
        url = self._path(api.CANCEL_BY_MERCHANT_PATH, line_id=line_id)
        self._send("POST", url, {"reasonId": int(reason_id)})

    def _feed_pages(
        self, url: str, key: str, limit: int, params: Mapping[str, Any] | None = None
    ) -> Iterator[Mapping[str, Any]]:
        offset = 0
        while True:
            rows = self._oms_list(
                self.request("GET", url, params={**(params or {}), key: offset, "limit": limit}),
                "items",
            )
            yield from rows
            offset += len(rows)
            if len(rows) < limit:
                return

    def package_feed(self, feed: str) -> Iterator[Mapping[str, Any]]:
        """The shipped / delivered / undelivered packages of the last month, oldest first
        (no dates are sent: see ``api.PACKAGE_FEEDS``)."""
        url = self._path(api.PACKAGE_FEED_PATH, feed=feed)
        return self._feed_pages(url, "offset", api.FEED_MAX_LIMIT)

    def unpacked_packages(self, hours: int) -> Iterator[Mapping[str, Any]]:
        """Packages unpacked (broken up) in the last ``hours``."""
        url = self._oms_url(api.UNPACKED_PATH)
        return self._feed_pages(url, "Offset", api.UNPACKED_MAX_LIMIT, {"timespan": hours})

    def package_info(self, number: str) -> Mapping[str, Any]:
        """A package's cargo info: status, carrier, tracking code and URL."""
        response = self.request("GET", self._package_url(number))
        body = self.json_body(response)
        if not isinstance(body, dict):
            raise self.error(
                f"GET package {number}: expected an object, got {excerpt(response.content, 80)!r}",
                kind="malformed",
                status=response.status_code,
            )
        return body
