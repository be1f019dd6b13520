"""Loading plugins and building the registry.

Order: plugins from the ``pazar.plugins`` entry-point group (unless
``PAZAR_DISABLE_PLUGIN_AUTOLOAD=1``), modules named in ``PAZAR_PLUGINS``, then the
engine's own step plugins.  Marketplaces, the built-in ones included, arrive only
through the first two doors, so the engine never names one.  A plugin that fails
to import costs one warning line, never the CLI.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from pazar import hookspecs
from pazar.errors import PazarError
from pazar.registry import Registry
from pazar.state.penalties import note_marketplace_schema

log = logging.getLogger("pazar.plugins")

ENTRY_POINT_GROUP = "pazar.plugins"
# The engine's own steps (map, filter, commerce, state, polling, uploads, mapping); no
# marketplace.
ENGINE_PLUGINS = (
    "pazar.steps",
    "pazar.commerce",
    "pazar.state",
    "pazar.polling",
    "pazar.uploads",
    "pazar.mapping",
    "pazar.ops",
)


@dataclass
class PluginInfo:
    name: str
    version: str
    source: str  # "builtin", "entry point", "PAZAR_PLUGINS"
    hooks: list[str] = field(default_factory=list)


@dataclass
class PluginSystem:
    manager: pluggy.PluginManager
    registry: Registry
    infos: list[PluginInfo]
    warnings: list[str]

    @property
    def hook(self) -> Any:
        return self.manager.hook


def _module_version(module: ModuleType, dist_name: str | None) -> str:
    if dist_name:
        try:
            return importlib.metadata.version(dist_name)
        except importlib.metadata.PackageNotFoundError:
            pass
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    import pazar

    return pazar.__version__ if module.__name__.split(".")[0] == "pazar" else "?"


def _warn(warnings: list[str], message: str) -> None:
    """Keep ``message`` for whoever shows the plugins (the CLI prints each once); logged
    at debug level only, or it would reach the terminal twice."""
    warnings.append(message)
    log.debug(message)


def _unknown_hooks(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    """The plugin's hook implementations that no hook specification names."""
    return sorted(
        caller.name for caller in pm.get_hookcallers(plugin) or [] if not caller.has_spec()
    )


def load_plugins(extra: list[ModuleType | Any] | None = None) -> PluginSystem:
    """Build a plugin manager and a filled registry.

    ``extra`` lets tests and embedding code add plugin objects directly.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    warnings: list[str] = []

    def add(obj: Any, name: str, source: str, dist: str | None = None) -> None:
        if pm.is_registered(obj) or pm.has_plugin(name):
            return
        try:
            pm.register(obj, name=name)
        except pluggy.PluginValidationError as exc:  # a known hook with other arguments
            reason = " ".join(str(exc).split())  # pluggy words it over several lines
            _warn(warnings, f"warning: plugin {name!r} ({source}) not loaded: {reason}")
            return
        unknown = _unknown_hooks(pm, obj)
        if unknown:  # a misspelt hook: this plugin stays out, like one that fails to import
            from pazar.suggest import did_you_mean

            pm.unregister(obj)
            known = [n for n in dir(hookspecs) if n.startswith("pazar_")]
            hooks = "; ".join(f"{hook!r}{did_you_mean(hook, known)}" for hook in unknown)
            _warn(
                warnings,
                f"warning: plugin {name!r} ({source}) not loaded: unknown hook {hooks}",
            )
            return
        module = (
            obj if isinstance(obj, ModuleType) else importlib.import_module(type(obj).__module__)
        )
        infos.append(PluginInfo(name=name, version=_module_version(module, dist), source=source))

    if os.environ.get("PAZAR_DISABLE_PLUGIN_AUTOLOAD", "") not in ("1", "true", "yes"):
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the CLI
                _warn(warnings, f"warning: plugin {ep.name!r} ({ep.value}) failed to load: {exc}")
                continue
            add(obj, ep.name, "entry point", ep.dist.name if ep.dist else None)

    for modname in [m.strip() for m in os.environ.get("PAZAR_PLUGINS", "").split(",") if m.strip()]:
        try:
            module = importlib.import_module(modname)
        except Exception as exc:  # noqa: BLE001
            _warn(
                warnings,
                f"warning: plugin module {modname!r} from PAZAR_PLUGINS failed to import: {exc}",
            )
            continue
        add(module, modname, "PAZAR_PLUGINS")

    for obj in extra or []:
        add(obj, getattr(obj, "__name__", type(obj).__name__), "extra")

    for modname in ENGINE_PLUGINS:
        add(importlib.import_module(modname), modname, "engine")

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PazarError(f"plugin error: {exc}") from exc

    for info in infos:
        plugin = pm.get_plugin(info.name)
        info.hooks = sorted(
            caller.name
            for caller in pm.get_hookcallers(plugin) or []
            if caller.name.startswith("pazar_")
        )

    registry = Registry()
    for hook_name in (
        "pazar_register_marketplaces",
        "pazar_register_steps",
        "pazar_register_template_filters",
        "pazar_register_commerce_backends",
    ):
        hook_caller = getattr(pm.hook, hook_name)
        for impl in reversed(hook_caller.get_hookimpls()):
            impl.function(register=registry.registrar(impl.plugin_name))

    # Penalties are recorded deep in the state code, where only a channel's plugin name is
    # known: tell it how each marketplace words MAX_RETRY_COUNT (its schema says).
    for market in registry.marketplaces.values():
        note_marketplace_schema(market.name, market.config_schema)
    return PluginSystem(manager=pm, registry=registry, infos=infos, warnings=warnings)


_cached: PluginSystem | None = None


def plugin_system() -> PluginSystem:
    """The process-wide plugin system, loaded once."""
    global _cached
    if _cached is None:
        _cached = load_plugins()
    return _cached


def reset_plugin_system(system: PluginSystem | None = None) -> None:
    """Forget (or replace) the loaded plugin system; for tests and embedding."""
    global _cached
    _cached = system
