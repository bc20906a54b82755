"""One training step (forward + backward of the seq2seq loss with the auxiliary CTC loss), float32 against bf16
autocast, batch 32 lines at 280 px, the original architecture, 95 printable ASCII characters.

Run: python -m pytest -o addopts= benchmarks/bench_train_step.py --benchmark-enable
(bf16 is skipped where it would not pay: CPUs without native bf16.)
"""

import pytest
import torch

from fastocr.alphabet import Alphabet
from fastocr.config import ModelConfig
from fastocr.model import OCRModel
from fastocr.train.data import Collate
from fastocr.train.loop import _bf16_is_fast, _LossModule
from fastocr.train.synth import ASCII_CHARSET

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    lines = [(torch.randint(0, 256, (32, 200, 3), generator=g, dtype=torch.uint8).numpy(), "example line")] * 32
    images, targets, _widths, _ = Collate(Alphabet(ASCII_CHARSET))(lines)
    return images.to(DEVICE), targets.to(DEVICE)


@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "bf16"])
def test_train_step(benchmark, batch, amp):
    if amp and not _bf16_is_fast(DEVICE):
        pytest.skip("no native bf16 here")
    torch.manual_seed(0)
    loss_module = _LossModule(OCRModel(ModelConfig(), 97, dropout_p=0.1), ctc_weight=0.5).to(DEVICE).train()
    images, targets = batch
    benchmark.group = f"train step, 32 lines x 280 px, {DEVICE}"
    benchmark.extra_info["lines"] = 32

    def step():
        loss_module.zero_grad(set_to_none=True)
        with torch.autocast(DEVICE.type, dtype=torch.bfloat16, enabled=amp):
            loss, _ = loss_module(images, targets, True)
        loss.backward()
        if DEVICE.type == "cuda":
            torch.cuda.synchronize()

    benchmark.pedantic(step, rounds=3, warmup_rounds=1)
