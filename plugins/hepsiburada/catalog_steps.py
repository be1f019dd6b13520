"""Hepsiburada's catalog (mpop) as flow sources: category tree, attributes, default attributes.

These sources only speak Hepsiburada: they turn its pages into the rows the
engine's ``catalog.categories`` and ``catalog.attributes`` sinks store, so the
store, the comparison and the mapping stay marketplace-independent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pazar.plugin import (
    ConfigError,
    Item,
    MarketplaceError,
    StepContext,
    StepType,
    no_categories_param,
    params_schema,
)

# Base attributes pazar fills itself in every product payload, from the commerce
# data (price and stock with buffer stock; the product's images), so they are
# not left to the mapping.
FILLED_BY_PAZAR = frozenset({"price", "stock", "Video1", *(f"Image{n}" for n in range(1, 11))})
GROUPS = {"baseAttributes": "base", "attributes": "attribute", "variantAttributes": "variant"}


def _attribute(raw: Mapping[str, Any], group: str) -> dict[str, Any]:
    return {
        "remote_id": str(raw.get("id")),
        "name": str(raw.get("name") or raw.get("id")),
        "group": group,
        "mandatory": bool(raw.get("mandatory", False)),
        "type": str(raw.get("type") or "string").lower(),
        "multi_value": bool(raw.get("multiValue", False)),
    }


def _roots(config: Mapping[str, Any]) -> list[str]:
    roots = [str(c) for c in config.get("category_ids") or []]
    if not roots:
        raise ConfigError(
            "category_ids is empty: set the Hepsiburada root category ids first (seed section 2), "
            "e.g. pazar channel set SLUG 'category_ids=[60001001]'"
        )
    return roots


class CategoryNodes:
    """``hepsiburada.categories``: the subtrees under the channel's ``category_ids``.

    Hepsiburada lists every category with its parent; the tree is small
    metadata, so it is read whole and only the configured subtrees go on.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def __iter__(self) -> Iterator[Item]:
        roots = _roots(self.ctx.config)
        rows: dict[str, dict[str, Any]] = {}
        children: dict[str, list[str]] = {}
        for raw in self.ctx.client().categories():
            remote = str(raw.get("categoryId"))
            parent = raw.get("parentCategoryId")
            parent_id = None if parent in (None, "", 0) else str(parent)
            status = str(raw.get("status") or "ACTIVE").upper()
            rows[remote] = {
                "remote_id": remote,
                "parent_remote_id": parent_id,
                "name": str(raw.get("displayName") or raw.get("name") or remote),
                "leaf": bool(raw.get("leaf", False)),
                "available": bool(raw.get("available", True)) and status == "ACTIVE",
            }
            if parent_id is not None:
                children.setdefault(parent_id, []).append(remote)
        missing = [r for r in roots if r not in rows]
        if missing and self.ctx.run is not None:
            self.ctx.run.log(
                None, f"category_ids not found on Hepsiburada: {', '.join(missing)}", "warning"
            )
        stack = [r for r in roots if r in rows]
        seen: set[str] = set()
        while stack:
            remote = stack.pop()
            if remote in seen:
                continue
            seen.add(remote)
            yield Item(key=remote, data=rows[remote])
            stack.extend(children.get(remote, ()))


class CategoryAttributes:
    """``hepsiburada.category_attributes``: each stored leaf category's attributes.

    One item per category (its ``attributes`` and ``variantAttributes``, with the
    allowed values of enum attributes unless ``values: false``), plus one item
    for the default attributes: Hepsiburada's base attributes, the same for
    every category, minus what pazar fills itself (price, stock, images).
    A category Hepsiburada refuses becomes an item that fails with its message.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.values = bool(ctx.params.get("values", True))
        self.defaults = bool(ctx.params.get("defaults", True))
        self.categories = bool(ctx.params.get("categories", True))
        self.no_categories = ctx.params.get("no_categories", "fail")

    def _ids(self) -> list[str]:
        ids = self.ctx.reads.leaf_categories_to_read(
            configured=bool(self.ctx.config.get("category_ids")), when_none=self.no_categories
        )
        if self.ctx.keys:
            ids = [i for i in ids if i in set(self.ctx.keys)]
        return ids

    def __iter__(self) -> Iterator[Item]:
        ids = self._ids()
        if not ids:
            return
        client = self.ctx.client()
        base: list[Mapping[str, Any]] | None = None
        for remote in ids:
            try:
                groups = client.category_attributes(remote)
                if base is None:
                    base = groups.get("baseAttributes") or []
                if not self.categories:
                    break
                attributes = []
                for group_key in ("attributes", "variantAttributes"):
                    for raw in groups.get(group_key) or []:
                        attr = _attribute(raw, GROUPS[group_key])
                        if self.values and attr["type"] == "enum":
                            attr["values"] = [
                                {
                                    "remote_id": str(v.get("id") or v.get("value")),
                                    "value": v["value"],
                                }
                                for v in client.attribute_values(remote, attr["remote_id"])
                                if isinstance(v, Mapping) and v.get("value") not in (None, "")
                            ]
                        attributes.append(attr)
            except MarketplaceError as exc:
                if not exc.record_fault:
                    raise  # an outage: the run fails and the next one reads the tree again
                yield Item(key=remote, data={"category_remote_id": remote, "error": exc.message})
                continue
            yield Item(key=remote, data={"category_remote_id": remote, "attributes": attributes})
        if self.defaults and base is not None:
            yield Item(
                key="default",
                data={
                    "category_remote_id": "",
                    "attributes": [
                        _attribute(raw, "default")
                        for raw in base
                        if str(raw.get("id")) not in FILLED_BY_PAZAR
                    ],
                },
            )


_SOURCE_PARAMS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "values": {
            "type": "boolean",
            "default": True,
            "description": "Also fetch the allowed values of enum attributes.",
        },
        "defaults": {
            "type": "boolean",
            "default": True,
            "description": "Also yield the default (base) attributes as one item.",
        },
        "categories": {
            "type": "boolean",
            "default": True,
            "description": "Yield each category's attributes (false: only the default attributes).",
        },
        "no_categories": no_categories_param(),
    },
}

STEP_TYPES = [
    StepType(
        name="hepsiburada.categories",
        kind="source",
        factory=CategoryNodes,
        params_schema=params_schema(),
        description="Hepsiburada's category tree under the channel's category_ids "
        "(items for catalog.categories).",
    ),
    StepType(
        name="hepsiburada.category_attributes",
        kind="source",
        factory=CategoryAttributes,
        params_schema=_SOURCE_PARAMS,
        description="Attributes (and enum values) of every stored leaf category, plus the "
        "default attributes (items for catalog.attributes).",
    ),
]
