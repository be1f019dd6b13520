"""``pazar flows``: list, show, validate flow definitions and print their schema."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from pazar.cli.context import app
from pazar.cli.output import emit, json_option, print_json
from pazar.errors import NotFoundError, ValidationError
from pazar.flows.loader import FileResult, load_flows, scan_flows, validate_paths
from pazar.flows.model import FlowDef
from pazar.flows.schema import composed_schema
from pazar.flows.validate import FlowError, template_modes
from pazar.suggest import did_you_mean


@click.group("flows")
def flows_group() -> None:
    """Flow definitions (flows.d/<plugin>/<flow>.yaml and PAZAR_FLOWS_PATH)."""


def _flow_summary(flow: FlowDef, overrides: list[Path]) -> dict[str, Any]:
    return {
        "ref": flow.ref,
        "plugin": flow.plugin,
        "flow": flow.flow,
        "title": flow.title,
        "description": flow.description,
        "feature_flag": flow.feature_flag,
        "schedule": flow.schedule,
        "triggers": list(flow.triggers),
        "content_type": flow.content_type,
        "batch_size": flow.batch_size,
        "source": flow.source.type,
        "steps": [s.type for s in flow.steps],
        "sink": flow.sink.type,
        "path": str(flow.path) if flow.path else None,
        "overrides": [str(p) for p in overrides],
    }


@flows_group.command("list")
@click.option("--plugin", "plugin", metavar="P", help="Only the flows of this plugin.")
@json_option
def list_flows(plugin: str | None, as_json: bool) -> None:
    """Every loaded flow: plugin, flow, title, feature flag, schedule."""
    registry = app().registry
    catalog = load_flows(registry)
    flows = catalog.all()
    if plugin is not None:
        known = {*registry.marketplaces, "core", *(f.plugin for f in flows)}
        if plugin not in known:
            raise NotFoundError(f"unknown plugin {plugin!r}{did_you_mean(plugin, known)}")
        flows = [f for f in flows if f.plugin == plugin]
    data = [_flow_summary(f, catalog.overrides_of(f.ref)) for f in flows]
    emit(
        as_json,
        data,
        ["plugin", "flow", "title", "flag", "schedule", "triggers"],
        [
            [
                d["plugin"],
                d["flow"],
                d["title"],
                d["feature_flag"],
                d["schedule"],
                ", ".join(d["triggers"]),
            ]
            for d in data
        ],
        empty="no flows" + (f" for plugin {plugin!r}" if plugin else ""),
    )


@flows_group.command("show")
@click.argument("ref", metavar="PLUGIN/FLOW")
@json_option
def show_flow(ref: str, as_json: bool) -> None:
    """One flow's definition and the file it came from."""
    catalog = load_flows(app().registry)
    flow = catalog.get(ref)
    overrides = catalog.overrides_of(flow.ref)
    modes = template_modes(flow, app().registry)
    if as_json:
        templates = [{"pointer": where, "compiled": compiled} for where, compiled in modes]
        print_json(
            {**_flow_summary(flow, overrides), "definition": flow.raw, "templates": templates}
        )
        return
    click.echo(f"# {flow.ref}: {flow.title}")
    click.echo(f"# from {flow.path}")
    for path in overrides:
        click.echo(f"# overrides {path}")
    for where, compiled in modes:
        how = "compiled to Python" if compiled else "rendered by Jinja per record"
        click.echo(f"# template {where}: {how}")
    text = flow.path.read_text(encoding="utf-8") if flow.path else ""
    click.echo(text.rstrip("\n"))


@flows_group.command("schema")
def flow_schema() -> None:
    """The flow JSON Schema composed with every registered step (for editors)."""
    print_json(composed_schema(app().registry))


def _report(results: list[FileResult], problems: list[FlowError], as_json: bool = False) -> None:
    errors = list(problems)
    valid: list[FileResult] = []
    for result in results:
        if result.errors:
            errors.extend(result.errors)
            continue
        valid.append(result)
    if as_json:
        print_json(
            {
                "valid": [{"flow": r.ref, "path": str(r.file.path)} for r in valid],
                "errors": [
                    {"path": e.path, "line": e.line, "pointer": e.pointer, "message": e.message}
                    for e in errors
                ],
            }
        )
        if errors:
            sys.exit(2)
        return
    for result in valid:
        click.echo(f"ok  {result.ref}  ({result.file.path})")
    for error in errors:
        click.echo(str(error), err=True)
    invalid_files = len({e.path for e in errors})
    n = len(valid)
    if errors:
        count = len(errors)
        raise ValidationError(
            f"{count} error{'s' if count != 1 else ''} in {invalid_files} "
            f"file{'s' if invalid_files != 1 else ''}; {n} flow{'s' if n != 1 else ''} valid"
        )
    click.echo(f"{n} flow{'s' if n != 1 else ''} valid")


@flows_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@json_option
def validate_flows(paths: tuple[Path, ...], as_json: bool) -> None:
    """Check flow files (no PATH: every flow pazar would load).

    Directories are read like flow directories (<plugin>/<flow>.yaml and flat
    <flow>.yaml files). Every error is printed as path:line: /pointer: message;
    any error exits with status 2 (with --json too).
    """
    registry = app().registry
    if paths:
        results, problems = validate_paths(paths, registry)
        _report(results, problems, as_json)
        return
    catalog, errors = scan_flows(registry, fresh=True)
    file_errors = {id(e) for r in catalog.files for e in r.errors}
    problems = [e for e in errors if id(e) not in file_errors]
    _report(catalog.files, problems, as_json)


COMMANDS = [flows_group]
