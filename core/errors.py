"""Error types that the CLI turns into one clear line and an exit code.

Expected failures (bad input, unreachable marketplace, unknown channel) raise one
of these; anything else is a bug and shows a traceback only with ``--debug``.
"""

from __future__ import annotations


class PazarError(Exception):
    """An expected failure: printed as one message, exit code 1."""

    exit_code = 1

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details or [])


class ValidationError(PazarError):
    """Bad input (YAML, config, CSV, payload): exit code 2, nothing changed."""

    exit_code = 2


class NotFoundError(PazarError):
    """A named thing (channel, flow, run) does not exist: exit code 2."""

    exit_code = 2


class ConfigError(PazarError):
    """A channel config cannot be used as it is (e.g. env: secret missing)."""

    exit_code = 2


class DatabaseError(PazarError):
    """The database is unreachable or at a revision this pazar cannot use."""

    exit_code = 1


class RecordsFailed(PazarError):
    """The command ran, but some records failed or could not be taken: exit code 3.

    Distinct from 1 (the run itself stopped) so a script or cron job can tell
    "look at the penalties" from "look at the run".
    """

    exit_code = 3


def short(value: object, limit: int = 200) -> str:
    """At most ``limit`` characters of a value a message repeats (from a request, a file, a
    marketplace): a megabyte value never becomes a megabyte message."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
