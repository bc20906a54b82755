"""``ops.attn_additive``: the fused kernel against the eager PyTorch step it replaces (its reference twin), on CUDA.

Run on a GPU machine (pyproject's addopts holds --benchmark-skip, which wins over --benchmark-enable):
    python -m pytest -o addopts= benchmarks/bench_attn_additive.py --benchmark-enable \
        --benchmark-json=bench_attn_additive.json

``ref`` is the eager step (tanh, matvec, masked softmax, weighted sum), ``fast`` the one-launch Triton kernel.
Each round times ``CALLS`` back-to-back calls ended by ``torch.cuda.synchronize()``;
``extra_info["us_per_call"]`` is the per-step cost. Without CUDA the benchmarks skip and only
``test_smoke_cpu`` runs (the kernel through the interpreter, one tiny shape). Measured on an H200:
benchmarks/results/h200-kernels.md (docs/performance.md).
"""

import pytest
import torch
from _timing import CUDA, gpu, time_calls  # first: it picks the Triton interpreter without CUDA

from fastocr import ops
from fastocr.reference import attn_additive_ref

SHAPES = [(64, 71, 256), (320, 71, 256), (64, 300, 256)]  # (rows = B*K, T, H): batch 64, beam 5, long lines


def setup_attn_additive(rows: int, t: int, h: int, device="cuda", dtype=torch.float32):
    """Arguments of ``ops.attn_additive`` (lengths spread over T/4..T)."""
    g = torch.Generator().manual_seed(0)
    values = torch.randn(t, rows, h, generator=g)
    args = (torch.randn(t, rows, h, generator=g), torch.randn(rows, h, generator=g),
            torch.randn(h, generator=g) / h**0.5, values, torch.randint(t // 4, t + 1, (rows,), generator=g))
    return tuple(a.to(device, dtype) if a.is_floating_point() else a.to(device) for a in args)


def providers():
    return {"ref": attn_additive_ref, "fast": ops._load_kernels().attn_additive.attn_additive_triton}


@gpu
@pytest.mark.parametrize("provider", ["ref", "fast"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["fp32", "fp16"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_attn_additive(benchmark, shape, dtype, provider):
    rows, t, h = shape
    benchmark.group = f"attn_additive rows={rows} T={t} H={h} {dtype}"
    args, fn = setup_attn_additive(rows, t, h, dtype=dtype), providers()[provider]
    time_calls(benchmark, lambda: fn(*args), rows)


@pytest.mark.skipif(CUDA, reason="CPU smoke only; the GPU runs the benchmarks")
def test_smoke_cpu():
    args = setup_attn_additive(3, 40, 32, device="cpu")
    fns = providers()
    for fast, ref in zip(fns["fast"](*args), fns["ref"](*args)):
        torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)
