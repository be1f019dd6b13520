"""One pooled HTTP client per process (and timeout), shared by every marketplace client.

A marketplace's channels all talk to the same few hosts.  A pool per channel kept
a socket open per channel and flow between runs (thousands for a daemon serving
hundreds of channels, past the usual limit of 1,024 open files) or, closed after
each run, paid a new connection and TLS handshake every run.  One shared pool
reuses connections across channels and runs and keeps open sockets bounded by
its own limits; credentials and headers travel with each request instead.
httpx clients are safe to share between threads.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from pazar.tls import shared_tls_context

if TYPE_CHECKING:
    import httpx

MAX_CONNECTIONS = 100
MAX_KEEPALIVE = 20

_lock = threading.Lock()
_pools: dict[float, httpx.Client] = {}


def shared_http_client(timeout: float) -> httpx.Client:
    """The process's pooled client for requests with this timeout (built on first use)."""
    import httpx

    with _lock:
        client = _pools.get(timeout)
        if client is None or client.is_closed:
            client = httpx.Client(
                timeout=httpx.Timeout(timeout),
                limits=httpx.Limits(
                    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE
                ),
                verify=shared_tls_context(),
            )
            _pools[timeout] = client
        return client
