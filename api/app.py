"""``create_app``: the FastAPI application over a store (OpenAPI docs at /docs).

Every response passes one ASGI guard that refuses a request body over ``max_body`` bytes
(413, whether or not it declares its length) and records the request's route template,
method and status (each from a fixed set: ``api.metrics``) and latency for /metrics.
A request that fails validation gets 422 with FastAPI's list of errors, each naming its
field; a non-finite number sent in JSON (NaN, Infinity, 1e309) is echoed as text.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import RequestMetrics, method_label, route_label
from api.routes import account, forecasts, system
from api.security import RateLimiter
from engine import workflows

MAX_BODY = 16 * 1024  # bytes; a retrain request is a few hundred


class Guard:
    """Body size limit and request metrics, around the whole application."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics, max_body: int) -> None:
        self.app, self.metrics, self.max_body = app, metrics, max_body

    async def _body(self, receive: Receive) -> bytes | None:
        """The whole request body, or None once it passes ``max_body``."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            declared = dict(scope["headers"]).get(b"content-length", b"0")
            body = None if not declared.isdigit() or int(declared) > self.max_body else b""
            if body is not None:
                body = await self._body(receive)
            if body is None:
                message = f"request body over {self.max_body} bytes"
                await JSONResponse({"detail": message}, 413)(scope, receive, send_status)
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send_status)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.observe(route_label(scope), method_label(scope["method"]), status, seconds)


def _json_safe(value):
    """``value`` with every non-finite float as its text ('nan', 'inf', '-inf'): JSON has
    no such numbers, and an error that echoes one must still be sent; an exception in an
    error's context as its message."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, BaseException):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


async def validation_failed(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with FastAPI's errors (``loc`` names the field, ``msg`` what is allowed)."""
    return JSONResponse({"detail": jsonable_encoder(_json_safe(exc.errors()))}, 422)


def _daily_routine(path: str, watchlist: str | None):
    """The server's lifespan: with ``watchlist`` (the ``api.daily_routine`` setting), the
    daily routine of its tickers runs in-process after each close until the server stops
    (``engine.workflows.RoutineSchedule``); without, nothing."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        schedule = None
        if watchlist:
            tickers = tuple(workflows.load_watchlist(path, watchlist))
            if not tickers:
                raise ValueError(f"api.daily_routine: the watchlist {watchlist!r} is empty")
            config = workflows.RoutineConfig(tickers, alerts=workflows.alert_settings())
            schedule = workflows.RoutineSchedule(path, config)
            schedule.start()
        app.state.schedule = schedule
        yield
        if schedule is not None:
            schedule.stop.set()

    return lifespan


def create_app(
    db_path: str | None = None, *, rate_limit: int | None = None, max_body: int = MAX_BODY
) -> FastAPI:
    """The API over the store at ``db_path`` (default: ``workflows.store_path()``), each
    key limited to ``rate_limit`` requests a minute unless the key sets its own (default:
    the ``api.rate_limit`` setting: $WORKBENCH_API_RATE_LIMIT, else 100)."""
    settings = workflows.load_settings().api
    limit = rate_limit or settings.rate_limit
    path = str(db_path or workflows.store_path())
    app = FastAPI(
        title="Forecasting workbench API",
        summary="The active model's forecasts, the paper account and training jobs.",
        version="1",
        lifespan=_daily_routine(path, settings.daily_routine),
    )
    app.state.db_path = path
    app.state.limiter = RateLimiter(limit)
    app.state.metrics = RequestMetrics()
    app.state.metrics.add_collector(lambda: system.model_gauges(app.state.db_path))
    for module in (system, forecasts, account):
        app.include_router(module.router)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_middleware(Guard, metrics=app.state.metrics, max_body=max_body)
    return app
