"""Dynamic batching: concurrent requests share engine calls, results go back to their own requests in order,
options never mix in one call, batches stay within max_batch lines, and one failure stays in its batch."""

import asyncio
import threading

import pytest

from fastocr.serve.batcher import DynamicBatcher  # the batcher needs no [serve] extra


class Engine:
    """A fake engine: each result names its image and the options it was read with; records every call."""

    def __init__(self, fail_on=None):
        self.calls = []
        self.threads = set()
        self.fail_on = fail_on

    def __call__(self, images, options):
        self.calls.append((list(images), dict(options)))
        self.threads.add(threading.current_thread().name)
        if self.fail_on in images:
            raise RuntimeError("engine failed")
        return [f"{image}|{options.get('beam_size', 1)}" for image in images]


def run(coro):
    return asyncio.run(coro)


async def _serve(engine, requests, **kwargs):
    batcher = DynamicBatcher(engine, **kwargs)
    batcher.start()
    results = await asyncio.gather(*(batcher.submit(images, options) for images, options in requests),
                                   return_exceptions=True)
    await batcher.drain()
    return results


def test_concurrent_requests_share_one_call_and_get_their_own_results():
    engine = Engine()
    requests = [([f"r{i}-{k}" for k in range(i % 3 + 1)], {}) for i in range(10)]
    results = run(_serve(engine, requests, max_batch=64, max_wait_ms=200))
    assert results == [[f"{image}|1" for image in images] for images, _ in requests]
    assert len(engine.calls) == 1 and len(engine.calls[0][0]) == sum(len(images) for images, _ in requests)
    assert all(name.startswith("fastocr-serve") for name in engine.threads)  # off the event loop


def test_requests_with_other_options_never_share_a_call():
    engine = Engine()
    requests = [(["a"], {}), (["b"], {"beam_size": 5}), (["c"], {}), (["d"], {"beam_size": 5})]
    results = run(_serve(engine, requests, max_batch=64, max_wait_ms=200))
    assert results == [["a|1"], ["b|5"], ["c|1"], ["d|5"]]
    assert sorted(images for images, _ in engine.calls) == [["a", "c"], ["b", "d"]]


def test_batches_hold_at_most_max_batch_lines_and_nothing_is_lost():
    engine = Engine()
    requests = [([f"{i}-{k}" for k in range(20)], {}) for i in range(7)]
    results = run(_serve(engine, requests, max_batch=50, max_wait_ms=100))
    assert results == [[f"{image}|1" for image in images] for images, _ in requests]
    assert all(len(images) <= 50 for images, _ in engine.calls)
    assert sum(len(images) for images, _ in engine.calls) == 140


def test_a_request_larger_than_max_batch_runs_alone():
    engine = Engine()
    results = run(_serve(engine, [([str(i) for i in range(100)], {})], max_batch=8, max_wait_ms=1))
    assert len(results[0]) == 100 and len(engine.calls) == 1


def test_an_engine_failure_fails_its_batch_only():
    engine = Engine(fail_on="bad")
    requests = [(["bad", "x"], {}), (["y"], {"beam_size": 2})]
    results = run(_serve(engine, requests, max_batch=64, max_wait_ms=200))
    assert isinstance(results[0], RuntimeError) and results[1] == ["y|2"]


def test_drain_finishes_the_accepted_requests():
    engine = Engine()

    async def scenario():
        batcher = DynamicBatcher(engine, max_batch=4, max_wait_ms=1)
        batcher.start()
        pending = [asyncio.ensure_future(batcher.submit([f"{i}-a", f"{i}-b"], {})) for i in range(9)]
        await asyncio.sleep(0)  # queued, not yet read
        await batcher.drain()
        return [p.result() for p in pending]

    results = run(scenario())
    assert results == [[f"{i}-a|1", f"{i}-b|1"] for i in range(9)]


def test_several_workers_run_batches_at_once_and_keep_results_apart():
    engine = Engine()
    barrier = threading.Barrier(2, timeout=10)

    def meeting(images, options):  # each call waits for a second one: passes only if two run at once
        barrier.wait()
        return engine(images, options)

    requests = [([f"{i}-{k}" for k in range(4)], {}) for i in range(8)]
    results = run(_serve(meeting, requests, max_batch=4, max_wait_ms=1, workers=2))
    assert results == [[f"{image}|1" for image in images] for images, _ in requests]
    assert len(engine.threads) == 2


@pytest.mark.parametrize("quiet_ms, calls", [(20, 2), (0, 1)])
def test_a_quiet_queue_closes_the_batch_before_max_wait(quiet_ms, calls):
    """Two groups of requests 150 ms apart, max_wait 1 s: with quiet_ms each group is a batch of its own."""
    engine = Engine()

    async def scenario():
        batcher = DynamicBatcher(engine, max_batch=64, max_wait_ms=1000, quiet_ms=quiet_ms)
        batcher.start()
        first = [asyncio.ensure_future(batcher.submit([f"a{i}"], {})) for i in range(3)]
        await asyncio.sleep(0.15)
        second = [asyncio.ensure_future(batcher.submit([f"b{i}"], {})) for i in range(3)]
        results = await asyncio.gather(*first, *second)
        await batcher.drain()
        return results

    assert run(scenario()) == [[f"{g}{i}|1"] for g in "ab" for i in range(3)]
    assert [sorted(images) for images, _ in engine.calls] == (
        [["a0", "a1", "a2"], ["b0", "b1", "b2"]] if calls == 2 else [["a0", "a1", "a2", "b0", "b1", "b2"]])
