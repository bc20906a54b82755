"""The CNN encoder on CPU: NCHW against NHWC (channels_last) images, passes of 8 against 64 lines, fp32
against bf16: what the Recognizer's CPU defaults (NHWC, encoder_batch=8) and precision="bf16" rest on.

Run: python -m pytest -o addopts= benchmarks/bench_encoder.py --benchmark-enable --benchmark-columns=median
``extra_info["ms_per_line"]`` is the per-line cost; 64 lines at 280 px, the original architecture.
"""

import pytest
import torch

from fastocr.config import ModelConfig
from fastocr.model import OCRModel
from fastocr.train.loop import _bf16_is_fast

LINES = 64


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return OCRModel(ModelConfig(), 5991).eval()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("per_pass", [8, 64])
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_cnn(benchmark, model, layout, per_pass, dtype):
    if dtype == torch.bfloat16 and not _bf16_is_fast(torch.device("cpu")):
        pytest.skip("no native bf16 on this CPU")
    x = torch.randn(LINES, 3, 32, 280).to(dtype)
    if layout == "nhwc":
        x = x.contiguous(memory_format=torch.channels_last)
    cnn = model.encoder.cnn.to(dtype)
    benchmark.group = "CNN encoder, 64 lines x 280 px, CPU"

    @torch.inference_mode()
    def run():
        return [cnn(x[i : i + per_pass]) for i in range(0, LINES, per_pass)]

    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    benchmark.extra_info["ms_per_line"] = benchmark.stats.stats.median * 1e3 / LINES
    model.encoder.cnn.float()
