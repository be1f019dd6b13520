"""Templates checked where they are written, with the messages ``flows validate`` gives.

A template that names a variable its place does not provide (``recrod.sku``),
reads a secret (``config.password``), misspells a config key, or blows one of
its bounds would otherwise fail every record of every later run.  These checks
run when a flow file is loaded and when a channel config is saved
(``channel set``, ``channel apply``, ``channel validate``), so the operator who
wrote it sees the problem, with its place and a did-you-mean, at once.

Schema keywords (in step params schemas and channel config schemas):

- ``x-template``: the field is a template; in a step's params the value says
  how it is compiled (``expression``, ``predicate``, ``format``), in a channel
  config ``true`` means a format (the seed's ``{name}`` placeholders or Jinja).
- ``x-template-context``: the variables a template in that field may use
  (default for flow steps: ``record``, ``config``, ``channel``, ``now``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pazar.suggest import did_you_mean
from pazar.templating import TemplateEnv, TemplateError

FLOW_CONTEXT = ("record", "config", "channel", "now")
CONFIG_TEMPLATE_KINDS = ("expression", "predicate", "format")
# What a config template is rendered with when it is saved: every variable is
# this sample, so a template that would blow a bound for any order does so now.
SAMPLE_VALUE = "1"


def name_problems(
    expr: Any,
    allowed: Sequence[str],
    config_schema: Mapping[str, Any] | None = None,
) -> list[str]:
    """What is wrong with the names a compiled template reads.

    ``allowed`` are the variables its place provides; with ``config_schema``,
    ``config.<key>`` must be a key of the schema that is not a secret.
    """
    problems: list[str] = []
    for name in sorted(expr.names - set(allowed)):
        problems.append(
            f"unknown variable {name!r}{did_you_mean(name, list(allowed))}; "
            f"a template here can use {', '.join(allowed)}"
        )
    if config_schema is not None and "config" in allowed:
        problems += _config_key_problems(expr, config_schema)
    return problems


def _config_key_problems(expr: Any, schema: Mapping[str, Any]) -> list[str]:
    props = schema.get("properties") or {}
    closed = schema.get("additionalProperties", True) is False
    public = [k for k, sub in props.items() if not (isinstance(sub, dict) and sub.get("x-secret"))]
    problems = []
    for variable, key in sorted(expr.fields):
        if variable != "config":
            continue
        sub = props.get(key)
        if isinstance(sub, dict) and sub.get("x-secret"):
            problems.append(
                f"config.{key} is a secret; templates cannot read secrets "
                "(only the marketplace client gets them)"
            )
        elif sub is None and closed and not hasattr(dict, key):
            problems.append(f"config has no key {key!r}{did_you_mean(key, public)}")
    return problems


# --------------------------------------------------------------------------- channel configs


def _template_fields(
    schema: Any, value: Any, path: list[str]
) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """(dotted key, field schema, template source) for every template in a config."""
    if not isinstance(schema, Mapping):
        return
    marker = schema.get("x-template")
    if marker and isinstance(value, str):
        if value.strip():
            yield ".".join(path), schema, value
        return
    if isinstance(value, Mapping):
        props = schema.get("properties") or {}
        patterns = schema.get("patternProperties") or {}
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            sub = props.get(key)
            if sub is None:
                sub = next((s for p, s in patterns.items() if re.search(p, str(key))), extra)
            yield from _template_fields(sub, child, [*path, str(key)])
    elif isinstance(value, list):
        items = schema.get("items")
        for index, child in enumerate(value):
            yield from _template_fields(items, child, [*path, str(index)])
    any_of = schema.get("anyOf") or schema.get("oneOf") or []
    for option in any_of:
        if isinstance(option, Mapping) and option.get("x-template"):
            yield from _template_fields(option, value, path)


def check_config_templates(
    schema: Mapping[str, Any], config: Mapping[str, Any], registry: Any = None
) -> list[str]:
    """Every problem of the templates in a channel config, one message each, naming the key.

    Each schema field marked ``x-template`` is compiled with the flows' filters,
    its variables checked against ``x-template-context``, and it is rendered once
    with sample values so a template that would exceed a bound, or that the sandbox
    refuses, is refused now rather than on every order.
    """
    env = _env(registry)
    problems: list[str] = []
    for key, field_schema, source in _template_fields(schema, config, []):
        marker = field_schema.get("x-template")
        kind = marker if marker in CONFIG_TEMPLATE_KINDS else "format"
        try:
            expr = getattr(env, kind)(source, key)
        except TemplateError as exc:
            problems.append(f"{key}: {exc.problem}")
            continue
        allowed = field_schema.get("x-template-context")
        if isinstance(allowed, list):
            problems += [f"{key}: {p}" for p in name_problems(expr, [str(a) for a in allowed])]
        sample = {name: SAMPLE_VALUE for name in expr.names}
        try:
            expr.render(sample)
        except TemplateError as exc:
            if exc.limit or exc.refused:
                problems.append(f"{key}: {exc.problem}")
    return problems


def _env(registry: Any) -> TemplateEnv:
    if registry is None:
        return _PLAIN
    from pazar.templating import build_template_env

    return build_template_env(registry)


_PLAIN = TemplateEnv()
