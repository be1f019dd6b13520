"""Finding, validating and loading flow files.

Sources, in order (a later one overrides a flow of the same plugin and name):
the built-in ``flows.d/``, each registered marketplace's own ``flows_dir``, then
the directories of ``PAZAR_FLOWS_PATH``.  A directory holds
``<plugin>/<flow>.yaml`` files and may also hold flat ``<flow>.yaml`` files
(a marketplace's own flows dir is flat: its files belong to that marketplace).
Every file is validated before anything is returned, and all errors of all
files are reported together.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pazar.errors import NotFoundError, ValidationError
from pazar.flows.model import CORE_PLUGIN, FlowCheck, FlowDef, FlowError
from pazar.paths import builtin_flows_dir, overlay_flow_dirs
from pazar.suggest import did_you_mean
from pazar.textfiles import decode_text, read_text

FLOW_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class FlowSource:
    """A directory flows are read from.

    ``plugin`` is set for a marketplace's own flows dir, whose flat files
    belong to that marketplace.  ``required`` directories must exist
    (``PAZAR_FLOWS_PATH`` entries: a typo there should not go unnoticed).
    ``only`` limits the ``<plugin>/`` subdirectories read: pazar's built-in
    ``flows.d/`` holds the flows of its built-in marketplaces, which are only read
    when those marketplaces are loaded.
    """

    path: Path
    origin: str
    plugin: str | None = None
    required: bool = False
    only: frozenset[str] | None = None


@dataclass(frozen=True)
class FlowFile:
    """One flow file and what its location says it must contain."""

    path: Path
    origin: str
    expect_plugin: str | None = None
    expect_flow: str | None = None


@dataclass
class FileResult:
    """One checked file: the flow it defines, or its errors."""

    file: FlowFile
    check: FlowCheck
    flow: FlowDef | None = None

    @property
    def errors(self) -> list[FlowError]:
        return self.check.errors

    @property
    def ref(self) -> str | None:
        return self.flow.ref if self.flow else None


@dataclass
class FlowCatalog:
    """The loaded flows, by ``plugin/flow``."""

    flows: dict[str, FlowDef] = field(default_factory=dict)
    overridden: dict[str, list[Path]] = field(default_factory=dict)
    files: list[FileResult] = field(default_factory=list)

    def get(self, ref: str, *, within: str | None = None) -> FlowDef:
        """The flow ``plugin/flow``.  A bare flow name is looked up within the plugin
        ``within`` (a channel's marketplace) and then among the engine's ``core`` flows;
        without ``within`` it works when only one plugin has it."""
        if within is not None and "/" not in ref:
            for plugin in (within, CORE_PLUGIN):
                found = self.flows.get(f"{plugin}/{ref}")
                if found is not None:
                    return found
            hint = did_you_mean(ref, [f.flow for f in self.for_plugin(within)])
            raise NotFoundError(f"{within} has no flow {ref!r}{hint}")
        found = self.flows.get(ref)
        if found is not None:
            return found
        if "/" not in ref:
            named = [f for f in self.flows.values() if f.flow == ref]
            if len(named) == 1:
                return named[0]
            if len(named) > 1:
                refs = ", ".join(sorted(f.ref for f in named))
                raise NotFoundError(f"flow name {ref!r} is ambiguous; say which one: {refs}")
        hint = did_you_mean(ref, self.flows)
        if not hint and "/" not in ref:
            hint = did_you_mean(ref, [f.flow for f in self.flows.values()])
        if not self.flows:
            hint = " (no flows are loaded)"
        raise NotFoundError(f"unknown flow {ref!r}{hint}")

    def all(self) -> list[FlowDef]:
        return [self.flows[ref] for ref in sorted(self.flows)]

    def for_plugin(self, plugin: str) -> list[FlowDef]:
        return [f for f in self.all() if f.plugin == plugin]

    def overrides_of(self, ref: str) -> list[Path]:
        """Files that defined ``ref`` before the one that won, oldest first."""
        return list(self.overridden.get(ref, []))

    def __contains__(self, ref: object) -> bool:
        return ref in self.flows

    def __iter__(self) -> Iterator[FlowDef]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self.flows)


def flow_sources(registry: Any, dirs: Iterable[Path] | None = None) -> list[FlowSource]:
    """Where flows are read from, lowest precedence first."""
    if dirs is not None:
        return [FlowSource(Path(d), "argument", required=True) for d in dirs]
    loaded = frozenset({*registry.marketplaces, CORE_PLUGIN})
    sources = [FlowSource(builtin_flows_dir(), "built-in", only=loaded)]
    for market in sorted(registry.marketplaces.values(), key=lambda m: m.name):
        if market.flows_dir is not None:
            sources.append(
                FlowSource(Path(market.flows_dir), f"plugin {market.name}", plugin=market.name)
            )
    sources.extend(FlowSource(d, "PAZAR_FLOWS_PATH", required=True) for d in overlay_flow_dirs())
    return sources


def _flow_files_in(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and p.suffix in FLOW_SUFFIXES and not p.name.startswith(".")
    )


def discover(sources: Iterable[FlowSource]) -> tuple[list[FlowFile], list[FlowError]]:
    """Every flow file of ``sources`` in precedence order, and missing required dirs."""
    files: list[FlowFile] = []
    problems: list[FlowError] = []
    seen: set[Path] = set()

    def add(path: Path, origin: str, plugin: str | None, flow: str) -> None:
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        files.append(FlowFile(path, origin, plugin, flow))

    for source in sources:
        if not source.path.is_dir():
            if source.required:
                what = "does not exist" if not source.path.exists() else "is not a directory"
                problems.append(
                    FlowError(
                        str(source.path), None, None, f"flow directory {what} ({source.origin})"
                    )
                )
            continue
        origin = f"{source.origin} ({source.path})"
        for path in _flow_files_in(source.path):
            add(path, origin, source.plugin, path.stem)
        for sub in sorted(p for p in source.path.iterdir() if p.is_dir()):
            if sub.name.startswith((".", "_")):
                continue
            if source.only is not None and sub.name not in source.only:
                continue
            for path in _flow_files_in(sub):
                add(path, origin, sub.name, path.stem)
    return files, problems


def check_file(file: FlowFile, registry: Any, content: bytes | None = None) -> FileResult:
    """Read (unless ``content`` holds its bytes), validate and (when valid) build one flow
    file."""
    from pazar.flows.validate import build_flow, check_text  # jsonschema, YAML: on a miss

    shown = str(file.path)
    try:
        text = read_text(file.path, name=shown) if content is None else decode_text(content, shown)
    except ValidationError as exc:  # not UTF-8 (with its line and column), unreadable
        where, _, reason = exc.message.partition(": ")
        line = where[len(shown) + 1 :].split(":")[0] if where.startswith(shown + ":") else ""
        check = FlowCheck(
            shown,
            None,
            [
                FlowError(
                    shown,
                    int(line) if line.isdigit() else None,
                    None,
                    f"cannot read the file: {reason}",
                )
            ],
        )
        return FileResult(file, check)
    check = check_text(
        text,
        registry,
        path=shown,
        expect_plugin=file.expect_plugin,
        expect_flow=file.expect_flow,
    )
    flow = build_flow(check, registry, path=file.path) if check.ok else None
    return FileResult(file, check, flow)


def check_file_cached(file: FlowFile, registry: Any, content: bytes) -> FileResult:
    """:func:`check_file` of ``content``, through the validated-flow cache on disk
    (:mod:`pazar.flows.cache`): a valid file checked by an earlier process is not checked
    again; an invalid one is, every time, so its errors keep their lines."""
    from pazar.flows.cache import flow_cache

    cache = flow_cache(registry)
    if cache is None:
        return check_file(file, registry, content)
    flow = cache.get(file.path, file.expect_plugin, file.expect_flow, content)
    if flow is not None:
        return FileResult(file, FlowCheck(str(file.path), None, []), flow)
    result = check_file(file, registry, content)
    doc = result.check.doc
    if result.flow is not None and doc is not None:
        cache.put(file.path, file.expect_plugin, file.expect_flow, content, doc.data, doc.line_of)
    return result


class _CheckedFiles:
    """The files already checked, each with the bytes it was checked from.

    Checking a file (YAML with positions, JSON Schema, every step's parameters) costs
    about a millisecond, and some callers ask for the flows at every turn: a run that
    asks whether its ``needs`` is in force, the HTTP trigger per request.  A daemon has
    one such run per (channel, flow) and process, so three daemons over hundreds of
    channels checked every file of every marketplace thousands of times, and that cost
    grew with the number of daemons.  A file is checked again when its bytes differ
    (timestamps are too coarse to tell two quick edits apart) or the registry is another
    one; reading a small file costs far less than checking it.  A file this process has
    not checked yet comes from the cache on disk when an earlier process checked it.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.registry: Any = None
        self.results: dict[FlowFile, tuple[bytes, FileResult]] = {}

    def check(self, file: FlowFile, registry: Any) -> FileResult:
        try:
            content = file.path.read_bytes()
        except OSError:
            return check_file(file, registry)  # it says why it cannot be read
        with self.lock:
            if self.registry is not registry:
                self.registry, self.results = registry, {}
            kept = self.results.get(file)
        if kept is not None and kept[0] == content:
            return kept[1]
        result = check_file_cached(file, registry, content)
        with self.lock:
            if self.registry is registry:
                self.results[file] = (content, result)
        return result


_checked = _CheckedFiles()


def _collect(results: list[FileResult]) -> tuple[FlowCatalog, list[FlowError]]:
    """Later files override earlier ones; two files of one source defining one flow is an error."""
    catalog = FlowCatalog(files=results)
    errors: list[FlowError] = []
    winner_origin: dict[str, tuple[str, Path]] = {}
    for result in results:
        errors.extend(result.errors)
        flow = result.flow
        if flow is None:
            continue
        previous = catalog.flows.get(flow.ref)
        if previous is not None:
            origin, prev_path = winner_origin[flow.ref]
            if origin == result.file.origin:
                errors.append(
                    FlowError(
                        str(result.file.path),
                        1,
                        "/flow",
                        f"flow {flow.ref!r} is also defined in {prev_path}",
                    )
                )
                continue
            catalog.overridden.setdefault(flow.ref, []).append(prev_path)
        catalog.flows[flow.ref] = flow
        winner_origin[flow.ref] = (result.file.origin, result.file.path)
    return catalog, errors


def _raise_if(errors: list[FlowError], what: str = "flow") -> None:
    if not errors:
        return
    files = {e.path for e in errors}
    count = len(errors)
    raise ValidationError(
        f"{count} error{'s' if count != 1 else ''} in {len(files)} {what} file{'s' if len(files) != 1 else ''}",
        details=[str(e) for e in errors],
    )


def scan_flows(
    registry: Any, *, dirs: Iterable[Path] | None = None, fresh: bool = False
) -> tuple[FlowCatalog, list[FlowError]]:
    """Like :func:`load_flows` but returns the errors instead of raising.

    ``fresh`` checks every file now, past both caches (``pazar flows validate``)."""
    files, problems = discover(flow_sources(registry, dirs))
    check = check_file if fresh else _checked.check
    catalog, errors = _collect([check(f, registry) for f in files])
    return catalog, problems + errors


def load_flows(registry: Any, *, dirs: list[Path] | None = None) -> FlowCatalog:
    """Every flow from every source; raises ValidationError listing all errors."""
    catalog, errors = scan_flows(registry, dirs=dirs)
    _raise_if(errors)
    return catalog


def load_flow_file(path: Path | str, registry: Any) -> FlowDef:
    """One flow file given by path (its location is not checked); raises ValidationError."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"flow file {str(path)!r} does not exist")
    result = check_file(FlowFile(path, "argument"), registry)
    _raise_if(result.errors)
    assert result.flow is not None
    return result.flow


def files_for_paths(paths: Iterable[Path | str]) -> tuple[list[FlowFile], list[FlowError]]:
    """Files named on a command line: files as they are, directories scanned like flow dirs."""
    files: list[FlowFile] = []
    problems: list[FlowError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found, missing = discover([FlowSource(path, "directory", required=True)])
            files.extend(found)
            problems.extend(missing)
            if not found:
                problems.append(
                    FlowError(str(path), None, None, "no flow files (*.yaml) in this directory")
                )
        elif path.is_file():
            files.append(FlowFile(path, "argument"))
        else:
            problems.append(FlowError(str(path), None, None, "no such file or directory"))
    return files, problems


def validate_paths(
    paths: Iterable[Path | str], registry: Any
) -> tuple[list[FileResult], list[FlowError]]:
    """Check files and directories; (per-file results, problems finding them)."""
    files, problems = files_for_paths(paths)
    return [check_file(f, registry) for f in files], problems


def validate_files(paths: Iterable[Path | str], registry: Any) -> list[FlowError]:
    """Every error in the given flow files and directories (empty: all valid)."""
    results, problems = validate_paths(paths, registry)
    errors = list(problems)
    for result in results:
        errors.extend(result.errors)
    return errors
