"""``pazar channel``: create and configure channels; secrets never leave masked."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import yaml

from pazar import config_schema as cs
from pazar.channels import ChannelService
from pazar.cli.context import app
from pazar.cli.output import emit, fmt, json_option, print_json
from pazar.errors import PazarError, ValidationError


def _service(session: Any) -> ChannelService:
    a = app()
    return ChannelService(session, a.registry, clock=a.clock, hook=a.plugins.hook)


def _summary(channel: Any) -> dict[str, Any]:
    return {
        "slug": channel.slug,
        "name": channel.name,
        "plugin": channel.plugin,
        "status": channel.status,
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
    }


@click.group("channel")
def channel_group() -> None:
    """Channels: one seller account on one marketplace, with its config."""


@channel_group.command("add", short_help="Create an inactive channel with every default.")
@click.argument("plugin")
@click.option("--slug", required=True, help="Short unique id: lowercase letters, digits, - and _.")
@click.option("--name", default=None, help="Display name (default: the marketplace's title).")
def add_cmd(plugin: str, slug: str, name: str | None) -> None:
    """Create an inactive channel of PLUGIN with every config default filled in."""
    with app().db.session() as session:
        service = _service(session)
        channel = service.add(plugin, slug, name)
        missing = service.missing(channel)
    click.echo(f"created channel {slug} ({channel.plugin}), status inactive")
    if missing:
        click.echo("fill these before `pazar channel activate " + slug + "`:")
        for line in missing:
            click.echo(f"  {line}")


@channel_group.command("list", short_help="List channels.")
@json_option
def list_cmd(as_json: bool) -> None:
    """Every channel: slug, name, plugin, status, last update."""
    with app().db.session() as session:
        data = [_summary(c) for c in _service(session).list()]
    emit(
        as_json,
        data,
        ["slug", "name", "plugin", "status", "updated"],
        [[d["slug"], d["name"], d["plugin"], d["status"], d["updated_at"]] for d in data],
        empty="no channels yet: pazar channel add PLUGIN --slug SLUG",
    )


@channel_group.command("show", short_help="Show a channel and its config (secrets masked).")
@click.argument("slug")
@json_option
def show_cmd(slug: str, as_json: bool) -> None:
    """A channel and its config, secrets masked."""
    with app().db.session() as session:
        service = _service(session)
        channel = service.get(slug)
        masked = cs.mask(service.schema(channel), channel.config or {})
        policies = service.effective_policies(channel)
        data = {
            **_summary(channel),
            "config": masked,
            "failed_integration_effective": [vars(p) for p in policies],
        }
    if as_json:
        print_json(data)
        return
    for key in ("slug", "name", "plugin", "status", "created_at", "updated_at"):
        click.echo(f"{key}: {fmt(data[key])}")
    emit(False, None, ["key", "value"], cs.flatten(masked), title="config", empty="(empty config)")
    emit(
        False,
        None,
        ["policy", "attempts allowed", "wait between attempts", "window"],
        [[p.section, p.attempts, p.wait, p.window] for p in policies],
        title="failed integration, effective",
    )


@channel_group.command("set", short_help="Set config keys (typed, validated, all or nothing).")
@click.argument("slug")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.option("--note", default=None, help="Why: stored with the change history.")
def set_cmd(slug: str, assignments: tuple[str, ...], note: str | None) -> None:
    """Set config keys, typed by the schema (nested keys with dots:
    feature_flags.stock=true, failed_integration.DEFAULT.MAX_RETRY_COUNT=5).

    All values are checked together against the schema; one bad value saves nothing.
    """
    with app().db.session() as session:
        service = _service(session)
        saved = service.set(slug, list(assignments), source="cli", note=note)
        missing = service.missing(saved.channel) if saved.channel.status != "active" else []
    if not saved.changed_keys:
        click.echo(f"channel {slug}: nothing changed")
        return
    click.echo(f"channel {slug}: changed {', '.join(saved.changed_keys)}")
    if saved.requested_flows:
        click.echo(f"requested flows: {', '.join(saved.requested_flows)}")
    if missing:
        click.echo(
            f"still required before activation: {len(missing)} (pazar channel validate {slug})"
        )


def _read_documents(file: str) -> list[tuple[int, Any]]:
    if file == "-":
        name, text = "<stdin>", sys.stdin.read()
    else:
        path = Path(file)
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValidationError(f"{name}: no such file") from None
        except OSError as exc:
            raise ValidationError(f"{name}: cannot read ({exc.strerror})") from None
    docs: list[tuple[int, Any]] = []
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                docs.append((node.start_mark.line + 1, loader.construct_document(node)))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationError(f"{where}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()
    if not docs:
        raise ValidationError(f"{name}: no channel document in the file")
    return [(line, doc) for line, doc in docs]


@channel_group.command("apply", short_help="Create or update channels from YAML.")
@click.argument("file")
@json_option
def apply_cmd(file: str, as_json: bool) -> None:
    """Create or update channels from a YAML file (or - for stdin); several
    documents separated by --- apply in one transaction.

    \b
    channel: hb-main
    plugin: hepsiburada
    name: Hepsiburada
    status: inactive
    config:
      username: my-merchant-id
      password: env:HB_PASSWORD
      feature_flags: {stock: true}
    """
    docs = _read_documents(file)
    results = []
    with app().db.session() as session:
        service = _service(session)
        for line, doc in docs:
            try:
                results.append(service.apply(doc, source="apply"))
            except PazarError as exc:
                where = file if file != "-" else "<stdin>"
                raise type(exc)(f"{where}:{line}: {exc.message}", details=exc.details) from None
    if as_json:
        print_json([r.as_dict() for r in results])
        return
    for r in results:
        if r.created:
            what = f"created ({r.status})"
        elif r.changed:
            parts = []
            if r.changed_keys:
                parts.append("config " + ", ".join(r.changed_keys))
            if r.name_changed:
                parts.append("name")
            if r.status_changed:
                parts.append(f"status {r.status}")
            what = "updated: " + "; ".join(parts)
        else:
            what = "unchanged"
        click.echo(f"channel {r.slug}: {what}")
        if r.requested_flows:
            click.echo(f"  requested flows: {', '.join(r.requested_flows)}")


@channel_group.command("validate", short_help="Check a channel's config; exit 2 if not ready.")
@click.argument("slug")
def validate_cmd(slug: str) -> None:
    """Check the config against the plugin's schema and rules; exit 2 when it is not ready.

    Warnings (a value in a likely wrong unit, a flag no flow reads) are printed but
    do not fail the check."""
    with app().db.session() as session:
        service = _service(session)
        problems = service.validate(slug)
        warnings = service.warnings(slug)
    for line in warnings:
        click.echo(f"warning: {line}", err=True)
    if problems:
        raise ValidationError(f"channel {slug!r}: {len(problems)} problem(s)", details=problems)
    click.echo(f"channel {slug}: config is valid")


@channel_group.command("activate", short_help="Activate a channel (config must be valid).")
@click.argument("slug")
def activate_cmd(slug: str) -> None:
    """Let the daemon run this channel's enabled flows (the config must be valid)."""
    with app().db.session() as session:
        _service(session).activate(slug)
    click.echo(f"channel {slug}: active")


@channel_group.command("deactivate", short_help="Deactivate a channel.")
@click.argument("slug")
def deactivate_cmd(slug: str) -> None:
    """Stop running flows for this channel; its config and state stay."""
    with app().db.session() as session:
        _service(session).deactivate(slug)
    click.echo(f"channel {slug}: inactive")


@channel_group.command("form", short_help="Print the seed's config form of a plugin.")
@click.argument("plugin")
@json_option
def form_cmd(plugin: str, as_json: bool) -> None:
    """The seed's "Schema Type" form of PLUGIN: key, label, required, data_type."""
    schema = cs.schema_for(app().registry, plugin)
    rows = cs.form_rows(schema)
    data = [
        {"key": k, "label": label, "required": req, "data_type": dt} for k, label, req, dt in rows
    ]
    emit(as_json, data, ["key", "label", "required", "data_type"], [[*r] for r in rows])


@channel_group.command("changes", short_help="Config change history and requested flows.")
@click.argument("slug")
@json_option
def changes_cmd(slug: str, as_json: bool) -> None:
    """Config change history: what changed, from where, and the flows it asked for."""
    with app().db.session() as session:
        changes = _service(session).changes(slug)
        data = [
            {
                "id": c.id,
                "created_at": c.created_at,
                "source": c.source,
                "changed_keys": list(c.changed_keys or []),
                "requested_flows": list(c.requested_flows or []),
                "note": c.note,
            }
            for c in changes
        ]
    emit(
        as_json,
        data,
        ["id", "when", "source", "changed keys", "requested flows", "note"],
        [
            [
                d["id"],
                d["created_at"],
                d["source"],
                ", ".join(d["changed_keys"]),
                ", ".join(d["requested_flows"]),
                d["note"],
            ]
            for d in data
        ],
        empty=f"no config changes recorded for {slug}",
    )


COMMANDS = [channel_group]
