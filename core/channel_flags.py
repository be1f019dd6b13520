"""Feature flags are real: a name the marketplace does not know, or a flag no flow reads,
cannot be switched on.

A channel config's schema may keep extra flags (``additionalProperties``) and
may list flags the marketplace's documentation names before pazar ships their
flow.  Either way, ``feature_flags.stok=true`` or turning on a flag with nothing
behind it would look like success and do nothing — the operator would wait for a
flow that never runs.  Turning a flag *off* is always allowed, and a misspelled
flag stored earlier stays until removed (``channel set SLUG --unset
feature_flags.stok``), so old mistakes never block new changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pazar.suggest import did_you_mean


@dataclass
class FlagCatalog:
    """What one marketplace offers: flags its schema declares and the flows behind them."""

    plugin: str
    declared: list[str]
    flows_of: dict[str, list[str]] = field(default_factory=dict)
    broken_flow_files: int = 0

    @property
    def with_flows(self) -> list[str]:
        return sorted(self.flows_of)

    def unknown_message(self, flag: str) -> str:
        hint = did_you_mean(flag, self.declared)
        listing = "" if hint else f" ({self.plugin} flags: {', '.join(self.declared) or 'none'})"
        return f"feature_flags.{flag}: unknown feature flag {flag!r}{hint}{listing}"

    def no_flow_message(self, flag: str) -> str:
        broken = (
            f" ({self.broken_flow_files} flow file(s) did not load: pazar flows validate)"
            if self.broken_flow_files
            else ""
        )
        return (
            f"feature_flags.{flag}: no {self.plugin} flow exists yet for this flag, so turning "
            f"it on would run nothing; flags with flows: {', '.join(self.with_flows) or 'none'}"
            f"{broken}"
        )


def flag_catalog(registry: Any, plugin: str) -> FlagCatalog:
    """The flags of ``plugin`` and which loaded flows each one gates."""
    from pazar.flows.loader import scan_flows  # not for the scheduler nor `pazar status`
    from pazar.flows.validate import declared_feature_flags  # jsonschema: not for the scheduler

    flows, errors = scan_flows(registry)
    flows_of: dict[str, list[str]] = {}
    for flow in flows.for_plugin(plugin):
        if flow.feature_flag:
            flows_of.setdefault(flow.feature_flag, []).append(flow.ref)
    declared = declared_feature_flags(registry, plugin)
    # A flow may only gate a declared flag (flow validation), but keep both honest.
    declared += [f for f in flows_of if f not in declared]
    return FlagCatalog(plugin, declared, flows_of, len(errors))


def _flags(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    flags = (config or {}).get("feature_flags")
    return flags if isinstance(flags, Mapping) else {}


def flag_change_problems(
    catalog: FlagCatalog, old: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> list[str]:
    """Problems with the flags a save adds or turns on (untouched flags are not judged)."""
    before, after = _flags(old), _flags(new)
    problems: list[str] = []
    for flag, value in after.items():
        if flag in before and before[flag] == value:
            continue
        if flag not in catalog.declared:
            problems.append(catalog.unknown_message(str(flag)))
        elif value is True and flag not in catalog.flows_of:
            problems.append(catalog.no_flow_message(str(flag)))
    return problems


def stored_flag_problems(catalog: FlagCatalog, config: Mapping[str, Any], slug: str) -> list[str]:
    """What ``channel validate`` reports about flags already stored."""
    problems: list[str] = []
    for flag, value in _flags(config).items():
        if flag not in catalog.declared:
            problems.append(
                f"{catalog.unknown_message(str(flag))}; remove it with "
                f"pazar channel set {slug} --unset feature_flags.{flag}"
            )
        elif value is True and flag not in catalog.flows_of:
            problems.append(catalog.no_flow_message(str(flag)))
    return problems


def feature_enabled(channel: Any, flag: str | None) -> bool:
    """Whether a flow gated by ``flag`` may run for the channel (no flag: always)."""
    if not flag:
        return True
    flags = (channel.config or {}).get("feature_flags") or {}
    return bool(flags.get(flag, False)) if isinstance(flags, Mapping) else False
