"""ChannelService on SQLite and PostgreSQL: add, set, apply, activate, config-change hook."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from pazar.channels import ChannelService, feature_enabled, resolved_config
from pazar.clock import FixedClock
from pazar.db import Database
from pazar.errors import ConfigError, NotFoundError, ValidationError
from pazar.models.channels import Channel, ConfigChange
from pazar.plugins import load_plugins


@pytest.fixture
def system(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PAZAR_PLUGINS", "pazar_hepsiburada,pazar_fashfed,tests.testplugin")
    return load_plugins()


def service(session: Any, system: Any, clock: FixedClock) -> ChannelService:
    return ChannelService(session, system.registry, clock=clock, hook=system.hook)


def test_add_fills_defaults_and_starts_inactive(
    db: Database, system: Any, clock: FixedClock
) -> None:
    with db.session() as s:
        ch = service(s, system, clock).add("testmarket", "tm-1", "Test")
        assert ch.status == "inactive" and not ch.active
    with db.session() as s:
        ch = service(s, system, clock).get("tm-1")
        assert ch.name == "Test" and ch.plugin == "testmarket"
        assert ch.config["feature_flags"] == {"push": False}
        assert ch.config["buffer_stock"] is None and ch.config["category_ids"] == []
        assert ch.created_at == clock.now()


def test_add_rejects_bad_slug_duplicate_and_unknown_plugin(
    db: Database, system: Any, clock: FixedClock
) -> None:
    with db.session() as s:
        svc = service(s, system, clock)
        svc.add("testmarket", "tm", None)
        with pytest.raises(ValidationError, match="already exists"):
            svc.add("testmarket", "tm", None)
        with pytest.raises(ValidationError, match="invalid channel slug"):
            svc.add("testmarket", "Bad Slug", None)
        with pytest.raises(NotFoundError, match="did you mean 'testmarket'"):
            svc.add("testmarkt", "tm2", None)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Channel)) == 1
        with pytest.raises(NotFoundError, match="did you mean 'tm'"):
            service(s, system, clock).get("tmm")


def test_set_is_all_or_nothing(db: Database, system: Any, clock: FixedClock) -> None:
    with db.session() as s:
        service(s, system, clock).add("testmarket", "tm", None)
    with pytest.raises(ValidationError) as exc, db.session() as s:
        service(s, system, clock).set(
            "tm", ["use_neighborhood=true", "buffer_stock=abc", "bogus=1"]
        )
    assert "nothing was saved" in exc.value.message
    assert "buffer_stock: 'abc' is not of type 'integer', 'null'" in exc.value.details
    assert any("unknown key 'bogus'" in d for d in exc.value.details)
    with db.session() as s:
        ch = service(s, system, clock).get("tm")
        assert ch.config["use_neighborhood"] is False and ch.config["buffer_stock"] is None


def test_set_records_changes_and_requested_flows(
    db: Database, system: Any, clock: FixedClock
) -> None:
    with db.session() as s:
        service(s, system, clock).add("testmarket", "tm", None)
    clock.advance(60)
    with db.session() as s:
        saved = service(s, system, clock).set(
            "tm", ["category_ids=10,20", "buffer_stock=3"], note="go"
        )
        assert saved.changed_keys == ["buffer_stock", "category_ids"]
        assert saved.requested_flows == ["refresh_categories"]
    with db.session() as s:
        saved = service(s, system, clock).set("tm", ["buffer_stock=4"])
        assert saved.requested_flows == []
        # saving the same values again changes nothing and records nothing
        assert service(s, system, clock).set("tm", ["buffer_stock=4"]).changed_keys == []
    with db.session() as s:
        changes = service(s, system, clock).changes("tm")
        assert [c.changed_keys for c in changes] == [
            ["buffer_stock"],
            ["buffer_stock", "category_ids"],
        ]
        assert changes[1].requested_flows == ["refresh_categories"] and changes[1].note == "go"
        assert changes[1].source == "cli"
        assert service(s, system, clock).get("tm").updated_at == clock.now()


def test_hook_sees_old_and_new_config(db: Database, system: Any, clock: FixedClock) -> None:
    seen: list[dict[str, Any]] = []

    class Spy:
        def pazar_channel_config_changed(self, **kwargs: Any) -> list[list[str] | None]:
            seen.append(kwargs)
            return [["a", "b"], None, ["b", "c"]]

    with db.session() as s:
        svc = ChannelService(s, system.registry, clock=clock, hook=Spy())
        svc.add("testmarket", "tm", None)
        saved = svc.set("tm", ["feature_flags.push=true"])
    # pluggy answers last-registered first; the service restores registration order, deduplicated
    assert saved.requested_flows == ["b", "c", "a"]
    assert seen[0]["changed_keys"] == frozenset({"feature_flags"})
    assert seen[0]["old_config"]["feature_flags"] == {"push": False}
    assert seen[0]["new_config"]["feature_flags"] == {"push": True}
    assert seen[0]["channel"].slug == "tm"


def test_apply_creates_then_updates(db: Database, system: Any, clock: FixedClock) -> None:
    doc = {
        "channel": "tm",
        "plugin": "testmarket",
        "name": "TM",
        "config": {"feature_flags": {"push": True}},
    }
    with db.session() as s:
        result = service(s, system, clock).apply(doc)
        assert result.created and result.status == "inactive"
    with db.session() as s:
        ch = service(s, system, clock).get("tm")
        assert (
            ch.config["feature_flags"] == {"push": True} and ch.config["use_neighborhood"] is False
        )
    doc2 = {
        "channel": "tm",
        "status": "active",
        "name": "TM 2",
        "config": {"api_key": "k", "category_ids": ["1"], "feature_flags": {"push": True}},
    }
    with db.session() as s:
        result = service(s, system, clock).apply(doc2)
        assert not result.created and result.status_changed and result.name_changed
        assert result.changed_keys == ["api_key", "category_ids"]
        assert result.requested_flows == ["refresh_categories"]
    with db.session() as s:
        ch = service(s, system, clock).get("tm")
        assert ch.active and ch.name == "TM 2"
        assert [c.source for c in service(s, system, clock).changes("tm")] == ["apply", "apply"]
        # same document again: nothing changes
        assert not service(s, system, clock).apply(doc2).changed


def test_apply_rejects_bad_documents_without_saving(
    db: Database, system: Any, clock: FixedClock
) -> None:
    with db.session() as s:
        svc = service(s, system, clock)
        with pytest.raises(ValidationError) as exc:
            svc.apply({"channel": "tm", "plugn": "testmarket", "status": "on"})
        assert any("did you mean 'plugin'" in d for d in exc.value.details)
        assert any("status: 'on'" in d for d in exc.value.details)
        with pytest.raises(ValidationError, match="give its plugin"):
            svc.apply({"channel": "tm"})
        with pytest.raises(ValidationError) as exc:
            svc.apply({"channel": "tm", "plugin": "testmarket", "config": {"buffer_stock": "x"}})
        assert exc.value.details == ["buffer_stock: 'x' is not of type 'integer', 'null'"]
        # activating through apply needs a complete config
        with pytest.raises(ValidationError, match="cannot be activated") as exc:
            svc.apply({"channel": "hb", "plugin": "hepsiburada", "status": "active"})
        assert "password: is required (Password) but empty" in exc.value.details
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Channel)) == 0
        assert s.scalar(select(func.count()).select_from(ConfigChange)) == 0


def test_apply_cannot_change_plugin(db: Database, system: Any, clock: FixedClock) -> None:
    with db.session() as s:
        svc = service(s, system, clock)
        svc.add("testmarket", "tm", None)
        with pytest.raises(ValidationError, match="cannot change"):
            svc.apply({"channel": "tm", "plugin": "hepsiburada"})


HB_COMPLETE = [
    "username=merchant-1",
    "password=env:PAZAR_SECRET_HB_PASSWORD",
    "merchant_id=merchant-1",
    "user_agent=acme_dev",
    "category_ids=368234234",
    "default_reason_id=5",
    "cancellation_reason_id=4",
    'cargo_company_mapping={"hepsijet": 3, "default": 1}',
]


def test_activate_needs_a_complete_config(db: Database, system: Any, clock: FixedClock) -> None:
    with db.session() as s:
        svc = service(s, system, clock)
        svc.add("hepsiburada", "hb", None)
        with pytest.raises(ValidationError) as exc:
            svc.activate("hb")
        assert "cannot be activated" in exc.value.message
        assert "username: is required (Username) but empty" in exc.value.details
        assert "category_ids: is required (Category Ids) but empty" in exc.value.details
        assert svc.validate("hb") == exc.value.details
        assert svc.get("hb").status == "inactive"
    with db.session() as s:
        svc = service(s, system, clock)
        # filled one at a time: each save is checked for types, not for completeness
        for assignment in HB_COMPLETE:
            svc.set("hb", [assignment])
        # the config is complete; what is left are local ids nobody imported yet,
        # which validate names and activation (the schema's check) does not wait for
        assert sorted(p.split(":")[0] for p in svc.validate("hb")) == [
            "cancellation_reason_id",
            "cargo_company_mapping.default",
            "cargo_company_mapping.hepsijet",
            "default_reason_id",
        ]
        # the env: reference is not resolved on activation (only at use)
        assert svc.activate("hb").active
    with pytest.raises(ValidationError) as exc, db.session() as s:
        # an active channel must stay runnable
        service(s, system, clock).set("hb", ["username="])
    assert exc.value.details == ["username: is required (Username) but empty"]
    with db.session() as s:
        svc = service(s, system, clock)
        assert svc.get("hb").config["username"] == "merchant-1"
        assert svc.deactivate("hb").status == "inactive"
        assert svc.set("hb", ["username="]).changed_keys == ["username"]


def test_resolved_config_and_feature_flags(
    db: Database, system: Any, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as s:
        svc = service(s, system, clock)
        svc.add("testmarket", "tm", None)
        ch = svc.set("tm", ["api_key=env:PAZAR_SECRET_TM_KEY", "feature_flags.push=true"]).channel
        # stored as the reference, not the value
        assert ch.config["api_key"] == "env:PAZAR_SECRET_TM_KEY"
        monkeypatch.delenv("PAZAR_SECRET_TM_KEY", raising=False)
        with pytest.raises(ConfigError) as exc:
            resolved_config(ch, system.registry)
        assert "api_key" in exc.value.message and "PAZAR_SECRET_TM_KEY" in exc.value.message
        assert "'tm'" in exc.value.message
        monkeypatch.setenv("PAZAR_SECRET_TM_KEY", "the-key")
        config = resolved_config(ch, system.registry)
        assert config["api_key"] == "the-key"
        assert ch.config["api_key"] == "env:PAZAR_SECRET_TM_KEY"
        assert feature_enabled(ch, None) is True
        assert feature_enabled(ch, "push") is True
        assert feature_enabled(ch, "unknown") is False


def test_resolved_config_fills_keys_added_to_the_schema_later(
    db: Database, system: Any, clock: FixedClock
) -> None:
    with db.session() as s:
        ch = service(s, system, clock).add("testmarket", "tm", None)
        ch.config = {k: v for k, v in ch.config.items() if k != "use_neighborhood"}
        assert resolved_config(ch, system.registry)["use_neighborhood"] is False
