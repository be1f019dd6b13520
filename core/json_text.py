"""JSON text for the database's JSON columns: exactly what ``json.dumps`` writes, sooner.

SQLAlchemy turns every JSON value into text with ``json.dumps``, which builds its C
encoder again at every call (with a fresh dictionary for spotting circular references);
for the small values pazar writes most (a product's categories, images and attributes, a
job's payload) that setup costs two to four times the encoding.  Without it a SQLite
re-import of a million products runs at 48.5k rows/s instead of 44.2k.

The text must stay ``json.dumps``'s to the byte: SQLite keeps it as written and the import
finds a changed row by comparing it, so another spelling (a separator, a character left
unescaped) would make every stored row look changed once and send it again.  So this is
``json.dumps``'s own C encoder with ``json.dumps``'s default settings, built once.  It does
not look for circular references (values read from files and the database have none); a
value that recurses too deep is handed to ``json.dumps``, which names the problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any


def _encoder() -> Callable[[Any], str] | None:
    if c_make_encoder is None:  # an interpreter without json's C speedups
        return None
    defaults = json.JSONEncoder()
    chunks = c_make_encoder(
        None,  # markers: no circular-reference check
        defaults.default,
        encode_basestring_ascii,
        defaults.indent,
        defaults.key_separator,
        defaults.item_separator,
        defaults.sort_keys,
        defaults.skipkeys,
        defaults.allow_nan,
    )
    return lambda value: "".join(chunks(value, 0))


_encode = _encoder()


def dumps(value: Any) -> str:
    """``json.dumps(value)``."""
    if _encode is not None:
        try:
            return _encode(value)
        except RecursionError:
            pass
    return json.dumps(value)
