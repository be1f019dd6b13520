"""``pazar mapping check``: evaluate the mapping for every saleable product before go-live.

Products are streamed from the channel's catalog in the same shape the product
flows see (``commerce.changed_products`` records), and each goes through the
same :class:`~pazar.mapping.engine.Mapper` the flows use, so a clean check means
the product flows will not penalise anything for mapping reasons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from pazar.commerce.saleability import catalog_code, saleable_clause
from pazar.mapping.engine import Evaluation, Mapper
from pazar.mapping.service import stored_mapping
from pazar.models.commerce import Catalog, Price, Product, Stock
from pazar.templating import TemplateEnv

PAGE = 2000


@dataclass
class CategoryTally:
    products: int = 0
    failing: int = 0


@dataclass
class CheckReport:
    """What a check found: failing products with their findings, and tallies."""

    checked: int = 0
    failing: list[Evaluation] = field(default_factory=list)
    categories: dict[str, CategoryTally] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    skus: set[str] = field(default_factory=set)  # every SKU checked

    @property
    def ok(self) -> bool:
        return not self.failing

    def add(self, evaluation: Evaluation) -> None:
        self.checked += 1
        self.skus.add(evaluation.sku)
        tally = self.categories.setdefault(evaluation.category or "-", CategoryTally())
        tally.products += 1
        if not evaluation.ok:
            tally.failing += 1
            self.failing.append(evaluation)
            for finding in evaluation.findings:
                self.kinds[_kind(finding.message)] += 1


def _kind(message: str) -> str:
    """A finding's family for the summary ("is required", "is not allowed", ...)."""
    for marker, kind in (
        ("attribute is required", "missing mandatory attribute"),
        ("is not allowed for", "value not allowed"),
        ("category mappings", "more than one category"),
        ("no category mapping", "no category"),
        ("takes one value", "too many values"),
        ("no allowed values are stored", "values not pulled"),
    ):
        if marker in message:
            return kind
    if message.startswith("category "):
        return "category not usable"
    return "template error"


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def iter_products(
    session: Any, channel: Any, skus: Sequence[str] | None = None
) -> Iterator[dict[str, Any]]:
    """The channel's saleable products as flow records, streamed page by page (keyset)."""
    # Aliased: the saleability clause has its own EXISTS over prices and stocks.
    p, pr, st = Product.__table__, Price.__table__.alias("pr"), Stock.__table__.alias("st")
    catalog = session.scalar(select(Catalog.id).where(Catalog.code == catalog_code(channel)))
    if catalog is None:
        return
    dialect = session.get_bind().dialect.name
    columns = [
        p.c.id.label("product_id"),
        p.c.sku,
        p.c.base_code,
        p.c.name,
        p.c.product_type,
        p.c.parent_id,
        p.c.attributes,
        p.c.categories,
        p.c.images,
        p.c.active,
        pr.c.price,
        pr.c.retail_price,
        pr.c.currency,
        pr.c.tax_rate,
        st.c.quantity,
        st.c.extra,
    ]
    base = (
        select(*columns)
        .select_from(
            p.outerjoin(pr, pr.c.product_id == p.c.id).outerjoin(st, st.c.product_id == p.c.id)
        )
        .where(saleable_clause(dialect, catalog))
        .order_by(p.c.id)
        .limit(PAGE)
    )
    if skus:
        base = base.where(p.c.sku.in_(list(skus)))
    last = 0
    while True:
        rows = session.execute(base.where(p.c.id > last)).mappings().all()
        for row in rows:
            yield {k: _plain(v) for k, v in row.items()}
        if len(rows) < PAGE:
            return
        last = rows[-1]["product_id"]


def check_mapping(
    session: Any,
    channel: Any,
    templates: TemplateEnv,
    context: dict[str, Any],
    *,
    skus: Sequence[str] | None = None,
) -> CheckReport:
    """Evaluate the stored mapping for the channel's saleable products (or ``skus``)."""
    document = stored_mapping(session, channel).document
    mapper = Mapper.load(session, channel.id, document, templates)
    report = CheckReport(warnings=mapper.warnings())
    for product in iter_products(session, channel, skus):
        report.add(mapper.evaluate(product, context))
    return report
