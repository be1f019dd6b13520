"""Validated flows kept on disk, so a command does not check every flow file at start.

Checking the built-in flow files (YAML with positions, JSON Schema, every step's params
and templates) costs a third of a second, and every command that reads flows paid it:
``pazar status`` answered in twice the time its database reads take.  A file that passed
the check is written here as its data and slot lines; the next process rebuilds the same
:class:`~pazar.flows.model.FlowDef` from that without parsing or validating.

An entry is used only when its key matches, and the key covers everything the check of a
file reads: the file's bytes and location, the cache format, pazar's version, the code of
pazar and of every plugin that registered something (file sizes and modification times),
the flow schema, every step's params schema, every marketplace's config schema and the
content types its flow directory declares, the template filters.  Anything else (a
missing, unreadable, corrupt or stale entry) counts as a miss: the file is checked and
the entry rewritten.  A file with errors is never written, so its errors come with their
file and line every time.  Entries are JSON, never pickle: a cache directory another user
can write must not be a way to run code.

Where: ``PAZAR_CACHE_DIR`` (``off`` turns the cache off), else
``$XDG_CACHE_HOME/pazar``, else ``~/.cache/pazar``; flows go to its ``flows/``
subdirectory, one file per flow file.  Deleting the directory is always safe.  When it
cannot be created or written, pazar checks every file as before and says nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

from pazar.cachedir import OFF_WORDS as OFF_WORDS
from pazar.cachedir import cache_dir, write_entry
from pazar.flows.model import FlowDef, flow_from_data, slot_pointers

CACHE_FORMAT = 1


def _plain(value: Any) -> bool:
    """True when JSON gives ``value`` back exactly (YAML also yields dates, int keys…)."""
    if value is None or type(value) in (str, int, float, bool):
        return True
    if type(value) is list:
        return all(_plain(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def _stamp_tree(digest: Any, root: Path) -> None:
    """Size and modification time of every Python file under ``root``: an upgrade or an
    edit of the code (a checkout, an editable install) changes the key."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py"):
                try:
                    info = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                digest.update(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns}\n".encode())


def _code_roots(registry: Any) -> dict[str, Path]:
    """pazar's package and the top-level package (or module file) of every plugin that
    registered a marketplace, step or template filter."""
    modules = {"pazar"}
    for table in (registry.marketplaces, registry.steps, registry.filters):
        for obj in table.values():
            for value in vars(obj).values() if hasattr(obj, "__dict__") else ():
                name = getattr(value, "__module__", None)
                if callable(value) and isinstance(name, str):
                    modules.add(name.split(".")[0])
    roots: dict[str, Path] = {}
    for name in sorted(modules):
        module = sys.modules.get(name)
        if module is None:
            continue
        paths = list(getattr(module, "__path__", []) or [])
        file = getattr(module, "__file__", None)
        if paths:
            roots[name] = Path(paths[0])
        elif file:
            roots[name] = Path(file)
    return roots


def _schema_source(source: Any) -> str:
    """A marketplace config schema as the check would read it: inline, or its file's text."""
    if isinstance(source, str | Path):
        from pazar.paths import schemas_dir

        path = source if isinstance(source, Path) else schemas_dir() / source
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return f"unreadable {path}: {exc}"
    return json.dumps(source, sort_keys=True, default=repr)


def fingerprint(registry: Any) -> str:
    """What, besides a file and its location, decides whether a flow file is valid and
    what it loads as.  Keep in step with ``pazar.flows.validate.check_document``."""
    import pazar
    from pazar.flows.schema import base_schema_text, content_types_in, marketplace_flows_dir

    digest = hashlib.sha256()
    digest.update(f"format {CACHE_FORMAT}\npazar {pazar.__version__}\n".encode())
    for name, root in _code_roots(registry).items():
        module = sys.modules.get(name)
        digest.update(f"code {name} {getattr(module, '__version__', '')}\n".encode())
        if root.is_dir():
            _stamp_tree(digest, root)
        else:
            try:
                info = root.stat()
                digest.update(f"{root}:{info.st_size}:{info.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{root}: missing\n".encode())
    digest.update(base_schema_text().encode())
    for name in sorted(registry.steps):
        step = registry.steps[name]
        schema = json.dumps(step.params_schema, sort_keys=True, default=repr)
        digest.update(f"\nstep {name} {step.kind} {step.plugin} {schema}".encode())
    for name in sorted(registry.marketplaces):
        market = registry.marketplaces[name]
        flows_dir = marketplace_flows_dir(registry, name)
        types = sorted(content_types_in(str(flows_dir)))
        digest.update(f"\nmarketplace {name} {market.plugin} {flows_dir} {types}\n".encode())
        digest.update(_schema_source(market.config_schema).encode())
    for name in sorted(registry.filters):
        digest.update(f"\nfilter {name} {registry.filters[name].plugin}".encode())
    return digest.hexdigest()


class FlowCache:
    """Validated flows of one registry, read from and written to one directory."""

    def __init__(self, directory: Path, registry: Any) -> None:
        self.directory = directory
        self.registry = registry
        self.environment = fingerprint(registry)

    def _names(
        self, path: Path, expect_plugin: str | None, expect_flow: str | None, content: bytes
    ) -> tuple[Path, str]:
        """The entry file of one flow file (one per location, so an edit replaces its
        entry rather than adding one) and the key its content must carry."""
        where = f"{path}\0{expect_plugin or ''}\0{expect_flow or ''}"
        entry = hashlib.sha256(where.encode()).hexdigest()[:40]
        key = hashlib.sha256(
            f"{self.environment}\0{where}\0".encode() + hashlib.sha256(content).digest()
        ).hexdigest()
        return self.directory / f"{entry}.json", key

    def get(
        self, path: Path, expect_plugin: str | None, expect_flow: str | None, content: bytes
    ) -> FlowDef | None:
        """The flow of ``content``, or None (no entry, another key, anything unreadable)."""
        entry, key = self._names(path, expect_plugin, expect_flow, content)
        try:
            stored = json.loads(entry.read_bytes())
            if not isinstance(stored, dict) or stored.get("key") != key:
                return None
            data, lines = stored["data"], stored["lines"]
            if not isinstance(data, dict) or not isinstance(lines, dict):
                return None
            return flow_from_data(data, lines.get, self.registry, path=path)
        except Exception:  # noqa: BLE001 - a damaged entry is a miss, never an error
            return None

    def put(
        self,
        path: Path,
        expect_plugin: str | None,
        expect_flow: str | None,
        content: bytes,
        data: Any,
        line_of: Any,
    ) -> None:
        """Keep a flow that passed the check; silently nothing when it cannot be written."""
        if not isinstance(data, dict) or not _plain(data):
            return
        entry, key = self._names(path, expect_plugin, expect_flow, content)
        lines = {p: line_of(p) for p in slot_pointers(data)}
        body = json.dumps({"key": key, "path": str(path), "data": data, "lines": lines})
        write_entry(entry, body)


_lock = threading.Lock()
_caches: weakref.WeakKeyDictionary[Any, tuple[Path | None, FlowCache | None]] = (
    weakref.WeakKeyDictionary()
)


def flow_cache(registry: Any) -> FlowCache | None:
    """The validated-flow cache for ``registry`` (built once per registry and directory),
    or None when the cache is off."""
    directory = cache_dir()
    if directory is None:
        return None
    directory = directory / "flows"
    with _lock:
        try:
            known = _caches.get(registry)
        except TypeError:  # a registry that cannot be weakly referenced: no cache
            return None
        if known is not None and known[0] == directory:
            return known[1]
    try:
        cache: FlowCache | None = FlowCache(directory, registry)
    except Exception:  # noqa: BLE001 - a registry the fingerprint cannot read: check as before
        cache = None
    with _lock:
        _caches[registry] = (directory, cache)
    return cache
