"""The web dashboard served in-process over one test database, with a user of each role.

``site.as_("operator")`` gives a client logged in as that user; its ``post`` fills in the
page's CSRF token the way a browser submitting the form would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.testclient import TestClient

from pazar.clock import FixedClock
from pazar.db import Database
from pazar.http_trigger import create_app
from pazar.plugins import load_plugins
from pazar.web.auth import add_user

PASSWORDS = {
    "admin": "admin-password-1",
    "operator": "operator-password-1",
    "viewer": "viewer-password-1",
}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Client:
    """A browser-like client: cookies, and the CSRF token of the last page it saw."""

    def __init__(self, app: Any) -> None:
        self.http = TestClient(app, base_url="http://pazar.test", follow_redirects=False)
        self.csrf = ""

    def get(self, path: str, **options: Any) -> Any:
        response = self.http.get(path, **options)
        found = (
            _CSRF.search(response.text)
            if "text/html" in response.headers.get("content-type", "")
            else None
        )
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: Any = None, files: Any = None, *, csrf: bool = True) -> Any:
        if not self.csrf:
            self.get("/ui/login")
        body: dict[str, Any] = dict(data or {})
        if csrf:
            body.setdefault("csrf", self.csrf)
        response = self.http.post(path, data=body, files=files)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def follow(self, response: Any) -> Any:
        assert response.status_code in (302, 303, 307), (response.status_code, response.text)
        return self.get(response.headers["location"])


@dataclass
class Site:
    db: Database
    url: str
    clock: FixedClock
    plugins: Any
    app: Any
    clients: dict[str, Client] = field(default_factory=dict)

    def anonymous(self) -> Client:
        return Client(self.app)

    def as_(self, role: str) -> Client:
        client = Client(self.app)
        client.get("/ui/login")
        response = client.post(
            "/ui/login", {"username": role, "password": PASSWORDS[role], "next": ""}
        )
        assert response.status_code == 303, response.text
        client.get("/ui/dashboard")  # as a browser does: the new session's page and its token
        return client


@pytest.fixture
def site(db: Database, db_url: str, clock: FixedClock) -> Iterator[Site]:
    plugins = load_plugins()
    with db.session() as session:
        for role, password in PASSWORDS.items():
            add_user(session, role, password, role, now=clock.now())
    app = create_app(db, plugins.registry, clock=clock, hook=plugins.hook)
    yield Site(db=db, url=db_url, clock=clock, plugins=plugins, app=app)
