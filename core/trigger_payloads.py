"""Trigger payloads: the body an OMS sends to start a flow (the seed's Update Warehouse
and Split Packages), read from a file by ``pazar trigger --payload FILE.json``.

The file holds the same body as ``POST /flow-trigger/{channel}/{flow}``, checked against
the same schema (``schemas/triggers/<plugin>/<flow>.json``, else ``default.json``), so a
body that works in one works in the other.  A bad file is one message naming the file and
the place in it, and nothing runs.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaError

from pazar import json_input
from pazar.errors import ValidationError, short
from pazar.json_input import unstorable_text
from pazar.paths import schemas_dir
from pazar.textfiles import read_text


@functools.lru_cache(maxsize=64)
def _validator(plugin: str, flow: str) -> Draft202012Validator:
    """The body schema of a flow's trigger (its own, else the default one), compiled once."""
    base = schemas_dir() / "triggers"
    specific = base / plugin / f"{flow}.json"
    path = specific if specific.is_file() else base / "default.json"
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def describe(error: SchemaError) -> str:
    """One schema error without the offending value: a body comes from outside and may be
    huge, so a message names where and which rule, and echoes at most a short excerpt."""
    where = "/" + "/".join(short(str(p), 60) for p in error.absolute_path)
    kind, rule = error.validator, error.validator_value
    if kind == "type":
        return f"{where}: expected {rule if isinstance(rule, str) else ' or '.join(rule)}"
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties") or {})
        extra = [short(k, 60) for k in error.instance if k not in allowed][:5]
        return f"{where}: unknown key(s) {', '.join(extra)}"
    if kind in ("maxItems", "minItems", "maxLength", "minLength", "maxProperties"):
        return f"{where}: breaks {kind} {rule}"
    if kind == "required":
        return f"{where}: {short(error.message, 120)}"
    return f"{where}: breaks rule {kind!r}"


def payload_problems(body: Any, plugin: str, flow: str) -> list[str]:
    """What is wrong with a trigger body, each as ``/pointer: message`` (empty: valid)."""
    errors = sorted(_validator(plugin, flow).iter_errors(body), key=lambda e: list(e.absolute_path))
    return [describe(e) for e in errors]


def read_payload_file(path: str | Path, plugin: str, flow: str) -> dict[str, Any]:
    """The trigger body in ``path``, checked; a :class:`ValidationError` names the problem."""
    file = Path(path)
    text = read_text(file)  # UTF-8 with or without BOM, bounded in size; one located message
    try:
        body = json_input.loads(text, unique_keys=True)  # as the HTTP API reads bodies
    except json_input.JsonProblem as exc:
        at = f":{exc.lineno}:{exc.colno}" if exc.lineno else ""
        raise ValidationError(f"{file}{at}: not valid JSON: {exc.msg}") from None
    unstorable = unstorable_text(body)
    if unstorable:
        raise ValidationError(f"{file}: {unstorable}")
    problems = payload_problems(body, plugin, flow)
    if problems:
        raise ValidationError(
            f"{file}: not a valid trigger body for {plugin}/{flow}: " + "; ".join(problems[:5])
        )
    return body  # type: ignore[no-any-return]
