"""Flow steps for the marketplace catalog and the mapping, shared by every marketplace.

A marketplace plugin supplies only the sources (its API's pages of categories
and attributes) and the sinks that send products; storing the tree, comparing
attributes and rendering a mapped product are done here, once, so no plugin
re-implements them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pazar.mapping.store import (
    delete_unseen_values,
    mark_unseen_attributes,
    mark_unseen_categories,
    refresh_paths,
    upsert_attributes,
    upsert_categories,
    upsert_values,
)
from pazar.pipeline import Item, RunHandle, StepContext
from pazar.registry import StepType, params_schema

if TYPE_CHECKING:
    from pazar.mapping.engine import Mapper

_COMPLETE = {
    "type": "boolean",
    "default": True,
    "description": "The source lists everything (not a partial or --limit run): whatever "
    "it did not list is marked removed on the marketplace.",
}


class _StoreSink:
    """Shared by the store sinks: the pull's start time, and whether it may mark removals."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.started = ctx.clock.now()
        self.complete = bool(ctx.params.get("complete", True)) and not ctx.keys and not ctx.limit
        self.received = 0

    def render(self, items: list[Item]) -> list[Any]:
        return [item.data for item in items]


class CategoriesSink(_StoreSink):
    """``catalog.categories``: store pages of the category tree, then paths and removals."""

    def send(self, items: list[Item], run: RunHandle) -> None:
        with self.ctx.db.session() as session:
            upsert_categories(session, self.ctx.channel.id, [i.data for i in items], self.started)
        self.received += len(items)

    def close(self, run: RunHandle) -> None:
        if not self.received or run.dry_run:
            return
        with self.ctx.db.session() as session:
            changed = refresh_paths(session, self.ctx.channel.id)
            removed = (
                mark_unseen_categories(session, self.ctx.channel.id, self.started)
                if self.complete
                else 0
            )
        run.log(
            None,
            f"category tree: {self.received} categories stored, {changed} paths updated, "
            f"{removed} no longer on the marketplace",
        )


class AttributesSink(_StoreSink):
    """``catalog.attributes``: store each category's attributes and allowed values.

    One item per category: ``{category_remote_id, attributes: [{remote_id, name,
    group, mandatory, type, multi_value, values: [{remote_id, value}]}]}``.
    With ``compare`` every added, changed and removed attribute is logged (the
    seed's Compare Attributes flow).
    """

    def __init__(self, ctx: StepContext) -> None:
        super().__init__(ctx)
        self.compare = bool(ctx.params.get("compare", False))
        self.categories: list[str] = []

    def send(self, items: list[Item], run: RunHandle) -> None:
        channel_id = self.ctx.channel.id
        attributes: list[dict[str, Any]] = []
        values: list[dict[str, Any]] = []
        for item in items:
            if item.data.get("error"):  # the marketplace refused this category's attributes
                run.fail(item, str(item.data["error"]), "remote")
                continue
            category = str(item.data.get("category_remote_id") or "")
            self.categories.append(category)
            for attr in item.data.get("attributes") or []:
                attributes.append({**attr, "category_remote_id": category})
                for value in attr.get("values") or []:
                    values.append(
                        {
                            "category_remote_id": category,
                            "attribute_remote_id": attr["remote_id"],
                            "remote_id": value.get("remote_id"),
                            "value": value["value"],
                        }
                    )
        with self.ctx.db.session() as session:
            changes = upsert_attributes(session, channel_id, attributes, self.started)
            upsert_values(session, channel_id, values, self.started)
        self.received += len(items)
        if self.compare:
            for category, name in changes.added:
                run.log(category, f"attribute {name!r} is new")
            for category, name, note in changes.changed:
                run.log(category, f"attribute {name!r} changed: {note}", "warning")

    def close(self, run: RunHandle) -> None:
        if not self.received or run.dry_run or not self.complete:
            return
        with self.ctx.db.session() as session:
            gone = mark_unseen_attributes(
                session, self.ctx.channel.id, self.categories, self.started
            )
            if self.ctx.params.get("values", True):
                delete_unseen_values(session, self.ctx.channel.id, self.categories, self.started)
        for category, name in gone:
            run.log(category, f"attribute {name!r} was removed on the marketplace", "warning")


class RenderMapping:
    """``core.render_mapping``: each product record becomes its mapped payload.

    ``item.data`` becomes ``{category, attributes}``; the product record moves to
    ``item.record`` for the sink (price, stock, images).  A product whose
    mapping fails is failed with reason ``mapping`` and every finding in the message,
    so it is penalised exactly as ``pazar mapping check`` would report it.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self._mapper: Mapper | None = None

    @property
    def mapper(self) -> Mapper:
        """Loaded with the first product: a scheduled run with nothing new to send
        neither reads the catalog store nor fails for want of a mapping."""
        if self._mapper is None:
            # Imported here: the engine brings Jinja and JSON Schema, which loading the
            # plugins (every command, `pazar status` too) does not need.
            from pazar.mapping.engine import Mapper
            from pazar.mapping.service import stored_mapping

            with self.ctx.db.session() as session:
                document = stored_mapping(session, self.ctx.channel).document
                self._mapper = Mapper.load(
                    session, self.ctx.channel.id, document, self.ctx.templates
                )
        return self._mapper

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        mapper = self.mapper
        context = self.ctx.template_context()
        out: list[Item] = []
        for item in items:
            if item.deleted:  # removed products carry no mapping to evaluate
                out.append(item)
                continue
            evaluation = mapper.evaluate(item.data, context)
            if not evaluation.ok or evaluation.payload is None:
                run.fail(item, evaluation.message(), "mapping")
                continue
            item.record = item.data
            item.data = evaluation.payload
            out.append(item)
        return out


STEP_TYPES = [
    StepType(
        name="catalog.categories",
        kind="sink",
        factory=CategoriesSink,
        params_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"complete": _COMPLETE, "batch_size": {"type": "integer", "minimum": 1}},
        },
        description="Store the marketplace's category tree (items: remote_id, "
        "parent_remote_id, name, leaf, available); paths are computed at the end.",
    ),
    StepType(
        name="catalog.attributes",
        kind="sink",
        factory=AttributesSink,
        params_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "complete": _COMPLETE,
                "compare": {
                    "type": "boolean",
                    "default": False,
                    "description": "Log every added, changed and removed attribute.",
                },
                "values": {
                    "type": "boolean",
                    "default": True,
                    "description": "The items carry the allowed values too (a complete pull "
                    "drops values no longer listed).",
                },
                "batch_size": {"type": "integer", "minimum": 1},
            },
        },
        description="Store category attributes and their allowed values (one item per "
        "category); marks attributes that changed or disappeared.",
    ),
    StepType(
        name="core.render_mapping",
        kind="step",
        factory=RenderMapping,
        params_schema=params_schema(),
        description="Render each product record through the channel's mapping into "
        "{category, attributes}; products whose mapping fails are penalised (reason mapping).",
    ),
]
