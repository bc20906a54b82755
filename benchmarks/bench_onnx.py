"""CPU lines/s end to end (files in, texts out) for the original loop, PyTorch fp32, ONNX Runtime fp32 and int8,
and PP-OCRv4 mobile on ONNX Runtime, on the same images in one run.

Two groups:
- *original model files*: the original architecture (fixed-slot attention, 5,991 classes, 20 steps) with
  random weights made to read (tests/conftest.py), on 256 noise lines as in bench_end_to_end.py; the int8
  encoder is calibrated on 64 other noise lines. Greedy texts are compared with the original loop's.
- *bundled English model*: every 10th line of ``../shared/data/dev_scene`` (425 real scene words; skipped
  without it); the int8 encoder is calibrated as ``fastocr export --int8`` does (256 rendered lines), and
  PP-OCRv4 mobile (``rapidocr-onnxruntime``, its batched recognizer) reads the same files.

Run: python -m pytest -o addopts= benchmarks/bench_onnx.py --benchmark-enable --benchmark-json=bench_onnx.json
     fastocr bench --report bench_onnx.json --markdown benchmarks/results/cpu-onnx.md
``extra_info`` holds ``lines_per_s`` and, against the original loop, ``identical_to_original`` and
``texts_differing``.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import SHARED, make_original_weights

from fastocr import Recognizer
from fastocr.bench import end_to_end_workload
from fastocr.train.synth import ASCII_CHARSET, SyntheticLines

pytest.importorskip("onnxruntime", reason="pip install 'fastocr[onnx]'")

N = 256
ALPHABET = "".join(chr(0x4E00 + i) for i in range(5989))
PROVIDERS = ["original", "torch", "onnxruntime", "onnxruntime-int8"]
DEV_SCENE = SHARED / "data" / "dev_scene"


def _noise_lines(rng, count, d=None):
    images = [rng.integers(0, 256, (int(rng.integers(24, 48)), int(rng.integers(60, 400)), 3), dtype=np.uint8)
              for _ in range(count)]
    if d is None:
        return images
    paths = [d / f"{i}.png" for i in range(count)]
    for path, image in zip(paths, images):
        Image.fromarray(image).save(path)
    return paths


def _recognizers(torch_rec, folder, calibration) -> dict:
    torch_rec.export_onnx(folder, int8_calibration=calibration)
    return {"torch": torch_rec, "onnxruntime": Recognizer.load(folder),
            "onnxruntime-int8": Recognizer.load(folder, precision="int8")}


@pytest.fixture(scope="module")
def original_setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx-original")
    enc, dec = make_original_weights(eos_bias=-100.0)  # every line decodes all 20 steps
    torch.save(enc.state_dict(), d / "encoder.pth")
    torch.save(dec.state_dict(), d / "decoder.pth")
    (d / "alphabet.txt").write_text("\n".join(ALPHABET) + "\n", encoding="utf-8")
    rng = np.random.default_rng(0)
    paths = _noise_lines(rng, N, d)
    rec = Recognizer.from_original(d / "encoder.pth", d / "decoder.pth", d / "alphabet.txt", device="cpu")
    return _recognizers(rec, d / "onnx", _noise_lines(rng, 64)), paths


@pytest.fixture(scope="module")
def bundled_setup(tmp_path_factory):
    if not (DEV_SCENE / "labels.tsv").exists():
        pytest.skip(f"needs {DEV_SCENE}")
    lines = (DEV_SCENE / "labels.tsv").read_text(encoding="utf-8").splitlines()[::10]
    paths = [str(DEV_SCENE / line.split("\t")[0]) for line in lines]
    rendered = SyntheticLines(ASCII_CHARSET, 256, seed=0)  # what `fastocr export --int8` calibrates on
    calibration = [rendered[i][0] for i in range(256)]
    recs = _recognizers(Recognizer.load(device="cpu"), tmp_path_factory.mktemp("onnx-bundled") / "onnx", calibration)
    return recs, paths


def _run(benchmark, recs, paths, provider, group, expected):
    benchmark.group = group
    rec = recs["torch" if provider == "original" else provider]
    workload = end_to_end_workload("original" if provider == "original" else "fastocr", rec, paths, batch=64)
    out = benchmark.pedantic(workload, rounds=3, warmup_rounds=1)
    texts = ([rec.alphabet.decode(o.tokens[0, : int(o.lengths[0])].tolist()) for o in out]
             if provider == "original" else [r.text for r in out])
    benchmark.extra_info.update(lines=len(paths), lines_per_s=len(paths) / benchmark.stats.stats.median)
    if provider == "original":
        expected[group] = texts
    elif group in expected:
        differing = sum(a != b for a, b in zip(texts, expected[group]))
        benchmark.extra_info.update(identical_to_original=differing == 0, texts_differing=differing)
    return texts


ORIGINAL_TEXTS: dict = {}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_original_model_files(benchmark, original_setup, provider):
    recs, paths = original_setup
    texts = _run(benchmark, recs, paths, provider, f"original model files, {N} noise lines, CPU, greedy",
                 ORIGINAL_TEXTS)
    if provider in ("torch", "onnxruntime"):  # fp32 reads as the original; int8's differences are recorded
        assert texts == ORIGINAL_TEXTS[benchmark.group]


@pytest.mark.parametrize("provider", [*PROVIDERS, "ppocr"])
def test_bundled_model_on_real_lines(benchmark, bundled_setup, provider):
    recs, paths = bundled_setup
    group = f"bundled English model, {len(paths)} dev_scene lines, CPU, greedy"
    if provider != "ppocr":
        _run(benchmark, recs, paths, provider, group, ORIGINAL_TEXTS)
        return
    rapidocr = pytest.importorskip("rapidocr_onnxruntime", reason="pip install rapidocr-onnxruntime")
    import cv2

    engine = rapidocr.RapidOCR()
    benchmark.group = group
    benchmark.pedantic(lambda: engine.text_rec([cv2.imread(p) for p in paths])[0], rounds=3, warmup_rounds=1)
    benchmark.extra_info.update(lines=len(paths), lines_per_s=len(paths) / benchmark.stats.stats.median)
