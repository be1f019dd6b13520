"""core.map, core.filter, core.read_jsonl and core.write_jsonl as a flow author sees them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pazar.clock import FixedClock
from pazar.errors import ValidationError
from pazar.flows.model import FlowDef, StepDef
from pazar.pipeline import Item, StepContext
from pazar.plugins import load_plugins
from pazar.templating import TemplateError, build_template_env

REGISTRY = load_plugins().registry
TEMPLATES = build_template_env(REGISTRY)
FLOW = FlowDef(
    flow="stock",
    title="Stock",
    plugin="testmarket",
    source=StepDef(type="core.read_jsonl", params={}, pointer="/source"),
    sink=StepDef(type="core.write_jsonl", params={}, pointer="/sink"),
)
CHANNEL = SimpleNamespace(id=1, slug="hb-main", name="HB", plugin="testmarket")


class Recorder:
    """Collects what steps report, the way the run log would show it."""

    run_id = None
    dry_run = False

    def __init__(self) -> None:
        self.skipped: list[tuple[str, str]] = []
        self.failed: list[tuple[str, str, str]] = []
        self.succeeded: list[tuple[str, str | None]] = []

    def skip(self, item: Item, message: str) -> None:
        self.skipped.append((item.key, message))

    def fail(self, item: Item, message: str, reason: str = "mapping") -> None:
        self.failed.append((item.key, message, reason))

    def succeed(self, item: Item, remote_id: str | None = None) -> None:
        self.succeeded.append((item.key, remote_id))

    def log(self, key: str | None, message: str, level: str = "info") -> None:
        pass


def build(step_type: str, params: dict[str, Any], *, pointer: str = "/steps/0", **kw: Any) -> Any:
    ctx = StepContext(
        params=params,
        flow=FLOW,
        channel=CHANNEL,
        config={"buffer_stock": 3},
        templates=TEMPLATES,
        db=None,
        clock=FixedClock(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        pointer=pointer,
        **kw,
    )
    return REGISTRY.steps[step_type].factory(ctx)


def items(*records: dict[str, Any]) -> list[Item]:
    return [Item(key=str(r["sku"]), data=r) for r in records]


def test_core_steps_are_registered_with_strict_param_schemas() -> None:
    kinds = {name: REGISTRY.steps[name].kind for name in REGISTRY.steps if name.startswith("core.")}
    assert {
        "core.map": "step",
        "core.filter": "step",
        "core.read_jsonl": "source",
        "core.write_jsonl": "sink",
    }.items() <= kinds.items()
    for name in ("core.map", "core.filter", "core.read_jsonl", "core.write_jsonl"):
        assert REGISTRY.steps[name].params_schema["additionalProperties"] is False
        assert REGISTRY.steps[name].description
    assert {"order_number", "tracking_url", "ptt_tracking_url", "loomis_tracking_url"} <= set(
        REGISTRY.filters
    )


def test_map_builds_payloads_with_native_values_and_context() -> None:
    step = build(
        "core.map",
        {
            "fields": {
                "merchantSku": "{{ record.sku }}",
                "availableStock": "{{ [record.qty - config.buffer_stock, 0] | max }}",
                "note": "{{ channel.slug }} at {{ now.year }}",
                "fixed": 1,
            }
        },
    )
    run = Recorder()
    out = step.process(items({"sku": "A", "qty": 10}, {"sku": "B", "qty": 1}), run)
    assert [i.data for i in out] == [
        {"merchantSku": "A", "availableStock": 7, "note": "hb-main at 2026", "fixed": 1},
        {"merchantSku": "B", "availableStock": 0, "note": "hb-main at 2026", "fixed": 1},
    ]
    assert run.failed == [] and run.skipped == []


def test_map_keep_adds_to_the_record() -> None:
    step = build("core.map", {"fields": {"qty": "{{ record.qty * 2 }}"}, "keep": True})
    out = step.process(items({"sku": "A", "qty": 2, "name": "x"}), Recorder())
    assert out[0].data == {"sku": "A", "qty": 4, "name": "x"}


def test_map_render_error_fails_only_that_record() -> None:
    step = build("core.map", {"fields": {"qty": "{{ record.qty - 3 }}"}})
    run = Recorder()
    out = step.process(items({"sku": "A", "qty": 5}, {"sku": "B"}, {"sku": "C", "qty": 4}), run)
    assert [i.key for i in out] == ["A", "C"]
    assert [(key, reason) for key, _, reason in run.failed] == [("B", "mapping")]
    message = run.failed[0][1]
    assert message.startswith("testmarket/stock /steps/0/fields/qty: ")
    assert "no field 'qty' (fields: sku)" in message


def test_map_refuses_unsafe_templates_when_built() -> None:
    with pytest.raises(TemplateError, match="'__class__' \\(Python internals are off limits\\)"):
        build("core.map", {"fields": {"x": "{{ ''.__class__.__mro__ }}"}})


def test_filter_skips_with_a_message() -> None:
    step = build("core.filter", {"when": "record.qty > 0"})
    run = Recorder()
    out = step.process(items({"sku": "A", "qty": 1}, {"sku": "B", "qty": 0}), run)
    assert [i.key for i in out] == ["A"]
    assert run.skipped == [("B", "filtered out by record.qty > 0")]


def test_filter_custom_message_and_failure_on_undefined() -> None:
    step = build(
        "core.filter", {"when": "{{ record.active }}", "message": "{record.sku} is inactive"}
    )
    run = Recorder()
    out = step.process(items({"sku": "A", "active": False}, {"sku": "B"}), run)
    assert out == []
    assert run.skipped == [("A", "A is inactive")]
    assert run.failed and run.failed[0][0] == "B" and "/when" in run.failed[0][1]


def test_jsonl_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out" / "{{ channel.slug }}.jsonl"
    sink = build("core.write_jsonl", {"path": str(path)}, pointer="/sink")
    batch = items({"sku": "A", "qty": 1, "name": "Çay"}, {"sku": "B", "qty": 2})
    assert sink.render(batch) == [i.data for i in batch]
    run = Recorder()
    sink.send(batch, run)
    sink.send(items({"sku": "C", "qty": 3}), run)
    assert [key for key, _ in run.succeeded] == ["A", "B", "C"]
    written = tmp_path / "out" / "hb-main.jsonl"
    assert written.is_file()

    source = build("core.read_jsonl", {"path": str(written), "key": "sku"}, pointer="/source")
    read = list(source)
    assert [(i.key, i.data) for i in read] == [
        ("A", {"sku": "A", "qty": 1, "name": "Çay"}),
        ("B", {"sku": "B", "qty": 2}),
        ("C", {"sku": "C", "qty": 3}),
    ]


def test_read_jsonl_honours_explicit_keys(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": n}) + "\n" for n in range(5)))
    source = build("core.read_jsonl", {"path": str(path)}, pointer="/source", keys=["3", "1"])
    assert [i.key for i in source] == ["1", "3"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"id": 1}\n\n{"id": 2,}\n', ":3: not valid JSON"),
        ('{"id": 1}\n[1, 2]\n', ":2: expected a JSON object per line"),
        ('{"sku": 1}\n', ":1: no 'id' field"),
    ],
)
def test_bad_jsonl_line_names_file_and_line(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(content)
    source = build("core.read_jsonl", {"path": str(path)}, pointer="/source")
    with pytest.raises(ValidationError) as err:
        list(source)
    assert err.value.message.startswith(f"{path}{problem}")


def test_missing_jsonl_file_is_a_clear_error(tmp_path: Path) -> None:
    source = build("core.read_jsonl", {"path": str(tmp_path / "nope.jsonl")}, pointer="/source")
    with pytest.raises(ValidationError, match="nope.jsonl: no such file"):
        list(source)
