"""The source half of a marketplace's listings flow, shared by every marketplace.

The engine's ``state.listings_snapshot`` sink takes one item per listing keyed by the
seller's SKU.  What differs between marketplaces is only how the listings are read and
how one becomes a row; what does not is the rest: a page size from the flow's params, one
item per listing, and a listing the marketplace returns without a seller SKU left out of
the snapshot with a warning on the run (it cannot be matched to the catalog, and failing
the whole read for it would leave the dashboard on an old snapshot).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from pazar.pipeline import Item, StepContext
from pazar.registry import params_schema


class ListingsSource:
    """Subclass with :meth:`read`, :meth:`row` and :meth:`unnamed`; register the class as
    a ``source`` step type with ``params_schema=YourClass.params(...)``."""

    default_page_size: ClassVar[int] = 100
    """Listings per request when the flow's params give no ``page_size``."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.page_size = int(ctx.params.get("page_size") or self.default_page_size)

    @classmethod
    def params(cls, what: str, *, maximum: int) -> dict[str, Any]:
        """The step type's params schema: ``page_size``, ``what`` per request, 1 to
        ``maximum``, default :attr:`default_page_size`."""
        return params_schema(
            page_size={
                "type": "integer",
                "minimum": 1,
                "maximum": maximum,
                "default": cls.default_page_size,
                "description": what,
            }
        )

    def read(self) -> Iterable[Mapping[str, Any]]:
        """The marketplace's listings as it answers them, page by page (a generator, so
        memory holds one page)."""
        raise NotImplementedError

    def row(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """One listing as a snapshot row: ``sku`` (the seller's; empty when the listing has
        none), ``remote_id``, ``price``, ``stock`` (None when the marketplace does not show
        it), ``status`` (short text) and ``on_sale``."""
        raise NotImplementedError

    def unnamed(self, raw: Mapping[str, Any]) -> str:
        """How the run log names a listing that has no seller SKU (its marketplace id)."""
        return "a listing"

    def __iter__(self) -> Iterator[Item]:
        run = self.ctx.run
        for raw in self.read():
            row = self.row(raw)
            if not row.get("sku"):
                if run is not None:
                    run.log(
                        None,
                        f"{self.unnamed(raw)} has no seller SKU; left out of the snapshot",
                        "warning",
                    )
                continue
            yield Item(key=row["sku"], data=row)
