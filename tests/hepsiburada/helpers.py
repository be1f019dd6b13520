"""The Hepsiburada sandbox for tests: served once per session on loopback, reset per test.

Load the fixtures in a test module with ``pytest_plugins = ("tests.hepsiburada.helpers",)``
and use ``hb_sandbox``: a
:class:`SandboxHandle` with the URL, a channel config that the sandbox accepts, and the
control endpoints (seed, faults, received) called over HTTP like a user would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pazar.channels import ChannelService
from pazar.models.state import FailedIntegration
from pazar.plugins import load_plugins
from pazar.runner import RunOptions, RunResult, run_flow
from pazar.sandbox_server import RunningSandbox, serve_in_thread
from pazar_hepsiburada.client import HepsiburadaClient, client_for_channel
from pazar_hepsiburada.sandbox import create_app


class ChannelFlows:
    """Runs the Hepsiburada flows of channel ``hb`` the way the daemon would, one at a time.

    Subclasses set ``db``, ``registry``, ``flows`` and ``clock``.
    """

    db: Any
    registry: Any
    flows: Any
    clock: Any

    def channel(self) -> Any:
        with self.db.session() as session:
            channel = ChannelService(session, self.registry, clock=self.clock).get("hb")
            session.expunge(channel)
            return channel

    def attempt(self, flow: str, **options: Any) -> RunResult:
        """Run a flow and return what happened, an error included (``options``: run_flow's)."""
        return run_flow(
            self.db,
            self.registry,
            self.flows.get(f"hepsiburada/{flow}"),
            self.channel(),
            clock=self.clock,
            options=RunOptions(**options),
        )

    def run(self, flow: str) -> RunResult:
        result = self.attempt(flow)
        assert result.status != "error", result.error
        return result

    def sync(self, flow: str) -> RunResult:
        """Run a flow, then check its uploads until the sandbox has answered."""
        result = self.run(flow)
        for _ in range(3):
            self.run("check_uploads")
        return result

    def release(self, content_type: str, *keys: str) -> None:
        """Release penalties by key, as ``pazar penalties release --sku`` does."""
        from pazar.state.penalties import release_penalties

        with self.db.session() as session:
            released, missing = release_penalties(
                session,
                channel_id=self.channel().id,
                content_type=content_type,
                keys=list(keys),
                now=self.clock.now(),
            )
        assert not missing, f"no penalty for {missing}"

    def penalties(self) -> dict[str, FailedIntegration]:
        with self.db.session() as session:
            rows = list(session.scalars(select(FailedIntegration)))
            session.expunge_all()
        return {row.object_key: row for row in rows}


def sleepless_plugins(
    config_of: Callable[[Any], Mapping[str, Any]], sleep: RecordingSleep | None = None
) -> Any:
    """Freshly loaded plugins whose Hepsiburada client waits (Retry-After, backoff) through a
    recording sleep, never for real; ``config_of(channel)`` is the config it is built from."""
    plugins = load_plugins()
    market = plugins.registry.marketplaces["hepsiburada"]
    plugins.registry.marketplaces["hepsiburada"] = replace(
        market,
        client_factory=lambda channel, config=None: client_for_channel(
            channel, config_of(channel), sleep=sleep or RecordingSleep(), timeout=5.0, backoff=0.01
        ),
    )
    return plugins


class RecordingSleep:
    """Stands in for ``time.sleep``: remembers the requested waits, never sleeps."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    @property
    def total(self) -> float:
        return sum(self.calls)


class SandboxHandle:
    """A running Hepsiburada sandbox and its control endpoints."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.url = running.url
        self.http = httpx.Client(base_url=running.url, timeout=10)

    def close(self) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        return response.json()

    def reset(self, *, empty: bool = False) -> dict[str, Any]:
        return self._ok(self.http.post("/_sandbox/reset", json={"empty": empty}))

    def seed(self, **doc: Any) -> dict[str, Any]:
        return self._ok(self.http.post("/_sandbox/seed", json=doc))

    def faults(self, **doc: Any) -> dict[str, Any]:
        return self._ok(self.http.post("/_sandbox/faults", json=doc))

    def received(self, kind: str = "stock") -> dict[str, Any]:
        return self._ok(self.http.get("/_sandbox/received", params={"kind": kind}))

    def listings(self) -> dict[str, dict[str, Any]]:
        rows = self._ok(self.http.get("/_sandbox/listings"))["listings"]
        return {row["merchantSku"]: row for row in rows}

    def requests(self, path_contains: str = "") -> list[dict[str, Any]]:
        rows = self._ok(self.http.get("/_sandbox/requests"))["requests"]
        return [r for r in rows if path_contains in r["path"]]

    def info(self) -> dict[str, Any]:
        return self._ok(self.http.get("/_sandbox/info"))

    def add_orders(self, orders: list[dict[str, Any]]) -> dict[str, Any]:
        return self._ok(self.http.post("/_sandbox/orders", json={"orders": orders}))

    def claim(self, line_id: str, **doc: Any) -> dict[str, Any]:
        """The customer opens a claim (a return) on an order line."""
        answer = self._ok(
            self.http.post("/_sandbox/claims", json={"claims": [{"lineItemId": line_id, **doc}]})
        )
        return answer["claims"][0]  # type: ignore[no-any-return]

    def carrier(self, package: str, act: str, **doc: Any) -> dict[str, Any]:
        """The carrier or the customer acts on a package: ship, deliver, undeliver, break."""
        return self._ok(self.http.post(f"/_sandbox/packages/{package}/{act}", json=doc))

    def package(self, number: str) -> dict[str, Any]:
        """One package as the sandbox holds it."""
        return next(p for p in self.oms()["packages"] if p["packageNumber"] == number)

    def oms(self) -> dict[str, Any]:
        """Every order line and package the sandbox holds."""
        return self._ok(self.http.get("/_sandbox/orders"))

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A channel config (the seed's keys) pointing at this sandbox."""
        creds = self.info()["config"]
        config = {
            "base_url": self.url,
            "oms_url": self.url,
            "listing_url": self.url,
            **creds,
        }
        config.update(overrides)
        return config

    def client(
        self, config: Mapping[str, Any] | None = None, **options: Any
    ) -> tuple[HepsiburadaClient, RecordingSleep]:
        """A client for this sandbox with a recording ``sleep`` (unless one is given)."""
        sleep = options.pop("sleep", None) or RecordingSleep()
        options.setdefault("timeout", 5.0)
        client = client_for_channel("sandbox", config or self.config(), sleep=sleep, **options)
        return client, sleep


@pytest.fixture(scope="session")
def hb_sandbox_server() -> Iterator[SandboxHandle]:
    running = serve_in_thread(create_app())
    handle = SandboxHandle(running)
    try:
        yield handle
    finally:
        handle.close()
        running.stop()


@pytest.fixture
def hb_sandbox(hb_sandbox_server: SandboxHandle) -> Iterator[SandboxHandle]:
    """The session's sandbox, reset to its default catalog before the test."""
    hb_sandbox_server.reset()
    yield hb_sandbox_server
