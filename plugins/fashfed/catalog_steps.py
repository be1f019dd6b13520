"""Fashfed's category tree and attributes as flow sources for the engine's catalog store.

Category Node reads the tree under each of the channel's ``category_ids``; Category
Attribute and Values reads every stored leaf category's attributes (the attribute set of the
category node: the seed's Attribute Set Strategy ``CategoryNode``) and the allowed values of
its select attributes; Default Attributes yields the fields every Fashfed product carries
besides its category attributes.  Storing, comparing and mapping are the engine's.
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
from pazar_fashfed import api


def root_ids(config: Mapping[str, Any]) -> list[str]:
    """The configured root category ids (plain ids or the seed's ``{id, name}`` objects)."""
    roots = []
    for entry in config.get("category_ids") or []:
        value = entry.get("id") if isinstance(entry, Mapping) else entry
        if value not in (None, ""):
            roots.append(str(value))
    return roots


def attribute_row(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A Fashfed attribute as the catalog store keeps it: the product payload uses its
    ``key``, so that is its remote id."""
    data_type = str(raw.get("data_type") or "text").lower()
    return {
        "remote_id": str(raw.get("key") or raw.get("id")),
        "name": str(raw.get("name") or raw.get("key")),
        "group": "variant" if raw.get("is_variant") else "attribute",
        "mandatory": bool(raw.get("is_required", False)),
        "type": "enum" if data_type in api.ENUM_DATA_TYPES else data_type,
        "multi_value": bool(raw.get("is_multiple")) or data_type in api.MULTI_DATA_TYPES,
    }


class CategoryTree:
    """``fashfed.categories``: the tree under every root of ``category_ids``."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def __iter__(self) -> Iterator[Item]:
        roots = root_ids(self.ctx.config)
        if not roots:
            raise ConfigError(
                "category_ids is empty: set the Fashfed main category ids first (seed section 2), "
                "e.g. pazar channel set SLUG 'category_ids=[\"99ae4410-7631-452c-bfb0-b7d636ea95eb\"]'"
            )
        client = self.ctx.client()
        seen: set[str] = set()
        for root in roots:
            try:
                rows = list(client.category_tree(root))
            except MarketplaceError as exc:
                if exc.status != 404:
                    raise
                if self.ctx.run is not None:
                    self.ctx.run.log(root, f"category {root} not found on Fashfed", "warning")
                continue
            for raw in rows:
                remote = str(raw.get("id") or "")
                if not remote or remote in seen:
                    continue
                seen.add(remote)
                parent = raw.get("parent")
                yield Item(
                    key=remote,
                    data={
                        "remote_id": remote,
                        "parent_remote_id": None if remote == root or not parent else str(parent),
                        "name": str(raw.get("name") or remote),
                        "leaf": bool(raw.get("is_leaf", False)),
                        "available": bool(raw.get("is_active", True)),
                    },
                )


class CategoryAttributes:
    """``fashfed.category_attributes``: each stored leaf category's attributes (and values).

    A category Fashfed refuses becomes an item carrying its message, which the store sink
    fails (penalty-free for the others); an outage fails the run.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.values = bool(ctx.params.get("values", True))
        self.no_categories = ctx.params.get("no_categories", "fail")

    def _ids(self) -> list[str]:
        ids = self.ctx.reads.leaf_categories_to_read(
            configured=bool(root_ids(self.ctx.config)), when_none=self.no_categories
        )
        if self.ctx.keys:
            wanted = set(self.ctx.keys)
            ids = [i for i in ids if i in wanted]
        return ids

    def __iter__(self) -> Iterator[Item]:
        ids = self._ids()
        client = self.ctx.client() if ids else None
        for category in ids:
            try:
                rows = []
                for raw in client.category_attributes(category):  # type: ignore[union-attr]
                    row = attribute_row(raw)
                    if self.values and row["type"] == "enum":
                        row["values"] = [
                            {"remote_id": str(v.get("id") or v["value"]), "value": str(v["value"])}
                            for v in client.attribute_values(category, str(raw["id"]))  # type: ignore[union-attr]
                            if v.get("value") not in (None, "")
                        ]
                    rows.append(row)
            except MarketplaceError as exc:
                if not exc.record_fault:
                    raise
                yield Item(
                    key=category, data={"category_remote_id": category, "error": exc.message}
                )
                continue
            yield Item(key=category, data={"category_remote_id": category, "attributes": rows})


class DefaultAttributes:
    """``fashfed.default_attributes``: the fields every product carries (``api.DEFAULT_ATTRIBUTES``),
    as the mapping's ``defaults:`` section maps them; pazar fills SKU, category, images,
    price and stock itself."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def __iter__(self) -> Iterator[Item]:
        yield Item(
            key="default",
            data={
                "category_remote_id": "",
                "attributes": [
                    {
                        "remote_id": key,
                        "name": name,
                        "group": "default",
                        "mandatory": mandatory,
                        "type": "string",
                        "multi_value": False,
                    }
                    for key, name, mandatory in api.DEFAULT_ATTRIBUTES
                ],
            },
        )


STEP_TYPES = [
    StepType(
        name="fashfed.categories",
        kind="source",
        factory=CategoryTree,
        params_schema=params_schema(),
        description="Fashfed's category tree under the channel's category_ids "
        "(items for catalog.categories).",
    ),
    StepType(
        name="fashfed.category_attributes",
        kind="source",
        factory=CategoryAttributes,
        params_schema=params_schema(
            values={
                "type": "boolean",
                "default": True,
                "description": "Also read the allowed values of select attributes.",
            },
            no_categories=no_categories_param(),
        ),
        description="Attributes (and select values) of every stored leaf category "
        "(items for catalog.attributes).",
    ),
    StepType(
        name="fashfed.default_attributes",
        kind="source",
        factory=DefaultAttributes,
        params_schema=params_schema(),
        description="The fields every Fashfed product carries besides its category "
        "attributes (name, base code, description), for the mapping's defaults.",
    ),
]
