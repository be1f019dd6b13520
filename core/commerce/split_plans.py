"""What an OMS's package split asks for, in the order's own lines, for every marketplace.

The seed's Split Packages body names an order and, per new package, its lines (by the
marketplace's line id or by SKU).  Reading it against the local order is the same work
whatever the marketplace: find the one live order the number names, give each entry the
order's live lines it names (a SKU takes the next line of that SKU not taken yet), and
refuse a split that leaves everything in one package.  The marketplace plugin then makes
the split its way (Hepsiburada's and Fashfed's calls differ) and hands the packages it
became to ``commerce.split_orders``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class SplitRefused(ValueError):
    """Why a split cannot be made; ``message`` is for the run log (reason ``local``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SplitPlan:
    """The order a split names and its live lines per requested package.

    ``order``: ``id, number, remote_number, package_id, status, items`` (as
    :meth:`pazar.reads.Reads.orders` gives it).  ``groups``: per entry of the request's
    ``packages``, the order's line dicts it names.  ``rest``: the live lines no entry
    named (the marketplace decides whether they form one more package)."""

    order: Mapping[str, Any]
    groups: list[list[Mapping[str, Any]]]
    rest: list[Mapping[str, Any]]

    def record(self, packages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """What ``commerce.split_orders`` stores once the marketplace made the split:
        ``packages`` are ``{package_id, item_remote_ids}``, the one the order keeps first."""
        return {
            "remote_number": self.order["remote_number"],
            "package_id": self.order["package_id"],
            "packages": [dict(p) for p in packages],
        }


def _live(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [line for line in order["items"] if line["status"] != "cancelled"]


def split_plan(orders: Iterable[Mapping[str, Any]], payload: Mapping[str, Any]) -> SplitPlan:
    """The plan for ``payload`` (``order_number``, ``packages: [{lines: [{line_id} | {sku}]}]``)
    among ``orders`` (the channel's orders that number names, e.g.
    ``ctx.reads.orders([payload["order_number"]])``).  Raises :class:`SplitRefused`."""
    number = str(payload.get("order_number") or "")
    live = [o for o in orders if o["status"] != "cancelled"]
    if not live:
        raise SplitRefused(f"order {number} is not imported on this channel")
    if len(live) > 1:
        names = ", ".join(sorted(o["number"] for o in live))
        raise SplitRefused(f"order {number} is {len(live)} packages: name one ({names})")
    order = live[0]
    lines = _live(order)
    taken: set[str] = set()
    groups: list[list[Mapping[str, Any]]] = []
    packages: Sequence[Any] = payload.get("packages") or []
    for n, package in enumerate(packages):
        group = []
        for ref in package.get("lines") or []:
            found = next((x for x in lines if x["remote_id"] not in taken and _names(ref, x)), None)
            if found is None:
                known = ", ".join(f"{x['remote_id']} {x['sku']}" for x in lines)
                raise SplitRefused(
                    f"packages[{n}]: no live line {dict(ref)!r} left in order {order['number']} "
                    f"(lines: {known})"
                )
            taken.add(found["remote_id"])
            group.append(found)
        groups.append(group)
    rest = [x for x in lines if x["remote_id"] not in taken]
    if len(groups) + (1 if rest else 0) < 2:
        raise SplitRefused("a split needs lines in at least two packages")
    return SplitPlan(order=order, groups=groups, rest=rest)


def _names(ref: Mapping[str, Any], line: Mapping[str, Any]) -> bool:
    if "line_id" in ref:
        return str(line["remote_id"]) == str(ref["line_id"])
    return str(line["sku"]) == str(ref.get("sku"))
