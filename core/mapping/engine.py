"""Evaluating a mapping for one product: its category, its payload, or what is wrong.

``pazar mapping check`` and the product flows call the same :class:`Mapper`, so
what the check says is exactly what a product flow would send or penalise.
Templates are compiled once per rule (so once per category, never per product),
the common ``{{ product.attributes.x }}`` form is read straight from the
product without going through Jinja, and categories are found through indexes
on SKU and exact local category path before any pattern is tried.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.mapping.document import rule_parts
from pazar.models.marketplace import (
    DEFAULT_CATEGORY,
    MarketplaceAttribute,
    MarketplaceAttributeValue,
    MarketplaceCategory,
)
from pazar.suggest import nearest
from pazar.templating import TemplateEnv, TemplateError

ENUM_TYPES = frozenset({"enum", "list", "select"})
_PATH = re.compile(r"^\s*\{\{\s*((?:product|config)(?:\.[^\W\d_]\w*)+)\s*\}\}\s*$")


# --- what the store says ---------------------------------------------------------------------
@dataclass
class AttributeSpec:
    remote_id: str
    name: str
    mandatory: bool
    type: str
    multi_value: bool
    status: str
    values: dict[str, str] = field(default_factory=dict)  # value text -> remote id
    is_enum: bool = False  # ``enum``, fixed once the values are loaded
    _lookup: dict[str, str] | None = field(default=None, repr=False)

    @property
    def enum(self) -> bool:
        return self.type.lower() in ENUM_TYPES or bool(self.values)

    def allowed(self, value: Any) -> str | None:
        """The marketplace's own spelling of ``value`` (by text, any case, or by id)."""
        text = str(value)
        if text in self.values:
            return text
        if self._lookup is None:  # built once per attribute, on the first miss
            self._lookup = {name.casefold(): name for name in self.values}
            self._lookup.update({remote: name for name, remote in self.values.items()})
        return self._lookup.get(text.casefold()) or self._lookup.get(text)


@dataclass
class CategorySpec:
    remote_id: str
    name: str = ""
    path: str = ""
    leaf: bool = True
    available: bool = True
    status: str = "active"
    known: bool = True
    attributes: dict[str, AttributeSpec] = field(default_factory=dict)

    def problem(self) -> str | None:
        """Why no product can go to this category, if anything."""
        if not self.known:
            return (
                f"category {self.remote_id} is not in the channel's category tree "
                "(run the Category Node flow, or fix the mapping)"
            )
        label = f"category {self.remote_id} ({self.path or self.name})"
        if self.status == "removed":
            return f"{label} was removed on the marketplace"
        if not self.leaf:
            return f"{label} is not a leaf category; products go to leaf categories only"
        if not self.available:
            return f"{label} does not accept products (not available)"
        return None


def load_specs(
    session: Session, channel_id: int, category_ids: Iterable[str]
) -> tuple[dict[str, CategorySpec], dict[str, AttributeSpec]]:
    """The stored categories (with attributes and values) and the default attributes."""
    wanted = sorted({str(c) for c in category_ids})
    c, a, v = (
        MarketplaceCategory.__table__,
        MarketplaceAttribute.__table__,
        MarketplaceAttributeValue.__table__,
    )
    specs = {cid: CategorySpec(remote_id=cid, known=False) for cid in wanted}
    defaults: dict[str, AttributeSpec] = {}
    scope = [*wanted, DEFAULT_CATEGORY]
    for start in range(0, len(scope), 500):
        part = scope[start : start + 500]
        for row in session.execute(
            select(c).where(c.c.channel_id == channel_id, c.c.remote_id.in_(part))
        ):
            specs[row.remote_id] = CategorySpec(
                remote_id=row.remote_id,
                name=row.name,
                path=row.path,
                leaf=row.leaf,
                available=row.available,
                status=row.status,
            )
        by_key: dict[tuple[str, str], AttributeSpec] = {}
        for row in session.execute(
            select(a).where(
                a.c.channel_id == channel_id,
                a.c.category_remote_id.in_(part),
                a.c.status != "removed",
            )
        ):
            spec = AttributeSpec(
                remote_id=row.remote_id,
                name=row.name,
                mandatory=row.mandatory,
                type=row.type,
                multi_value=row.multi_value,
                status=row.status,
            )
            by_key[(row.category_remote_id, row.remote_id)] = spec
            if row.category_remote_id == DEFAULT_CATEGORY:
                defaults[row.remote_id] = spec
            elif row.category_remote_id in specs:
                specs[row.category_remote_id].attributes[row.remote_id] = spec
        for row in session.execute(
            select(v.c.category_remote_id, v.c.attribute_remote_id, v.c.remote_id, v.c.value).where(
                v.c.channel_id == channel_id, v.c.category_remote_id.in_(part)
            )
        ):
            spec = by_key.get((row.category_remote_id, row.attribute_remote_id))
            if spec is not None:
                spec.values[row.value] = row.remote_id
    return specs, defaults


# --- compiled rules --------------------------------------------------------------------------
class _Rule:
    """One attribute rule: value template, value map, default."""

    def __init__(
        self, key: str, rule: Any, value_maps: Mapping[str, Any], templates: TemplateEnv, where: str
    ) -> None:
        value, values, default = rule_parts(rule)
        self.key = key
        self.default = default
        self.values: dict[str, Any] = (
            dict(value_maps.get(values) or {}) if isinstance(values, str) else dict(values or {})
        )
        self.path: list[str] | None = None
        self.expression: Any = None
        if isinstance(value, str):
            match = _PATH.match(value)
            if match:
                self.path = match.group(1).split(".")
            else:
                self.expression = templates.expression(value, where)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        value: Any = None
        if self.path is not None:
            value = context
            for part in self.path:
                value = value.get(part) if isinstance(value, dict) else None
                if value is None:
                    break
        elif self.expression is not None:
            value = self.expression.render(context)
        if _empty(value):
            value = self.default
        if self.values and not _empty(value):
            if isinstance(value, list):
                value = [self.values.get(str(v), v) for v in value]
            else:
                value = self.values.get(str(value), value)
        return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


@dataclass
class _Match:
    categories: list[str] | None
    patterns: list[re.Pattern[str]]
    attributes: dict[str, list[str]]
    skus: set[str] | None

    def holds(self, sku: str, local_categories: Sequence[str], attrs: Mapping[str, Any]) -> bool:
        if self.skus is not None and sku not in self.skus:
            return False
        if self.categories is not None or self.patterns:
            exact = self.categories or []
            if not any(
                c in exact or any(p.match(c) for p in self.patterns) for c in local_categories
            ):
                return False
        return all(str(attrs.get(name)) in accepted for name, accepted in self.attributes.items())


def _compile_match(raw: Mapping[str, Any]) -> _Match:
    local = raw.get("local_category")
    paths = [local] if isinstance(local, str) else list(local or [])
    exact = [p for p in paths if not any(ch in p for ch in "*?[")]
    patterns = [re.compile(fnmatch.translate(p)) for p in paths if p not in exact]
    attrs = {
        name: [str(v) for v in (want if isinstance(want, list) else [want])]
        for name, want in (raw.get("attributes") or {}).items()
    }
    skus = set(raw["skus"]) if raw.get("skus") else None
    return _Match(exact if local is not None and exact else None, patterns, attrs, skus)


@dataclass
class _Category:
    index: int
    remote_id: str
    matches: list[_Match]
    rules: dict[str, _Rule]
    spec: CategorySpec = field(default_factory=lambda: CategorySpec(remote_id=""))
    plan: list[tuple[AttributeSpec, _Rule | None]] = field(default_factory=list)


@dataclass
class Finding:
    """One reason a product cannot be sent as mapped."""

    sku: str
    message: str
    category: str | None = None
    attribute: str | None = None


@dataclass
class Evaluation:
    sku: str
    category: str | None = None
    payload: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def message(self) -> str:
        return "; ".join(f.message for f in self.findings)


class Mapper:
    """A channel's mapping, compiled against what the store knows of its categories."""

    def __init__(
        self,
        document: Mapping[str, Any],
        templates: TemplateEnv,
        specs: Mapping[str, CategorySpec],
        default_specs: Mapping[str, AttributeSpec],
    ) -> None:
        value_maps = document.get("value_maps") or {}
        self.defaults = {
            key: _Rule(key, rule, value_maps, templates, f"/defaults/{key}")
            for key, rule in (document.get("defaults") or {}).items()
        }
        self.default_specs = dict(default_specs)
        self.default_plan, self.passthrough = self._plan(self.defaults, self.default_specs)
        self.categories: list[_Category] = []
        self.by_sku: dict[str, list[int]] = {}
        self.by_path: dict[str, list[int]] = {}
        self.scan: list[int] = []
        for n, entry in enumerate(document.get("categories") or []):
            remote = str(entry["category"])
            raw_matches = entry["match"] if isinstance(entry["match"], list) else [entry["match"]]
            matches = [_compile_match(m) for m in raw_matches]
            rules = {
                key: _Rule(key, rule, value_maps, templates, f"/categories/{n}/attributes/{key}")
                for key, rule in (entry.get("attributes") or {}).items()
            }
            spec = specs.get(remote) or CategorySpec(remote_id=remote, known=False)
            plan, _unclaimed = self._plan(rules, spec.attributes)
            self.categories.append(_Category(n, remote, matches, rules, spec, plan))
            for m in matches:
                if m.skus is not None:
                    index, keys = self.by_sku, sorted(m.skus)
                elif m.categories is not None and not m.patterns:
                    index, keys = self.by_path, m.categories
                else:
                    self.scan.append(n)
                    continue
                for key in keys:
                    slots = index.setdefault(key, [])
                    if n not in slots:
                        slots.append(n)

    @classmethod
    def load(
        cls, session: Session, channel_id: int, document: Mapping[str, Any], templates: TemplateEnv
    ) -> Mapper:
        ids = [str(entry["category"]) for entry in document.get("categories") or []]
        specs, defaults = load_specs(session, channel_id, ids)
        return cls(document, templates, specs, defaults)

    def warnings(self) -> list[str]:
        """Problems of the mapping itself against the store (reported once, not per product)."""
        out: list[str] = []
        for cat in self.categories:
            where = f"/categories/{cat.index}"
            problem = cat.spec.problem()
            if problem:
                out.append(f"{where}: {problem}")
                continue
            for key in cat.rules:
                if self._attribute_for(cat.spec.attributes, key) is None:
                    known = [a.name for a in cat.spec.attributes.values()]
                    hint = nearest(key, known)
                    out.append(
                        f"{where}/attributes/{key}: category {cat.remote_id} has no attribute "
                        f"{key!r}" + (f"; did you mean {hint!r}?" if hint else "")
                    )
        return out

    @staticmethod
    def _attribute_for(attributes: Mapping[str, AttributeSpec], key: str) -> AttributeSpec | None:
        if key in attributes:
            return attributes[key]
        for spec in attributes.values():
            if spec.name == key:
                return spec
        folded = key.casefold()
        for spec in attributes.values():
            if spec.name.casefold() == folded:
                return spec
        return None

    def categories_for(self, product: Mapping[str, Any]) -> list[_Category]:
        sku = str(product.get("sku"))
        local = [str(c) for c in product.get("categories") or []]
        attrs = product.get("attributes") or {}
        candidates: set[int] = set(self.scan)
        candidates.update(self.by_sku.get(sku, ()))
        for path in local:
            candidates.update(self.by_path.get(path, ()))
        return [
            self.categories[n]
            for n in sorted(candidates)
            if any(m.holds(sku, local, attrs) for m in self.categories[n].matches)
        ]

    def evaluate(self, product: Mapping[str, Any], context: Mapping[str, Any]) -> Evaluation:
        """The product's category and payload, or every finding that stops it."""
        sku = str(product.get("sku"))
        result = Evaluation(sku=sku)
        found = self.categories_for(product)
        if not found:
            local = ", ".join(map(str, product.get("categories") or [])) or "none"
            result.findings.append(
                Finding(sku, f"no category mapping matches the product (local category: {local})")
            )
            return result
        if len(found) > 1:
            listed = ", ".join(f"{c.remote_id} (/categories/{c.index})" for c in found)
            result.findings.append(
                Finding(
                    sku,
                    f"the product matches {len(found)} category mappings: {listed}; "
                    "a product must go to exactly one category",
                )
            )
            return result
        cat = found[0]
        result.category = cat.remote_id
        problem = cat.spec.problem()
        if problem:
            result.findings.append(Finding(sku, problem, cat.remote_id))
            return result
        ctx = {**context, "product": product}
        attributes: dict[str, Any] = {}
        self._apply(self.default_plan, self.passthrough, ctx, attributes, result)
        self._apply(cat.plan, [], ctx, attributes, result)
        if result.ok:
            result.payload = {"category": cat.remote_id, "attributes": attributes}
        return result

    @staticmethod
    def _plan(
        rules: Mapping[str, _Rule], specs: Mapping[str, AttributeSpec]
    ) -> tuple[list[tuple[AttributeSpec, _Rule | None]], list[_Rule]]:
        """Pair every stored attribute with its rule once, so products only evaluate.

        Returns the pairs and the rules no stored attribute claimed.
        """
        plan: list[tuple[AttributeSpec, _Rule | None]] = []
        used: set[str] = set()
        for spec in specs.values():
            spec.is_enum = spec.enum
            rule = rules.get(spec.remote_id) or rules.get(spec.name)
            if rule is None:
                rule = next(
                    (r for k, r in rules.items() if k.casefold() == spec.name.casefold()), None
                )
            if rule is not None:
                used.add(rule.key)
            plan.append((spec, rule))
        return plan, [rule for key, rule in rules.items() if key not in used]

    def _apply(
        self,
        plan: list[tuple[AttributeSpec, _Rule | None]],
        passthrough: list[_Rule],
        ctx: Mapping[str, Any],
        out: dict[str, Any],
        result: Evaluation,
    ) -> None:
        """Evaluate every stored attribute once, then the rules passed through as they are.

        Only default attributes pass through keys the marketplace has not
        described; a category rule for an attribute the category does not have
        is left out (``warnings`` reports it once).
        """
        for spec, rule in plan:
            self._one(spec, rule, ctx, out, result)
        for rule in passthrough:
            try:
                value = rule.evaluate(ctx)
            except TemplateError as exc:
                result.findings.append(
                    Finding(result.sku, f"{rule.key}: {exc.problem}", result.category, rule.key)
                )
                continue
            if not _empty(value):
                out[rule.key] = value

    def _one(
        self,
        spec: AttributeSpec,
        rule: _Rule | None,
        ctx: Mapping[str, Any],
        out: dict[str, Any],
        result: Evaluation,
    ) -> None:
        def fail(message: str) -> None:
            result.findings.append(Finding(result.sku, message, result.category, spec.name))

        try:
            value = rule.evaluate(ctx) if rule is not None else None
        except TemplateError as exc:
            fail(f"{spec.name}: {exc.problem}")
            return
        if _empty(value):
            if spec.mandatory:
                fail(f"{spec.name} attribute is required")
            return
        values = value if isinstance(value, list) else [value]
        if len(values) > 1 and not spec.multi_value:
            fail(f"{spec.name} takes one value, got {len(values)}")
            return
        if spec.is_enum:
            if not spec.values:
                fail(
                    f"no allowed values are stored for {spec.name} "
                    "(run the Category Attributes flow)"
                )
                return
            resolved = []
            for v in values:
                name = spec.allowed(v)
                if name is None:
                    hint = nearest(str(v), spec.values)
                    fail(
                        f"value {str(v)!r} is not allowed for {spec.name}"
                        + (f"; did you mean {hint!r}?" if hint else "")
                    )
                    return
                resolved.append(name)
            values = resolved
        out[spec.remote_id] = values if spec.multi_value and isinstance(value, list) else values[0]
