"""A shorter thread switch interval while a thread that waits on the network works beside
one that computes.

CPython lets a thread that wants the GIL wait up to the switch interval (5 ms by default)
before the running thread is asked to hand it over.  A thread that talks to a database
needs the GIL back after every wait on the socket, many times per statement, so beside a
thread that parses without pause it spent most of its time waiting for its turn: a
PostgreSQL import's merges, run on a worker thread while the next chunk is parsed, kept
the parser waiting 6.8 of 17.2 s for 1,000,000 products, and at 0.1 ms the same import took
10.2 s with 0.1 s of waiting.  The interval is process-wide, so :func:`short_switch_interval`
counts its users and gives the previous value back when the last one leaves; a thread that
computes alone is never interrupted by it (the hand-over is asked only when another thread
waits for the GIL).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SHORT_INTERVAL = 0.0001
"""Seconds; 1 ms still left the parser waiting as long as the default did."""

_lock = threading.Lock()
_users = 0
_previous = 0.0


@contextmanager
def short_switch_interval() -> Iterator[None]:
    """:data:`SHORT_INTERVAL` for the block (unless the interval is already shorter)."""
    global _users, _previous
    with _lock:
        if _users == 0:
            _previous = sys.getswitchinterval()
            sys.setswitchinterval(min(_previous, SHORT_INTERVAL))
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                sys.setswitchinterval(_previous)
