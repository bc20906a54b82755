"""What the kernel benchmarks share: the CUDA switch (without CUDA, Triton runs through its interpreter, which
must be chosen before the first kernel import) and the timed loop of back-to-back launches."""

import os

import pytest
import torch

CUDA = torch.cuda.is_available()
if not CUDA:  # must precede the first kernel import (ops imports fastocr.kernels lazily)
    os.environ.setdefault("TRITON_INTERPRET", "1")

CALLS = 100
gpu = pytest.mark.skipif(not CUDA, reason="GPU benchmark: the Triton kernels run on CUDA only")


def time_calls(benchmark, fn, rows: int) -> None:
    """Times rounds of ``CALLS`` back-to-back ``fn()`` calls ended by one synchronize; records the per-call
    cost (``us_per_call``) and the rows decoded per second (``rows_per_s``)."""
    @torch.inference_mode()
    def run():
        for _ in range(CALLS):
            fn()
        torch.cuda.synchronize()

    benchmark.pedantic(run, rounds=20, warmup_rounds=2)
    benchmark.extra_info["us_per_call"] = benchmark.stats.stats.median * 1e6 / CALLS
    benchmark.extra_info["rows_per_s"] = rows * CALLS / benchmark.stats.stats.median
    benchmark.extra_info["lines"] = rows * CALLS  # what `fastocr bench --report` divides a round's time by
