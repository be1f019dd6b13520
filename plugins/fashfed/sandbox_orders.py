"""The sandbox's order side after import: package status updates (Order Update), refund
decisions (Approve / Reject Refund), the seller's cancellations (Send Cancel Order Items)
and package splits, as :mod:`pazar_fashfed.api` assumes them.

Each function takes the sandbox state (its lock held by the caller) and the request's JSON
document and answers the body of a 2xx, or raises :class:`Refused` with the Django-REST
error body a 400 carries.  The rules a real marketplace would enforce are enforced here so
the flows meet them in tests: never a status backwards, a claim decided once, a line
cancelled once and not after it shipped, a split naming only the package's own items.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pazar_fashfed import api
from pazar_fashfed.sandbox_state import SandboxState

STATUS_NAMES = {number: name for name, number in api.PACKAGE_STATUS.items()}
SHIPPED = api.PACKAGE_STATUS["shipped"]
CANCELLED = api.PACKAGE_STATUS["cancelled"]
PREPARING = api.PACKAGE_STATUS["preparing"]


class Refused(ValueError):
    """A 400 with ``body``, or a 404 when ``status`` says so."""

    def __init__(self, body: Mapping[str, Any], status: int = 400) -> None:
        super().__init__(str(body))
        self.body = dict(body)
        self.status = status


def _not_found() -> Refused:
    return Refused({"detail": "Not found."}, 404)


def _package(state: SandboxState, number: str) -> dict[str, Any]:
    found = state.packages.get(number)
    if found is None:
        raise _not_found()
    return found


def update_status(state: SandboxState, number: str, doc: Any) -> dict[str, Any]:
    """``POST packages/{number}/status/``: move a package on, with its invoice, tracking and
    waybill fields; the status it holds may be sent again, an earlier one is refused."""
    package = _package(state, number)
    if not isinstance(doc, Mapping):
        raise Refused({"non_field_errors": ["Invalid data. Expected a dictionary."]})
    status = doc.get("status")
    if status not in STATUS_NAMES or status == CANCELLED:
        allowed = ", ".join(str(api.PACKAGE_STATUS[s]) for s in api.UPDATE_STATUSES)
        raise Refused({"status": [f'"{status}" is not a valid choice ({allowed}).']})
    if package["status"] == CANCELLED:
        raise Refused({"non_field_errors": ["A cancelled package cannot be updated."]})
    if status < package["status"]:
        raise Refused({"status": [api.BACKWARDS_MESSAGE]})
    allowed_fields = {
        "status",
        *api.INVOICE_FIELDS,
        *api.TRACKING_FIELDS,
        api.WAYBILL_FIELD,
    }
    unknown = sorted(set(doc) - allowed_fields)
    if unknown:
        raise Refused({key: ["Unknown field."] for key in unknown})
    package.update(copy.deepcopy(dict(doc)))
    package["updated_at"] = api.iso(state.now())
    state.package_updates.append({"number": number, **copy.deepcopy(dict(doc))})
    return copy.deepcopy(package)


def claim_view(state: SandboxState, claim_id: str) -> dict[str, Any]:
    found = state.claims.get(claim_id)
    if found is None:
        raise _not_found()
    return copy.deepcopy(found)


def decide(state: SandboxState, claim_id: str, decision: str, doc: Any) -> dict[str, Any]:
    """``POST claims/{id}/approve|reject/``: a refund claim awaiting a decision gets one."""
    claim = state.claims.get(claim_id)
    if claim is None:
        raise _not_found()
    if claim["type"] != "refund" or claim["status"] not in api.REFUND_CLAIM_STATUSES:
        raise Refused({"non_field_errors": ["Claim is not awaiting a decision."]})
    if decision == "rejected":
        reason = (doc or {}).get("reason") if isinstance(doc, Mapping) else None
        if not str(reason or "").strip():
            raise Refused({"reason": ["This field may not be blank."]})
        claim["rejection"] = {"reason": str(reason), "detail": str(doc.get("detail") or "")}
    claim["status"] = api.DECIDED_STATUS[decision]
    claim["updated_at"] = api.iso(state.now())
    return copy.deepcopy(claim)


def _item(state: SandboxState, package_item: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The package holding an item and the item (items keep their ids when split)."""
    for package in state.packages.values():
        for item in package["items"]:
            if item["id"] == package_item:
                return package, item
    raise Refused({"package_item": ["Object does not exist."]})


def cancel_by_seller(state: SandboxState, doc: Any) -> dict[str, Any]:
    """``POST claims/``: the seller cancels a package item; a completed cancel claim of
    ``cancelled_by`` 2 records it."""
    if not isinstance(doc, Mapping) or doc.get("type") != "cancel":
        raise Refused({"type": ['Sellers may only create claims of type "cancel".']})
    line = str(doc.get("package_item") or "")
    package, item = _item(state, line)
    reason = doc.get("reason")
    if not isinstance(reason, int) or isinstance(reason, bool):
        raise Refused({"reason": ["A valid integer is required."]})
    if any(
        c["type"] == "cancel" and c["package_item"] == line and c["status"] == "completed"
        for c in state.claims.values()
    ):
        raise Refused({"package_item": ["This item is already cancelled."]})
    if package["status"] >= SHIPPED:
        raise Refused({"non_field_errors": ["A shipped package cannot be cancelled."]})
    [claim_id] = state.add_claims(
        [
            {
                "type": "cancel",
                "status": "completed",
                "cancelled_by": api.CANCELLED_BY_SELLER,
                "package_item": line,
                "product": item["sku"],
                "quantity": int(doc.get("quantity") or item["quantity"]),
                "reason": {"id": str(reason), "subject": "Cancelled by the seller"},
                "detail": str(doc.get("detail") or ""),
            }
        ]
    )["added"]
    state.seller_cancels[line] = state.seller_cancels.get(line, 0) + 1
    return copy.deepcopy(state.claims[claim_id])


def split(state: SandboxState, number: str, doc: Any) -> dict[str, Any]:
    """``POST packages/{number}/split/``: the package keeps the first group; every other
    group, and the items no group names, become new Preparing packages."""
    package = _package(state, number)
    if package["status"] != PREPARING:
        raise Refused({"non_field_errors": ["Only a Preparing package can be split."]})
    groups = (doc or {}).get("packages") if isinstance(doc, Mapping) else None
    if not isinstance(groups, list) or not groups:
        raise Refused({"packages": ["This list may not be empty."]})
    items = {item["id"]: item for item in package["items"]}
    used: list[str] = []
    named: list[list[str]] = []
    for n, group in enumerate(groups):
        ids = group.get("items") if isinstance(group, Mapping) else None
        if not isinstance(ids, list) or not ids:
            raise Refused({"packages": [f"packages[{n}]: items may not be empty."]})
        for item_id in ids:
            if str(item_id) not in items or str(item_id) in used:
                raise Refused({"packages": [f"Item {item_id} is not in package {number}."]})
            used.append(str(item_id))
        named.append([str(i) for i in ids])
    rest = [i for i in items if i not in used]
    if rest:
        named.append(rest)
    if len(named) < 2:
        raise Refused({"packages": ["A split needs items in at least two packages."]})
    when = api.iso(state.now())
    package["items"] = [items[i] for i in named[0]]
    package["updated_at"] = when
    made = [package]
    for ids in named[1:]:
        new_number = f"{4000000000000000 + state.next_id()}"
        made.append(
            {
                **copy.deepcopy({k: v for k, v in package.items() if k != "items"}),
                "number": new_number,
                "items": [items[i] for i in ids],
                "split_from": number,
                "created_at": when,
                "updated_at": when,
            }
        )
        state.packages[new_number] = made[-1]
    for each in made:
        each["total_amount"] = (
            f"{sum(float(i['price']) * int(i['quantity']) for i in each['items']):.2f}"
        )
    return {"packages": copy.deepcopy(made)}


def move(state: SandboxState, number: str, doc: Any) -> dict[str, Any]:
    """Control: Fashfed's carrier moves a package (``shipped``, ``delivered``), with a
    tracking number when it ships — what Updated Orders reads back."""
    package = _package(state, number)
    status = str((doc or {}).get("status") or "")
    if status not in ("shipped", "delivered"):
        raise ValueError("status must be shipped or delivered")
    package["status"] = api.PACKAGE_STATUS[status]
    if (doc or {}).get("tracking_number"):
        package["tracking_number"] = str(doc["tracking_number"])
    package["updated_at"] = api.iso(state.now())
    return copy.deepcopy(package)
