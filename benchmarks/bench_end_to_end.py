"""The original inference loop (batch 1, eager, greedy, 20 steps; rebuilt in tests/original.py) against fastocr
on the same 256 images, on CPU, with identical greedy outputs asserted: noise lines of random sizes (24-48 px
high, 60-400 wide: at 32 px most fill the 280 px canvas), and real scene words (every 16th line of
``../shared/data/dev_scene``: median 74 px of the 280), where fastocr's ``skip_padding`` (the default) is
also measured off; on PyTorch and on ONNX Runtime (the model exported in memory); PyTorch also with direct
convolutions instead of Winograd's (``winograd=False``).

Run: python -m pytest -o addopts= benchmarks/bench_end_to_end.py --benchmark-enable \\
        --benchmark-json=bench_end_to_end.json
``extra_info["lines_per_s"]`` holds the throughput; the original model's architecture with random weights
made to read (tests/conftest.py's ``make_original_weights``: different images read differently) and EOS
suppressed, so every line decodes all 20 steps.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import SHARED, make_original_weights
from original import orig_infer

from fastocr import Recognizer
from fastocr.train.data import read_label_list

N = 256
ALPHABET = "".join(chr(0x4E00 + i) for i in range(5989))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("e2e")
    enc, dec = make_original_weights(eos_bias=-100.0)
    torch.save(enc.state_dict(), d / "encoder.pth")
    torch.save(dec.state_dict(), d / "decoder.pth")
    (d / "alphabet.txt").write_text("\n".join(ALPHABET) + "\n", encoding="utf-8")
    return enc, dec, d


def _noise_lines(d: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(N):
        h, w = int(rng.integers(24, 48)), int(rng.integers(60, 400))
        paths.append(d / f"{i}.png")
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(paths[-1])
    return paths


def _scene_words() -> list[str]:
    labels = SHARED / "data" / "dev_scene" / "labels.tsv"
    if not labels.exists():
        pytest.skip(f"no {labels}")
    return [path for path, _ in read_label_list(labels)[::16][:N]]


@pytest.fixture(scope="module", params=["noise lines", "scene words"])
def setup(request, weights):
    enc, dec, d = weights
    paths = _noise_lines(d) if request.param == "noise lines" else _scene_words()
    with torch.no_grad():
        expected = [orig_infer(enc, dec, ALPHABET, p)[0] for p in paths]
    assert len(set(expected)) > N // 8, "the weights read every image alike: 'identical texts' would be vacuous"
    return enc, dec, d, paths, expected, request.param


@pytest.mark.parametrize("provider", ["original", "fastocr", "fastocr-direct-convolutions", "fastocr-whole-canvas",
                                      "fastocr-onnxruntime", "fastocr-onnxruntime-whole-canvas"])
def test_end_to_end_cpu(benchmark, setup, provider):
    enc, dec, d, paths, expected, workload = setup
    if provider.endswith("whole-canvas") and workload == "noise lines":
        pytest.skip("skip_padding is measured off on scene words")
    if "onnxruntime" in provider:
        pytest.importorskip("onnxruntime")
    rec = Recognizer.from_original(d / "encoder.pth", d / "decoder.pth", d / "alphabet.txt", device="cpu",
                                   skip_padding=not provider.endswith("whole-canvas"),
                                   winograd=not provider.endswith("direct-convolutions"),
                                   backend="onnxruntime" if "onnxruntime" in provider else "torch")
    benchmark.group = f"end to end, original model, {N} {workload}, CPU, greedy"

    def original():
        with torch.no_grad():
            return [orig_infer(enc, dec, ALPHABET, p)[0] for p in paths]

    def fast():
        return [r.text for r in rec.recognize(paths, batch_size=64)]

    texts = benchmark.pedantic(original if provider == "original" else fast, rounds=2, warmup_rounds=1)
    benchmark.extra_info["lines_per_s"] = N / benchmark.stats.stats.median
    assert texts == expected
