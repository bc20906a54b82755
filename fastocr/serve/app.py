"""The HTTP service: a Starlette app over one ``Recognizer`` and a ``DynamicBatcher``.

Routes: ``POST /v1/recognize`` (JSON or multipart; results as the Python API's ``Recognition.to_dict()``),
``POST /v1/read`` (whole pages, the same request; ``Page.to_dict()`` per image; needs the ``[page]`` extra),
``GET /healthz`` (the process answers), ``GET /readyz`` (the model is loaded and warmed up), ``GET /metrics``
(Prometheus), ``GET /`` (a page to read images in a browser). The model loads in the background after start-up,
so ``/healthz`` answers at once and ``/readyz`` says 503 until the first call would be fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from importlib import resources

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import FastOCRError
from ..page import Detector, PageOptions, read_pages
from .batcher import DynamicBatcher
from .options import ServeOptions
from .requests import RequestError, read_request

log = logging.getLogger("fastocr.serve")


class Metrics:
    """The service's Prometheus metrics, in a registry of its own (several apps in one process stay apart)."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("fastocr_requests", "HTTP requests answered, by route and status",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("fastocr_request_seconds", "time from a request's arrival to its answer",
                                 ["route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.batch_lines = Histogram("fastocr_batch_lines", "lines per engine call", registry=self.registry,
                                     buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512))
        self.batch_seconds = Histogram("fastocr_batch_seconds", "seconds per engine call", registry=self.registry,
                                       buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.queue_depth = Gauge("fastocr_queue_depth", "requests waiting or being read", registry=self.registry)
        self.images = Counter("fastocr_images", "images read, by outcome", ["outcome"], registry=self.registry)

    def batch(self, lines: int, seconds: float) -> None:
        self.batch_lines.observe(lines)
        self.batch_seconds.observe(seconds)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _log(**fields) -> None:
    log.info(json.dumps(fields, ensure_ascii=False))


class BatchedLines:
    """What page mode reads its lines with (``read_pages``' recognizer): the service's batcher, called from a
    worker thread, so the lines of pages share engine batches with the other requests."""

    def __init__(self, batcher: DynamicBatcher, loop: asyncio.AbstractEventLoop, background):
        self.batcher, self.loop, self.background = batcher, loop, background

    def recognize(self, images: list, on_error: str = "report", **decode) -> list:
        return asyncio.run_coroutine_threadsafe(self.batcher.submit(images, decode), self.loop).result()


def create_app(load_recognizer, options: ServeOptions | None = None) -> Starlette:
    """The app. ``load_recognizer()`` builds the Recognizer (called once, in a thread, after start-up)."""
    options = options or ServeOptions()
    metrics = Metrics()
    state: dict = {"recognizer": None, "batcher": None, "error": None, "detector": None, "detector_error": None}

    def recognize(images: list, decode: dict) -> list:
        return state["recognizer"].recognize(images, batch_size=options.engine_batch, **decode)

    async def load() -> None:
        try:
            rec = await asyncio.to_thread(load_recognizer)
            await asyncio.to_thread(rec.warmup)
        except Exception as e:  # noqa: BLE001 -- said by /readyz and the log; the process stays up to say it
            state["error"] = f"{type(e).__name__}: {e}"
            _log(event="load_failed", error=state["error"])
            return
        try:
            state["detector"] = await asyncio.to_thread(Detector)
        except FastOCRError as e:  # without the [page] extra, /v1/read says why and the rest serves on
            state["detector_error"] = str(e)
        batcher = DynamicBatcher(recognize, options.max_batch, options.max_wait_ms,
                                 on_batch=metrics.batch, workers=options.workers, quiet_ms=options.quiet_ms)
        batcher.start()
        state["recognizer"], state["batcher"] = rec, batcher
        _log(event="ready", backend=rec.backend, device=str(rec.device), classes=rec.alphabet.num_classes)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loading = asyncio.create_task(load())
        yield
        loading.cancel()
        if state["batcher"] is not None:  # uvicorn stopped taking requests: finish the accepted ones
            await state["batcher"].drain()
        _log(event="stopped")

    async def answer(request: Request, route: str, work) -> Response:
        """A POST route: its request read and checked, ``work(images, decode)`` done, metrics and a log line."""
        started = time.perf_counter()
        status, response, count = 200, None, 0
        try:
            if state["batcher"] is None:
                raise RequestError(503, state["error"] or "the model is loading; try again (GET /readyz)")
            images, decode = await read_request(request, state["recognizer"], options.limits)
            count = len(images)
            response = JSONResponse(await work(images, decode))
        except RequestError as e:
            status, response = e.status, _error(e.status, e.message)
        except Exception as e:  # noqa: BLE001 -- an engine failure: this request gets a 500, the server goes on
            status, response = 500, _error(500, f"{type(e).__name__}: {e}")
        seconds = time.perf_counter() - started
        metrics.requests.labels(route, str(status)).inc()
        metrics.latency.labels(route).observe(seconds)
        _log(event="request", route=route, status=status, images=count, ms=round(seconds * 1e3, 2),
             client=request.client.host if request.client else None)
        return response

    async def in_time(awaitable):
        try:
            return await asyncio.wait_for(awaitable, options.timeout_s)
        except asyncio.TimeoutError:
            raise RequestError(504, f"not read within {options.timeout_s:g} s; the server is overloaded") from None

    async def lines(images: list, decode: dict) -> dict:
        metrics.queue_depth.set(state["batcher"].depth + 1)
        try:
            results = await in_time(state["batcher"].submit(images, decode))
        finally:
            metrics.queue_depth.set(state["batcher"].depth)
        for r in results:
            metrics.images.labels("ok" if r.ok else "error").inc()
        return {"results": [r.to_dict() for r in results]}

    async def pages(images: list, decode: dict) -> dict:
        if state["detector"] is None:
            raise RequestError(501, f"this server cannot read pages: {state['detector_error']}")
        reader = BatchedLines(state["batcher"], asyncio.get_running_loop(), state["recognizer"].background)
        found = await in_time(asyncio.to_thread(
            lambda: list(read_pages(reader, images, state["detector"], PageOptions(), **decode))))
        for page in found:
            metrics.images.labels("ok" if page.ok else "error").inc()
        return {"pages": [page.to_dict() for page in found]}

    async def v1_recognize(request: Request) -> Response:
        return await answer(request, "/v1/recognize", lines)

    async def v1_read(request: Request) -> Response:
        return await answer(request, "/v1/read", pages)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if state["batcher"] is None:
            return _error(503, state["error"] or "loading")
        rec = state["recognizer"]
        return JSONResponse({"status": "ready", "backend": rec.backend, "device": str(rec.device),
                             "classes": rec.alphabet.num_classes, "max_len": rec.config.max_decode_len})

    async def metrics_page(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    routes = [Route("/", index), Route("/v1/recognize", v1_recognize, methods=["POST"]),
              Route("/v1/read", v1_read, methods=["POST"]),
              Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics_page)]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.metrics = metrics
    app.state.serving = state
    return app
