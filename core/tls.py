"""One verifying TLS context per process, for every marketplace client.

Loading the CA bundle costs ~20 ms, and a daemon opens a marketplace client for
every run of every channel; sharing one context makes that cost once.
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The default verifying context (certifi's CA bundle), built on first use."""
    import httpx

    return httpx.create_ssl_context()
