"""Channel config schemas: defaults, typing of ``key=value``, validation, masking.

A marketplace plugin describes its channel config once, as a JSON Schema (draft
2020-12).  Everything an operator sees is derived from it: the defaults a new
channel starts with, how ``pazar channel set`` types a string, the messages of
``pazar channel validate``, the masked ``show`` output and the seed's "Schema
Type" form.  Keywords pazar adds to JSON Schema:

- ``x-secret: true`` marks a secret: masked in every output, never echoed in an
  error, absent from what templates see, and may be written ``env:NAME`` to be
  read from the environment at use (``NAME`` allowed by :mod:`pazar.secret_policy`).
- ``x-template`` / ``x-template-context`` mark a template field and the variables
  it may use; :mod:`pazar.template_checks` checks them when a config is saved.
- ``x-data-type`` forces the form's data_type (list/text/integer/bool/json) when
  the JSON type alone would give the wrong one.
- ``x-expected`` words what a ``pattern`` wants ("an http(s) URL"), for messages.
- ``x-retry-count`` on ``failed_integration`` says how the marketplace words
  ``MAX_RETRY_COUNT``: ``attempts`` (the default: the first failure included) or
  ``retries-after-first`` (Fashfed); see :mod:`pazar.state.penalties`.

Rules a schema cannot express (one field must differ from another) come from the
marketplace's ``pazar_check_channel_config`` hook; :class:`pazar.channels.ChannelService`
applies both wherever a config is saved or checked.

A config may be *incomplete* while it is being filled in (a required field still
empty, as the seed's freshly created channel is) but never *invalid* (a value of
the wrong type).  :func:`validate` with ``partial=True`` reports only the latter;
activation asks for both.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from pazar import json_input
from pazar.errors import ConfigError, ValidationError, short
from pazar.number_input import NumberError, parse_integer
from pazar.secret_policy import MASK
from pazar.suggest import did_you_mean

ENV_PREFIX = "env:"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_LIKE = re.compile(r"\s*env\s*:", re.IGNORECASE)
DATA_TYPES = ("list", "text", "integer", "bool", "json")

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
_EMPTY: tuple[Any, ...] = (None, "", [], {})
# Rules an empty value of a required field breaks: "not filled in yet", not "wrong".
_EMPTY_RULES = {"type", "minLength", "minItems", "minProperties", "pattern", "format", "enum"}


# --------------------------------------------------------------------------- loading


def schema_for(registry: Any, plugin: str) -> dict[str, Any]:
    """The config schema of a marketplace plugin (NotFoundError with did-you-mean)."""
    return load_schema(registry.marketplace(plugin).config_schema)


def load_schema(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """An inline schema as is; a file: a ``Path`` (a plugin's own file, e.g. next to its
    module) as given, a string relative to pazar's ``schemas/`` directory."""
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, Path):
        return _load_schema_file(str(source))
    from pazar.paths import schemas_dir

    return _load_schema_file(str(schemas_dir() / source))


@lru_cache(maxsize=32)
def _load_schema_file(path: str) -> dict[str, Any]:
    file = Path(path)
    try:
        schema = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"channel config schema {file} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{file}:{exc.lineno}: channel config schema is not valid JSON: {exc.msg}"
        ) from None
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ConfigError(f"{file}: not a valid JSON Schema: {exc.message}") from None
    return schema


# --------------------------------------------------------------------------- walking


def _types(sub: Mapping[str, Any]) -> list[str]:
    t = sub.get("type")
    if t is None:
        return []
    return [t] if isinstance(t, str) else list(t)


def _child(sub: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """The schema of ``key`` inside object schema ``sub``; None when not allowed."""
    props = sub.get("properties") or {}
    if key in props:
        return props[key]
    for pattern, pschema in (sub.get("patternProperties") or {}).items():
        if re.search(pattern, key):
            return pschema
    extra = sub.get("additionalProperties", True)
    if extra is False:
        return None
    return extra if isinstance(extra, dict) else {}


def _subschema(schema: Mapping[str, Any], path: Sequence[Any]) -> dict[str, Any] | None:
    sub: Any = schema
    for part in path:
        if sub is None:
            return None
        if isinstance(part, int):
            items = sub.get("items")
            sub = items if isinstance(items, dict) else {}
        else:
            sub = _child(sub, str(part))
    return sub


def _is_secret(schema: Mapping[str, Any], path: Sequence[Any]) -> bool:
    """True when any schema on the path is a secret (a secret object hides its keys)."""
    sub: Any = schema
    for part in path:
        if sub is None:
            return False
        sub = _child(sub, str(part)) if not isinstance(part, int) else (sub.get("items") or {})
        if isinstance(sub, dict) and sub.get("x-secret"):
            return True
    return False


def _join(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(config)"


# --------------------------------------------------------------------------- defaults


_NO_DEFAULT = object()


def _default_of(sub: Mapping[str, Any]) -> Any:
    props = sub.get("properties") or {}
    if "default" in sub:
        value = copy.deepcopy(sub["default"])
        if isinstance(value, dict) and props:
            for key, psub in props.items():
                if key not in value:
                    child = _default_of(psub)
                    if child is not _NO_DEFAULT:
                        value[key] = child
        return value
    if props and "object" in (_types(sub) or ["object"]):
        value = {}
        for key, psub in props.items():
            child = _default_of(psub)
            if child is not _NO_DEFAULT:
                value[key] = child
        return value
    return _NO_DEFAULT


def defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Every default the schema declares, nested objects included."""
    value = _default_of(schema)
    return value if isinstance(value, dict) else {}


# schema id -> (schema, its defaults); the schema is kept so its id is never reused.
_DEFAULTS: dict[int, tuple[Mapping[str, Any], dict[str, Any]]] = {}


def shared_defaults(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """:func:`defaults`, computed once per schema object: every run of every channel
    merges them.  Read-only — :func:`deep_merge` copies what it takes."""
    found = _DEFAULTS.get(id(schema))
    if found is None or found[0] is not schema:
        found = _DEFAULTS[id(schema)] = (schema, defaults(schema))
    return found[1]


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-shaped data (what configs are), several times faster than
    ``copy.deepcopy``, which matters because every run copies its channel's config."""
    if isinstance(value, Mapping):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return copy.deepcopy(value)


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; nested mappings merge, everything else replaces."""
    out = copy_json(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy_json(value)
    return out


# --------------------------------------------------------------------------- typing key=value


def parse_assignment(text: str) -> tuple[str, str]:
    """``"a.b=value"`` → ``("a.b", "value")``."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValidationError(f"expected key=value, got {text!r}")
    return key, value


def key_schema(schema: Mapping[str, Any], key_path: str) -> dict[str, Any]:
    """The schema of a dotted key; ValidationError naming the unknown part."""
    parts = key_path.split(".")
    sub: Any = schema
    for i, part in enumerate(parts):
        if not part:
            raise ValidationError(f"{key_path}: empty key segment")
        if not isinstance(sub, dict) or ("object" not in (_types(sub) or ["object"])):
            raise ValidationError(f"{key_path}: {_join(parts[:i])} is not an object")
        child = _child(sub, part)
        if child is None:
            known = list((sub.get("properties") or {}).keys())
            where = _join(parts[:i]) if i else "config"
            raise ValidationError(
                f"{key_path}: unknown key {part!r} in {where}{did_you_mean(part, known)}"
            )
        sub = child
    return sub


_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?")


def _coerce_scalar(types: list[str], raw: str) -> Any:
    low = raw.strip().lower()
    if "null" in types and low in {"null", "none", "~", ""}:
        return None
    if "boolean" in types and (low in _TRUE or low in _FALSE):
        return low in _TRUE
    # ASCII digits only (int() and float() also read 5_0, ٥, nan, inf); a value that is not
    # a number stays the string, and validation names the rule it breaks.
    if "integer" in types and _INTEGER.fullmatch(low):
        return parse_integer(low)  # NumberError past 2**63-1: "too large", not "not integer"
    if "number" in types and _NUMBER.fullmatch(low):
        number = float(low)
        if math.isfinite(number):
            return (
                int(number) if number.is_integer() and "." not in raw and "e" not in low else number
            )
    if "string" in types:
        return raw
    return _NO_DEFAULT


def coerce(schema: Mapping[str, Any], key_path: str, raw: str) -> Any:
    """Type the string of ``key=value`` by the schema of ``key_path``.

    Integers, numbers, booleans (true/false/yes/no/1/0), null, JSON for objects
    and arrays (a plain comma-separated text for an array of scalars), strings as
    they are.  A value that fits no type is returned as the string so validation
    names the rule it breaks.
    """
    sub = key_schema(schema, key_path)
    types = _types(sub)
    if raw.startswith(ENV_PREFIX) and sub.get("x-secret"):
        return raw
    if not types:
        try:
            return json_input.loads(raw)
        except ValueError:
            return raw
    stripped = raw.strip()
    if ("object" in types or "array" in types) and stripped[:1] in ("{", "["):
        try:
            return json_input.loads(stripped)
        except ValueError as exc:
            shown = "(secret)" if sub.get("x-secret") else repr(short(raw, 60))
            raise ValidationError(f"{key_path}: {shown} is not valid JSON ({exc})") from None
    try:
        scalar = _coerce_scalar(types, raw)
        if scalar is not _NO_DEFAULT:
            return scalar
        if "array" in types:
            if stripped == "":
                return []
            items = sub.get("items") if isinstance(sub.get("items"), dict) else {}
            item_types = _types(items) or ["string"]
            out = []
            for part in (p.strip() for p in stripped.split(",")):
                value = _coerce_scalar(item_types, part)
                out.append(part if value is _NO_DEFAULT else value)
            return out
    except NumberError as exc:
        raise ValidationError(f"{key_path}: {exc}") from None
    if "object" in types and stripped == "":
        return {}
    return raw


def assign(config: dict[str, Any], key_path: str, value: Any) -> None:
    """Set a dotted key in a config, creating intermediate objects."""
    parts = key_path.split(".")
    node = config
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


# --------------------------------------------------------------------------- validation


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _is_required(schema: Mapping[str, Any], path: Sequence[Any]) -> bool:
    if not path or isinstance(path[-1], int):
        return False
    parent = _subschema(schema, path[:-1])
    return bool(parent) and path[-1] in (parent.get("required") or [])


def _message(schema: Mapping[str, Any], error: Any) -> tuple[str, bool]:
    """(message, is_missing): missing = a required value not filled in yet."""
    path = list(error.absolute_path)
    validator = error.validator
    if validator == "required":
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        names = ", ".join(_join([*path, k]) for k in missing)
        return f"{names}: is required", True
    secret = _is_secret(schema, path)
    where = _join(path)
    instance = error.instance
    empty = instance in _EMPTY and not isinstance(instance, bool)
    if empty and _is_required(schema, path) and validator in _EMPTY_RULES:
        label = (_subschema(schema, path) or {}).get("title")
        return f"{where}: is required{f' ({label})' if label else ''} but empty", True
    if validator == "additionalProperties":
        sub = _subschema(schema, path) or {}
        known = list((sub.get("properties") or {}).keys())
        extras = [k for k in (instance or {}) if _child(sub, k) is None]
        parts = [f"{k!r}{did_you_mean(k, known)}" for k in extras]
        return f"{where}: unknown key {'; unknown key '.join(parts)}", False
    expected = (_subschema(schema, path) or {}).get("x-expected")
    if validator == "pattern" and expected and not secret:
        return f"{where}: {instance!r} is not {expected}", False
    if validator in {"anyOf", "oneOf"}:
        return f"{where}: matches none of the allowed forms", False
    if secret or isinstance(instance, dict):
        if validator == "type":
            return f"{where}: value is not of type {_type_list(error.validator_value)}", False
        return f"{where}: value breaks rule {validator!r} ({error.validator_value!r})", False
    return f"{where}: {error.message}", False


def _type_list(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return ", ".join(repr(v) for v in value)


def validate(
    schema: Mapping[str, Any], config: Mapping[str, Any], *, partial: bool = False
) -> list[str]:
    """Every problem of ``config``, one message per problem, naming the field path.

    ``partial=True`` ignores required fields that are still empty (a config being
    filled in); values of the wrong type or shape are always reported.
    """
    deep = json_input.too_deep(config)
    if deep:  # before the validator, which recurses once per level
        return [f"(config): {deep}"]
    messages: list[str] = []
    seen: set[str] = set()
    errors = sorted(
        _validator(schema).iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]
    )
    for error in errors:
        text, missing = _message(schema, error)
        if partial and missing:
            continue
        if text not in seen:
            seen.add(text)
            messages.append(text)
    if isinstance(config, Mapping):
        messages += [p for p in env_reference_problems(schema, config) if p not in seen]
        if not partial:
            messages += [p for p in flag_needs(schema, config) if p not in seen]
    return messages + _unreadable(config)


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _unreadable(config: Any) -> list[str]:
    """Values no setting should hold, wherever a config came from (a YAML ``.nan``, a web
    form, an older pazar): NaN and infinities, and text with a line break or another
    control character — a setting is one line, and one that becomes an HTTP header
    (``user_agent``) would otherwise add a header of the writer's choosing."""
    out: list[str] = []
    stack: list[tuple[Any, list[Any]]] = [(config, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            out.append(f"{_join(path)}: {value!r} is not a finite number")
        elif isinstance(value, str) and (control := _CONTROL.search(value)):
            out.append(
                f"{_join(path)}: contains a line break or control character "
                f"(U+{ord(control.group()):04X}); a setting is one line"
            )
        elif isinstance(value, Mapping):
            stack.extend((v, [*path, k]) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(value))
    return sorted(out)


def complete_flags(schema: Mapping[str, Any], config: dict[str, Any]) -> None:
    """Rename, in place, the feature flags written as the seed also spells them: a name the
    schema lists under ``feature_flags``'s ``"x-aliases"`` (Hepsiburada's example config says
    ``send_delete_products`` for ``delete_product``) or a declared flag in another case
    (``Reject_refund``), and add every declared flag left out, off.  The seed's own example
    config then pastes as it is."""
    flags = config.get("feature_flags")
    spec = (schema.get("properties") or {}).get("feature_flags") or {}
    declared = list(spec.get("properties") or {})
    if not isinstance(flags, dict) or not declared:
        return
    aliases = spec.get("x-aliases") or {}
    by_fold = {name.casefold(): name for name in declared}
    for name in list(flags):
        if name in declared:
            continue
        canonical = aliases.get(name) or by_fold.get(str(name).casefold())
        if canonical in declared:
            flags[canonical] = flags.pop(name)
    # The seed: "even if the related process will not run, it must still be added as false";
    # a whole new flags object (`feature_flags={...}`) keeps the flags it leaves out, off.
    for name in declared:
        sub = (spec.get("properties") or {}).get(name) or {}
        flags.setdefault(name, sub.get("default", False))


def flag_needs(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """Settings a feature flag that is on needs first (``"x-needs": [key, ...]`` on the
    flag): the seed's "before activating this flag, X must be configured".  Like a required
    field still empty, an inactive channel may be saved without them, not activated; an
    active one may not be saved."""
    props = schema.get("properties") or {}
    flags = config.get("feature_flags")
    flag_props = (props.get("feature_flags") or {}).get("properties") or {}
    if not isinstance(flags, Mapping):
        return []
    problems = []
    for flag, sub in flag_props.items():
        needs = sub.get("x-needs") if isinstance(sub, Mapping) else None
        if not needs or flags.get(flag) is not True:
            continue
        for key in needs:
            if config.get(key) in _EMPTY:
                title = (props.get(key) or {}).get("title")
                label = f" ({title})" if title else ""
                problems.append(
                    f"{key}: is required while feature_flags.{flag} is on{label}, but empty"
                )
    return problems


# --------------------------------------------------------------------------- secrets


def _walk_secrets(schema: Mapping[str, Any], value: Any, path: list[Any]) -> Iterator[list[Any]]:
    """Paths of every secret value present in ``value``."""
    if not isinstance(value, dict):
        return
    sub = _subschema(schema, path) or {}
    for key, child in value.items():
        child_schema = _child(sub, key) if sub else None
        if isinstance(child_schema, dict) and child_schema.get("x-secret"):
            yield [*path, key]
        elif isinstance(child, dict):
            yield from _walk_secrets(schema, child, [*path, key])


def _get(config: Mapping[str, Any], path: Sequence[Any]) -> Any:
    node: Any = config
    for part in path:
        node = node[part]
    return node


def _put(config: dict[str, Any], path: Sequence[Any], value: Any) -> None:
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def is_env_reference(value: Any) -> bool:
    return (
        isinstance(value, str) and value.startswith(ENV_PREFIX) and bool(ENV_NAME.match(value[4:]))
    )


def mask(schema: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with secrets masked; ``env:NAME`` references stay visible."""
    out = copy.deepcopy(dict(config))
    for path in _walk_secrets(schema, out, []):
        value = _get(out, path)
        if value in _EMPTY or is_env_reference(value):
            continue
        _put(out, path, MASK)
    return out


def secret_paths(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    return [_join(p) for p in _walk_secrets(schema, dict(config), [])]


def secret_path_lists(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[list[Any]]:
    """Paths (as key lists) of every secret value present in ``config``."""
    return list(_walk_secrets(schema, dict(config), []))


def _env_references(
    schema: Mapping[str, Any], config: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    """(key path, variable name) of every ``env:NAME`` secret in ``config``."""
    for path in _walk_secrets(schema, dict(config), []):
        value = _get(config, path)
        if is_env_reference(value):
            yield _join(path), value[len(ENV_PREFIX) :]


def env_reference_problems(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """``env:NAME`` secrets whose variable the operator has not allowed (see secret_policy),
    and secrets that look like a reference but are not one (``env: NAME``, ``ENV:NAME``,
    ``env:``): stored as they are, they would go to the marketplace as the password."""
    from pazar.secret_policy import ENV_SECRET_PREFIX, env_name_allowed, env_not_allowed_message

    problems = [
        env_not_allowed_message(path, name)
        for path, name in _env_references(schema, config)
        if not env_name_allowed(name)
    ]
    for path in _walk_secrets(schema, dict(config), []):
        value = _get(config, path)
        if isinstance(value, str) and _ENV_LIKE.match(value) and not is_env_reference(value):
            problems.append(
                f"{_join(path)}: looks like an env: reference but is not one; write exactly "
                f"env:NAME, NAME of letters, digits and _ (e.g. env:{ENV_SECRET_PREFIX}"
                f"{_join(path).upper().replace('.', '_')}); a literal secret cannot start "
                "with env:"
            )
    return problems


def unset_env_references(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """``env:NAME`` secrets whose variable this process does not have: what a run started
    here would fail on.  A warning, not a problem: the daemon's environment may differ."""
    return [
        f"{path}: environment variable {name} is not set here; a run fails unless the "
        "daemon's environment sets it"
        for path, name in _env_references(schema, config)
        if name not in os.environ
    ]


def resolve_secrets(schema: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` whose ``env:NAME`` secrets hold the variables' values.

    Done at use, never at save, so a config can be stored before the machine
    that runs it has its environment.
    """
    return resolve_secrets_in_place(schema, copy.deepcopy(dict(config)))


def resolve_secrets_in_place(schema: Mapping[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """:func:`resolve_secrets` on a config the caller owns (no copy; returned for chaining)."""
    from pazar.secret_policy import check_env_name

    for path in _walk_secrets(schema, out, []):
        value = _get(out, path)
        if not is_env_reference(value):
            continue
        name = value[len(ENV_PREFIX) :]
        check_env_name(f"config key {_join(path)}", name)
        if name not in os.environ:
            raise ConfigError(
                f"config key {_join(path)} refers to environment variable {name}, which is not set"
            )
        _put(out, path, os.environ[name])
    return out


# --------------------------------------------------------------------------- the seed's form


def data_type(sub: Mapping[str, Any]) -> str:
    """The seed form's data_type of one field."""
    forced = sub.get("x-data-type")
    if forced:
        return str(forced)
    types = [t for t in _types(sub) if t != "null"]
    first = types[0] if types else "string"
    return {
        "array": "list",
        "object": "json",
        "integer": "integer",
        "boolean": "bool",
        "string": "text",
        "number": "text",
    }.get(first, "text")


def form_rows(schema: Mapping[str, Any]) -> list[tuple[str, str, bool, str]]:
    """(key, label, required, data_type) for each top-level field, in schema order."""
    required = set(schema.get("required") or [])
    rows = []
    for key, sub in (schema.get("properties") or {}).items():
        rows.append((key, str(sub.get("title") or key), key in required, data_type(sub)))
    return rows


def flatten(config: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted key/value pairs of nested objects (lists stay whole), for tables."""
    rows: list[tuple[str, Any]] = []
    for key, value in config.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            rows.extend(flatten(value, full))
        else:
            rows.append((full, value))
    return rows
