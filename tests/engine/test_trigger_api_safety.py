"""The trigger API is safe to expose: bounded bodies and errors, no 500s, scoped and
rate-limited tokens, an audit trail, and a warning before serving in clear text."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.db import Database
from pazar.http_guard import HttpLimits, exposure_warning, is_loopback
from pazar.http_trigger import create_app
from pazar.models.jobs import Job
from pazar.plugins import load_plugins
from pazar.tokens import create_token
from tests.dbdigest import digest

LIMITS = HttpLimits(max_body=2000, token_rate=5, auth_failures=3)


@pytest.fixture
def setup(db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("PAZAR_PLUGINS", "pazar_hepsiburada,pazar_fashfed,tests.testplugin")
    registry = load_plugins().registry
    clock = FixedClock()
    with db.session() as s:
        service = ChannelService(s, registry, clock=clock)
        for slug in ("tm", "tm2"):
            service.add("testmarket", slug, None)
            service.set(slug, ["feature_flags.push=true"])
            service.activate(slug)
        tokens = {
            "any": create_token(s, "any", clock.now()),
            "tm2": create_token(s, "only-tm2", clock.now(), channels=["tm2"]),
            "push": create_token(s, "only-push", clock.now(), flows=["testmarket/push"]),
        }
    client = TestClient(
        create_app(db, registry, clock=clock, limits=LIMITS), raise_server_exceptions=False
    )
    return client, tokens, clock, db_url


def _post(client: TestClient, token: str | None, path: str = "/flow-trigger/tm/push", **kw):  # noqa: ANN003, ANN202
    headers = {"Authorization": f"Token {token}", **kw.pop("headers", {})} if token else {}
    return client.post(path, headers=headers, **kw)


def _jobs(url: str) -> int:
    db = Database(url)
    try:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(Job)) or 0
    finally:
        db.dispose()


def test_a_body_over_the_limit_is_413_and_stores_nothing(setup) -> None:  # noqa: ANN001
    client, tokens, _clock, url = setup
    before = digest(url)
    big = json.dumps({"skus": ["S" * 100] * 30})
    response = _post(client, tokens["any"], content=big)
    assert response.status_code == 413
    assert response.json() == {"error": "request body is larger than 2000 bytes"}

    def chunks():  # no Content-Length: streamed, cut off all the same
        for _ in range(10):
            yield b" " * 500

    assert _post(client, tokens["any"], content=chunks()).status_code == 413
    assert digest(url) == before


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"skus": ["\xff\xfe"]}', 400, "body is not UTF-8 text (byte 0xff at offset 11)"),
        (b"[" * 1500, 400, "body is nested too deeply"),
        (b"[" * 150 + b"]" * 150, 400, "body is nested too deeply (nested more than 100 levels"),
        (
            b'{"skus": ["a"], "skus": ["b"]}',
            422,
            "body is not valid JSON: duplicate key 'skus' in an object",
        ),
        (b'{"skus": NaN}', 422, "body is not valid JSON: NaN is not a JSON number"),
        (b'{"n": 1e400}', 422, "body is not valid JSON: 1e400 is too large for a number"),
        (b"{not json", 422, "body is not valid JSON: Expecting property name"),
        (b'{"skus": "SKU-1"}', 422, "invalid payload"),
        (b'{"skus": [1]}', 422, "invalid payload"),
        (b"[]", 422, "invalid payload"),
        (b'{"skus": ["a\\u0000"]}', 422, "body contains the NUL character"),
        (b'{"skus": ["\\ud800"]}', 422, "body contains a lone surrogate"),
        (b'{"note": {"\\udfff": 1}}', 422, "body contains a lone surrogate"),
    ],
)
def test_bad_bodies_get_400_or_422_never_500(setup, body: bytes, status: int, message: str) -> None:  # noqa: ANN001
    client, tokens, _clock, url = setup
    _post(client, tokens["any"], "/flow-trigger/nope/push")  # the token's last use is recorded
    before = digest(url)
    response = _post(client, tokens["any"], content=body)
    assert response.status_code == status
    assert response.json()["error"].startswith(message)
    assert digest(url) == before


def test_error_bodies_never_echo_the_input_unbounded(setup) -> None:  # noqa: ANN001
    client, tokens, _clock, _url = setup
    key = "k" * 1500
    response = _post(client, tokens["any"], content=json.dumps({key: 1}))
    assert response.status_code == 422
    assert len(response.text) < 600 and key not in response.text
    response = _post(client, tokens["any"], "/flow-trigger/" + "c" * 5000 + "/push", json={})
    assert response.status_code == 404 and len(response.text) < 400


def test_tokens_are_limited_to_their_channels_and_flows(setup) -> None:  # noqa: ANN001
    client, tokens, _clock, url = setup
    response = _post(client, tokens["tm2"], json={})
    assert response.status_code == 403
    assert response.json()["error"] == (
        "token 'only-tm2' may not trigger testmarket/push on channel 'tm' "
        "(it is limited to tm2; any flow)"
    )
    assert _post(client, tokens["tm2"], "/flow-trigger/tm2/push", json={}).status_code == 202
    assert _post(client, tokens["push"], json={"skus": ["SKU-1"]}).status_code == 202
    assert _jobs(url) == 2


def test_a_token_over_its_rate_gets_429_with_retry_after(setup) -> None:  # noqa: ANN001
    client, tokens, clock, _url = setup
    statuses = [_post(client, tokens["any"], json={}).status_code for _ in range(6)]
    assert statuses == [202] * 5 + [429]
    response = _post(client, tokens["any"], json={})
    assert response.status_code == 429 and response.headers["Retry-After"] == "12"
    assert _post(client, tokens["push"], json={}).status_code == 202  # other tokens unaffected
    clock.advance(12)
    assert _post(client, tokens["any"], json={}).status_code == 202


def test_failed_attempts_are_rate_limited_per_address(setup) -> None:  # noqa: ANN001
    client, tokens, clock, _url = setup
    assert [_post(client, "pzr_wrong", json={}).status_code for _ in range(3)] == [401] * 3
    response = _post(client, tokens["any"], json={})  # even a good token must wait now
    assert response.status_code == 429 and response.headers["Retry-After"] == "20"
    clock.advance(20)
    assert _post(client, tokens["any"], json={}).status_code == 202


def test_revoking_keeps_an_audit_row(cli) -> None:  # noqa: ANN001
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    result = cli("tokens", "create", "oms", "--channel", "tm", "--flow", "push")
    assert result.exit_code == 0 and result.stdout.startswith("pzr_")
    assert "limited to channels tm and flows push" in result.stderr
    assert cli("tokens", "revoke", "oms").exit_code == 0
    history = json.loads(cli("tokens", "history", "--json").stdout)
    assert [(h["token"], h["event"]) for h in history] == [("oms", "created"), ("oms", "revoked")]
    assert history[1]["detail"]["channels"] == ["tm"] and history[1]["detail"]["flows"] == ["push"]
    assert json.loads(cli("tokens", "list", "--json").stdout) == []


def test_a_scope_naming_nothing_that_exists_is_refused(cli, db_url: str) -> None:  # noqa: ANN001
    assert cli("channel", "add", "testmarket", "--slug", "shop").exit_code == 0
    before = digest(db_url)
    result = cli("tokens", "create", "oms", "--channel", "shp", "--flow", "psh")
    assert result.exit_code == 2
    assert "--channel 'shp': no such channel; did you mean 'shop'?" in result.stderr
    assert "--flow 'psh': no such flow; did you mean 'push'?" in result.stderr
    # a flow of another marketplace never runs on the scope's channel: the token opens nothing
    other = cli("tokens", "create", "oms", "--channel", "shop", "--flow", "hepsiburada/stock")
    assert other.exit_code == 2
    assert "--flow 'hepsiburada/stock' runs on no channel of the scope: shop (testmarket)" in (
        other.stderr
    )
    assert digest(db_url) == before


def test_serving_beyond_loopback_without_tls_warns() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("example.org")
    assert exposure_warning("127.0.0.1", tls=False) is None
    assert exposure_warning("0.0.0.0", tls=True) is None
    warning = exposure_warning("0.0.0.0", tls=False)
    assert warning is not None and "without TLS" in warning and "--tls-cert" in warning


def test_tls_options_go_together(cli, tmp_path: Path) -> None:  # noqa: ANN001
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    result = cli("serve", "--http", "0.0.0.0:0", "--tls-cert", str(cert))
    assert result.exit_code == 2 and "--tls-cert and --tls-key go together" in result.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_the_api_serves_https_with_a_certificate(db: Database, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from pazar.sandbox_server import serve_in_thread

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("PAZAR_PLUGINS", "pazar_hepsiburada,tests.testplugin")
    app = create_app(db, load_plugins().registry, clock=FixedClock(), limits=LIMITS)
    with serve_in_thread(app, ssl_certfile=str(cert), ssl_keyfile=str(key)) as running:
        assert running.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert))
        response = httpx.post(f"{running.url}/flow-trigger/tm/push", verify=trusted, json={})
    assert response.status_code == 401


def test_sandbox_on_a_public_address_warns_that_control_is_unauthenticated(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    import pazar.sandbox_server as server

    class Stopped:
        url = "http://0.0.0.0:1"

        def wait(self) -> None:
            raise KeyboardInterrupt

        def stop(self) -> None:
            pass

    monkeypatch.setattr(server, "serve_in_thread", lambda *a, **k: Stopped())
    result = cli("sandbox", "hepsiburada", "--host", "0.0.0.0")
    assert "control endpoints" in result.stderr and "no authentication" in result.stderr
    result = cli("sandbox", "hepsiburada")
    assert "no authentication" not in result.stderr


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=3000),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=30),
            lambda inner: (
                st.lists(inner, max_size=5)
                | st.dictionaries(st.text(max_size=10), inner, max_size=5)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
        st.lists(st.text(min_size=1, max_size=20), max_size=5).map(
            lambda skus: json.dumps({"skus": skus}).encode()
        ),
    )
)
def test_no_generated_body_gets_a_500_or_is_stored_when_refused(setup, body: bytes) -> None:  # noqa: ANN001
    client, tokens, clock, url = setup
    clock.advance(60)  # stay under the token's rate limit
    before = _jobs(url)
    response = _post(client, tokens["any"], content=body)
    assert response.status_code in (202, 400, 413, 422), response.text
    assert len(response.content) < 6000
    if response.status_code != 202:
        assert _jobs(url) == before
