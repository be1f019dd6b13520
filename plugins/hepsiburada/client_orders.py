"""Hepsiburada's order service (OMS): open lines, packaging, packages, cancelled lines.

OMS dates are ``yyyy-MM-dd HH:mm`` in Turkey's local time and span at most 24 hours
(``api``); lists are bare arrays or an ``items`` wrapper, read page by page until a page
comes back shorter than the limit (the paging headers' names are unpublished).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from pazar.plugin import ConfigError, MarketplaceClient, as_utc, excerpt
from pazar_hepsiburada import api


class OrderCalls(MarketplaceClient):
    """The OMS calls of :class:`pazar_hepsiburada.client.HepsiburadaClient`."""

    oms_url: str
    merchant_id: str

    def _oms_url(self, template: str) -> str:
        if not self.oms_url:
            raise ConfigError("oms_url is empty: set the Hepsiburada OMS URL in the channel config")
        return self.oms_url + template.format(merchant_id=self.merchant_id)

    def _oms_list(self, response: httpx.Response, key: str | None) -> list[Any]:
        body = self.json_body(response)
        rows = body.get(key) if key and isinstance(body, dict) else body
        if not isinstance(rows, list):
            where = f"'{key}' list" if key else "JSON array"
            raise self.error(
                f"{response.request.method} {response.request.url.path}: expected a "
                f"{where}, got {excerpt(response.content, 80)!r}",
                kind="malformed",
                status=response.status_code,
            )
        if not all(isinstance(row, dict) for row in rows):
            raise self.error(
                f"{response.request.method} {response.request.url.path}: a row is not an object",
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
                self.request("GET", url, params={**params, "offset": offset}), "items"
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
                self.request("GET", url, params={"offset": offset, "limit": limit}), "items"
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
                self.request("GET", url, params={**params, "Offset": offset}), None
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
        response = self.request(
            "POST",
            url,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        answer = self.json_body(response)
        if not isinstance(answer, dict) or not answer.get("packageNumber"):
            raise self.error(
                f"POST {httpx.URL(url).path}: no packageNumber in "
                f"{excerpt(response.content, 80)!r}",
                kind="malformed",
                status=response.status_code,
            )
        return answer


def oms_date(moment: datetime) -> str:
    """An OMS query date: ``yyyy-MM-dd HH:mm`` in Turkey's local time (UTC+3)."""
    local = as_utc(moment) + timedelta(hours=api.TURKEY_UTC_OFFSET_HOURS)
    return local.strftime(api.OMS_DATE_FORMAT)
