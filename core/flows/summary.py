"""What ``pazar status`` needs of the flows, kept on disk so it need not load plugins.

Telling which schedules are overdue needs, per flow, only its plugin, name, content type,
``needs``, schedule and feature flag.  Loading them the ordinary way imports every plugin
and checks the flow files: most of ``pazar status``'s time once SQLAlchemy is out of it.
So a status that did load them writes this summary, and the next one reads it, when
nothing that decides the flows has changed since:

- the Python and its ``sys.path``, the working directory, pazar's version and every
  ``PAZAR_*`` variable but the database URL and the cache directory (the file's name);
- the code of pazar and of every plugin (each file's size and modification time) and
  that each plugin package still resolves to the same place;
- the schema files, every flow directory (its entries, by the directory's modification
  time) and the bytes of every flow file;
- the ``sys.path`` directories but the working directory (installing or removing a
  distribution, hence an entry point or a plugin's dependency, changes them).

Anything else (no summary, another state, a damaged file) is a miss: the caller loads the
flows as before.  The summary is written only after a load with no plugin warnings and no
flow errors, so those keep reaching the user.  Entries are JSON, never pickle, like the
validated-flow cache (:mod:`pazar.flows.cache`) they sit next to.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pazar.cachedir import cache_dir, write_entry

SUMMARY_FORMAT = 1
# Not part of the key: where the data is and where the cache is do not change the flows.
_IGNORED_ENV = ("PAZAR_DATABASE_URL", "PAZAR_CACHE_DIR")


@dataclass(frozen=True)
class FlowSummary:
    """One loaded flow, as far as scheduling goes (see :mod:`pazar.jobs.due`)."""

    plugin: str
    flow: str
    content_type: str
    needs: str | None
    schedule: str | None
    feature_flag: str | None

    @property
    def ref(self) -> str:
        return f"{self.plugin}/{self.flow}"


def _summary_file() -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    import pazar

    where = {
        "format": SUMMARY_FORMAT,
        "pazar": pazar.__version__,
        "python": [sys.executable, sys.prefix, sys.version],
        "path": sys.path,
        "cwd": os.getcwd(),
        "env": sorted(
            (k, v)
            for k, v in os.environ.items()
            if k.startswith("PAZAR_") and k not in _IGNORED_ENV
        ),
    }
    name = hashlib.sha256(json.dumps(where, sort_keys=True).encode()).hexdigest()[:40]
    return directory / "status" / f"{name}.json"


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _tree(root: str) -> str:
    """Every file under ``root`` (or ``root`` itself) by size and modification time."""
    digest = hashlib.sha256()
    if not os.path.isdir(root):
        try:
            info = os.stat(root)
        except OSError:
            return "absent"
        return f"{info.st_size}:{info.st_mtime_ns}"
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            try:
                info = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            digest.update(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _content(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def _location(name: str) -> str | None:
    """Where ``import name`` would find the top-level package or module now."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    return locations[0] if locations else spec.origin


def _observe(inputs: dict[str, Any]) -> str:
    """The state of everything ``inputs`` names, as one digest."""
    state = {
        "roots": [[name, _location(name)] for name in inputs["roots"]],
        "trees": [[path, _tree(path)] for path in inputs["trees"]],
        "dirs": [[path, _mtime(path)] for path in inputs["dirs"]],
        "files": [[path, _content(path)] for path in inputs["files"]],
        "path": [[path, _mtime(path)] for path in inputs["path"]],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def describe(plugins: Any) -> dict[str, Any]:
    """What decides the flows a load through ``plugins`` (a loaded plugin system) finds."""
    from pazar.flows.cache import _code_roots
    from pazar.flows.loader import discover, flow_sources
    from pazar.paths import schemas_dir

    registry = plugins.registry
    modules = set(_code_roots(registry))
    for _name, obj in plugins.manager.list_name_plugin():
        module = obj.__name__ if isinstance(obj, ModuleType) else type(obj).__module__
        modules.add(module.split(".")[0])
    roots = sorted(modules)
    trees = sorted({str(loc) for loc in (_location(name) for name in roots) if loc})
    trees.append(str(schemas_dir()))
    sources = flow_sources(registry)
    dirs: set[str] = set()
    for source in sources:
        dirs.add(str(source.path))
        if source.path.is_dir():
            dirs.update(str(p) for p in source.path.iterdir() if p.is_dir())
    files, _problems = discover(sources)
    cwd = os.getcwd()
    path = [p for p in sys.path if p and os.path.abspath(p) != cwd]
    return {
        "roots": roots,
        "trees": trees,
        "dirs": sorted(dirs),
        "files": [str(f.path) for f in files],
        "path": path,
    }


def remember(inputs: dict[str, Any], state: str, flows: list[Any]) -> None:
    """Keep the summary of ``flows``, loaded while ``inputs`` were in ``state`` (taken
    before the load: a file edited meanwhile makes the next read a miss, never stale).
    Silently nothing when the cache is off or cannot be written."""
    target = _summary_file()
    if target is None:
        return
    summaries = [
        asdict(FlowSummary(f.plugin, f.flow, f.content_type, f.needs, f.schedule, f.feature_flag))
        for f in flows
    ]
    write_entry(target, json.dumps({"inputs": inputs, "state": state, "flows": summaries}))


def observe(inputs: dict[str, Any]) -> str:
    """The current state of ``inputs`` (see :func:`describe`), for :func:`remember`."""
    return _observe(inputs)


def recall() -> list[FlowSummary] | None:
    """The flows a load would give now, from the summary; None when there is none or
    anything it depends on changed."""
    target = _summary_file()
    if target is None:
        return None
    try:
        stored = json.loads(target.read_bytes())
        if _observe(stored["inputs"]) != stored["state"]:
            return None
        return [FlowSummary(**entry) for entry in stored["flows"]]
    except Exception:  # noqa: BLE001 - missing or damaged: a miss, never an error
        return None
