"""Where pazar keeps what it may rebuild at any time (validated flows, the flow summary
``pazar status`` reads): its own module so a caller that only needs the place imports
nothing else.

``PAZAR_CACHE_DIR`` (``off`` turns caching off), else ``$XDG_CACHE_HOME/pazar``, else
``~/.cache/pazar``.  Deleting the directory is always safe.
"""

from __future__ import annotations

import os
from pathlib import Path

OFF_WORDS = ("off", "none", "0", "false", "no")


def cache_dir() -> Path | None:
    """pazar's cache directory, or None when ``PAZAR_CACHE_DIR`` turns it off."""
    explicit = os.environ.get("PAZAR_CACHE_DIR", "").strip()
    if explicit:
        if explicit.lower() in OFF_WORDS:
            return None
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "pazar"


def write_entry(target: Path, body: str) -> None:
    """Write a cache file whole or not at all; silently nothing when it cannot be written
    (a cache is an optimisation: a reader finds the old entry, the new one, or none)."""
    import tempfile

    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(body)
            os.replace(tmp, target)  # readers see the old entry or the new, never half
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return
