"""Where secrets may come from and where they may never go.

A channel config field the schema marks ``x-secret`` (a password, a token) is
needed by exactly one piece of code: the marketplace client.  Everything else —
templates, run logs, run errors, penalties, CLI output — gets either a view of
the config without those fields or text with their values masked.

A secret may be written ``env:NAME`` to be read from the environment when the
channel is used.  That reference is operator input, and without a rule it would
read *any* variable of the daemon's process (``env:DATABASE_URL``,
``env:AWS_SECRET_ACCESS_KEY``) into a config whose value ends up sent to a
marketplace.  So ``NAME`` must start with :data:`ENV_SECRET_PREFIX` or be listed
in :data:`ENV_ALLOW_VARIABLE` (comma-separated names, or prefixes ending in
``*``); the rule is checked when the config is saved and again when it is used.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pazar.errors import ConfigError

ENV_SECRET_PREFIX = "PAZAR_SECRET_"
ENV_ALLOW_VARIABLE = "PAZAR_SECRET_ENV_ALLOW"
MASK = "********"
# Shorter values are not redacted from free text: masking every "1" or "ab" in a log
# line would garble it and protect nothing (such a secret is no secret).
MIN_REDACTED_LENGTH = 4


def allowed_env_patterns(environ: Mapping[str, str] | None = None) -> list[str]:
    """The operator's allowlist: the default prefix plus ``PAZAR_SECRET_ENV_ALLOW``."""
    env = os.environ if environ is None else environ
    extra = [p.strip() for p in env.get(ENV_ALLOW_VARIABLE, "").split(",") if p.strip()]
    return [ENV_SECRET_PREFIX + "*", *extra]


def env_name_allowed(name: str, environ: Mapping[str, str] | None = None) -> bool:
    for pattern in allowed_env_patterns(environ):
        if pattern.endswith("*"):
            if name.startswith(pattern[:-1]):
                return True
        elif name == pattern:
            return True
    return False


def env_not_allowed_message(key: str, name: str) -> str:
    return (
        f"{key}: environment variable {name} may not be used for a secret; name one that "
        f"starts with {ENV_SECRET_PREFIX} (e.g. env:{ENV_SECRET_PREFIX}{name}) or allow it "
        f"in {ENV_ALLOW_VARIABLE} (comma-separated names, or prefixes ending in *)"
    )


def check_env_name(key: str, name: str, environ: Mapping[str, str] | None = None) -> None:
    """ConfigError naming the config key and the variable when ``name`` is not allowed."""
    if not env_name_allowed(name, environ):
        raise ConfigError(env_not_allowed_message(key, name))


# --------------------------------------------------------------------------- views


def _delete(config: dict[str, Any], path: Sequence[Any]) -> None:
    node: Any = config
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)


def template_view(schema: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """The config templates see: a copy in which secret fields do not exist.

    Not masked but absent, so ``{{ config.password }}`` is an undefined-variable
    error that names the template, and ``{{ config }}`` or ``config|tojson``
    print nothing secret.
    """
    from pazar.config_schema import secret_path_lists

    view = copy.deepcopy(dict(config))
    for path in secret_path_lists(schema, view):
        _delete(view, path)
    return view


def secret_values(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """The secret values present in a (resolved) config, longest first."""
    from pazar.config_schema import secret_path_lists

    found: set[str] = set()
    for path in secret_path_lists(schema, dict(config)):
        node: Any = config
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        _collect(node, found)
    return sorted((v for v in found if len(v) >= MIN_REDACTED_LENGTH), key=len, reverse=True)


def _collect(value: Any, into: set[str]) -> None:
    if isinstance(value, str):
        if value and value != MASK:
            into.add(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect(item, into)
    elif isinstance(value, list):
        for item in value:
            _collect(item, into)
    elif value is not None and not isinstance(value, bool):
        _collect(str(value), into)


def redactor(values: Sequence[str]) -> Callable[[str], str]:
    """A function that masks every occurrence of ``values`` in a text.

    The last line of defence: a run error or log line built from an exception
    that happened to quote a credential (a client library's message, a repr of
    the resolved config) is stored and shown with the mask instead.
    """
    secrets = [v for v in values if v]
    if not secrets:
        return _unchanged

    def redact(text: str) -> str:
        if not isinstance(text, str):
            return text
        for value in secrets:
            if value in text:
                text = text.replace(value, MASK)
        return text

    return redact


def _unchanged(text: str) -> str:
    return text


def config_redactor(schema: Mapping[str, Any], config: Mapping[str, Any]) -> Callable[[str], str]:
    return redactor(secret_values(schema, config))
