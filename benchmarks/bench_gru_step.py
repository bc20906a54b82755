"""The fused GRU step against the eager PyTorch step (``torch.gru``, cuDNN on CUDA), and a whole decoder step.

Run on a GPU machine (pyproject's addopts holds --benchmark-skip, which wins over --benchmark-enable):
    python -m pytest -o addopts= benchmarks/bench_gru_step.py --benchmark-enable \
        --benchmark-json=bench_gru_step.json

- ``test_gru_step``: ``gru_step_ref`` (what ``nn.GRU`` runs) vs ``gru_step_triton`` (projections + gates in
  one launch), fp32 (exact-fp32 dot products, see kernels/gru_step.py) and fp16.
- ``test_decoder_step``: one step of the original decoder (embedding ... log_softmax over 5,991 classes),
  ``FASTOCR_FORCE_REFERENCE=1`` against the dispatchers' Triton path: what a decode loop actually gains.
Each round times ``CALLS`` back-to-back calls ended by ``torch.cuda.synchronize()``. Without CUDA the
benchmarks skip and only ``test_smoke_cpu`` runs. Measured on an H200:
benchmarks/results/h200-kernels.md.
"""

import pytest
import torch
from _timing import CUDA, gpu, time_calls  # first: it picks the Triton interpreter without CUDA

from fastocr import ops
from fastocr.config import ModelConfig
from fastocr.model import OCRModel
from fastocr.reference import gru_step_ref

ROWS = [16, 64, 320]  # B*K: a small batch, batch 64 greedy, batch 64 x beam 5


def setup_gru_step(rows: int, h: int = 256, device="cuda", dtype=torch.float32):
    """x, h (rows, H) and an nn.GRU(H, H)'s weights, as ``ops.gru_step`` takes them."""
    torch.manual_seed(0)
    gru = torch.nn.GRU(h, h)
    args = (torch.randn(rows, h), torch.rand(rows, h) * 2 - 1, *[w.detach() for w in gru.all_weights[0]])
    return tuple(a.to(device, dtype) for a in args)


@gpu
@pytest.mark.parametrize("provider", ["ref", "fast"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["fp32", "fp16"])
@pytest.mark.parametrize("rows", ROWS)
def test_gru_step(benchmark, rows, dtype, provider):
    benchmark.group = f"gru_step rows={rows} H=256 {dtype}"
    args = setup_gru_step(rows, dtype=dtype)
    fn = gru_step_ref if provider == "ref" else ops._load_kernels().gru_step.gru_step_triton
    time_calls(benchmark, lambda: fn(*args), rows)


@gpu
@pytest.mark.parametrize("provider", ["ref", "fast"])
@pytest.mark.parametrize("rows", ROWS)
def test_decoder_step(benchmark, monkeypatch, rows, provider):
    benchmark.group = f"decoder step (original, T=71, H=256, V=5991) rows={rows}"
    monkeypatch.setenv("FASTOCR_FORCE_REFERENCE", "1" if provider == "ref" else "0")
    torch.manual_seed(0)
    decoder = OCRModel(ModelConfig(), 5991).eval().cuda().decoder
    enc, hidden = torch.randn(71, rows, 256, device="cuda"), torch.zeros(1, rows, 256, device="cuda")
    tokens = torch.randint(0, 5991, (rows,), device="cuda")
    time_calls(benchmark, lambda: decoder(tokens, hidden, enc), rows)
    assert ops.LAST_PATH["gru_step"] == ("reference" if provider == "ref" else "triton")


@pytest.mark.skipif(CUDA, reason="CPU smoke only; the GPU runs the benchmarks")
def test_smoke_cpu():
    args = setup_gru_step(5, 32, device="cpu")
    fast = ops._load_kernels().gru_step.gru_step_triton(*args)
    torch.testing.assert_close(fast, gru_step_ref(*args), atol=1e-5, rtol=1e-5)
