"""``pazar sandbox NAME``: serve a marketplace's sandbox on loopback until Ctrl-C.

Lets an operator point a channel at a local imitation of the marketplace (or poke it with
curl) without credentials for the real service.  A sandbox app may expose
``app.state.sandbox_info(url)``: a dict with ``config`` (the channel config keys that point
a channel at the sandbox served at ``url``) and ``control`` (its control endpoints); what it
returns is printed as it is, so each marketplace says what its own channels need.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from pazar.cli.context import app
from pazar.cli.numbers import Integer
from pazar.cli.output import print_json
from pazar.errors import NotFoundError, PazarError, ValidationError
from pazar.suggest import did_you_mean


def _info(asgi_app: Any, url: str) -> dict[str, Any]:
    state = getattr(asgi_app, "state", None)
    info = getattr(state, "sandbox_info", None) if state is not None else None
    if callable(info):
        info = info(url)
    return dict(info) if isinstance(info, dict) else {}


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> None:
    """Stop cleanly on SIGTERM (service managers, ``kill``) as on Ctrl-C."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


@click.command("sandbox")
@click.argument("name")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=Integer(0, 65535),
    help="Port to listen on (0 = any free port).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the URL and credentials as JSON.")
def sandbox_command(name: str, host: str, port: int, as_json: bool) -> None:
    """Serve the sandbox of marketplace NAME (hepsiburada, fashfed, or a plugin's) until Ctrl-C or
    SIGTERM."""
    from pazar.sandbox_server import serve_in_thread

    if not 0 <= port <= 65535:
        raise ValidationError(f"--port {port} is not a port number (0-65535)")
    registry = app().registry
    served = sorted(m.name for m in registry.marketplaces.values() if m.sandbox_app is not None)
    if name not in registry.marketplaces:
        raise NotFoundError(
            f"unknown marketplace {name!r} (sandboxes: {', '.join(served) or 'none'})"
            f"{did_you_mean(name, registry.marketplaces)}"
        )
    marketplace = registry.marketplaces[name]
    if marketplace.sandbox_app is None:
        raise PazarError(f"marketplace {name!r} has no sandbox; sandboxes: {', '.join(served)}")
    from pazar.http_guard import is_loopback

    if not is_loopback(host):
        click.echo(
            f"warning: the sandbox on {host} can be reached from other machines, and its "
            "control endpoints (seed orders, inject faults, read what it received) have no "
            "authentication; serve it on 127.0.0.1 unless that is what you want",
            err=True,
        )
    asgi_app = marketplace.sandbox_app()
    running = serve_in_thread(asgi_app, host=host, port=port)
    info = _info(asgi_app, running.url)
    if as_json:
        print_json({"marketplace": name, "url": running.url, **info})
    else:
        click.echo(f"{marketplace.title} sandbox listening on {running.url}")
        config = info.get("config") or {}
        if config:
            click.echo("channel config for it:")
            for key, value in config.items():
                click.echo(f"  {key}: {value}")
        for line in info.get("control") or []:
            click.echo(f"control: {line}")
        click.echo("press Ctrl-C to stop")
    _stop_on_sigterm()
    try:
        running.wait()
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        running.stop()


COMMANDS = [sandbox_command]
