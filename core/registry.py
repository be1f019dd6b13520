"""What plugins register, and the registry that holds it.

These dataclasses are the public vocabulary for plugin authors; the registry
rejects duplicate names so two plugins can never silently shadow each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pazar.errors import NotFoundError, PazarError
from pazar.suggest import did_you_mean

if TYPE_CHECKING:
    from pazar.pipeline import ChannelInfo, StepContext

StepKind = Literal["source", "step", "sink"]


@dataclass(frozen=True)
class Marketplace:
    """A marketplace served by a plugin.

    ``config_schema``: the channel config's JSON Schema, inline (a dict) or a file (a
    ``Path``, e.g. next to the plugin's module; a string is relative to pazar's own
    ``schemas/`` directory, where the built-in marketplaces keep theirs).
    ``client_factory(channel, config)`` returns the plugin's HTTP client for one
    channel from its resolved config (``env:`` secrets resolved).
    ``sandbox_app()`` returns an ASGI app imitating the marketplace; it may expose
    ``app.state.sandbox_info(url)`` (what ``pazar sandbox`` prints).
    ``flows_dir`` is where the plugin's flows live (default: pazar's ``flows.d/<name>``).
    ``category_roots(client)`` lists the marketplace's root categories (``{id, name}``
    each), so an operator can choose the ``category_ids`` to pull (``pazar mapping roots``).
    ``demo_setup(app, url, skus)`` prepares a running sandbox app for ``pazar demo``
    and returns the channel config that points a channel at it; ``demo_mapping()``
    returns the sample mapping (YAML) of the demo catalog onto the sandbox's categories.
    ``demo_story(app, act, orders)`` plays the marketplace's customers and carriers in the
    demo's order story: ``act`` ``"customer"`` with ``{"cancel": order number, "claims":
    [order numbers]}`` cancels that order and opens a claim (with a photo) on the first
    line of each of the others; it returns what it did, for the demo's summary.
    """

    name: str
    title: str
    config_schema: str | Path | Mapping[str, Any]
    client_factory: Callable[[ChannelInfo, Mapping[str, Any]], Any] | None = None
    sandbox_app: Callable[[], Any] | None = None
    flows_dir: Path | None = None
    demo_setup: Callable[[Any, str, Sequence[str]], Mapping[str, Any]] | None = None
    demo_mapping: Callable[[], str] | None = None
    demo_story: Callable[[Any, str, Mapping[str, Any]], Mapping[str, Any]] | None = None
    category_roots: Callable[[Any], Iterable[Mapping[str, Any]]] | None = None
    plugin: str = ""


@dataclass(frozen=True)
class StepType:
    """A source, step or sink that flows can name with ``type:``.

    ``factory(ctx)`` builds the runtime object (a source, step or sink) from a
    :class:`pazar.pipeline.StepContext` whose ``params`` were already validated against
    ``params_schema`` (a JSON Schema for the step's keys other than ``type``).
    ``context`` names the template variables the step's Jinja expressions may use.
    ``creates`` marks a source of records never integrated on the channel: a flow reading
    it creates objects on the marketplace (so flows that ``needs`` that content type wait
    for it while such a flow is on for the channel).
    """

    name: str
    kind: StepKind
    factory: Callable[[StepContext], Any]
    params_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    description: str = ""
    context: tuple[str, ...] = ("record", "config", "channel", "now")
    creates: bool = False
    plugin: str = ""


def params_schema(**properties: dict[str, Any]) -> dict[str, Any]:
    """A step's params schema: exactly these keys (none when called without any)."""
    return {"type": "object", "additionalProperties": False, "properties": properties}


def batch_size_param(what: str, *, default: int, maximum: int) -> dict[str, Any]:
    """The ``batch_size`` key of a sink: ``what`` per batch (one upload, file or transaction)."""
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": maximum,
        "default": default,
        "description": what,
    }


def no_categories_param() -> dict[str, Any]:
    """The ``no_categories`` key of a source that reads the channel's stored leaf categories
    (see :meth:`pazar.reads.Reads.leaf_categories_to_read`)."""
    return {
        "enum": ["fail", "skip"],
        "default": "fail",
        "description": "What a run does when no leaf category is stored yet (category_node "
        "has not run): fail, saying so, or read nothing (a scheduled comparison due before "
        "the first category pull).",
    }


@dataclass(frozen=True)
class TemplateFilter:
    """A Jinja filter available in flow templates and config formats."""

    name: str
    func: Callable[..., Any]
    plugin: str = ""


@dataclass(frozen=True)
class CommerceBackendType:
    """A seller-side backend (``local``, an Omnitron adapter, ...)."""

    name: str
    factory: Callable[..., Any]
    description: str = ""
    plugin: str = ""


class Registry:
    """Everything plugins registered, keyed by name."""

    def __init__(self) -> None:
        self.marketplaces: dict[str, Marketplace] = {}
        self.steps: dict[str, StepType] = {}
        self.filters: dict[str, TemplateFilter] = {}
        self.backends: dict[str, CommerceBackendType] = {}

    def _add(self, table: dict[str, Any], what: str, obj: Any) -> None:
        existing = table.get(obj.name)
        if existing is not None:
            raise PazarError(
                f"{what} {obj.name!r} is registered twice "
                f"(by {existing.plugin or '?'} and {obj.plugin or '?'})"
            )
        table[obj.name] = obj

    def registrar(self, plugin: str) -> Callable[[Any], None]:
        """Return the ``register`` callable handed to one plugin's hooks."""

        def register(*objs: Any) -> None:
            for obj in objs:
                if isinstance(obj, Iterable) and not isinstance(obj, str | bytes | dict):
                    register(*obj)
                    continue
                stamped = obj if getattr(obj, "plugin", "") else _stamp(obj, plugin)
                if isinstance(obj, Marketplace):
                    self._add(self.marketplaces, "marketplace", stamped)
                elif isinstance(obj, StepType):
                    self._add(self.steps, "step type", stamped)
                elif isinstance(obj, TemplateFilter):
                    self._add(self.filters, "template filter", stamped)
                elif isinstance(obj, CommerceBackendType):
                    self._add(self.backends, "commerce backend", stamped)
                else:
                    raise PazarError(f"plugin {plugin} registered an unknown object {obj!r}")

        return register

    def step(self, name: str) -> StepType:
        return self.steps[name]

    def marketplace(self, name: str) -> Marketplace:
        try:
            return self.marketplaces[name]
        except KeyError:
            raise NotFoundError(
                f"unknown marketplace plugin {name!r}{did_you_mean(name, self.marketplaces)}"
            ) from None


def _stamp(obj: Any, plugin: str) -> Any:
    from dataclasses import replace

    return replace(obj, plugin=plugin)
