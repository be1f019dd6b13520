"""``pazar mapping``: the channel's catalog mapping, and the marketplace tree it points at."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, or_, select

from pazar.cli.context import app
from pazar.cli.numbers import Integer
from pazar.cli.output import emit, print_json, print_table
from pazar.errors import NotFoundError

channel_option = click.option(
    "--channel", "channel_slug", required=True, help="The channel (slug) the mapping is for."
)


def _channel(session: Any, slug: str) -> Any:
    from pazar.channels import ChannelService

    a = app()
    return ChannelService(session, a.registry, clock=a.clock).get(slug)


def _templates() -> Any:
    from pazar.templating import build_template_env

    return build_template_env(app().registry)


def _read(path: str) -> tuple[str, str]:
    """(text, name for messages) of FILE or ``-`` (standard input)."""
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    from pazar.textfiles import read_text

    if not Path(path).exists():
        raise NotFoundError(f"{path}: no such file")
    return read_text(path), str(path)


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"written to {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


@click.group("mapping")
def mapping_group() -> None:
    """Map products to marketplace categories and attributes, and check before go-live.

    \b
    Typical order (seed sections 4-6):
      1. the Category Node and Category Attributes flows pull the marketplace tree
      2. pazar mapping categories / attributes   browse what was pulled
      3. pazar mapping apply --channel C FILE     store the mapping (YAML)
      4. pazar mapping check --channel C          every saleable product, every finding
    See docs/mapping.md for the document format.
    """


@mapping_group.command("apply")
@channel_option
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def apply_cmd(channel_slug: str, file: str, as_json: bool) -> None:
    """Validate FILE (YAML, or - for stdin) and make it the channel's mapping.

    Every problem is reported with its line; nothing is stored unless the whole
    document is valid.  Categories and attributes the channel's stored tree does
    not know are reported as warnings (run Category Node / Category Attributes).
    """
    from pazar.config_schema import schema_for
    from pazar.mapping.service import apply_mapping

    text, where = _read(file)
    a = app()
    with a.db.session() as session:
        channel = _channel(session, channel_slug)
        row, warnings = apply_mapping(
            session,
            channel,
            text,
            where,
            _templates(),
            a.clock.now(),
            schema_for(a.registry, channel.plugin),
        )
        doc = row.document
        revision = row.revision
    categories = len(doc.get("categories") or [])
    defaults = len(doc.get("defaults") or {})
    if as_json:
        print_json(
            {
                "channel": channel_slug,
                "revision": revision,
                "categories": categories,
                "defaults": defaults,
                "value_maps": len(doc.get("value_maps") or {}),
                "warnings": warnings,
            }
        )
        return
    click.echo(
        f"mapping applied to channel {channel_slug} (revision {revision}): "
        f"{categories} categories, {defaults} default attributes, "
        f"{len(doc.get('value_maps') or {})} value maps"
    )
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if warnings:
        click.echo(
            f"{len(warnings)} warning(s); run `pazar mapping check --channel {channel_slug}` "
            "to see which products they affect",
            err=True,
        )


@mapping_group.command("show")
@channel_option
@click.option("--json", "as_json", is_flag=True, help="Print the stored document as JSON.")
def show_cmd(channel_slug: str, as_json: bool) -> None:
    """The stored mapping: each category entry, what it matches and its rules."""
    from pazar.mapping.engine import Mapper
    from pazar.mapping.service import stored_mapping

    a = app()
    with a.db.session() as session:
        channel = _channel(session, channel_slug)
        row = stored_mapping(session, channel)
        doc = row.document
        mapper = Mapper.load(session, channel.id, doc, _templates())
        info = {
            "channel": channel_slug,
            "revision": row.revision,
            "updated_at": row.updated_at,
            "document": doc,
        }
    if as_json:
        emit(True, info)
        return
    click.echo(
        f"channel {channel_slug}: mapping revision {info['revision']}, "
        f"applied {info['updated_at']:%Y-%m-%d %H:%M:%S}"
    )
    rows = []
    for cat in mapper.categories:
        entry = doc["categories"][cat.index]
        matches = entry["match"] if isinstance(entry["match"], list) else [entry["match"]]
        rows.append(
            [
                cat.remote_id,
                cat.spec.path or entry.get("title") or "",
                "; ".join(_describe_match(m) for m in matches),
                ", ".join(entry.get("attributes") or {}),
                cat.spec.problem() or "ok",
            ]
        )
    print_table(["category", "path", "matches", "attributes", "status"], rows, title="categories")
    defaults = doc.get("defaults") or {}
    if defaults:
        click.echo("default attributes: " + ", ".join(defaults))
    for name, values in (doc.get("value_maps") or {}).items():
        click.echo(f"value map {name}: {len(values)} values")


def _describe_match(match: dict[str, Any]) -> str:
    parts = []
    if "local_category" in match:
        local = match["local_category"]
        parts.append("category " + (" | ".join(local) if isinstance(local, list) else local))
    for name, want in (match.get("attributes") or {}).items():
        parts.append(f"{name}={'|'.join(map(str, want)) if isinstance(want, list) else want}")
    if match.get("skus"):
        parts.append(f"{len(match['skus'])} SKUs")
    return " and ".join(parts)


@mapping_group.command("export")
@channel_option
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
def export_cmd(channel_slug: str, output: str | None) -> None:
    """Print the stored mapping as YAML (what `apply` takes back unchanged)."""
    from pazar.mapping.service import stored_mapping

    a = app()
    with a.db.session() as session:
        source = stored_mapping(session, _channel(session, channel_slug)).source
    _write(source, output)


@mapping_group.command("check")
@channel_option
@click.option("--sku", "skus", multiple=True, help="Only this SKU (repeatable).")
@click.option(
    "--show",
    type=Integer(min=0),
    default=50,
    show_default=True,
    help="Failing products to list (0: all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print every finding as JSON.")
def check_cmd(channel_slug: str, skus: tuple[str, ...], show: int, as_json: bool) -> None:
    """Evaluate the mapping for every saleable product; exit 1 if any would fail.

    Products are those the product flows would send (saleable in the channel's
    catalog); each is mapped exactly as Product Create / Update would map it.
    """
    from pazar.commerce.saleability import reasons_not_saleable
    from pazar.mapping.check import check_mapping
    from pazar.pipeline import channel_view

    a = app()
    with a.db.session() as session:
        channel = _channel(session, channel_slug)
        # The stored config, secrets unresolved: a check must not need the marketplace password.
        context = {
            "config": dict(channel.config or {}),
            "channel": channel_view(channel),
            "now": a.clock.now(),
        }
        report = check_mapping(session, channel, _templates(), context, skus=list(skus) or None)
        unsaleable = {
            sku: reasons_not_saleable(session, channel, sku)
            for sku in dict.fromkeys(skus)
            if sku not in report.skus
        }
    failing = report.failing
    if as_json:
        emit(
            True,
            {
                "channel": channel_slug,
                "checked": report.checked,
                "ok": report.checked - len(failing),
                "failing": len(failing),
                "warnings": report.warnings,
                "not_saleable": unsaleable,
                "findings": [
                    {
                        "sku": f.sku,
                        "category": f.category,
                        "attribute": f.attribute,
                        "message": f.message,
                    }
                    for e in failing
                    for f in e.findings
                ],
            },
        )
    else:
        for warning in report.warnings:
            click.echo(f"warning: {warning}")
        for sku, reasons in unsaleable.items():
            click.echo(f"{sku}: not saleable, so not checked: {'; '.join(reasons)}")
        listed = failing if show == 0 else failing[:show]
        for evaluation in listed:
            for finding in evaluation.findings:
                where = f" [{finding.category}]" if finding.category else ""
                click.echo(f"{finding.sku}{where}: {finding.message}")
        if len(listed) < len(failing):
            click.echo(f"... and {len(failing) - len(listed)} more failing products (--show 0)")
        print_table(
            ["category", "products", "ok", "failing"],
            [
                [cat, t.products, t.products - t.failing, t.failing]
                for cat, t in sorted(report.categories.items())
            ],
            title="by category",
            empty="no saleable products in the channel's catalog",
        )
        if report.kinds:
            print_table(
                ["finding", "count"], sorted(report.kinds.items()), title="findings by kind"
            )
        click.echo(
            f"{report.checked} products checked: {report.checked - len(failing)} ok, "
            f"{len(failing)} failing"
        )
    if failing or unsaleable:
        sys.exit(1)


@mapping_group.group("values")
def values_group() -> None:
    """Value maps (local value -> marketplace value) as CSV, for spreadsheet editing."""


@values_group.command("export")
@channel_option
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
def values_export_cmd(channel_slug: str, output: str | None) -> None:
    """Every value map as CSV: map,local_value,marketplace_value.

    ``map`` is a value_maps name, CATEGORY/ATTRIBUTE for a rule's inline map,
    or defaults/KEY for a default attribute's.
    """
    from pazar.mapping.service import export_value_maps, stored_mapping

    a = app()
    with a.db.session() as session:
        doc = stored_mapping(session, _channel(session, channel_slug)).document
    _write(export_value_maps(doc), output)


@values_group.command("import")
@channel_option
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def values_import_cmd(channel_slug: str, file: str, as_json: bool) -> None:
    """Replace the value maps FILE names with its rows (others stay as they are)."""
    from pazar.mapping.document import parse_mapping
    from pazar.mapping.service import dump_document, import_value_maps, save_mapping, stored_mapping

    text, where = _read(file)
    a = app()
    with a.db.session() as session:
        channel = _channel(session, channel_slug)
        current = stored_mapping(session, channel)
        doc, counts = import_value_maps(current.document, text, where)
        source = dump_document(doc)
        parse_mapping(source, f"{where} (merged mapping)", _templates())
        row = save_mapping(session, channel, doc, source, a.clock.now())
        revision = row.revision
    if as_json:
        print_json({"channel": channel_slug, "revision": revision, "values": dict(counts)})
        return
    for key, count in counts.items():
        click.echo(f"{key}: {count} values")
    click.echo(f"value maps imported into channel {channel_slug} (mapping revision {revision})")


@mapping_group.command("roots")
@channel_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def roots_cmd(channel_slug: str, as_json: bool) -> None:
    """The marketplace's root categories, asked live: choose the channel's category_ids."""
    from pazar.channels import resolved_config
    from pazar.errors import PazarError
    from pazar.pipeline import ChannelInfo

    a = app()
    with a.db.session() as session:
        channel = _channel(session, channel_slug)
        session.expunge(channel)
    market = a.registry.marketplace(channel.plugin)
    if market.category_roots is None or market.client_factory is None:
        raise PazarError(
            f"{market.title} offers no list of its root categories: ask {market.title} for "
            f"the ids to set (pazar channel set {channel_slug} 'category_ids=[...]')"
        )
    client = market.client_factory(ChannelInfo.of(channel), resolved_config(channel, a.registry))
    try:
        rows = [dict(r) for r in market.category_roots(client)]
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()
    emit(as_json, rows, ["id", "name"], [[r["id"], r["name"]] for r in rows], empty="no roots")
    if rows and not as_json:
        ids = ", ".join(r["id"] for r in rows[:2])
        click.echo(
            f"choose the roots to sell under: pazar channel set {channel_slug} "
            f"'category_ids=[{ids}]'",
            err=True,
        )


@mapping_group.command("categories")
@channel_option
@click.option("--search", default=None, help="Only categories whose path contains this text.")
@click.option("--leaf", is_flag=True, help="Only leaf categories (the ones products go to).")
@click.option("--removed", is_flag=True, help="Include categories removed on the marketplace.")
@click.option("--limit", type=Integer(min=1), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def categories_cmd(
    channel_slug: str, search: str | None, leaf: bool, removed: bool, limit: int, as_json: bool
) -> None:
    """The marketplace category tree as pulled by the Category Node flow."""
    from pazar.models.marketplace import MarketplaceCategory as C

    a = app()
    with a.db.session() as session:
        channel = _channel(session, channel_slug)
        query = select(C).where(C.channel_id == channel.id).order_by(C.path).limit(limit)
        if search:
            like = f"%{search.lower()}%"
            query = query.where(or_(func.lower(C.path).like(like), C.remote_id == search.strip()))
        if leaf:
            query = query.where(C.leaf.is_(True))
        if not removed:
            query = query.where(C.status != "removed")
        rows = [
            {
                "remote_id": c.remote_id,
                "path": c.path,
                "leaf": c.leaf,
                "available": c.available,
                "status": c.status,
            }
            for c in session.scalars(query)
        ]
    emit(
        as_json,
        rows,
        ["id", "path", "leaf", "available", "status"],
        [[r["remote_id"], r["path"], r["leaf"], r["available"], r["status"]] for r in rows],
        empty=f"no categories stored for {channel_slug}; run its Category Node flow "
        f"(pazar run --channel {channel_slug} category_node)",
    )


@mapping_group.command("attributes")
@channel_option
@click.argument("category")
@click.option("--values", "with_values", is_flag=True, help="List the allowed values too.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def attributes_cmd(channel_slug: str, category: str, with_values: bool, as_json: bool) -> None:
    """A category's attributes (and allowed values); CATEGORY is a remote id or 'default'."""
    from pazar.mapping.engine import load_specs

    a = app()
    with a.db.session() as session:
        channel = _channel(session, channel_slug)
        specs, defaults = load_specs(session, channel.id, [category])
    if category == "default":
        attributes, label = defaults, "default attributes"
    else:
        spec = specs[str(category)]
        if not spec.known:
            raise NotFoundError(
                f"category {category} is not stored for {channel_slug}; see "
                f"`pazar mapping categories --channel {channel_slug} --search ...`"
            )
        attributes = spec.attributes
        label = spec.path
    rows = [
        {
            "remote_id": s.remote_id,
            "name": s.name,
            "mandatory": s.mandatory,
            "type": s.type,
            "multi_value": s.multi_value,
            "status": s.status,
            "values": sorted(s.values) if with_values else len(s.values),
        }
        for s in attributes.values()
    ]
    emit(
        as_json,
        rows,
        ["id", "name", "mandatory", "type", "multi", "status", "values"],
        [
            [
                r["remote_id"],
                r["name"],
                r["mandatory"],
                r["type"],
                r["multi_value"],
                r["status"],
                ", ".join(r["values"]) if with_values else r["values"],
            ]
            for r in rows
        ],
        title=label or None,
        empty="no attributes stored; run the Category Attributes flow",
    )


COMMANDS = [mapping_group]
