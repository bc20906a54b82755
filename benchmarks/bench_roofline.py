"""How close the CPU engine is to this machine's arithmetic limit: the rate of a large fp32 matrix product
against the two parts that dominate recognition, the CNN (per line) and the decoder's output projection
(64 rows x 256 -> 5,991 classes, once per step). ``extra_info["gflops"]`` is each case's achieved rate,
counted with torch's FlopCounterMode (a multiply-add is 2 FLOPs).

Run: python -m pytest -o addopts= benchmarks/bench_roofline.py --benchmark-enable --benchmark-columns=median
"""

import torch
from torch.utils.flop_counter import FlopCounterMode

from fastocr.config import ModelConfig
from fastocr.model import OCRModel


def _flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def _run(benchmark, fn, group: str):
    benchmark.group = "fp32 arithmetic rate, CPU"
    benchmark.name = group
    flops = _flops(fn)
    benchmark.pedantic(fn, rounds=5, warmup_rounds=2)
    benchmark.extra_info["gflop"] = flops / 1e9
    benchmark.extra_info["gflops"] = flops / benchmark.stats.stats.median / 1e9


@torch.inference_mode()
def test_matmul_2048(benchmark):
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    _run(benchmark, lambda: a @ b, "matmul 2048^3 (the machine's fp32 rate)")


@torch.inference_mode()
def test_output_projection_64_rows(benchmark):
    torch.manual_seed(0)
    out = torch.nn.Linear(256, 5991)
    h = torch.randn(64, 256)
    _run(benchmark, lambda: out(h), "output projection, 64 rows x 256 -> 5991")


@torch.inference_mode()
def test_cnn_8_lines(benchmark):
    torch.manual_seed(0)
    cnn = OCRModel(ModelConfig(), 5991).eval().encoder.cnn
    x = torch.randn(8, 3, 32, 280).contiguous(memory_format=torch.channels_last)
    _run(benchmark, lambda: cnn(x), "CNN, 8 lines x 280 px, NHWC")
