"""The decoder alone, provider against provider: the original batch-1 loop, the batched reference, the C++ beam
search extension, and the Triton kernels (CUDA only), over beam sizes 1/5/10, batch sizes 1..256 and line
lengths (decode steps). Random weights with EOS suppressed, so every line runs every step.

Run (pyproject's addopts holds --benchmark-skip, hence -o addopts=):
    python -m pytest -o addopts= benchmarks/bench_decode.py --benchmark-enable --benchmark-json=decode.json
    fastocr bench --report decode.json --markdown decode.md --png decode.png
"""

import pytest
import torch

from fastocr.bench import PROVIDERS, Unavailable, decoder_model, decoder_workload

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture(scope="module")
def model():
    return decoder_model(device=DEVICE)


@pytest.mark.parametrize("steps", [20, 40])
@pytest.mark.parametrize("batch", [1, 16, 64, 256])
@pytest.mark.parametrize("beam", [1, 5, 10])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_decoder(benchmark, model, provider, beam, batch, steps):
    if steps != 20 and batch != 64:
        pytest.skip("line lengths are compared at batch 64 only")
    if provider == "original" and batch != 16:
        pytest.skip("the original loop runs batch 1 whatever the batch: timed once, over 16 lines")
    try:
        fn = decoder_workload(provider, beam, batch, steps, model, DEVICE)
    except Unavailable as e:
        pytest.skip(str(e))
    benchmark.group = f"decoder, {steps} steps, {model.num_classes} classes, {DEVICE}"
    benchmark.extra_info["lines"] = batch
    benchmark.extra_info["lines_per_s"] = None
    benchmark.pedantic(fn, rounds=3 if batch * beam < 640 else 1, warmup_rounds=1)
    benchmark.extra_info["lines_per_s"] = batch / benchmark.stats.stats.median
