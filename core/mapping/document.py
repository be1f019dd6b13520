"""The mapping document: YAML in, validated plain data out.

A mapping is data an operator edits, so every problem is reported the way flow
files report theirs (``file:line: /pointer: message``) and all of them at once:
schema errors, templates that do not compile, value maps that do not exist,
a category listed twice.  Nothing is stored unless the whole document is valid.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator

from pazar.errors import ValidationError
from pazar.flows.validate import FlowError, describe
from pazar.flows.yamlpos import PositionedDocument, load_positioned, pointer_join
from pazar.paths import schemas_dir
from pazar.suggest import did_you_mean
from pazar.template_checks import name_problems
from pazar.templating import TemplateEnv, TemplateError

SCHEMA_FILE = "mapping.schema.json"
# What a mapping rule's template sees (the mapping step's context plus the product).
MAPPING_CONTEXT = ("product", "config", "channel", "now")


@functools.lru_cache(maxsize=1)
def mapping_schema() -> dict[str, Any]:
    return json.loads((schemas_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(mapping_schema())


def rules_of(doc: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(pointer, attribute key, rule) for every attribute rule in the document."""
    for key, rule in (doc.get("defaults") or {}).items():
        yield pointer_join("/defaults", key), key, rule
    for n, entry in enumerate(doc.get("categories") or []):
        for key, rule in (entry.get("attributes") or {}).items():
            yield pointer_join(f"/categories/{n}/attributes", key), key, rule


def rule_parts(rule: Any) -> tuple[Any, Any, Any]:
    """(value template, value map or map name, default) of one rule, whatever its form."""
    if isinstance(rule, dict):
        return rule.get("value"), rule.get("values"), rule.get("default")
    if isinstance(rule, str):
        return rule, None, None
    return None, None, rule  # a constant


def _semantic_errors(
    doc: dict[str, Any], templates: TemplateEnv, config_schema: Mapping[str, Any] | None = None
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    named = doc.get("value_maps") or {}
    for pointer, _key, rule in rules_of(doc):
        value, values, _default = rule_parts(rule)
        if isinstance(values, str) and values not in named:
            found.append(
                (
                    f"{pointer}/values",
                    f"no value map named {values!r} in value_maps{did_you_mean(values, named)}",
                )
            )
        if isinstance(value, str):
            at = f"{pointer}/value" if isinstance(rule, dict) else pointer
            try:
                expr = templates.expression(value, pointer)
            except TemplateError as exc:
                found.append((at, exc.problem))
            else:
                found += [(at, p) for p in name_problems(expr, MAPPING_CONTEXT, config_schema)]
    seen: dict[str, int] = {}
    for n, entry in enumerate(doc.get("categories") or []):
        remote = str(entry.get("category"))
        if remote in seen:
            found.append(
                (
                    f"/categories/{n}/category",
                    f"category {remote} is already mapped at /categories/{seen[remote]}; "
                    "give that entry a list of matches instead",
                )
            )
        else:
            seen[remote] = n
    return found


def parse_mapping(
    text: str,
    where: str,
    templates: TemplateEnv,
    config_schema: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The validated document, or a ValidationError listing every problem with its line.

    With the channel's ``config_schema``, a template reading ``config.<secret>`` (or a key
    the config cannot have) is a problem too, as in a flow file."""
    doc: PositionedDocument = load_positioned(text)
    errors: list[FlowError] = [
        FlowError(where, p.line, p.pointer, p.message, column=p.column) for p in doc.problems
    ]
    if not errors:
        if not isinstance(doc.data, dict):
            errors.append(FlowError(where, 1, "", "a mapping document is a YAML mapping"))
        else:
            pairs = [pair for e in _validator().iter_errors(doc.data) for pair in describe(e)]
            if not pairs:
                pairs = _semantic_errors(doc.data, templates, config_schema)
            errors.extend(
                FlowError(where, doc.line_of(pointer), pointer, message)
                for pointer, message in pairs
            )
    if errors:
        errors.sort(key=lambda e: (e.line or 0, e.pointer or ""))
        noun = "problem" if len(errors) == 1 else "problems"
        raise ValidationError(
            f"{where}: the mapping has {len(errors)} {noun}", details=[str(e) for e in errors]
        )
    data: dict[str, Any] = doc.data
    return data
