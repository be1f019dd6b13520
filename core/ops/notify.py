"""Alarm notices by SMTP e-mail and by webhook (JSON POST).

SMTP settings come from the environment, read at each sending, so a daemon picks up
a changed password on its next notice without a restart:

- ``PAZAR_SMTP_HOST`` (required to send e-mail), ``PAZAR_SMTP_PORT`` (default 587 with
  STARTTLS, 465 with SSL, 25 without TLS), ``PAZAR_SMTP_TLS`` = ``starttls`` (default),
  ``ssl`` or ``none``;
- ``PAZAR_SMTP_USER`` and ``PAZAR_SMTP_PASSWORD`` (the password itself, or ``env:NAME``
  to read it from another variable), both or neither;
- ``PAZAR_SMTP_FROM`` (default ``pazar@<host name>``), ``PAZAR_SMTP_TIMEOUT`` (seconds, 10).

A webhook is ``{"url": ..., "token": "env:NAME"}``; the token, when given, is sent as
``Authorization: Bearer``.  Secrets are never part of a delivery's error text: a
failure says what failed (host, status, variable name), never with what.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from pazar.errors import ConfigError
from pazar.ops.webhook_urls import masked_url
from pazar.secret_policy import check_env_name

ENV_PREFIX = "env:"
TLS_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def resolve_env(value: str | None, what: str) -> str | None:
    """``env:NAME`` → the variable's value (ConfigError naming the variable when unset)."""
    if value is None or not value.startswith(ENV_PREFIX):
        return value
    name = value[len(ENV_PREFIX) :]
    check_env_name(what, name)  # the same allowlist as channel secrets
    resolved = os.environ.get(name)
    if resolved is None:
        raise ConfigError(f"{what} refers to environment variable {name}, which is not set")
    return resolved


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str
    user: str | None
    password: str | None
    sender: str
    timeout: float

    def __repr__(self) -> str:  # never the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, tls={self.tls!r})"


def smtp_settings(environ: Mapping[str, str] | None = None) -> SmtpSettings:
    """The SMTP settings from the environment; ConfigError names what is missing or wrong."""
    env = os.environ if environ is None else environ
    host = env.get("PAZAR_SMTP_HOST", "").strip()
    if not host:
        raise ConfigError("e-mail needs PAZAR_SMTP_HOST (and usually PAZAR_SMTP_FROM) to be set")
    tls = env.get("PAZAR_SMTP_TLS", "starttls").strip().lower() or "starttls"
    if tls not in TLS_MODES:
        raise ConfigError(f"PAZAR_SMTP_TLS={tls!r}: one of {', '.join(TLS_MODES)}")
    port_text = env.get("PAZAR_SMTP_PORT", "").strip()
    if port_text and not port_text.isdigit():
        raise ConfigError(f"PAZAR_SMTP_PORT={port_text!r} is not a port number")
    user = env.get("PAZAR_SMTP_USER") or None
    password = resolve_env(env.get("PAZAR_SMTP_PASSWORD") or None, "PAZAR_SMTP_PASSWORD")
    if (user is None) != (password is None):
        raise ConfigError("set both PAZAR_SMTP_USER and PAZAR_SMTP_PASSWORD, or neither")
    timeout_text = env.get("PAZAR_SMTP_TIMEOUT", "10").strip() or "10"
    try:
        timeout = float(timeout_text)
    except ValueError:
        raise ConfigError(
            f"PAZAR_SMTP_TIMEOUT={timeout_text!r} is not a number of seconds"
        ) from None
    return SmtpSettings(
        host=host,
        port=int(port_text) if port_text else DEFAULT_PORTS[tls],
        tls=tls,
        user=user,
        password=password,
        sender=env.get("PAZAR_SMTP_FROM", "").strip() or f"pazar@{socket.gethostname()}",
        timeout=timeout,
    )


@dataclass(frozen=True)
class Notice:
    """What one alarm event says: a subject and body for people, a document for machines."""

    subject: str
    body: str
    document: dict[str, Any]


def send_email(recipients: Sequence[str], notice: Notice) -> list[dict[str, Any]]:
    """One message to all recipients; one delivery record per recipient."""
    if not recipients:
        return []
    try:
        settings = smtp_settings()
    except ConfigError as exc:
        return [{"to": r, "via": "email", "ok": False, "error": exc.message} for r in recipients]
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message.set_content(notice.body)
    try:
        _smtp_send(settings, message, list(recipients))
    except (OSError, smtplib.SMTPException) as exc:
        where = f"{settings.host}:{settings.port}"
        error = f"SMTP {where}: {type(exc).__name__}: {_smtp_reason(exc)}"
        return [{"to": r, "via": "email", "ok": False, "error": error} for r in recipients]
    return [{"to": r, "via": "email", "ok": True, "error": None} for r in recipients]


def _smtp_reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if exc.smtp_error else ""
        return f"{exc.smtp_code} {text}".strip()
    return str(exc) or type(exc).__name__


def _smtp_send(settings: SmtpSettings, message: EmailMessage, recipients: list[str]) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.tls == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        smtp.ehlo()
        if settings.tls == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.user is not None and settings.password is not None:
            smtp.login(settings.user, settings.password)
        smtp.send_message(message, to_addrs=recipients)


def post_webhooks(
    hooks: Sequence[Mapping[str, Any]], notice: Notice, *, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """POST the notice's document to every webhook; one delivery record each."""
    out: list[dict[str, Any]] = []
    if not hooks:
        return out
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for hook in hooks:
            url = str(hook.get("url"))
            shown = masked_url(url)  # an older rule may hold a secret in its URL
            record: dict[str, Any] = {"to": shown, "via": "webhook", "ok": False, "error": None}
            try:
                headers = {"User-Agent": "pazar-alarms"}
                token = resolve_env(hook.get("token"), f"webhook {shown} token")
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                response = client.post(url, json=notice.document, headers=headers)
                if 200 <= response.status_code < 300:
                    record["ok"] = True
                else:
                    record["error"] = f"HTTP {response.status_code}"
            except ConfigError as exc:
                record["error"] = exc.message
            except httpx.HTTPError as exc:
                record["error"] = f"{type(exc).__name__}: {exc}".replace(url, shown)
            out.append(record)
    return out


def deliver(
    recipients: Sequence[str], hooks: Sequence[Mapping[str, Any]], notice: Notice
) -> list[dict[str, Any]]:
    """Send a notice every way a rule asks; never raises (failures are in the records)."""
    return send_email(recipients, notice) + post_webhooks(hooks, notice)
