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
from pazar.channel_flags import feature_enabled as feature_enabled  # where callers look for it
from pazar.channel_flags import flag_catalog, flag_change_problems, stored_flag_problems
from pazar.channel_refs import missing_references
from pazar.errors import ConfigError, NotFoundError, ValidationError
from pazar.flows.loader import load_flows
from pazar.jobs.queue import enqueue_chain
from pazar.models.channels import Channel, ConfigChange
from pazar.pipeline import ChannelInfo
from pazar.suggest import did_you_mean
from pazar.template_checks import check_config_templates

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
STATUSES = ("active", "inactive")
APPLY_KEYS = ("channel", "plugin", "name", "status", "config")

MAX_NAME = 255
"""What the channel name column holds (PostgreSQL refuses more; SQLite kept 5 MB)."""


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
        """Every problem that keeps the channel from running (empty required fields too),
        flags that are unknown or have no flow included."""
        channel = self.get(slug)
        schema = self.schema(channel)
        config = channel.config or {}
        problems = self._problems(channel.plugin, config)
        problems += masked_secrets(schema, config)
        problems += check_config_templates(schema, config, self.registry)
        problems += stored_flag_problems(flag_catalog(self.registry, channel.plugin), config, slug)
        return problems + missing_references(self.session, schema, config)

    def export(self, slug: str) -> tuple[dict[str, Any], list[str]]:
        """The channel as an ``apply`` document, and the secrets left out of it.

        Keys at their schema default are left out (``apply`` fills them in), so the
        file shows what this channel chose.  ``env:NAME`` secrets stay; literal ones
        are left out, never masked: ``apply`` keeps the stored value of a secret the
        file does not name, so the export applies back unchanged.
        """
        channel = self.get(slug)
        schema = self.schema(channel)
        config = copy.deepcopy(channel.config or {})
        omitted: list[str] = []
        for path in cs.secret_paths(schema, config):
            value = _get_path(config, path)
            if value in (None, "") or cs.is_env_reference(value) or "[" in path:
                continue
            parts = path.split(".")
            node = config
            for part in parts[:-1]:
                node = node[part]
            del node[parts[-1]]
            omitted.append(path)
        doc = {
            "channel": channel.slug,
            "plugin": channel.plugin,
            "name": channel.name,
            "status": channel.status,
            "config": _differences(config, cs.defaults(schema)),
        }
        return doc, omitted

    def warnings(self, slug: str) -> list[str]:
        """What is valid but probably not meant, e.g. a value in the wrong unit or a secret's
        variable missing from this environment (flags with no flow behind them are
        problems: see :meth:`validate`)."""
        from pazar.state.penalties import policy_warnings

        channel = self.get(slug)
        config = channel.config or {}
        unset = cs.unset_env_references(self.schema(channel), config)
        return policy_warnings(config) + unset

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
        if name is not None and not name.strip():
            raise ValidationError(
                f"channel name {name!r} is blank; give a name, or none for the "
                f"marketplace's title ({marketplace.title!r})"
            )
        if name is not None and len(name) > MAX_NAME:
            raise ValidationError(f"channel name: at most {MAX_NAME} characters, not {len(name)}")
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
        self,
        slug: str,
        assignments: list[str],
        *,
        unset: list[str] | None = None,
        source: str = "cli",
        note: str | None = None,
    ) -> ConfigSaved:
        """Apply ``key=value`` assignments; all are typed and the whole config
        validated first, so a single bad value changes nothing.  An inactive
        channel may stay incomplete (required fields empty); an active one may not.

        ``unset`` keys are removed first (back to the schema default when it has
        one): the way out for a key the schema would not accept today, such as a
        misspelled feature flag stored before flags were checked."""
        channel = self.get(slug)
        schema = self.schema(channel)
        if not assignments and not unset:
            raise ValidationError("nothing to set: give one or more key=value (or --unset KEY)")
        new = copy.deepcopy(channel.config or {})
        problems: list[str] = []
        for key in unset or []:
            try:
                _unset(new, key, cs.defaults(schema))
            except ValidationError as exc:
                problems.append(exc.message)
        for text in assignments:
            try:
                key, raw = cs.parse_assignment(text)
                cs.assign(new, key, cs.coerce(schema, key, raw))
            except ValidationError as exc:
                problems.append(exc.message)
        cs.complete_flags(schema, new)
        # an active channel must stay runnable: no required field may be emptied
        partial = channel.status != "active"
        problems += [
            p for p in self._problems(channel.plugin, new, partial=partial) if p not in problems
        ]
        problems += _new_masks(schema, channel.config or {}, new)
        problems += self._flag_problems(channel.plugin, channel.config, new)
        problems += check_config_templates(schema, new, self.registry)
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
        if slug is None or slug == "":
            problems.append("channel: the channel slug is required")
        elif not isinstance(slug, str):
            problems.append(
                f"channel: {slug!r} is not a slug (write it as text, e.g. channel: hb; quote "
                "one of digits: channel: '12')"
            )
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
        elif isinstance(name, str) and not name.strip():
            problems.append("name: is blank; give a name, or leave the key out")
        elif isinstance(name, str) and len(name) > MAX_NAME:
            problems.append(f"name: at most {MAX_NAME} characters, not {len(name)}")
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
        cs.complete_flags(schema, new_config)
        if existing is not None:
            keep_omitted_secrets(schema, existing.config or {}, config, new_config)
        target = status or (existing.status if existing is not None else "inactive")
        errors = self._problems(plugin, new_config, partial=target != "active")
        errors += _new_masks(schema, existing.config if existing else {}, new_config)
        errors += self._flag_problems(plugin, existing.config if existing else None, new_config)
        errors += check_config_templates(schema, new_config, self.registry)
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

    def _flag_problems(
        self, plugin: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]
    ) -> list[str]:
        """Flags a save adds or turns on must exist and have a flow (see channel_flags)."""
        before = (old or {}).get("feature_flags")
        after = new.get("feature_flags")
        if before == after:
            return []
        return flag_change_problems(flag_catalog(self.registry, plugin), old, new)

    def resave(self, slug: str, *, source: str = "cli", note: str | None = None) -> ConfigSaved:
        """Save the config as it is, asking the marketplace for the flows a change of every
        key would queue (Hepsiburada: category_node, then category_attributes).

        The seed's remedy when a category flow did not appear or ended in error: "re-save the
        channel settings".  A save that changes nothing queues nothing, so this is its own
        act, recorded in the change history with no changed key."""
        channel = self.get(slug)
        config = copy.deepcopy(channel.config or {})
        problems = self._problems(channel.plugin, config, partial=channel.status != "active")
        if problems:
            raise ValidationError(
                f"channel {slug!r} has config problems; fix them first (nothing was queued)",
                details=problems,
            )
        channel.updated_at = self.clock.now()
        flows = self._requested_flows(channel, {}, config, frozenset(config))
        change = ConfigChange(
            channel_id=channel.id,
            changed_keys=[],
            changes=[],
            requested_flows=flows,
            source=source,
            note=note or "re-saved",
            created_at=channel.updated_at,
        )
        self.session.add(change)
        self.session.flush()
        if flows:
            self._enqueue(channel, flows)
        return ConfigSaved(channel, [], flows, change.id)

    def _requested_flows(
        self,
        channel: Channel,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        changed: frozenset[str],
    ) -> list[str]:
        """The flows the marketplaces ask for after a change of ``changed`` keys, in order."""
        flows: list[str] = []
        if self.hook is None:
            return flows
        results = self.hook.pazar_channel_config_changed(
            channel=ChannelInfo.of(channel),
            old_config=copy.deepcopy(dict(old)),
            new_config=copy.deepcopy(dict(new)),
            changed_keys=changed,
        )
        for result in reversed(results or []):  # pluggy returns last-registered first
            for flow in result or []:
                if flow not in flows:
                    flows.append(str(flow))
        return flows

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
        flows = self._requested_flows(channel, old, new, frozenset(changed))
        change = ConfigChange(
            channel_id=channel.id,
            changed_keys=changed,
            changes=value_changes(self.schema(channel), old, new),
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


def is_mask(value: Any) -> bool:
    """What ``show`` prints for a secret (``********``; the seed writes more stars)."""
    text = value.strip() if isinstance(value, str) else ""
    return text == cs.MASK or (len(text) >= 3 and set(text) == {"*"})


def masked_secrets(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """Secrets whose value is the mask: storing it would replace the real secret with stars
    (``show --json`` piped into ``apply`` did exactly that)."""
    problems = []
    for path in cs.secret_paths(schema, config):
        if is_mask(_get_path(config, path)):
            problems.append(
                f"{path}: {cs.MASK} is the mask pazar prints for a secret, not a value; give the "
                "secret itself, env:NAME, or (in apply) leave the key out to keep the stored one"
            )
    return problems


def _new_masks(
    schema: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[str]:
    """Masks a save would store (one stored by an older pazar does not block other keys;
    ``channel validate`` reports it)."""
    before = set(masked_secrets(schema, old))
    return [p for p in masked_secrets(schema, new) if p not in before]


def keep_omitted_secrets(
    schema: Mapping[str, Any],
    old: Mapping[str, Any],
    given: Mapping[str, Any],
    new: dict[str, Any],
) -> None:
    """A secret an apply file leaves out keeps its stored value instead of going back to
    the default: files kept in git should not hold secrets, and ``channel export`` leaves
    literal ones out."""
    for path in cs.secret_paths(schema, old):
        if "[" in path or _has_path(given, path):
            continue
        value = _get_path(old, path)
        if value in (None, ""):
            continue
        node = new
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value


def _leaf_changes(old: Any, new: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[tuple[str, ...]] = []
        for key in list(old) + [k for k in new if k not in old]:
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            if a != b:
                out += _leaf_changes(a, b, (*path, str(key)))
        return out
    return [path]


def _at(config: Any, path: tuple[str, ...]) -> Any:
    node = config
    for part in path:
        if not isinstance(node, Mapping):
            return node  # a masked secret object: the mask stands for all of it
        if part not in node:
            return _MISSING
        node = node[part]
    return node


def value_changes(
    schema: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Each changed leaf key with its old and new value, secrets masked (stored as such,
    so the history never holds a secret).  A missing side means the key was absent."""
    masked_old, masked_new = cs.mask(schema, old), cs.mask(schema, new)
    out = []
    for path in sorted(_leaf_changes(old, new, ())):
        entry: dict[str, Any] = {"key": ".".join(path)}
        for side, config in (("old", masked_old), ("new", masked_new)):
            value = _at(config, path)
            if value is not _MISSING:
                entry[side] = value
        out.append(entry)
    return out


def _differences(config: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``config`` that ``deep_merge(defaults, ...)`` needs to give it back."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key not in defaults:
            out[key] = value
        elif isinstance(value, Mapping) and isinstance(defaults[key], Mapping):
            inner = _differences(value, defaults[key])
            if inner:
                out[key] = inner
        elif value != defaults[key]:
            out[key] = value
    return out


def _get_path(config: Mapping[str, Any], path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _has_path(config: Mapping[str, Any], path: str) -> bool:
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _unset(config: dict[str, Any], key_path: str, defaults: Mapping[str, Any]) -> None:
    """Remove a dotted key, or put back its schema default when it has one."""
    parts = key_path.strip().split(".")
    if not all(parts):
        raise ValidationError(
            f"--unset {key_path!r}: expected a dotted key like feature_flags.stok"
        )
    node: Any = config
    for depth, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[:depth]) or "the config"
            known = list(node) if isinstance(node, dict) else []
            raise ValidationError(
                f"--unset {key_path}: {where} has no key {part!r}{did_you_mean(part, known)}"
            )
        if depth < len(parts) - 1:
            node = node[part]
    default: Any = defaults
    for part in parts:
        default = default.get(part, _MISSING) if isinstance(default, Mapping) else _MISSING
    if default is _MISSING:
        del node[parts[-1]]
    else:
        node[parts[-1]] = copy.deepcopy(default)


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
