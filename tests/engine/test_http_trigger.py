"""POST /flow-trigger/{channel}/{flow}: every answer a remote system can get."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.db import Database
from pazar.http_trigger import create_app
from pazar.models.jobs import Job
from pazar.plugins import load_plugins
from pazar.tokens import create_token


@pytest.fixture
def api(db: Database, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("PAZAR_PLUGINS", "pazar_hepsiburada,pazar_fashfed,tests.testplugin")
    registry = load_plugins().registry
    clock = FixedClock()
    with db.session() as s:
        service = ChannelService(s, registry, clock=clock)
        service.add("testmarket", "tm", None)
        service.set("tm", ["feature_flags.push=true"])
        service.activate("tm")
        token = create_token(s, "oms", clock.now())
    client = TestClient(create_app(db, registry, clock=clock))
    return client, token


def _post(client: TestClient, token: str | None, path: str = "/flow-trigger/tm/push", **kw):  # noqa: ANN003, ANN202
    headers = {"Authorization": f"Token {token}"} if token else {}
    return client.post(path, headers=headers, **kw)


def test_accepted_trigger_queues_a_job_for_the_skus(api, db: Database, caplog) -> None:  # noqa: ANN001
    client, token = api
    caplog.set_level(logging.DEBUG)
    response = _post(client, token, json={"skus": ["SKU-1", "SKU-2"]})
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    with db.session() as s:
        job = s.get(Job, job_id)
        assert (job.flow, job.trigger, job.payload) == (
            "testmarket/push",
            "http",
            {"skus": ["SKU-1", "SKU-2"]},
        )
    assert token not in caplog.text


def test_missing_or_wrong_token_is_401(api, caplog) -> None:  # noqa: ANN001
    client, token = api
    caplog.set_level(logging.DEBUG)
    assert _post(client, None, json={}).status_code == 401
    assert _post(client, token + "x", json={}).status_code == 401
    assert (
        client.post(
            "/flow-trigger/tm/push", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )
    assert token not in caplog.text


def test_unknown_channel_or_flow_is_404(api) -> None:  # noqa: ANN001
    client, token = api
    assert _post(client, token, "/flow-trigger/nope/push", json={}).status_code == 404
    assert _post(client, token, "/flow-trigger/tm/nope", json={}).status_code == 404
    # a flow that does not accept HTTP triggers is not found over HTTP
    assert _post(client, token, "/flow-trigger/tm/picky", json={}).status_code == 404


def test_flag_off_is_409(api, db: Database) -> None:  # noqa: ANN001
    client, token = api
    with db.session() as s:
        ChannelService(s, load_plugins().registry, clock=FixedClock()).set(
            "tm", ["feature_flags.push=false"]
        )
    response = _post(client, token, json={})
    assert response.status_code == 409 and "off" in response.json()["error"]


def test_bad_payload_is_422_with_the_errors(api, db: Database) -> None:  # noqa: ANN001
    client, token = api
    response = _post(client, token, json={"skus": "SKU-1", "extra": 1})
    assert response.status_code == 422
    details = response.json()["details"]
    assert any("/skus" in d for d in details) and any("extra" in d for d in details)
    response = _post(client, token, content=b"{not json")
    assert response.status_code == 422
    with db.session() as s:
        assert s.scalars(select(Job)).all() == []


def test_tokens_cli_shows_a_token_once_and_revokes(cli) -> None:  # noqa: ANN001
    created = cli("tokens", "create", "oms")
    token = created.stdout.strip()
    assert created.exit_code == 0 and token.startswith("pzr_")
    listed = cli("tokens", "list")
    assert "oms" in listed.output and token not in listed.output
    assert cli("tokens", "create", "oms").exit_code == 2
    assert cli("tokens", "revoke", "oms").exit_code == 0
    assert cli("tokens", "revoke", "oms").exit_code == 2
