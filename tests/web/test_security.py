"""Who may do what on the dashboard, as users (and attackers) meet it: logging in, CSRF,
roles refused by the server, secrets never rendered back, the audit log."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from pazar.models.channels import Channel
from pazar.models.web import WebAudit
from pazar.web.auth import check_password, hash_password, set_password
from tests.dbdigest import digest
from tests.web.conftest import PASSWORDS, Site

pytestmark = pytest.mark.postgres

CANARY = "canary-S3CRET-7f3a9c"


def _channel(site: Site, slug: str = "hb") -> Channel:
    with site.db.session() as session:
        row = session.scalar(select(Channel).where(Channel.slug == slug))
        session.expunge_all()
        return row


def test_passwords_are_salted_scrypt_hashes() -> None:
    one, two = hash_password("same password"), hash_password("same password")
    assert one != two and one.startswith("scrypt$")
    assert check_password("same password", one) and not check_password("other", one)
    assert not check_password("same password", "garbage")


def test_every_page_wants_a_login(site: Site) -> None:
    client = site.anonymous()
    for path in ("/ui/dashboard", "/ui/channels", "/ui/logs", "/ui/audit", "/ui/users"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/ui/login?next=")


def test_a_wrong_password_is_refused_and_a_right_one_lets_in(site: Site) -> None:
    client = site.anonymous()
    client.get("/ui/login")
    refused = client.post("/ui/login", {"username": "operator", "password": "nope-nope-nope"})
    assert refused.status_code == 401
    assert "Wrong user name or password." in refused.text
    assert client.get("/ui/channels").status_code == 303

    ok = client.post(
        "/ui/login",
        {"username": "operator", "password": PASSWORDS["operator"], "next": "/ui/channels"},
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/ui/channels"
    cookie = ok.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert PASSWORDS["operator"] not in cookie
    assert client.get("/ui/channels").status_code == 200


def test_log_in_never_redirects_to_another_site(site: Site) -> None:
    client = site.anonymous()
    client.get("/ui/login")
    response = client.post(
        "/ui/login",
        {"username": "viewer", "password": PASSWORDS["viewer"], "next": "//evil.example/x"},
    )
    assert response.headers["location"] == "/ui/"


def test_a_password_change_ends_the_users_sessions(site: Site) -> None:
    client = site.as_("operator")
    assert client.get("/ui/channels").status_code == 200
    with site.db.session() as session:
        set_password(session, "operator", "a-brand-new-password", now=site.clock.now())
    assert client.get("/ui/channels").status_code == 303  # back to the login page


def test_failed_log_ins_from_one_address_are_slowed_down(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(10):
        site.anonymous().post("/ui/login", {"username": "admin", "password": "wrong-wrong"})
    blocked = site.anonymous().post(
        "/ui/login", {"username": "admin", "password": PASSWORDS["admin"]}
    )
    assert blocked.status_code == 429
    site.clock.advance(minutes=2)
    assert (
        site.anonymous()
        .post("/ui/login", {"username": "admin", "password": PASSWORDS["admin"]})
        .status_code
        == 303
    )


def test_a_form_without_the_sessions_csrf_token_changes_nothing(site: Site) -> None:
    client = site.as_("admin")
    before = digest(site.url)
    for token in (None, "forged-token-forged-token-forged-token"):
        data = {"plugin": "hepsiburada", "slug": "hb", "name": "HB"}
        if token:
            data["csrf"] = token
        response = client.post("/ui/channels", data, csrf=False)
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert digest(site.url) == before


WRITE_ROUTES = [
    ("/ui/channels", {"plugin": "hepsiburada", "slug": "x1", "name": "x"}),
    ("/ui/channels/hb", {"present": "buffer_stock", "buffer_stock": "5"}),
    ("/ui/channels/hb/status", {"status": "active"}),
    ("/ui/channels/hb/resave", {}),
    ("/ui/alarms/new", {"name": "a1", "kind": "error_rate", "threshold": "1", "emails": "a@b.co"}),
    ("/ui/alarms/a0/test", {}),
    ("/ui/alarms/a0/delete", {}),
    ("/ui/refunds/1/approve", {}),
    ("/ui/refunds/1/reject", {"reason": "r", "explanation": "e"}),
    ("/ui/penalties/release", {"all": "1", "channel": "hb", "content_type": "productstock"}),
    ("/ui/penalties/csv", {"channel": "hb", "content_type": "productstock"}),
    ("/ui/trigger", {"channel": "hb", "flow": "hepsiburada/stock", "skus": "A"}),
    ("/ui/mapping/values", {"channel": "hb", "values": "map,local_value,marketplace_value\n"}),
    ("/ui/mapping/document", {"channel": "hb", "document": "version: 1\ncategories: []\n"}),
    ("/ui/users", {"username": "mallory", "password": "long-enough-pw", "role": "admin"}),
    ("/ui/users/operator/role", {"role": "admin"}),
    ("/ui/users/operator/delete", {}),
]


def test_every_change_route_is_listed_here(site: Site) -> None:
    """A new POST route must join WRITE_ROUTES, so the viewer test covers it."""
    from starlette.routing import Route

    from pazar.web.app import Web
    from pazar.web.routes import routes

    posts = {
        r.path
        for r in routes(Web(db=None, registry=None, clock=None))
        if isinstance(r, Route) and "POST" in (r.methods or set())
    }
    posts -= {"/ui/login", "/ui/logout", "/ui/lang"}
    listed = {re.sub(r"/(hb|a0|1|operator)(?=/|$)", "/{x}", path) for path, _ in WRITE_ROUTES}
    normalised = {re.sub(r"\{[a-z_]+\}", "{x}", p) for p in posts}
    assert normalised == listed


def test_a_viewer_cannot_change_anything_the_server_refuses(site: Site) -> None:
    admin = site.as_("admin")
    admin.post("/ui/channels", {"plugin": "hepsiburada", "slug": "hb", "name": "HB"})
    admin.post(
        "/ui/alarms/new", {"name": "a0", "kind": "error_rate", "threshold": "1", "emails": "a@b.co"}
    )
    viewer = site.as_("viewer")
    page = viewer.get("/ui/channels/hb")
    assert page.status_code == 200
    assert 'name="buffer_stock"' in page.text and "disabled" in page.text
    before = digest(site.url)
    for path, data in WRITE_ROUTES:
        response = viewer.post(path, data)
        assert response.status_code == 403, path
        assert "may not change this" in response.text
    assert digest(site.url) == before


def test_an_operator_may_not_manage_users(site: Site) -> None:
    operator = site.as_("operator")
    assert operator.get("/ui/users").status_code == 403
    before = digest(site.url)
    assert operator.post("/ui/users", WRITE_ROUTES[-3][1]).status_code == 403
    assert digest(site.url) == before


def test_secrets_are_write_only_and_only_an_admin_writes_them(site: Site) -> None:
    admin = site.as_("admin")
    admin.post("/ui/channels", {"plugin": "hepsiburada", "slug": "hb", "name": "HB"})
    saved = admin.post("/ui/channels/hb", {"present": "password", "password": CANARY})
    assert saved.status_code == 303
    assert _channel(site).config["password"] == CANARY
    page = admin.get("/ui/channels/hb")
    assert CANARY not in page.text
    assert "A secret is stored (never shown)." in page.text

    # Saving the form again with the secret left empty keeps it.
    admin.post(
        "/ui/channels/hb",
        {"present": ["password", "buffer_stock"], "password": "", "buffer_stock": "4"},
    )
    assert _channel(site).config["password"] == CANARY
    assert _channel(site).config["buffer_stock"] == 4

    operator = site.as_("operator")
    before = digest(site.url)
    refused = operator.post(
        "/ui/channels/hb",
        {"present": ["password", "buffer_stock"], "password": "stolen", "buffer_stock": "9"},
    )
    assert refused.status_code == 403
    assert "Only an admin may change secrets (password)" in refused.text
    assert digest(site.url) == before
    # An operator still changes everything else.
    assert (
        operator.post(
            "/ui/channels/hb", {"present": ["password", "buffer_stock"], "buffer_stock": "9"}
        ).status_code
        == 303
    )
    assert _channel(site).config["buffer_stock"] == 9


def test_an_env_reference_is_stored_and_shown_as_written(site: Site) -> None:
    admin = site.as_("admin")
    admin.post("/ui/channels", {"plugin": "hepsiburada", "slug": "hb", "name": "HB"})
    admin.post("/ui/channels/hb", {"present": "password", "password": "env:PAZAR_SECRET_HB"})
    assert "env:PAZAR_SECRET_HB" in admin.get("/ui/channels/hb").text
    refused = admin.post("/ui/channels/hb", {"present": "password", "password": "env:HOME"})
    assert refused.status_code == 422
    assert "environment variable HOME may not be used for a secret" in refused.text


def test_no_page_response_or_log_line_shows_a_secret(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """The canary: a secret stored through the web appears nowhere it could leak."""
    caplog.set_level(logging.DEBUG)
    admin = site.as_("admin")
    admin.post("/ui/channels", {"plugin": "hepsiburada", "slug": "hb", "name": "HB"})
    admin.post("/ui/channels/hb", {"present": "password", "password": CANARY})
    # a failed save with the secret in the form must not echo it either
    bad = admin.post(
        "/ui/channels/hb",
        {"present": ["password", "buffer_stock"], "password": CANARY + "x", "buffer_stock": "x"},
    )
    assert bad.status_code == 422
    seen = [bad.text]
    for path in (
        "/ui/dashboard",
        "/ui/channels",
        "/ui/channels/hb",
        "/ui/channels/hb/validate",
        "/ui/channels/hb/history",
        "/ui/logs",
        "/ui/reports?channel=hb",
        "/ui/penalties?channel=hb",
        "/ui/trigger",
        "/ui/batches",
        "/ui/mapping?channel=hb",
        "/ui/daemons",
        "/ui/audit",
        "/ui/users",
        "/ui/alarms",
    ):
        response = admin.get(path)
        assert response.status_code in (200, 409), path
        seen.append(response.text + str(response.headers))
    with site.db.session() as session:
        seen += [str(a.changes) + str(a.detail) for a in session.scalars(select(WebAudit))]
    assert not [text for text in seen if CANARY in text]
    assert CANARY not in caplog.text


def test_every_change_is_in_the_audit_log_with_old_and_new(site: Site) -> None:
    operator = site.as_("operator")
    operator.post("/ui/channels", {"plugin": "hepsiburada", "slug": "hb", "name": "HB"})
    operator.post("/ui/channels/hb", {"present": "buffer_stock", "buffer_stock": "3"})
    operator.post("/ui/channels/hb", {"present": "buffer_stock", "buffer_stock": "5"})
    page = site.as_("viewer").get("/ui/audit")
    assert page.status_code == 200
    assert page.text.count(">channel.config<") == 2
    assert ">channel.add<" in page.text
    with site.db.session() as session:
        last = session.scalars(select(WebAudit).order_by(WebAudit.id.desc())).first()
        assert (last.username, last.action, last.target) == ("operator", "channel.config", "hb")
        assert last.changes == [{"key": "buffer_stock", "old": 3, "new": 5}]


def test_pages_carry_a_strict_content_security_policy(site: Site) -> None:
    response = site.as_("viewer").get("/ui/dashboard")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "<script>" not in response.text and " style=" not in response.text


def test_the_trigger_apis_tokens_keep_working_beside_the_web(site: Site, cli) -> None:  # noqa: ANN001
    token = next(w for w in cli("tokens", "create", "oms").output.split() if w.startswith("pzr_"))
    api = site.anonymous().http
    assert api.get("/dashboard", headers={"Authorization": f"Token {token}"}).status_code == 200
    assert api.get("/dashboard").status_code == 401
    # a web session is no token: the JSON API still wants one
    web = site.as_("admin")
    assert web.http.get("/dashboard").status_code == 401
