"""Fashfed claims after import: refund claims in (Order Refund), decisions on them out
(Approve / Reject Refund Order) and the seller's own cancellations out (Send Cancel Order
Items).

The commerce side is the engine's (``commerce.create_refund_requests``,
``commerce.refund_decisions``, ``commerce.local_cancellations``); this module reads and
writes Fashfed's claims (documented list, assumed decisions and creation, see
:mod:`pazar_fashfed.api`).  A call whose answer was lost (the process was killed after
Fashfed acted) is made again by the next run: Fashfed refuses it, and the claim is read
back to recognise the decision or the cancellation as the one pazar made.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from pazar.plugin import (
    Item,
    MarketplaceError,
    RunHandle,
    StepContext,
    StepType,
    batch_size_param,
    chunked,
    params_schema,
    parse_instant,
)
from pazar_fashfed import api
from pazar_fashfed.order_steps import claim_records
from pazar_fashfed.orders import refund_from_claim

PAGE = 100


def _refused(exc: MarketplaceError, item: Item, run: RunHandle) -> None:
    if not exc.record_fault:
        raise exc  # an outage or refused credentials: the run fails, nobody's record
    run.fail(item, exc.remote_message or exc.message, "remote")


# -- Order Refund ----------------------------------------------------------------------------
class RefundClaims:
    """``fashfed.refund_claims``: refund claims open or waiting on Fashfed, created since
    Refund Start Date (all of them when it is empty), not stored yet."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        start = ctx.config.get("refund_start_date")
        self.since = parse_instant(str(start)) if start else None

    def __iter__(self) -> Iterator[Item]:
        ctx = self.ctx
        rows = ctx.client().refund_claims(since=self.since)
        wanted = set(ctx.keys or ())
        for page in chunked(rows, PAGE):
            ids = [str(claim.get("id") or "") for claim in page]
            stored = ctx.reads.stored_refunds(ids)
            for claim, claim_id in zip(page, ids, strict=True):
                if claim_id in stored or (wanted and claim_id not in wanted):
                    continue
                yield Item(key=claim_id or "?", data=dict(claim))


# -- Approve / Reject Refund Order -----------------------------------------------------------
class ClaimDecisions:
    """``fashfed.claim_decisions``: an approved refund approves its claim; a rejected one
    rejects it with the channel's Reject Item Reason (else the reason given to ``pazar
    refunds reject``) and the explanation.  A claim Fashfed refuses as decided already is
    read: the same decision counts as sent (its answer was lost), another is a penalty."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.reject_reason = str(ctx.config.get("reject_item_reason") or "").strip()

    def payload(self, data: Mapping[str, Any]) -> dict[str, Any]:
        if data["status"] == "approved":
            return {"claim": data["remote_id"], "approve": {}}
        reason = self.reject_reason or str(data.get("reason") or "")
        return {
            "claim": data["remote_id"],
            "reject": {"reason": reason, "detail": str(data.get("explanation") or "")},
        }

    def render(self, items: list[Item]) -> list[Any]:
        return [self.payload(item.data) for item in items]

    def _decided_so(self, data: Mapping[str, Any]) -> bool:
        """Whether Fashfed holds this very decision (read after it refused to take it)."""
        try:
            claim = self.ctx.client().claim(str(data["remote_id"]))
        except MarketplaceError as exc:
            if not exc.record_fault:
                raise
            return False  # e.g. the claim is gone: the refusal stands
        return claim.get("status") == api.DECIDED_STATUS[data["status"]]

    def send(self, items: list[Item], run: RunHandle) -> None:
        client = self.ctx.client()
        for item in items:
            call = self.payload(item.data)
            claim = str(call["claim"])
            try:
                if "approve" in call:
                    client.approve_claim(claim)
                else:
                    client.reject_claim(claim, **call["reject"])
            except MarketplaceError as exc:
                if exc.status == 400 and self._decided_so(item.data):
                    run.log(item.key, f"claim {claim} was {item.data['status']} already")
                    run.succeed(item)
                    continue
                _refused(exc, item, run)
                continue
            how = "approved" if "approve" in call else f"rejected ({call['reject']['reason']})"
            run.log(item.key, f"claim {claim} {how} on Fashfed")
            run.succeed(item)


# -- Send Cancel Order Items -----------------------------------------------------------------
class SellerCancels:
    """``fashfed.seller_cancels``: each item cancelled in the commerce backend is cancelled
    on Fashfed as the seller, with the channel's Send Cancel Reason ID.  A line Fashfed
    refuses as cancelled already, by a seller claim of its own, counts as sent."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        raw = ctx.config.get("send_cancel_reason_id")
        self.reason = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        self._seller_lines: set[str] | None = None

    def render(self, items: list[Item]) -> list[Any]:
        return [
            {
                "package_item": item.data["item_remote_id"],
                "quantity": item.data["quantity"],
                "reason": self.reason,
            }
            for item in items
        ]

    def _cancelled_by_seller(self) -> set[str]:
        """Lines with a seller cancel claim of the last days (read once per run, on the
        first refusal)."""
        if self._seller_lines is None:
            since = self.ctx.clock.now() - timedelta(days=api.SELLER_CANCEL_WINDOW_DAYS)
            self._seller_lines = {
                str(c.get("package_item"))
                for c in self.ctx.client().seller_cancellations(since=since)
                if c.get("status") == "completed"
            }
        return self._seller_lines

    def send(self, items: list[Item], run: RunHandle) -> None:
        for item in items:
            line = str(item.data["item_remote_id"])
            if self.reason is None:
                run.fail(
                    item,
                    "send_cancel_reason_id is not set: pazar channel set SLUG "
                    "send_cancel_reason_id=ID (a cancellation reason id of its own, not "
                    "cancellation_reason_id nor one of cancel_reason_mapping)",
                    "mapping",
                )
                continue
            try:
                self.ctx.client().cancel_item(
                    line, quantity=int(item.data["quantity"]), reason=self.reason
                )
            except MarketplaceError as exc:
                if exc.status == 400 and line in self._cancelled_by_seller():
                    run.log(item.key, "Fashfed has this line cancelled by the seller already")
                    run.succeed(item)
                    continue
                _refused(exc, item, run)
                continue
            run.log(item.key, f"line {line} cancelled on Fashfed (reason {self.reason})")
            run.succeed(item)


STEP_TYPES = [
    StepType(
        name="fashfed.refund_claims",
        kind="source",
        factory=RefundClaims,
        params_schema=params_schema(),
        description="Fashfed refund claims open or waiting, since refund_start_date, not "
        "stored yet.",
    ),
    StepType(
        name="fashfed.claim_refunds",
        kind="step",
        factory=claim_records(refund_from_claim),
        params_schema=params_schema(),
        description="Refund claims as refund requests for commerce.create_refund_requests "
        "(refund_reason_mapping, else default_reason_id).",
    ),
    StepType(
        name="fashfed.claim_decisions",
        kind="sink",
        factory=ClaimDecisions,
        params_schema=params_schema(
            batch_size=batch_size_param("Decisions per batch.", default=50, maximum=500)
        ),
        description="Approve or reject refund claims as decided in the commerce backend "
        "(reject_item_reason).",
    ),
    StepType(
        name="fashfed.seller_cancels",
        kind="sink",
        factory=SellerCancels,
        params_schema=params_schema(
            batch_size=batch_size_param("Lines per batch.", default=50, maximum=500)
        ),
        description="Cancel the seller's cancelled lines on Fashfed with send_cancel_reason_id.",
    ),
]
