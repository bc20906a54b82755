"""Helpers of the service tests: an app over a loaded recognizer, a live uvicorn server on a free loopback
port, and waiting for readiness."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import uvicorn

from fastocr.serve import ServeOptions, create_app


def wait_ready(get, timeout: float = 60.0) -> None:
    """Polls ``get("/readyz")`` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    raise TimeoutError("the service did not become ready")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(recognizer, **options):
    """A uvicorn server in a thread, serving ``recognizer``; yields (base URL, server, app)."""
    app = create_app(lambda: recognizer, ServeOptions(**options))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=30))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server, app
    finally:
        server.should_exit = True
        thread.join(30)
