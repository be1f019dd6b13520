"""The order statuses pazar knows and the order they come in.

An order moves ``new → preparing → shipped → delivered | undelivered``; ``cancelled`` and
``refunded`` end it.  A marketplace is never told a status behind one it already holds
(seed section 8: "the status of the order cannot be updated retrospectively"), and a
status a marketplace reports never moves a local order backwards either: both compare
ranks here, whatever the marketplace.
"""

from __future__ import annotations

from collections.abc import Iterable

ORDER_STATUSES = (
    "new",
    "preparing",
    "shipped",
    "delivered",
    "undelivered",
    "cancelled",
    "refunded",
)

# The fulfilment ladder; statuses off it (cancelled, refunded) are not sent by order updates.
RANK = {"new": 0, "preparing": 1, "shipped": 2, "delivered": 3, "undelivered": 3}
FINAL = ("cancelled", "refunded")

# An order the commerce backend has not reported to its ERP yet (seed: "Unreported order
# of ERP can not be canceled"): it is still ``new``.
UNREPORTED_STATUSES = ("new",)
UNREPORTED_MESSAGE = "Unreported order of ERP can not be canceled"


def rank(status: str | None) -> int:
    """The status's place on the ladder; -1 for none or one off the ladder."""
    return RANK.get(str(status or ""), -1)


def highest(statuses: Iterable[str | None]) -> str | None:
    """The furthest of these statuses (None when none is on the ladder)."""
    best: str | None = None
    for status in statuses:
        if rank(status) > rank(best):
            best = status
    return best


def is_ahead(status: str | None, known: str | None) -> bool:
    """Whether ``status`` is further on than ``known`` (what the other side holds)."""
    return rank(status) > rank(known)
