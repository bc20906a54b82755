"""Reference decoding on CPU: greedy vs beam search over the original decoder (random weights, 5,991 classes).

Run: python -m pytest -o addopts= benchmarks/bench_decode.py --benchmark-enable --benchmark-json=bench_decode.json
"""

import pytest
import torch

from fastocr.config import ModelConfig
from fastocr.model import OCRModel
from fastocr.reference import AttnStep, beam_search_ref, greedy_decode_ref


@pytest.fixture(scope="module")
def decoder_and_encodings():
    torch.manual_seed(0)
    model = OCRModel(ModelConfig(), 5991).eval()
    return model.decoder, torch.randn(71, 64, 256)


@pytest.mark.parametrize("beam_size", [1, 5])
def test_reference_decode(benchmark, decoder_and_encodings, beam_size):
    decoder, enc = decoder_and_encodings
    B, L = enc.shape[1], 20
    benchmark.group = f"reference decode B={B} L={L}"
    benchmark.extra_info["lines"] = B

    @torch.inference_mode()
    def run():
        if beam_size == 1:
            return greedy_decode_ref(AttnStep(decoder, enc), B, L)
        return beam_search_ref(AttnStep(decoder, enc, beam_size), B, beam_size, L)

    out = benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    assert out is not None
