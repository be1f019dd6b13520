"""Trigger payloads: the body an OMS sends to start a flow (the seed's Update Warehouse
and Split Packages), read from a file by ``pazar trigger --payload FILE.json``.

The file holds the same body as ``POST /flow-trigger/{channel}/{flow}``, checked against
the same schema (``schemas/triggers/<plugin>/<flow>.json``, else ``default.json``), so a
body that works in one works in the other.  A bad file is one message naming the file and
the place in it, and nothing runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from pazar.errors import ValidationError
from pazar.paths import schemas_dir


def trigger_schema(plugin: str, flow: str) -> dict[str, Any]:
    """The body schema of a flow's trigger: its own, else the default one."""
    base = schemas_dir() / "triggers"
    specific = base / plugin / f"{flow}.json"
    path = specific if specific.is_file() else base / "default.json"
    return json.loads(path.read_text())


def payload_problems(body: Any, plugin: str, flow: str) -> list[str]:
    """What is wrong with a trigger body, each as ``/pointer: message`` (empty: valid)."""
    validator = Draft202012Validator(trigger_schema(plugin, flow))
    return [
        f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    ]


def read_payload_file(path: str | Path, plugin: str, flow: str) -> dict[str, Any]:
    """The trigger body in ``path``, checked; a :class:`ValidationError` names the problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{file}: cannot be read as UTF-8 text ({exc})") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{file}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
        ) from None
    problems = payload_problems(body, plugin, flow)
    if problems:
        raise ValidationError(
            f"{file}: not a valid trigger body for {plugin}/{flow}: " + "; ".join(problems[:5])
        )
    return body  # type: ignore[no-any-return]
