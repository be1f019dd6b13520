"""Example Market on loopback: the API of :mod:`pazar_example.client`, held in memory.

Control endpoints (no auth): ``GET /_sandbox/info``, ``POST /_sandbox/reset``,
``POST /_sandbox/refuse`` ``{"sku": ..., "message": ...}`` (the marketplace will refuse that
SKU's stock and prices), ``GET /_sandbox/state`` (stock and prices it holds, uploads
received), plus the engine kit's ``/_sandbox/faults`` and ``/_sandbox/requests``.
A price batch finishes on the second time it is asked about.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pazar.plugin import SandboxKit, SandboxReply

API_KEY = "example-sandbox-key"


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.kit = SandboxKit()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.stock: dict[str, int] = {}
            self.prices: dict[str, float] = {}
            self.refused: dict[str, str] = {}
            self.batches: dict[str, dict[str, Any]] = {}
            self.kit.reset()

    def authorize(self, request: Request) -> None:
        if request.headers.get("x-api-key") != API_KEY:
            raise SandboxReply(JSONResponse({"error": "invalid api key"}, status_code=401))

    def info(self, url: str) -> dict[str, Any]:
        return {
            "config": {"base_url": url, "api_key": API_KEY},
            "control": [
                "GET /_sandbox/info",
                "POST /_sandbox/reset",
                "POST /_sandbox/refuse",
                "GET /_sandbox/state",
                "GET|POST|DELETE /_sandbox/faults",
                "GET /_sandbox/requests",
            ],
        }


def _items(body: Any) -> list[dict[str, Any]]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SandboxReply(JSONResponse({"error": "body must be {items: [...]}"}, status_code=400))
    return items


def create_app() -> Starlette:
    state = State()

    def stock(request: Request, body: bytes) -> Any:
        results = []
        for row in _items(json.loads(body or b"{}")):
            sku = str(row.get("sku"))
            refusal = state.refused.get(sku)
            if refusal is None:
                state.stock[sku] = int(row.get("quantity", 0))
            results.append({"sku": sku, "ok": refusal is None, "error": refusal})
        return {"results": results}

    def upload(request: Request, body: bytes) -> Any:
        batch = f"B{len(state.batches) + 1:05d}"
        state.batches[batch] = {"rows": _items(json.loads(body or b"{}")), "asked": 0}
        return JSONResponse({"batch": batch}, status_code=202)

    def batch_status(request: Request, body: bytes) -> Any:
        batch = state.batches.get(request.path_params["batch"])
        if batch is None:
            raise SandboxReply(JSONResponse({"error": "no such batch"}, status_code=404))
        batch["asked"] += 1
        if batch["asked"] < 2:
            return {"state": "processing"}
        failed = []
        for row in batch["rows"]:
            sku = str(row.get("sku"))
            if sku in state.refused:
                failed.append({"sku": sku, "reason": state.refused[sku]})
            else:
                state.prices[sku] = float(row.get("price", 0))
        return {"state": "finished", "failed": failed}

    def api(handler: Any) -> Any:
        return state.kit.endpoint(handler, lock=state.lock, authorize=state.authorize)

    def control(handler: Any) -> Any:
        return state.kit.control(handler)

    def refuse(request: Request, doc: Any) -> Any:
        with state.lock:
            state.refused[str(doc["sku"])] = str(doc.get("message", "refused"))
            return {"refused": sorted(state.refused)}

    def show(request: Request, doc: Any) -> Any:
        with state.lock:
            return {"stock": state.stock, "prices": state.prices, "batches": len(state.batches)}

    def reset(request: Request, doc: Any) -> Any:
        state.reset()
        return {"reset": True}

    app = Starlette(
        routes=[
            Route("/api/v1/stock", api(stock), methods=["POST"]),
            Route("/api/v1/prices", api(upload), methods=["POST"]),
            Route("/api/v1/prices/{batch}", api(batch_status), methods=["GET"]),
            Route("/_sandbox/info", control(lambda r, d: state.info(str(r.base_url).rstrip("/")))),
            Route("/_sandbox/reset", control(reset), methods=["POST"]),
            Route("/_sandbox/refuse", control(refuse), methods=["POST"]),
            Route("/_sandbox/state", control(show)),
            *state.kit.control_routes(),
        ]
    )
    app.state.sandbox = state
    app.state.sandbox_info = state.info
    return app
