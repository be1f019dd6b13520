"""The channel config form, generated from the marketplace's JSON Schema.

The schema is the one definition of every field (the seed's "Schema Type": key,
label, required, data_type): the form's labels are the schema's ``title`` (or
``x-title-<lang>`` when a schema gives one in the page's language), required fields
are marked, the input follows the type, and the help text is the ``description``.
Secrets (``x-secret``) are write-only: their value is never put in the page — an
empty input keeps the stored one, ``env:NAME`` stores a reference (shown, as it is
not a secret).  A submitted form becomes ``key=value`` assignments for
:meth:`pazar.channels.ChannelService.set`, so typing and validation are the CLI's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pazar import config_schema as cs
from pazar.errors import ValidationError


@dataclass
class Flag:
    name: str
    on: bool
    description: str


@dataclass
class Field:
    """One input of the form."""

    key: str
    label: str
    required: bool
    data_type: str  # the seed's: list, text, integer, bool, json
    kind: str  # text, password, number, checkbox, select, textarea, flags
    value: Any = ""
    description: str = ""
    nullable: bool = False
    secret_state: str = ""  # secrets: "set", "empty" or the env:NAME reference
    options: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    step: str = "1"
    rows: int = 3

    @property
    def input_id(self) -> str:
        return f"f-{self.key}"


def _types(sub: Mapping[str, Any]) -> list[str]:
    t = sub.get("type")
    return [] if t is None else ([t] if isinstance(t, str) else list(t))


def _is_flag_group(sub: Mapping[str, Any]) -> bool:
    props = sub.get("properties") or {}
    return bool(props) and all("boolean" in _types(p) for p in props.values())


def label_of(key: str, sub: Mapping[str, Any], lang: str) -> str:
    return str(sub.get(f"x-title-{lang}") or sub.get("title") or key)


def fields_for(schema: Mapping[str, Any], config: Mapping[str, Any], lang: str) -> list[Field]:
    """The form's fields, in schema order, filled from ``config`` (secrets never)."""
    required = set(schema.get("required") or [])
    out = []
    for key, sub in (schema.get("properties") or {}).items():
        types = _types(sub)
        value = config.get(key)
        item = Field(
            key=key,
            label=label_of(key, sub, lang),
            required=key in required,
            data_type=cs.data_type(sub),
            kind="text",
            description=str(sub.get(f"x-description-{lang}") or sub.get("description") or ""),
            nullable="null" in types,
        )
        if sub.get("x-secret"):
            item.kind = "password"
            if value in (None, ""):
                item.secret_state = "empty"
            elif cs.is_env_reference(value):
                item.secret_state = str(value)
            else:
                item.secret_state = "set"
        elif sub.get("enum"):
            item.kind = "select"
            item.options = [str(v) for v in sub["enum"]]
            item.value = "" if value is None else str(value)
        elif "boolean" in types:
            item.kind = "checkbox"
            item.value = bool(value)
        elif "integer" in types or "number" in types:
            item.kind = "number"
            item.step = "1" if "integer" in types else "any"
            item.value = "" if value is None else str(value)
        elif "object" in types and _is_flag_group(sub):
            item.kind = "flags"
            current = value if isinstance(value, Mapping) else {}
            item.flags = [
                Flag(name, bool(current.get(name)), str(psub.get("description") or ""))
                for name, psub in (sub.get("properties") or {}).items()
            ]
        elif "array" in types and _scalar_items(sub):
            item.kind = "textarea"
            item.value = "\n".join(str(v) for v in value or [])
            item.rows = max(2, min(8, len(value or []) + 1))
        elif "object" in types or "array" in types:
            item.kind = "textarea"
            item.value = (
                "" if value in (None, {}, []) else json.dumps(value, ensure_ascii=False, indent=2)
            )
            item.rows = max(2, min(16, item.value.count("\n") + 2))
        else:
            item.value = "" if value is None else str(value)
        out.append(item)
    return out


def _scalar_items(sub: Mapping[str, Any]) -> bool:
    items = sub.get("items")
    return isinstance(items, Mapping) and not {"object", "array"} & set(_types(items))


def _list_json(text: str, sub: Mapping[str, Any]) -> str:
    """Lines (or commas) of a list field as a JSON array, numbers typed by the schema."""
    stripped = text.strip()
    if stripped.startswith("["):
        return stripped
    items = sub.get("items") if isinstance(sub.get("items"), Mapping) else {}
    numeric = "integer" in _types(items or {})
    values: list[Any] = []
    for line in stripped.replace(",", "\n").splitlines():
        part = line.strip()
        if not part:
            continue
        values.append(int(part) if numeric and part.isdigit() else part)
    return json.dumps(values, ensure_ascii=False)


@dataclass
class Submitted:
    """What a submitted form asks to change."""

    assignments: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # keys
    secrets: list[str] = field(default_factory=list)  # secret keys it sets


def read_form(
    schema: Mapping[str, Any],
    config: Mapping[str, Any],
    form: Mapping[str, list[str]],
) -> Submitted:
    """The assignments for the fields whose submitted value differs from the stored one.

    Only fields that were on the form (``present``) are read, so a form that shows a
    subset (or an older schema) never resets the rest."""
    present = set(form.get("present") or [])
    props = schema.get("properties") or {}
    result = Submitted()

    def first(name: str) -> str:
        values = form.get(name)
        return values[0] if values else ""

    for key, sub in props.items():
        if key not in present:
            continue
        types = _types(sub)
        current = config.get(key)
        if sub.get("x-secret"):
            raw = first(key)
            if first(f"clear.{key}"):
                raw = ""
                if current in (None, ""):
                    continue
            elif raw == "":
                continue  # write-only: empty keeps the stored secret
            result.assignments.append(f"{key}={raw}")
            result.changed.append(key)
            result.secrets.append(key)
            continue
        if "boolean" in types and not sub.get("enum"):
            new: Any = bool(first(key))
            if new != bool(current):
                result.assignments.append(f"{key}={'true' if new else 'false'}")
                result.changed.append(key)
            continue
        if "object" in types and _is_flag_group(sub):
            flags = dict(current) if isinstance(current, Mapping) else {}
            for name in sub.get("properties") or {}:
                flags[name] = bool(first(f"{key}.{name}"))
            if flags != current:
                result.assignments.append(f"{key}={json.dumps(flags)}")
                result.changed.append(key)
            continue
        raw = first(key)
        if "array" in types and _scalar_items(sub):
            raw = _list_json(raw, sub)
        elif ("object" in types or "array" in types) and not raw.strip():
            raw = "[]" if "array" in types and "object" not in types else "{}"
        try:
            typed = cs.coerce(schema, key, raw)
        except ValidationError:
            typed = object()  # let set() report it, with the field's name
        if typed != current and not (typed in ("", None) and current in ("", None)):
            result.assignments.append(f"{key}={raw}")
            result.changed.append(key)
    return result


def field_of(problem: str) -> str:
    """The top-level key a problem message is about (``a.b[0]: ...`` → ``a``)."""
    head = problem.split(":", 1)[0].strip()
    for sep in (".", "["):
        head = head.split(sep, 1)[0]
    return head
