"""``pazar channel``: create and configure channels; secrets never leave masked."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from pazar import config_schema as cs
from pazar.channels import ChannelService
from pazar.cli.context import app
from pazar.cli.numbers import Integer
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
@json_option
def add_cmd(plugin: str, slug: str, name: str | None, as_json: bool) -> None:
    """Create an inactive channel of PLUGIN with every config default filled in."""
    with app().db.session() as session:
        service = _service(session)
        channel = service.add(plugin, slug, name)
        missing = service.missing(channel)
        data = {**_summary(channel), "missing": missing}
    if as_json:
        print_json(data)
        return
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
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE...")
@click.option(
    "--unset",
    "unset",
    multiple=True,
    metavar="KEY",
    help="Remove a key (back to its default if it has one), e.g. a misspelled "
    "feature_flags.stok. Repeatable.",
)
@click.option("--note", default=None, help="Why: stored with the change history.")
@json_option
def set_cmd(
    slug: str, assignments: tuple[str, ...], unset: tuple[str, ...], note: str | None, as_json: bool
) -> None:
    """Set config keys, typed by the schema (nested keys with dots:
    feature_flags.stock=true, failed_integration.DEFAULT.MAX_RETRY_COUNT=5).

    All values are checked together against the schema; one bad value saves nothing.
    A feature flag must be one the marketplace knows, and can be turned on only
    when a flow reads it.
    """
    with app().db.session() as session:
        service = _service(session)
        saved = service.set(slug, list(assignments), unset=list(unset), source="cli", note=note)
        missing = service.missing(saved.channel) if saved.channel.status != "active" else []
    if as_json:
        print_json(
            {
                "channel": slug,
                "changed_keys": saved.changed_keys,
                "requested_flows": saved.requested_flows,
                "change_id": saved.change_id,
                "missing": missing,
            }
        )
        return
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


@channel_group.command(
    "resave", short_help="Save the config as it is: queue the flows a change would queue."
)
@click.argument("slug")
@click.option("--note", default=None, help="Why: stored with the change history.")
@json_option
def resave_cmd(slug: str, note: str | None, as_json: bool) -> None:
    """Save SLUG's config unchanged and queue the flows a change of it asks for
    (Hepsiburada and Fashfed: the category flows for the category ids).

    The seed's remedy when a category flow did not appear or ended in error:
    "re-save the channel settings". A `set` that changes nothing queues nothing.
    """
    with app().db.session() as session:
        saved = _service(session).resave(slug, source="cli", note=note)
    if as_json:
        print_json(
            {
                "channel": slug,
                "requested_flows": saved.requested_flows,
                "change_id": saved.change_id,
            }
        )
        return
    if saved.requested_flows:
        click.echo(f"channel {slug}: re-saved; requested flows: {', '.join(saved.requested_flows)}")
    else:
        click.echo(f"channel {slug}: re-saved; its config asks for no flow (nothing queued)")


def _read_documents(file: str) -> list[tuple[int, Any, dict[str, int]]]:
    """The channel documents of FILE (or stdin): UTF-8, duplicate keys refused, every
    YAML problem with its line (see pazar.channel_documents)."""
    from pazar.channel_documents import read_channel_documents

    return read_channel_documents(file, sys.stdin.read if file == "-" else None)


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
      password: env:PAZAR_SECRET_HB_PASSWORD
      feature_flags: {stock: true}
    """
    from pazar.channel_documents import config_problem_line

    docs = _read_documents(file)
    results = []
    with app().db.session() as session:
        service = _service(session)
        for line, doc, lines in docs:
            try:
                results.append(service.apply(doc, source="apply"))
            except PazarError as exc:
                where = file if file != "-" else "<stdin>"
                details = [
                    f"{where}:{at}: {detail}" if at else detail
                    for detail, at in ((d, config_problem_line(d, lines)) for d in exc.details)
                ]
                raise type(exc)(f"{where}:{line}: {exc.message}", details=details) from None
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


@channel_group.command("export", short_help="Print channels as a `channel apply` file.")
@click.argument("slugs", nargs=-1, required=True, metavar="SLUG...")
def export_cmd(slugs: tuple[str, ...]) -> None:
    """Print channels in the `pazar channel apply` format (YAML, one document each).

    Keys at their default are left out. Secrets stored as env:NAME stay; literal
    secrets are left out (apply keeps the stored value of a secret the file does
    not name), never written masked.
    """
    import yaml

    with app().db.session() as session:
        service = _service(session)
        exported = [service.export(slug) for slug in slugs]
    parts = []
    for doc, omitted in exported:
        header = ""
        if omitted:
            header = (
                f"# secrets left out: {', '.join(omitted)} (apply keeps the stored values; "
                "write env:NAME here to manage them in this file)\n"
            )
        parts.append(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    click.echo("---\n".join(parts), nl=False)


@channel_group.command("validate", short_help="Check a channel's config; exit 2 if not ready.")
@click.argument("slug")
@json_option
def validate_cmd(slug: str, as_json: bool) -> None:
    """Check the config against the plugin's schema and rules, its feature flags against
    the loaded flows, and that the local ids it names (cargo companies, cancellation and
    refund reasons) exist; exit 2 when it is not ready.

    Warnings (a value in a likely wrong unit) are printed but do not fail the check."""
    with app().db.session() as session:
        service = _service(session)
        problems = service.validate(slug)
        warnings = service.warnings(slug)
    if as_json:
        print_json(
            {"channel": slug, "valid": not problems, "problems": problems, "warnings": warnings}
        )
        if problems:
            sys.exit(2)
        return
    for line in warnings:
        click.echo(f"warning: {line}", err=True)
    if problems:
        raise ValidationError(f"channel {slug!r}: {len(problems)} problem(s)", details=problems)
    click.echo(f"channel {slug}: config is valid")


@channel_group.command("activate", short_help="Activate a channel (config must be valid).")
@click.argument("slug")
@json_option
def activate_cmd(slug: str, as_json: bool) -> None:
    """Let the daemon run this channel's enabled flows (the config must be valid)."""
    with app().db.session() as session:
        _service(session).activate(slug)
    _status_report(slug, "active", as_json)


@channel_group.command("deactivate", short_help="Deactivate a channel.")
@click.argument("slug")
@json_option
def deactivate_cmd(slug: str, as_json: bool) -> None:
    """Stop running flows for this channel; its config and state stay."""
    with app().db.session() as session:
        _service(session).deactivate(slug)
    _status_report(slug, "inactive", as_json)


def _status_report(slug: str, status: str, as_json: bool) -> None:
    if as_json:
        print_json({"channel": slug, "status": status})
    else:
        click.echo(f"channel {slug}: {status}")


@channel_group.command("delete", short_help="Delete a channel and all its state.")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Delete without asking.")
@json_option
def delete_cmd(slug: str, yes: bool, as_json: bool) -> None:
    """Delete a channel with everything pazar keeps for it: config history, runs and
    logs, jobs, integration state, penalties, batch requests, marketplace categories
    and mapping, and the orders imported from it. Lists what goes first; refused
    while jobs of the channel are running. Products, prices and stocks stay.
    """
    from pazar.channel_delete import channel_state, delete_channel, running_jobs

    a = app()
    with a.db.session() as session:
        channel = _service(session).get(slug)
        state = channel_state(session, channel)
        busy = running_jobs(session, channel)
    if not yes and not busy:
        if not sys.stdin.isatty():
            raise ValidationError(
                f"deleting channel {slug!r} removes: {', '.join(state.lines()) or 'only its config'}; "
                "nothing was deleted: run again with --yes"
            )
        click.echo(f"deleting channel {slug} removes:")
        for line in state.lines() or ["only its config"]:
            click.echo(f"  {line}")
        click.confirm("delete it?", abort=True)
    with a.db.session() as session:
        state = delete_channel(session, _service(session).get(slug))
    if as_json:
        print_json({"deleted": slug, "removed": state.rows})
        return
    click.echo(f"deleted channel {slug}")
    for line in state.lines():
        click.echo(f"  removed {line}")


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


@channel_group.command("changes", short_help="Config change history: old → new values.")
@click.argument("slug")
@click.option("--limit", type=Integer(min=1), default=50, show_default=True)
@json_option
def changes_cmd(slug: str, limit: int, as_json: bool) -> None:
    """Config change history, newest first: each changed key with its old and new
    value (secrets masked), where the change came from, and the flows it asked for."""
    with app().db.session() as session:
        changes = _service(session).changes(slug)[:limit]
        data = [
            {
                "id": c.id,
                "created_at": c.created_at,
                "source": c.source,
                "changed_keys": list(c.changed_keys or []),
                "changes": c.changes,
                "requested_flows": list(c.requested_flows or []),
                "note": c.note,
            }
            for c in changes
        ]
    emit(
        as_json,
        data,
        ["id", "when", "source", "changes", "requested flows", "note"],
        [
            [
                d["id"],
                d["created_at"],
                d["source"],
                _describe_changes(d),
                ", ".join(d["requested_flows"]),
                d["note"],
            ]
            for d in data
        ],
        empty=f"no config changes recorded for {slug}",
    )


def _shown(entry: dict[str, Any], side: str) -> str:
    if side not in entry:
        return "(unset)"
    value = entry[side]
    if isinstance(value, str) and value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _describe_changes(change: dict[str, Any]) -> str:
    """``key: old → new`` lines; changes saved before values were kept name the keys only."""
    if change["changes"] is None:
        return ", ".join(change["changed_keys"])
    return "\n".join(
        f"{e['key']}: {_shown(e, 'old')} → {_shown(e, 'new')}" for e in change["changes"]
    )


COMMANDS = [channel_group]
