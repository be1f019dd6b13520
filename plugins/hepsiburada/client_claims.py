"""Hepsiburada's claims (returns) on the OMS host: list by status, accept, reject.

The list is a bare JSON array paged by ``offset``/``limit`` (``limit`` is required: a
missing one answers ``400 LimitCannotBeEmpty``); dates are OMS dates (``yyyy-MM-dd
HH:mm``, Turkey time) on the claim's creation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from pazar.plugin import MarketplaceClient
from pazar_hepsiburada import api


class ClaimCalls(MarketplaceClient):
    """The claim calls of :class:`pazar_hepsiburada.client.HepsiburadaClient`."""

    oms_url: str
    merchant_id: str

    def _oms_url(self, template: str) -> str:  # provided by OrderCalls
        raise NotImplementedError

    def _oms_list(self, response: httpx.Response, key: str | None) -> list[Any]:  # OrderCalls
        raise NotImplementedError

    def claims(
        self,
        status: str,
        *,
        begin: datetime | None = None,
        end: datetime | None = None,
        page_size: int = api.CLAIMS_MAX_LIMIT,
    ) -> Iterator[Mapping[str, Any]]:
        """Claims in ``status`` created between ``begin`` and ``end``, page by page."""
        from pazar_hepsiburada.client_orders import oms_date

        if status not in api.CLAIM_STATUSES:
            raise ValueError(f"claim status must be one of {', '.join(api.CLAIM_STATUSES)}")
        url = self._oms_url("") + api.CLAIMS_BY_STATUS_PATH.format(
            merchant_id=self.merchant_id, status=status
        )
        limit = min(page_size, api.CLAIMS_MAX_LIMIT)
        params: dict[str, Any] = {"limit": limit}
        if begin is not None:
            params["beginDate"] = oms_date(begin)
        if end is not None:
            params["endDate"] = oms_date(end)
        offset = 0
        while True:
            rows = self._oms_list(
                self.request("GET", url, params={**params, "offset": offset}), None
            )
            yield from rows
            offset += len(rows)
            if len(rows) < limit:
                return

    def _claim_url(self, template: str, number: str) -> str:
        return self._oms_url("") + template.format(claim=number)

    def accept_claim(self, number: str) -> None:
        """Accept a claim (the refund goes ahead)."""
        self.request(
            "POST",
            self._claim_url(api.CLAIM_ACCEPT_PATH, number),
            content=b"{}",
            headers={"Content-Type": "application/json"},
        )

    def reject_claim(
        self, number: str, *, reason: str, statement: str, photos: Sequence[str] = ()
    ) -> None:
        """Reject a claim with the reason, the merchant's statement and photo URLs."""
        body = {
            "ClaimRejectionReason": reason,
            "MerchantStatement": statement,
            "UploadedReportsUrls": list(photos),
        }
        self.request(
            "POST",
            self._claim_url(api.CLAIM_REJECT_PATH, number),
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
