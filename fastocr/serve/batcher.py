"""Dynamic batching: concurrent requests gathered into engine batches, read by worker threads.

Each request is a list of images and its decoding options. The batch loop waits for a first request, then
gathers the requests that arrive within ``max_wait_ms`` (up to ``max_batch`` lines; it stops early once no
request has come for ``quiet_ms``: clients answered together come back together, so each batch takes one such
cohort and several workers take turns instead of one batch sweeping up every client), groups them by options
(requests with other options cannot share an engine call), and runs each group as one ``recognize`` call in a
worker thread (``workers`` of them), off the event loop. Results go back to their requests in order: a
request's images are a contiguous slice of its group's batch.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .options import ServeOptions

Recognize = Callable[[list, dict], list]  # (images, options) -> one result per image, in order


@dataclass
class _Pending:
    images: list
    options: dict
    key: tuple
    future: asyncio.Future
    queued: float = field(default_factory=time.perf_counter)


def options_key(options: dict) -> tuple:
    """Requests whose options give the same key may share one engine call."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))


class DynamicBatcher:
    """Gathers concurrent ``submit`` calls into batches of at most ``max_batch`` lines.

    Args:
        recognize: runs one engine call; called in the worker thread only.
        max_batch: lines per engine call (a request with more lines runs alone, in one call).
        max_wait_ms: how long the first request of a batch waits for others.
        quiet_ms: the batch closes once no request has come for this long (0: always wait ``max_wait_ms``).
            With 32 single-line clients and 2 workers on 2 cores, 3 ms served 1.3x more lines than 0
            (docs/serve.md).
        on_batch: called on the event loop with each engine call's line count and seconds (metrics).
        workers: engine calls at a time, each in its own thread (on a CPU, one per core with one torch thread
            each keeps the cores busy on the small batches concurrent requests make).
    """

    def __init__(self, recognize: Recognize, max_batch: int = ServeOptions.max_batch,
                 max_wait_ms: float = ServeOptions.max_wait_ms, on_batch: Callable[[int, float], None] | None = None,
                 workers: int = ServeOptions.workers, quiet_ms: float = ServeOptions.quiet_ms):
        self._recognize = recognize
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.quiet = quiet_ms / 1000 if quiet_ms > 0 else float("inf")
        self._on_batch = on_batch or (lambda lines, seconds: None)
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._held: deque[_Pending] = deque()  # taken from the queue, left for the next batch (it was full)
        self.workers = workers
        self._worker = ThreadPoolExecutor(workers, thread_name_prefix="fastocr-serve")
        self._task: asyncio.Task | None = None
        self._in_flight = 0

    @property
    def depth(self) -> int:
        """Requests waiting or being read."""
        return self._queue.qsize() + len(self._held) + self._in_flight

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def submit(self, images: Sequence, options: dict) -> list:
        """The results of ``images`` read with ``options``, once their batch has run."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(list(images), options, options_key(options), future))
        return await future

    async def drain(self) -> None:
        """Waits until every request accepted so far has its results, then stops the loop (graceful shutdown)."""
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()
        self._worker.shutdown(wait=True)

    async def _next(self, timeout: float | None) -> _Pending | None:
        """The next request: one held back, one queued, or one arriving within ``timeout`` (None: wait)."""
        if self._held:
            return self._held.popleft()
        try:
            if timeout is None:
                return await self._queue.get()
            return self._queue.get_nowait() if timeout <= 0 else await asyncio.wait_for(self._queue.get(), timeout)
        except (asyncio.TimeoutError, asyncio.QueueEmpty):
            return None

    async def _gather(self) -> list[_Pending]:
        """A first request, and those that arrive within ``max_wait`` (each within ``quiet`` of the one before)
        while the batch has room."""
        first = await self._next(None)
        batch, lines = [first], len(first.images)
        deadline = asyncio.get_running_loop().time() + self.max_wait
        while lines < self.max_batch:
            item = await self._next(min(self.quiet, deadline - asyncio.get_running_loop().time()))
            if item is None:
                break
            if lines + len(item.images) > self.max_batch:
                self._held.append(item)  # first of the next batch
                break
            batch.append(item)
            lines += len(item.images)
        return batch

    async def _loop(self) -> None:
        free = asyncio.Semaphore(self.workers)
        while True:
            await free.acquire()  # a worker is free: gather for it (requests arriving meanwhile join the batch)
            batch = await self._gather()
            asyncio.get_running_loop().create_task(self._process(batch, free))

    async def _process(self, batch: list[_Pending], free: asyncio.Semaphore) -> None:
        self._in_flight += len(batch)
        try:
            groups: dict[tuple, list[_Pending]] = {}
            for item in batch:
                groups.setdefault(item.key, []).append(item)
            for group in groups.values():
                await self._run(group)
        finally:
            self._in_flight -= len(batch)
            free.release()
            for _ in batch:
                self._queue.task_done()

    async def _run(self, group: list[_Pending]) -> None:
        images = [image for item in group for image in item.images]
        started = time.perf_counter()
        try:
            results = await asyncio.get_running_loop().run_in_executor(self._worker, self._recognize, images,
                                                                       group[0].options)
            self._on_batch(len(images), time.perf_counter() - started)
        except Exception as e:  # noqa: BLE001 -- an engine failure fails these requests, not the server
            for item in group:
                if not item.future.done():
                    item.future.set_exception(e)
            return
        start = 0
        for item in group:
            if not item.future.done():  # a request that timed out has gone
                item.future.set_result(results[start : start + len(item.images)])
            start += len(item.images)
