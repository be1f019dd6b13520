"""Nearest-name suggestions for error messages.

Names are compared folded: case, and the Turkish letters an operator types
without a Turkish keyboard (``Kirmizi`` for ``Kırmızı``, ``ISTANBUL`` for
``İstanbul``), so the suggestion is the value as the marketplace spells it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Python's casefold turns "İ" into "i̇" (i + combining dot); fold it first.
_TURKISH = str.maketrans(
    {
        "ı": "i",
        "İ": "i",
        "I": "i",
        "ş": "s",
        "Ş": "s",
        "ğ": "g",
        "Ğ": "g",
        "ü": "u",
        "Ü": "u",
        "ö": "o",
        "Ö": "o",
        "ç": "c",
        "Ç": "c",
    }
)


def fold(name: str) -> str:
    """``name`` without case and Turkish diacritics: the key two spellings share."""
    return name.translate(_TURKISH).casefold()


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to ``name`` (compared folded), or None when nothing is close."""
    folded: dict[str, str] = {}
    for candidate in candidates:
        folded.setdefault(fold(str(candidate)), candidate)
    key = fold(name)
    if key in folded:
        return folded[key]
    matches = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.6)
    return folded[matches[0]] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or an empty string."""
    match = nearest(name, candidates)
    return f"; did you mean {match!r}?" if match else ""
