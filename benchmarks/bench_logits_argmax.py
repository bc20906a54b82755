"""The fused output head (projection + log-softmax + argmax) against eager PyTorch, for greedy decoding.

Run on a GPU machine:
    python -m pytest -o addopts= benchmarks/bench_logits_argmax.py --benchmark-enable \\
        --benchmark-json=bench_logits_argmax.json
Eager: ``F.linear`` + ``log_softmax`` + ``max`` (three kernels, [rows, 5,991] written and read back).
Without CUDA the benchmark skips and only ``test_smoke_cpu`` runs. Measured on an H200: benchmarks/results/h200-kernels.md
(the fused head is 28x slower than eager there, hence opt-in: see ``fastocr.ops.OPT_IN``).
"""

import pytest
import torch
from _timing import CUDA, gpu, time_calls  # first: it picks the Triton interpreter without CUDA

from fastocr import ops
from fastocr.reference import logits_argmax_ref


def setup_head(rows: int, hidden: int = 256, classes: int = 5991, device="cuda", dtype=torch.float32):
    torch.manual_seed(0)
    args = (torch.rand(rows, hidden) * 2 - 1, torch.randn(classes, hidden) / 16, torch.randn(classes))
    return tuple(a.to(device, dtype) for a in args)


@gpu
@pytest.mark.parametrize("provider", ["ref", "fast"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["fp32", "fp16"])
@pytest.mark.parametrize("rows", [16, 64, 256])
def test_logits_argmax(benchmark, rows, dtype, provider):
    benchmark.group = f"logits_argmax rows={rows} H=256 V=5991 {dtype}"
    args = setup_head(rows, dtype=dtype)
    fn = logits_argmax_ref if provider == "ref" else ops._load_kernels().logits_argmax.logits_argmax_triton
    time_calls(benchmark, lambda: fn(*args), rows)


@pytest.mark.skipif(CUDA, reason="CPU smoke only; the GPU runs the benchmarks")
def test_smoke_cpu():
    args = setup_head(3, classes=97, device="cpu")
    with ops.triton_on_cpu():
        idx, _ = ops.logits_argmax(*args)
    assert torch.equal(idx, logits_argmax_ref(*args)[0])
