"""Flow validation that a person can act on.

Two passes instead of one big composed schema: the top level against
``schemas/flow.schema.json`` (every error, not just the first), then each
source/step/sink against the params schema of the step its ``type`` names.
That way an unknown step gives "unknown step 'x'; did you mean 'y'?" instead of
a dump of every alternative, and each error carries the file line of the value
it is about (see :mod:`pazar.flows.yamlpos`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaValidationError
from jsonschema.exceptions import SchemaError, best_match

from pazar.errors import PazarError
from pazar.flows.model import CORE_PLUGIN, FlowCheck, FlowDef, FlowError, flow_from_data
from pazar.flows.schedule import ScheduleError, parse_schedule
from pazar.flows.schema import KINDS, base_schema, content_types_in, marketplace_flows_dir
from pazar.flows.yamlpos import PositionedDocument, load_positioned, pointer_join
from pazar.suggest import did_you_mean, nearest

_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}
_ARTICLES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true/false)",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expected_types(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    words = [_ARTICLES.get(n, n) for n in names]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _error_pointer(base: str, error: SchemaValidationError) -> str:
    pointer = base
    for token in error.absolute_path:
        pointer = pointer_join(pointer, token)
    return pointer


def _allowed_keys(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        return list(schema.get("properties", {}))
    return []


def describe(
    error: SchemaValidationError, base: str = "", owner: str = ""
) -> list[tuple[str, str]]:
    """(pointer, message) pairs for one jsonschema error, in words.

    ``owner`` names what the validated value is (e.g. "step 'core.map'") for
    messages about its own keys.
    """
    pointer = _error_pointer(base, error)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}

    if kind == "required":
        present = instance if isinstance(instance, dict) else {}
        missing = [key for key in value if key not in present]
        return [(pointer_join(pointer, key), f"missing required key {key!r}") for key in missing]
    if kind in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        allowed = _allowed_keys(schema)
        patterns = list(schema.get("patternProperties", {}))
        extras = [
            key
            for key in instance
            if key not in allowed and not any(re.search(p, key) for p in patterns)
        ]
        where = "here" if error.absolute_path else f"for {owner}" if owner else "at the top level"
        out = []
        for key in extras:
            hint = did_you_mean(key, allowed)
            if not hint and allowed:
                hint = f" (allowed: {', '.join(allowed)})"
            out.append((pointer_join(pointer, key), f"unknown key {key!r} {where}{hint}"))
        return out or [(pointer, error.message)]
    if kind == "type":
        return [
            (
                pointer,
                f"expected {_expected_types(value)}, got {_json_type(instance)} {_short(instance)}",
            )
        ]
    if kind == "enum":
        options = ", ".join(_short(v) for v in value)
        hint = (
            did_you_mean(instance, [v for v in value if isinstance(v, str)])
            if isinstance(instance, str)
            else ""
        )
        return [(pointer, f"expected one of {options}, got {_short(instance)}{hint}")]
    if kind == "const":
        return [(pointer, f"expected {_short(value)}, got {_short(instance)}")]
    if kind == "pattern":
        expected = schema.get("x-expected")
        if expected:
            return [(pointer, f"expected {expected}, got {_short(instance)}")]
        return [(pointer, f"{_short(instance)} does not match the pattern {value!r}")]
    if kind == "format":
        return [(pointer, f"{_short(instance)} is not a valid {value}")]
    if kind == "minLength":
        if value == 1:
            return [(pointer, "must not be empty")]
        return [(pointer, f"expected at least {value} characters, got {len(instance)}")]
    if kind == "maxLength":
        return [(pointer, f"expected at most {value} characters, got {len(instance)}")]
    if kind == "minItems":
        return [(pointer, f"expected at least {value} item(s), got {len(instance)}")]
    if kind == "maxItems":
        return [(pointer, f"expected at most {value} item(s), got {len(instance)}")]
    if kind == "uniqueItems":
        return [(pointer, "items must be unique")]
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        relation = {
            "minimum": ">=",
            "maximum": "<=",
            "exclusiveMinimum": ">",
            "exclusiveMaximum": "<",
            "multipleOf": "a multiple of",
        }[kind]
        return [(pointer, f"expected a number {relation} {value}, got {_short(instance)}")]
    if kind in ("anyOf", "oneOf") and error.context:
        # Say what is wrong with the closest alternative, never dump them all.
        inner = best_match(error.context)
        return (
            describe(inner, base, owner)
            if inner is not None
            else [(pointer, "no alternative matches")]
        )
    if kind == "oneOf":
        return [(pointer, "matches more than one alternative; make it match exactly one")]
    if kind == "not":
        return [(pointer, f"{_short(instance)} is not allowed here")]
    if kind == "minProperties":
        return [(pointer, f"expected at least {value} key(s)")]
    if kind == "dependentRequired" and isinstance(instance, dict):
        out = []
        for trigger, needed in value.items():
            if trigger in instance:
                for key in needed:
                    if key not in instance:
                        out.append(
                            (
                                pointer_join(pointer, key),
                                f"missing key {key!r} (required with {trigger!r})",
                            )
                        )
        return out or [(pointer, error.message)]
    message = error.message
    if len(message) > 200:
        message = message[:197] + "..."
    return [(pointer, message)]


def _schema_errors(
    validator: Draft202012Validator, instance: Any, base: str, owner: str = ""
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for error in validator.iter_errors(instance):
        found.extend(describe(error, base, owner))
    return found


_FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER
_base_validator: Draft202012Validator | None = None
_params_validators: dict[int, tuple[Any, Draft202012Validator]] = {}
_sound_schemas: set[str] = set()  # params schemas (as canonical JSON) the metaschema accepted


def _top_validator() -> Draft202012Validator:
    global _base_validator
    if _base_validator is None:
        _base_validator = Draft202012Validator(base_schema(), format_checker=_FORMAT_CHECKER)
    return _base_validator


def _params_validator(schema: Any) -> Draft202012Validator:
    """A validator per params schema, built once (the schema object is kept alive).

    Checking a schema against the metaschema is the costly part, and many step types
    declare equal params schemas (a third of the built-in ones): each distinct schema is
    checked once per process.
    """
    cached = _params_validators.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    content = json.dumps(schema, sort_keys=True, default=repr)
    if content not in _sound_schemas:
        Draft202012Validator.check_schema(schema)
        _sound_schemas.add(content)
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    _params_validators[id(schema)] = (schema, validator)
    return validator


def _slot_kind(pointer: str) -> str:
    if pointer == "/source":
        return "source"
    if pointer == "/sink":
        return "sink"
    return "step"


def _step_slots(data: dict[str, Any]) -> list[tuple[str, Any]]:
    slots: list[tuple[str, Any]] = []
    if "source" in data:
        slots.append(("/source", data["source"]))
    steps = data.get("steps")
    if isinstance(steps, list):
        slots.extend((f"/steps/{i}", entry) for i, entry in enumerate(steps))
    if "sink" in data:
        slots.append(("/sink", data["sink"]))
    return slots


def _check_step(
    pointer: str, entry: Any, registry: Any, plugin: Any = None
) -> list[tuple[str, str]]:
    """Pass two for one slot: the step name, then its params."""
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str) or not entry["type"]:
        return []  # pass one already said what the slot should look like
    name = entry["type"]
    want = _slot_kind(pointer)
    steps = registry.steps
    same_kind = [s.name for s in steps.values() if s.kind == want]
    step = steps.get(name)
    if step is None:
        closest = nearest(name, list(steps))
        if closest is not None and steps[closest].kind != want:
            hint = f"; did you mean {closest!r}? (that is a {steps[closest].kind}, not a {want})"
        else:
            hint = did_you_mean(name, same_kind)
        if not hint and not same_kind:
            hint = f" (no {want} is registered; is the plugin that provides it installed?)"
        return [(pointer_join(pointer, "type"), f"unknown step {name!r}{hint}")]
    if step.kind != want:
        hint = did_you_mean(name, same_kind)
        return [
            (
                pointer_join(pointer, "type"),
                f"step {name!r} is a {step.kind}; it cannot be used as a {want} here{hint}",
            )
        ]
    params = {k: v for k, v in entry.items() if k != "type"}
    try:
        validator = _params_validator(step.params_schema)
    except SchemaError as exc:
        return [
            (pointer, f"step {name!r} has an invalid params schema (a plugin bug): {exc.message}")
        ]
    errors = _schema_errors(validator, params, pointer, f"step {name!r}")
    if not errors:
        errors = _template_errors(params, step.params_schema, pointer, registry, plugin)
    return errors


TEMPLATE_KINDS = ("expression", "predicate", "format")


def _templates_in(value: Any, schema: Any, pointer: str) -> Iterator[tuple[str, str, Any, Any]]:
    """(pointer, kind, source, field schema) for every string the params schema marks
    ``x-template``.

    Follows ``properties``, ``patternProperties``, ``additionalProperties`` and
    ``items``; that covers how steps declare template fields without
    interpreting the whole of JSON Schema.
    """
    if not isinstance(schema, dict):
        return
    kind = schema.get("x-template")
    if kind in TEMPLATE_KINDS and (
        isinstance(value, str) or (kind == "expression" and isinstance(value, dict | list))
    ):  # an expression may be a nested object/list with templates at its leaves
        yield pointer, kind, value, schema
        return
    if isinstance(value, dict):
        props = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            if key in props:
                sub = props[key]
            else:
                sub = next((s for p, s in patterns.items() if re.search(p, key)), extra)
            yield from _templates_in(child, sub, pointer_join(pointer, key))
    elif isinstance(value, list):
        items = schema.get("items")
        for index, child in enumerate(value):
            yield from _templates_in(child, items, pointer_join(pointer, index))


def _template_env(registry: Any) -> Any:
    """The registry's template environment, or None when templating is unavailable."""
    try:
        from pazar.templating import build_template_env
    except ImportError:
        return None
    return build_template_env(registry)


def _template_errors(
    params: dict[str, Any], schema: Any, pointer: str, registry: Any, plugin: Any = None
) -> list[tuple[str, str]]:
    """Compile every template the step declares, so a bad or unsafe one fails at load
    time, and check the variables it reads against what its place provides."""
    found = list(_templates_in(params, schema, pointer))
    if not found:
        return []
    env = _template_env(registry)
    if env is None:
        return []
    from pazar.template_checks import FLOW_CONTEXT, name_problems

    config_schema = _config_schema(registry, plugin)
    errors: list[tuple[str, str]] = []
    for where, kind, source, field_schema in found:
        try:
            expr = getattr(env, kind)(source, where)
        except PazarError as exc:
            errors.append((where, getattr(exc, "problem", exc.message)))
            continue
        allowed = field_schema.get("x-template-context") or FLOW_CONTEXT
        errors += [(where, p) for p in name_problems(expr, allowed, config_schema)]
    return errors


def template_modes(flow: Any, registry: Any) -> list[tuple[str, bool]]:
    """``(pointer, compiled)`` for every template of a loaded flow: compiled is true when
    it renders as Python (a plain field map), false when each render goes through Jinja
    (see pazar.template_plain).  For ``pazar flows show``."""
    env = _template_env(registry)
    if env is None:
        return []
    modes: list[tuple[str, bool]] = []
    for step in (flow.source, *flow.steps, flow.sink):
        registered = registry.steps.get(step.type)
        if registered is None:
            continue
        for where, kind, source, _schema in _templates_in(
            step.params, registered.params_schema, step.pointer
        ):
            modes.append((where, bool(getattr(env, kind)(source, where).plain)))
    return modes


def _config_schema(registry: Any, plugin: Any) -> dict[str, Any] | None:
    """The channel config schema of the flow's marketplace (None for core flows)."""
    if not isinstance(plugin, str) or plugin not in getattr(registry, "marketplaces", {}):
        return None
    try:
        from pazar.config_schema import schema_for

        return schema_for(registry, plugin)
    except Exception:  # noqa: BLE001 - a broken config schema is reported elsewhere
        return None


def declared_feature_flags(registry: Any, plugin: str) -> list[str]:
    """The flags a marketplace's config schema lists under ``feature_flags``.

    A flow whose flag no channel config declares would never run, so a flag
    outside that list is almost certainly a typo.  Empty when the schema lists
    none (or cannot be read: the channel commands report that).
    """
    try:
        from pazar.config_schema import schema_for

        schema = schema_for(registry, plugin)
    except Exception:  # noqa: BLE001 - a broken config schema is reported elsewhere
        return []
    flags = schema.get("properties", {}).get("feature_flags", {})
    props = flags.get("properties", {}) if isinstance(flags, dict) else {}
    return list(props) if isinstance(props, dict) else []


def known_content_types(registry: Any, plugin: str) -> list[str]:
    """The content types a flow of ``plugin`` may name: the penalty policies its
    channel config schema declares (``failed_integration``) plus those its
    built-in flows use.  A typo would silently select the DEFAULT policy."""
    known = {"DEFAULT"}
    try:
        from pazar.config_schema import schema_for

        schema = schema_for(registry, plugin)
    except Exception:  # noqa: BLE001 - a broken config schema is reported elsewhere
        schema = {}
    policies = (schema.get("properties") or {}).get("failed_integration")
    if not isinstance(policies, dict):
        return []  # the marketplace declares no penalty policies: nothing to check against
    known.update(k for k in (policies.get("default") or {}) if k != "sent_to_remote")
    known.update(k for k in (policies.get("properties") or {}) if k != "sent_to_remote")
    known.update(content_types_in(str(marketplace_flows_dir(registry, plugin))))
    return sorted(known)


def check_document(
    doc: PositionedDocument,
    registry: Any,
    *,
    path: str,
    expect_plugin: str | None = None,
    expect_flow: str | None = None,
) -> list[FlowError]:
    """Every problem in one parsed flow document.

    ``expect_plugin`` / ``expect_flow`` come from where the file was found
    (``<plugin>/<flow>.yaml``) and must agree with its ``plugin``/``flow`` keys.
    """
    errors: list[FlowError] = [
        FlowError(path, p.line, p.pointer, p.message, p.column)
        if p.pointer is not None
        else FlowError(path, p.line, None, p.message, p.column)
        for p in doc.problems
    ]

    def add(pointer: str, message: str) -> None:
        errors.append(FlowError(path, doc.line_of(pointer), pointer, message))

    data = doc.data
    if data is None and not doc.problems:
        errors.append(
            FlowError(path, 1, None, "empty file; expected a flow definition (a mapping)")
        )
        return errors
    if data is None:
        return errors
    if not isinstance(data, dict):
        add("", f"expected a mapping of flow keys, got {_json_type(data)}")
        return errors

    for pointer, message in _schema_errors(_top_validator(), data, ""):
        add(pointer, message)
    plugin = data.get("plugin")
    for pointer, entry in _step_slots(data):
        for sub_pointer, message in _check_step(pointer, entry, registry, plugin):
            add(sub_pointer, message)

    if isinstance(plugin, str) and plugin != CORE_PLUGIN and plugin not in registry.marketplaces:
        add(
            "/plugin",
            f"unknown plugin {plugin!r}{did_you_mean(plugin, [*registry.marketplaces, CORE_PLUGIN])}",
        )
    if isinstance(plugin, str) and expect_plugin is not None and plugin != expect_plugin:
        add(
            "/plugin",
            f"plugin {plugin!r} does not match the directory the file is in ({expect_plugin!r}); "
            "flow files live in <plugin>/<flow>.yaml",
        )
    flow = data.get("flow")
    if isinstance(flow, str) and expect_flow is not None and flow != expect_flow:
        add(
            "/flow",
            f"flow {flow!r} does not match the file name ({expect_flow!r}.yaml); "
            "flow files live in <plugin>/<flow>.yaml",
        )
    flag = data.get("feature_flag")
    if isinstance(flag, str) and isinstance(plugin, str) and plugin in registry.marketplaces:
        declared = declared_feature_flags(registry, plugin)
        if declared and flag not in declared:
            add(
                "/feature_flag",
                f"feature flag {flag!r} is not declared in the {plugin} channel config "
                f"(feature_flags){did_you_mean(flag, declared)}",
            )
    content_type = data.get("content_type")
    if (
        isinstance(content_type, str)
        and isinstance(plugin, str)
        and plugin in registry.marketplaces
    ):
        known = known_content_types(registry, plugin)
        if known and content_type not in known:
            add(
                "/content_type",
                f"unknown content type {content_type!r}{did_you_mean(content_type, known)} "
                f"(known for {plugin}: {', '.join(known)})",
            )
    needs = data.get("needs")
    if isinstance(needs, str) and isinstance(plugin, str) and plugin in registry.marketplaces:
        known = known_content_types(registry, plugin)
        if known and needs not in known:
            add(
                "/needs",
                f"unknown content type {needs!r}{did_you_mean(needs, known)} "
                f"(known for {plugin}: {', '.join(known)})",
            )
        elif needs == content_type:
            add("/needs", f"a flow cannot need its own content type {needs!r}")
    schedule = data.get("schedule")
    if isinstance(schedule, str):
        try:
            parse_schedule(schedule)
        except ScheduleError as exc:
            add("/schedule", exc.message)

    return sorted(set(errors), key=lambda e: (e.line or 0, e.pointer or "", e.message))


def check_text(
    text: str,
    registry: Any,
    *,
    path: str,
    expect_plugin: str | None = None,
    expect_flow: str | None = None,
) -> FlowCheck:
    """Parse and check one flow file's text."""
    doc = load_positioned(text)
    errors = check_document(
        doc, registry, path=path, expect_plugin=expect_plugin, expect_flow=expect_flow
    )
    return FlowCheck(path=path, doc=doc, errors=errors)


def build_flow(check: FlowCheck, registry: Any, *, path: Any = None) -> FlowDef:
    """A :class:`FlowDef` from a document that passed :func:`check_document`."""
    if not check.ok:
        raise ValueError("build_flow needs a flow without errors")
    doc = check.doc
    assert doc is not None
    return flow_from_data(check.data, doc.line_of, registry, path=path)


__all__ = [
    "CORE_PLUGIN",
    "KINDS",
    "FlowCheck",
    "FlowError",
    "build_flow",
    "check_document",
    "check_text",
    "describe",
]
