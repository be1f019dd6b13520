"""The part of a channel config schema every marketplace shares, built once for all of them.

The engine reads a few keys of every channel's config: ``feature_flags`` (which flows run),
``failed_integration`` (the penalty policy per content type and how long an upload may wait),
``catalog_code`` (which local catalog the channel sells) and ``schedules`` (per-channel
overrides of flow schedules).  A plugin written in Python builds its schema with
:func:`channel_schema`, so those keys carry the same meaning, labels and defaults on every
marketplace; a plugin shipping a JSON file declares them the same way (see
``schemas/channel/*.json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The seed's section 3 defaults: 8 hours between attempts, 16 hours to give up, 2 attempts.
DEFAULT_POLICY = {"RETRY_INTERVAL": 28800, "EXPIRATION_DATE": 57601, "MAX_RETRY_COUNT": 2}
DEFAULT_EXPIRATION_HOUR = 6

_POLICY: dict[str, Any] = {
    "type": "object",
    "description": "Penalty policy of one content type.",
    "additionalProperties": False,
    "properties": {
        "RETRY_INTERVAL": {
            "type": "integer",
            "minimum": 0,
            "description": "Seconds to wait before the next attempt.",
        },
        "EXPIRATION_DATE": {
            "type": ["integer", "null"],
            "minimum": 0,
            "description": "Seconds after the first failure after which no retry happens "
            "(null: no time limit).",
        },
        "MAX_RETRY_COUNT": {
            "type": "integer",
            "minimum": 1,
            "description": "Attempts allowed, the first failure included.",
        },
    },
}


def engine_properties(
    flags: Sequence[str], content_types: Sequence[str] = ()
) -> dict[str, dict[str, Any]]:
    """The schema properties the engine reads: ``feature_flags`` (one boolean per flag, all
    off by default), ``failed_integration`` (``DEFAULT`` plus one policy per content type,
    and ``sent_to_remote.EXPIRATION_HOUR``), ``catalog_code`` and ``schedules``."""
    policies = {ct: dict(DEFAULT_POLICY) for ct in ("DEFAULT", *content_types)}
    return {
        "feature_flags": {
            "type": "object",
            "title": "Feature Flags",
            "description": "Which flows run for this channel (a flow runs when its flag is true).",
            "x-data-type": "json",
            "properties": {flag: {"type": "boolean", "default": False} for flag in flags},
            "additionalProperties": {"type": "boolean"},
            "default": {flag: False for flag in flags},
        },
        "failed_integration": {
            "type": "object",
            "title": "Failed Integration",
            "description": "Penalty policy per content type (else DEFAULT) and "
            "sent_to_remote.EXPIRATION_HOUR for uploads waiting on the marketplace.",
            "x-data-type": "json",
            "required": ["DEFAULT", "sent_to_remote"],
            "properties": {
                **{ct: _POLICY for ct in policies},
                "sent_to_remote": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["EXPIRATION_HOUR"],
                    "properties": {
                        "EXPIRATION_HOUR": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "description": "Hours to wait for an asynchronous batch result.",
                        }
                    },
                },
            },
            "additionalProperties": _POLICY,
            "default": {**policies, "sent_to_remote": {"EXPIRATION_HOUR": DEFAULT_EXPIRATION_HOUR}},
        },
        "catalog_code": {
            "type": ["string", "null"],
            "title": "Catalog Code",
            "description": "The local catalog this channel sells (default: the channel slug).",
            "default": None,
        },
        "schedules": {
            "type": "object",
            "title": "Schedules",
            "description": "Per-channel schedule overrides: flow name → cron expression or "
            "'every 30s' / 'every 5m' / 'every 1h'.",
            "additionalProperties": {"type": "string", "minLength": 1},
            "default": {},
        },
    }


def channel_schema(
    title: str,
    properties: Mapping[str, Mapping[str, Any]],
    *,
    flags: Sequence[str],
    content_types: Sequence[str] = (),
    required: Sequence[str] = (),
) -> dict[str, Any]:
    """A channel config schema: the marketplace's own ``properties`` (labels in ``title``,
    secrets marked ``"x-secret": true``, form types in ``"x-data-type"``) next to the
    engine's (:func:`engine_properties`), closed to unknown keys.

    A ``required`` text field must also be filled: JSON Schema's ``required`` only asks for
    the key, which the defaults always hold (an API key defaulting to ``""``), and a channel
    would be activated without its credentials.  A field that gives its own ``minLength``
    keeps it.
    """
    own = {name: dict(sub) for name, sub in properties.items()}
    for name in required:
        sub = own.get(name)
        if sub is not None and "string" in _types(sub) and "minLength" not in sub:
            sub["minLength"] = 1
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "additionalProperties": False,
        "required": [*required, "feature_flags", "failed_integration"],
        "properties": {**own, **engine_properties(flags, content_types)},
    }


def _types(sub: Mapping[str, Any]) -> list[str]:
    kind = sub.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)
