"""The sandbox's claims (returns): the customer opens one on a delivered line (control
endpoint), the merchant lists them by status and accepts or rejects them.

Shapes follow the reference's claim (OAS fields plus the live extras TK saw: ``lineItemId``,
``MerchantSku``, ``Reason``, ``Reports``); the list is a bare array with its paging in
``X-Total-Count`` / ``X-Total-Pages`` / ``X-Page`` / ``X-Limit`` / ``X-Offset`` headers;
bad input answers the Go services' bare JSON strings (``"Wrong Claim Status"``,
``"LimitCannotBeEmpty"``, ``"WrongDateFormat"``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pazar.plugin import SandboxReply, parse_instant
from pazar_hepsiburada import api
from pazar_hepsiburada.sandbox_oms import OmsBook, OmsError, _iso, parse_oms_date
from pazar_hepsiburada.sandbox_shapes import int_param


def _string(status: int, message: str) -> SandboxReply:
    return SandboxReply(JSONResponse(message, status_code=status))


class ClaimBook:
    """Claims of one merchant, by claim number."""

    def __init__(self, oms: OmsBook, now: Callable[[], datetime]) -> None:
        self.oms = oms
        self._now = now
        self.claims: dict[str, dict[str, Any]] = {}
        self._counter = 0

    def open(self, doc: Any) -> dict[str, Any]:
        """The customer returns a line (control): ``{lineItemId, reason?, explanation?,
        photos?, status?, claimDate?, quantity?}``."""
        if not isinstance(doc, Mapping):
            raise OmsError(400, "a claim must be a JSON object")
        line = self.oms.lines.get(str(doc.get("lineItemId")))
        if line is None:
            raise OmsError(404, f"no line item {doc.get('lineItemId')!r}")
        status = str(doc.get("status") or "NewRequest")
        if status not in api.CLAIM_STATUSES:
            raise OmsError(400, api.WRONG_CLAIM_STATUS)
        when = parse_instant(doc["claimDate"]) if doc.get("claimDate") else self._now()
        self._counter += 1
        number = f"C{7_100_000 + self._counter}"
        unit = float(line["unitPrice"]["amount"])
        quantity = int(doc.get("quantity") or line["quantity"])
        claim = {
            "id": f"{self._counter:08x}-c1a1-4c1a-9c1a-{self._counter:012x}",
            "number": number,
            "claimType": "Return",
            "claimDate": _iso(when),
            "status": status,
            "orderNumber": line["orderNumber"],
            "orderDate": line["orderDate"],
            "customerName": line["customerName"],
            "explanation": str(doc.get("explanation") or ""),
            "sku": line["sku"],
            "MerchantSku": line["merchantSKU"],
            "lineItemId": line["id"],
            "quantity": quantity,
            "priceAmount": unit,
            "priceCurrency": "TRY",
            "totalPriceAmount": round(unit * quantity, 2),
            "refundAmount": None,
            "refundCurrency": "TRY",
            "refundDate": None,
            "Reason": str(doc.get("reason") or "Other"),
            "Reports": [{"ImageUrl": u, "ReportedBy": "Customer"} for u in doc.get("photos") or []],
            "merchantRejectionStatement": None,
            "finalizedWith": None,
        }
        self.claims[number] = claim
        line["status"] = "ClaimCreated"
        return copy.deepcopy(claim)

    def by_status(
        self, status: str, begin: datetime | None, end: datetime | None
    ) -> list[dict[str, Any]]:
        rows = []
        for claim in self.claims.values():
            if claim["status"] != status:
                continue
            at = parse_instant(claim["claimDate"]).replace(second=0, microsecond=0)
            if (begin and at < begin) or (end and at > end):
                continue
            rows.append(claim)
        return rows

    def _decidable(self, number: str) -> dict[str, Any]:
        claim = self.claims.get(number)
        if claim is None:
            raise OmsError(404, f"cannot find claim {number}")
        if claim["status"] not in api.DECIDABLE_CLAIM_STATUSES:
            raise OmsError(409, f"claim {number} is {claim['status']}: it awaits no decision")
        return claim

    def accept(self, number: str, doc: Mapping[str, Any]) -> None:
        claim = self._decidable(number)
        claim["status"] = "Accepted"
        claim["finalizedWith"] = doc.get("FinalizedWith") or "Refund"
        claim["refundAmount"] = claim["totalPriceAmount"]
        claim["refundDate"] = _iso(self._now())

    def reject(self, number: str, doc: Mapping[str, Any]) -> None:
        reason = str(doc.get("ClaimRejectionReason") or "")
        statement = str(doc.get("MerchantStatement") or "")
        if not reason or not statement:
            raise OmsError(400, "ClaimRejectionReason and MerchantStatement are required")
        photos = doc.get("UploadedReportsUrls") or []
        if not isinstance(photos, list) or not all(isinstance(u, str) for u in photos):
            raise OmsError(400, "UploadedReportsUrls must be a list of URLs")
        claim = self._decidable(number)
        claim["status"] = "Rejected"
        claim["ClaimRejectionReason"] = reason
        claim["merchantRejectionStatement"] = statement
        claim["Reports"] = [
            *claim["Reports"],
            *({"ImageUrl": u, "ReportedBy": "Merchant"} for u in photos),
        ]


# -- HTTP ------------------------------------------------------------------------------------
def _claims(state: Any) -> ClaimBook:
    return state.claims  # type: ignore[no-any-return]


def claims_by_status(request: Request, state: Any, body: bytes) -> Any:
    state.check_merchant(request.path_params["merchant_id"], "oms")
    status = request.path_params["status"]
    if status not in api.CLAIM_STATUSES:
        raise _string(400, api.WRONG_CLAIM_STATUS)
    q = request.query_params
    if not q.get("limit"):
        raise _string(400, api.LIMIT_CANNOT_BE_EMPTY)
    limit = int_param(request, "limit", api.CLAIMS_MAX_LIMIT)
    if not 1 <= limit <= api.CLAIMS_MAX_LIMIT:
        raise _string(400, f"limit must be between 1 and {api.CLAIMS_MAX_LIMIT}")
    offset = int_param(request, "offset", 0)
    try:
        begin = parse_oms_date(q.get("beginDate"), "beginDate")
        end = parse_oms_date(q.get("endDate"), "endDate")
    except OmsError:
        raise _string(400, api.WRONG_DATE_FORMAT) from None
    rows = _claims(state).by_status(status, begin, end)
    pages = (len(rows) + limit - 1) // limit
    return JSONResponse(
        copy.deepcopy(rows[offset : offset + limit]),
        headers={
            "X-Total-Count": str(len(rows)),
            "X-Total-Pages": str(pages),
            "X-Page": str(offset // limit),
            "X-Limit": str(limit),
            "X-Offset": str(offset),
        },
    )


def _decision(request: Request, state: Any, body: bytes, accept: bool) -> Any:
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        raise _string(400, "body is not valid JSON") from None
    if not isinstance(doc, Mapping):
        raise _string(400, "body must be a JSON object")
    book = _claims(state)
    number = request.path_params["claim"]
    try:
        (book.accept if accept else book.reject)(number, doc)
    except OmsError as exc:
        raise _string(exc.status, exc.message) from None
    return Response(status_code=204)


def accept_claim(request: Request, state: Any, body: bytes) -> Any:
    return _decision(request, state, body, True)


def reject_claim(request: Request, state: Any, body: bytes) -> Any:
    return _decision(request, state, body, False)
