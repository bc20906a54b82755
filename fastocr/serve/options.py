"""How the service batches and what it accepts: the one place its defaults live (the CLI's and the batcher's
read them from here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .requests import Limits


@dataclass(frozen=True)
class ServeOptions:
    """How the service batches and what it accepts.

    Attributes:
        max_batch: lines per engine call.
        max_wait_ms: how long a batch's first request waits for others (latency traded for batch size).
        quiet_ms: a batch closes early once no request has come for this long (``DynamicBatcher``).
        timeout_s: a request still waiting after this long is answered 504.
        limits: request size, images per request, pixels per image.
        engine_batch: ``batch_size`` of each ``recognize`` call (lines per forward pass).
        workers: engine calls at a time (``DynamicBatcher``).
    """

    max_batch: int = 64
    max_wait_ms: float = 5.0
    timeout_s: float = 60.0
    limits: Limits = field(default_factory=Limits)
    engine_batch: int = 64
    workers: int = 1
    quiet_ms: float = 3.0
