"""Channels: create, configure, apply from YAML, activate; and config-change reactions.

Every write goes through :class:`ChannelService` so the rules hold wherever a
change comes from (CLI, YAML apply, a future HTTP API): the config is typed and
validated against the plugin's schema as a whole before anything is stored, and
a change of keys a plugin watches (``category_ids`` → category flows) is recorded
with the flows the plugin asked for, for the daemon to enqueue.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar import config_schema as cs
from pazar.errors import ConfigError, NotFoundError, ValidationError
from pazar.models.channels import Channel, ConfigChange
from pazar.pipeline import ChannelInfo
from pazar.suggest import did_you_mean

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
STATUSES = ("active", "inactive")
APPLY_KEYS = ("channel", "plugin", "name", "status", "config")


@dataclass
class ConfigSaved:
    """What one save changed: the top-level keys and the flows plugins asked for."""

    channel: Channel
    changed_keys: list[str] = field(default_factory=list)
    requested_flows: list[str] = field(default_factory=list)
    change_id: int | None = None


@dataclass
class ApplyResult:
    """What ``apply`` did to one channel."""

    slug: str
    created: bool
    changed_keys: list[str]
    requested_flows: list[str]
    status: str
    status_changed: bool
    name_changed: bool

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changed_keys) or self.status_changed or self.name_changed

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.slug,
            "created": self.created,
            "changed_keys": self.changed_keys,
            "requested_flows": self.requested_flows,
            "status": self.status,
            "status_changed": self.status_changed,
            "name_changed": self.name_changed,
        }


class ChannelService:
    """Channel operations inside one session (the caller's transaction)."""

    def __init__(self, session: Session, registry: Any, *, clock: Any, hook: Any = None) -> None:
        self.session = session
        self.registry = registry
        self.clock = clock
        self.hook = hook

    # ------------------------------------------------------------------ reading

    def get(self, slug: str) -> Channel:
        channel = self.session.scalar(select(Channel).where(Channel.slug == slug))
        if channel is None:
            slugs = self.session.scalars(select(Channel.slug)).all()
            raise NotFoundError(f"no channel {slug!r}{did_you_mean(slug, slugs)}")
        return channel

    def list(self) -> list[Channel]:
        return list(self.session.scalars(select(Channel).order_by(Channel.slug)))

    def schema(self, channel_or_plugin: Channel | str) -> dict[str, Any]:
        plugin = (
            channel_or_plugin if isinstance(channel_or_plugin, str) else channel_or_plugin.plugin
        )
        return cs.schema_for(self.registry, plugin)

    def changes(self, slug: str) -> list[ConfigChange]:
        channel = self.get(slug)
        return list(
            self.session.scalars(
                select(ConfigChange)
                .where(ConfigChange.channel_id == channel.id)
                .order_by(ConfigChange.id.desc())
            )
        )

    def validate(self, slug: str) -> list[str]:
        """Every problem that keeps the channel from running (empty required fields too)."""
        channel = self.get(slug)
        return self._problems(channel.plugin, channel.config or {})

    def warnings(self, slug: str) -> list[str]:
        """What is valid but probably not meant: values in the wrong unit, flags that no
        flow of the marketplace reads (turning them on runs nothing)."""
        from pazar.flows.loader import load_flows
        from pazar.state.penalties import policy_warnings

        channel = self.get(slug)
        config = channel.config or {}
        out = policy_warnings(config)
        flags = config.get("feature_flags") or {}
        if isinstance(flags, Mapping):
            used = {f.feature_flag for f in load_flows(self.registry).for_plugin(channel.plugin)}
            out += [
                f"feature_flags.{flag} is on but no {channel.plugin} flow reads it: it runs nothing"
                for flag, on in flags.items()
                if on is True and flag not in used
            ]
        return out

    def effective_policies(self, channel: Channel) -> list[Any]:
        """The channel's failed-integration policy in numbers, in its marketplace's reading."""
        from pazar.state.penalties import describe_policies, retry_count_reading

        reading = retry_count_reading(self.schema(channel))
        return describe_policies(channel.config or {}, reading)

    def _problems(
        self, plugin: str, config: Mapping[str, Any], *, partial: bool = False
    ) -> list[str]:
        """Schema problems, then (on a well-typed config) the marketplace's own rules."""
        schema = cs.schema_for(self.registry, plugin)
        problems = cs.validate(schema, config, partial=partial)
        mistyped = problems if partial else cs.validate(schema, config, partial=True)
        check = getattr(self.hook, "pazar_check_channel_config", None)
        if check is None or mistyped:
            return problems
        answers = check(channel_plugin=plugin, config=copy.deepcopy(dict(config)))
        for answer in reversed(answers or []):
            problems += [str(p) for p in answer or [] if str(p) not in problems]
        return problems

    def missing(self, channel: Channel) -> list[str]:
        """Required fields still empty: what activation will ask for."""
        schema = self.schema(channel)
        full = cs.validate(schema, channel.config or {})
        partial = set(cs.validate(schema, channel.config or {}, partial=True))
        return [m for m in full if m not in partial]

    # ------------------------------------------------------------------ writing

    def add(self, plugin: str, slug: str, name: str | None = None) -> Channel:
        """A new inactive channel whose config holds every default of the schema."""
        marketplace = self.registry.marketplace(plugin)
        _check_slug(slug)
        if self.session.scalar(select(Channel.id).where(Channel.slug == slug)) is not None:
            raise ValidationError(f"channel {slug!r} already exists")
        schema = cs.schema_for(self.registry, plugin)
        config = cs.defaults(schema)
        now = self.clock.now()
        channel = Channel(
            slug=slug,
            name=(name or "").strip() or marketplace.title,
            plugin=marketplace.name,
            status="inactive",
            config=config,
            created_at=now,
            updated_at=now,
        )
        self.session.add(channel)
        self.session.flush()
        return channel

    def set(
        self, slug: str, assignments: list[str], *, source: str = "cli", note: str | None = None
    ) -> ConfigSaved:
        """Apply ``key=value`` assignments; all are typed and the whole config
        validated first, so a single bad value changes nothing.  An inactive
        channel may stay incomplete (required fields empty); an active one may not."""
        channel = self.get(slug)
        schema = self.schema(channel)
        if not assignments:
            raise ValidationError("nothing to set: give one or more key=value")
        new = copy.deepcopy(channel.config or {})
        problems: list[str] = []
        for text in assignments:
            try:
                key, raw = cs.parse_assignment(text)
                cs.assign(new, key, cs.coerce(schema, key, raw))
            except ValidationError as exc:
                problems.append(exc.message)
        # an active channel must stay runnable: no required field may be emptied
        partial = channel.status != "active"
        problems += [
            p for p in self._problems(channel.plugin, new, partial=partial) if p not in problems
        ]
        if problems:
            raise ValidationError(
                f"invalid config for channel {slug!r}; nothing was saved", details=problems
            )
        return self._save(channel, new, source=source, note=note)

    def apply(self, doc: Any, *, source: str = "apply", note: str | None = None) -> ApplyResult:
        """Create or update a channel from a document (config as code).

        ``config`` is merged over the schema defaults, so a file may name only
        what differs from them; keys the file leaves out return to their default.
        """
        if not isinstance(doc, Mapping):
            raise ValidationError(
                "a channel document must be a mapping with keys " + ", ".join(APPLY_KEYS)
            )
        problems = [
            f"unknown key {k!r}{did_you_mean(str(k), APPLY_KEYS)}"
            for k in doc
            if k not in APPLY_KEYS
        ]
        slug = doc.get("channel")
        if not isinstance(slug, str) or not slug:
            problems.append("channel: the channel slug is required")
        status = doc.get("status")
        if status is not None and status not in STATUSES:
            problems.append(f"status: {status!r} is not one of {', '.join(STATUSES)}")
        config = doc.get("config", {})
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            problems.append("config: must be a mapping")
        name = doc.get("name")
        if name is not None and not isinstance(name, str):
            problems.append("name: must be a string")
        if problems:
            raise ValidationError(f"invalid channel document{_for(slug)}", details=problems)
        assert isinstance(slug, str)

        existing = self.session.scalar(select(Channel).where(Channel.slug == slug))
        plugin = doc.get("plugin")
        if existing is None:
            if not plugin:
                raise ValidationError(
                    f"channel {slug!r} does not exist yet: give its plugin to create it"
                )
            self.registry.marketplace(plugin)
            _check_slug(slug)
        elif plugin and plugin != existing.plugin:
            raise ValidationError(
                f"channel {slug!r} is served by plugin {existing.plugin!r}; it cannot change to {plugin!r}"
            )
        plugin = existing.plugin if existing is not None else plugin
        schema = cs.schema_for(self.registry, plugin)
        new_config = cs.deep_merge(cs.defaults(schema), config)
        target = status or (existing.status if existing is not None else "inactive")
        errors = self._problems(plugin, new_config, partial=target != "active")
        if errors:
            what = "cannot be activated" if target == "active" else "has an invalid config"
            raise ValidationError(f"channel {slug!r} {what}; nothing was saved", details=errors)

        created = existing is None
        channel = existing if existing is not None else self.add(plugin, slug, name)
        name_changed = bool(name) and not created and channel.name != name
        if name_changed:
            channel.name = name
        saved = self._save(channel, new_config, source=source, note=note)
        status_changed = channel.status != target
        if status_changed:
            channel.status = target
        if name_changed or status_changed:
            channel.updated_at = self.clock.now()
        self.session.flush()
        return ApplyResult(
            slug=slug,
            created=created,
            changed_keys=saved.changed_keys,
            requested_flows=saved.requested_flows,
            status=channel.status,
            status_changed=status_changed and not (created and target == "inactive"),
            name_changed=name_changed,
        )

    def activate(self, slug: str) -> Channel:
        """Activate once the config is complete and valid (the seed: inactive until enabled)."""
        channel = self.get(slug)
        errors = self._problems(channel.plugin, channel.config or {})
        if errors:
            raise ValidationError(
                f"channel {slug!r} cannot be activated: fix its config first", details=errors
            )
        if channel.status != "active":
            channel.status = "active"
            channel.updated_at = self.clock.now()
        return channel

    def deactivate(self, slug: str) -> Channel:
        channel = self.get(slug)
        if channel.status != "inactive":
            channel.status = "inactive"
            channel.updated_at = self.clock.now()
        return channel

    # ------------------------------------------------------------------ internals

    def _save(
        self, channel: Channel, new: dict[str, Any], *, source: str, note: str | None
    ) -> ConfigSaved:
        old = copy.deepcopy(channel.config or {})
        changed = sorted(
            k for k in set(old) | set(new) if old.get(k, _MISSING) != new.get(k, _MISSING)
        )
        if not changed:
            return ConfigSaved(channel)
        channel.config = new
        channel.updated_at = self.clock.now()
        self.session.flush()
        flows: list[str] = []
        if self.hook is not None:
            results = self.hook.pazar_channel_config_changed(
                channel=ChannelInfo.of(channel),
                old_config=old,
                new_config=copy.deepcopy(new),
                changed_keys=frozenset(changed),
            )
            for result in reversed(results or []):  # pluggy returns last-registered first
                for flow in result or []:
                    if flow not in flows:
                        flows.append(str(flow))
        change = ConfigChange(
            channel_id=channel.id,
            changed_keys=changed,
            requested_flows=flows,
            source=source,
            note=note,
            created_at=channel.updated_at,
        )
        self.session.add(change)
        self.session.flush()
        if flows:
            self._enqueue(channel, flows)
        return ConfigSaved(channel, changed, flows, change.id)

    def _enqueue(self, channel: Channel, flows: list[str]) -> None:
        """Queue the requested flows, in order, in the same transaction as the save.

        Flows the plugin asks for but does not ship (yet) are left out of the queue;
        the config change still records that they were requested.
        """
        from pazar.flows.loader import load_flows
        from pazar.jobs.queue import enqueue_chain

        catalog = load_flows(self.registry)
        refs = [f"{channel.plugin}/{name}" for name in flows]
        enqueue_chain(
            self.session,
            channel_id=channel.id,
            flows=[ref for ref in refs if ref in catalog],
            trigger="config_change",
            now=self.clock.now(),
        )


_MISSING = object()


def _for(slug: Any) -> str:
    return f" for channel {slug!r}" if isinstance(slug, str) and slug else ""


def _check_slug(slug: str) -> None:
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug) or len(slug) > 64:
        raise ValidationError(
            f"invalid channel slug {slug!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit (at most 64 characters)"
        )


def resolved_config(channel: Channel, registry: Any) -> dict[str, Any]:
    """The config a run uses: defaults for keys added to the schema since the
    channel was saved, and ``env:NAME`` secrets read from the environment
    (ConfigError naming the key and the variable when one is unset)."""
    return config_for_use(channel, cs.schema_for(registry, channel.plugin))


def config_for_use(channel: Any, schema: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`resolved_config` with the schema given (for plugins that know theirs)."""
    merged = cs.deep_merge(cs.shared_defaults(schema), channel.config or {})
    try:
        return cs.resolve_secrets_in_place(schema, merged)
    except ConfigError as exc:
        raise ConfigError(f"channel {channel.slug!r}: {exc.message}") from None


def feature_enabled(channel: Channel, flag: str | None) -> bool:
    """Whether a flow gated by ``flag`` may run for the channel (no flag: always)."""
    if not flag:
        return True
    flags = (channel.config or {}).get("feature_flags") or {}
    return bool(flags.get(flag, False)) if isinstance(flags, Mapping) else False
