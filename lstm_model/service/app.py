"""The FastAPI app: SageMaker's TF Serving contract, a friendlier /predict, health and metrics.

Every answer says which model version produced it (``X-Model-Version``). A request reads the
current model once, so a registry swap mid-request cannot mix versions or fail it. Every
request is logged as one JSON line (method, path, status, latency, version), never with its
body or credentials.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lstm_model.config import ServeConfig
from lstm_model.service.forecaster import ServedPaths
from lstm_model.service.metrics import CONTENT_TYPE, ServiceMetrics
from lstm_model.service.payloads import (
    RequestError,
    instances_to_windows,
    parse_json,
    predict_answer,
    predict_request,
    requested_steps,
)
from lstm_model.service.source import LoadedModel, ModelHolder

access_log = logging.getLogger("lstm_model.service.access")
log = logging.getLogger(__name__)

# Metrics label per route; anything else is "other" so scanners cannot blow up the label set.
ENDPOINTS = ("/invocations", "/predict", "/ping", "/health", "/metrics", "/openapi.json")
# The API description is behind the key too: it tells a scanner what to send.
PROTECTED = ("/invocations", "/predict", "/openapi.json")
# nginx's "client closed request": the client went away before its body arrived.
CLIENT_CLOSED = 499

Handler = Callable[[dict[str, Any], LoadedModel], Awaitable[dict[str, Any]]]


def create_app(
    holder: ModelHolder,
    config: ServeConfig,
    metrics: ServiceMetrics,
    api_key: str | None = None,
) -> FastAPI:
    """The service's app.

    Args:
        holder: Holds the model that answers; swapped by the registry watcher.
        config: Limits (body size, windows per request).
        metrics: Where request counts, latencies and errors are recorded.
        api_key: When set, /invocations, /predict and /openapi.json need it as
            ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; /ping, /health and /metrics
            stay open for probes and scrapers (they carry no data). There is no /docs page.

    Returns:
        The FastAPI application.
    """
    app = FastAPI(title="lstm-pipeline forecaster", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(ObserveRequests, metrics=metrics)
    expected_key = api_key.encode() if api_key else None

    async def answer(request: Request, handle: Handler) -> Response:
        """Authorise, pin the current model, run ``handle``, map failures to status codes."""
        model = holder.current
        request.state.model = model
        headers = {"X-Model-Name": model.name, "X-Model-Version": model.version}
        try:
            if expected_key is not None and request.url.path in PROTECTED:
                _authorize(request, expected_key)
            body = await _read_body(request, config.max_body_bytes)
            payload = await handle(parse_json(body), model)
            flagged = getattr(request.state, "out_of_range", 0)
            if flagged:
                headers["X-Out-Of-Range"] = str(flagged)
            return JSONResponse(payload, headers=headers)
        except ClientDisconnect:
            # Not the service's failure, and nobody is left to read an answer.
            request.state.error_kind = "client_disconnected"
            metrics.errors.labels("client_disconnected").inc()
            return Response(status_code=CLIENT_CLOSED, headers=headers)
        except RequestError as error:
            request.state.error_kind = error.kind
            metrics.errors.labels(error.kind).inc()
            extra = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
            return JSONResponse(
                {"error": error.message, "kind": error.kind},
                status_code=error.status,
                headers={**headers, **extra},
            )
        except Exception:  # noqa: BLE001 - nothing a client sends may take the process down
            request.state.error_kind = "internal"
            metrics.errors.labels("internal").inc()
            log.exception("internal error answering request %s", request.state.request_id)
            return JSONResponse(
                {
                    "error": "internal error; the service log has the details under request "
                    f"id {request.state.request_id}",
                    "kind": "internal",
                },
                status_code=500,
                headers=headers,
            )

    async def forecast(
        request: Request, model: LoadedModel, windows: np.ndarray, steps: int
    ) -> tuple[ServedPaths, np.ndarray]:
        """The first ``steps`` of each path with their intervals, and which windows lie far
        outside the training data (flagged, counted)."""
        matrix = windows if windows.ndim == 3 else windows[:, :, np.newaxis]
        outside = model.forecaster.deviations(matrix) > config.out_of_range_sd
        request.state.out_of_range = int(outside.sum())
        metrics.out_of_range.inc(int(outside.sum()))
        # TensorFlow releases the GIL; a worker thread keeps the event loop answering probes.
        served = await run_in_threadpool(model.forecaster.forecast, windows)
        forecasts = served.first(steps)
        if not np.all(np.isfinite(forecasts.paths)):
            raise RequestError(
                422,
                "bad_value",
                "the model produced a non-finite forecast: the values are far outside the "
                "range it was trained on",
            )
        metrics.forecasts.inc(len(windows))
        return forecasts, outside

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        """SageMaker / TF Serving: ``{"instances": [window, ...]}`` -> ``{"predictions"}``, one
        ``{"forecast": [...], "lower_80": [...], ...}`` per window, as TF Serving answers the
        exported signature (``"steps": k`` asks for the first k steps only)."""

        async def handle(payload: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
            windows = instances_to_windows(payload, model.forecaster, config.max_instances)
            steps = requested_steps(payload, model.forecaster.horizon)
            # The TF Serving body stays as SageMaker clients expect it: the flag is a header.
            forecasts, _ = await forecast(request, model, windows, steps)
            return {"predictions": [forecasts.outputs(i) for i in range(len(windows))]}

        return await answer(request, handle)

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        """Recent raw values (and exogenous columns, timestamps) -> forecast paths with their
        intervals. Each forecast keeps ``timestamp`` and ``value`` of its first step; ``path``
        has every step with ``lower_<level>`` / ``upper_<level>``."""

        async def handle(payload: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
            parsed = predict_request(payload, model.forecaster, config.max_instances)
            forecasts, outside = await forecast(request, model, parsed.windows, parsed.steps)
            return {
                "model": model.name,
                "version": model.version,
                "forecasts": predict_answer(forecasts, outside, parsed.timestamps),
            }

        return await answer(request, handle)

    @app.get("/ping")
    async def ping(request: Request) -> Response:
        """SageMaker's health probe: 200 when a model is loaded (always, once started)."""
        request.state.model = holder.current
        return JSONResponse({"status": "ok"})

    @app.get("/health")
    async def health(request: Request) -> Response:
        """The model answering, how long ago it was loaded, and the window it expects."""
        model = holder.current
        request.state.model = model
        forecaster = model.forecaster
        return JSONResponse(
            {
                "status": "ok",
                "model": model.name,
                "version": model.version,
                "loaded_at": datetime.fromtimestamp(model.loaded_at, UTC).isoformat(),
                "age_seconds": round(time.time() - model.loaded_at, 3),
                "warmup": forecaster.warmup,
                "lookback": forecaster.lookback,
                "columns": list(forecaster.columns),
                "horizon": forecaster.horizon,
            }
        )

    @app.get("/metrics")
    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        """The OpenAPI description; needs the API key when one is set."""
        request.state.model = holder.current
        if expected_key is not None:
            try:
                _authorize(request, expected_key)
            except RequestError as error:
                request.state.error_kind = error.kind
                metrics.errors.labels(error.kind).inc()
                return JSONResponse(
                    {"error": error.message, "kind": error.kind},
                    status_code=error.status,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return JSONResponse(app.openapi())

    return app


class ObserveRequests:
    """ASGI middleware: request id, count and latency per endpoint, one JSON log line.

    Plain ASGI rather than ``BaseHTTPMiddleware``: it costs microseconds, not a task group,
    per request. Handlers leave ``model`` and ``error_kind`` in ``request.state`` for it.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or ())
        request_id = headers.get(b"x-request-id", b"")[:64].decode("latin-1") or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            path = scope.get("path", "")
            endpoint = path if path in ENDPOINTS else "other"
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(seconds)
            model = state.get("model")
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope.get("method"),
                        "path": endpoint,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                        "model_version": model.version if model else None,
                        "error": state.get("error_kind"),
                    }
                },
            )


def _authorize(request: Request, expected: bytes) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    supplied = token.strip() if scheme.lower() == "bearer" else request.headers.get("x-api-key")
    if not supplied:
        raise RequestError(
            401,
            "unauthorized",
            "this service needs an API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
        )
    # Constant time: the comparison must not reveal how much of a guess was right.
    if not hmac.compare_digest(supplied.encode(), expected):
        raise RequestError(401, "unauthorized", "the API key is not valid")


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) to buffer more than ``limit`` bytes whatever the headers say."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise RequestError(
            413, "too_large", f"the request body is larger than the limit of {limit} bytes"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(
                413, "too_large", f"the request body is larger than the limit of {limit} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)
