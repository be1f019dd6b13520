"""``pazar web``: the web dashboard (and the HTTP API beside it), without a daemon.

``pazar daemon --http`` serves the same pages next to the workers; this command is for
a machine that only shows and steers (jobs it queues are run by a daemon elsewhere on
the same database).
"""

from __future__ import annotations

import click

from pazar.cli.context import app
from pazar.cli.daemon import _address, _check_tls, _tls_options


@click.command("web")
@click.option(
    "--http",
    "http",
    metavar="HOST:PORT",
    default="127.0.0.1:8080",
    show_default=True,
    help="Where to listen.",
)
@_tls_options
def web_command(http: str, tls_cert: str | None, tls_key: str | None) -> None:
    """Serve the web dashboard at /ui/ (with the flow-trigger and operations API).

    Log in with a user made by `pazar users add NAME --role admin`.  Over anything but
    loopback, serve HTTPS (--tls-cert/--tls-key) or put a TLS proxy in front.
    """
    import uvicorn

    from pazar.http_trigger import create_app

    ctx = app()
    host, port = _address(http)
    _check_tls(host, tls_cert, tls_key)
    scheme = "https" if tls_cert else "http"
    ctx.db.ensure_ready()
    click.echo(f"web dashboard at {scheme}://{host}:{port}/ui/", err=True)
    uvicorn.run(
        create_app(
            ctx.db, ctx.registry, clock=ctx.clock, hook=ctx.plugins.hook, https=bool(tls_cert)
        ),
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
    )


COMMANDS = [web_command]
