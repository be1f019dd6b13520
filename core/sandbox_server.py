"""Serve a marketplace sandbox (any ASGI app) on loopback in a background thread.

``pazar sandbox``, ``pazar demo`` and the test suite talk to the sandboxes over real HTTP;
this starts uvicorn on an ephemeral port, waits until it is listening (no fixed sleeps) and
gives back the URL and a way to stop it.  It takes the app object, so core needs no plugin.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from pazar.errors import PazarError

STARTUP_TIMEOUT = 10.0


@dataclass
class RunningSandbox:
    """A sandbox being served; ``url`` has no trailing slash."""

    url: str
    host: str
    port: int
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the server to exit and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C in the calling thread interrupts the wait)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
    startup_timeout: float = STARTUP_TIMEOUT,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> RunningSandbox:
    """Start ``app`` on ``host:port`` (0 = an ephemeral port) and return once it listens;
    with a certificate and key it serves HTTPS."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"sandbox-{host}:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    ready = threading.Event()
    while not server.started:
        if failure or not thread.is_alive():
            reason = failure[0] if failure else "the server exited while starting"
            raise PazarError(f"sandbox could not listen on {host}:{port}: {reason}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise PazarError(f"sandbox did not start on {host}:{port} within {startup_timeout:g} s")
        ready.wait(0.01)
    bound_port = port
    for srv in getattr(server, "servers", []):
        for sock in getattr(srv, "sockets", []) or []:
            bound_port = sock.getsockname()[1]
            break
    shown = f"[{host}]" if ":" in host else host
    return RunningSandbox(
        url=f"{'https' if ssl_certfile else 'http'}://{shown}:{bound_port}",
        host=host,
        port=bound_port,
        _server=server,
        _thread=thread,
    )
