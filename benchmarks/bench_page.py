"""Page mode's speed: pages/s for whole rendered pages (two columns, about 60 lines of up to 45 characters),
and the text detector alone (boxes found; cutting, the 0/180 classifier and recognition make the rest).

Run: python -m pytest -o addopts= benchmarks/bench_page.py --benchmark-enable --benchmark-json=bench_page.json
``extra_info`` holds ``pages_per_s`` and ``lines``; on a GPU the recognizer runs on CUDA, the detector on the CPU.
"""

import numpy as np
import pytest
import torch

from fastocr import Recognizer
from fastocr.page import Detector, PageOptions
from fastocr.train.pages import document_fonts, render_page

pytest.importorskip("rapidocr_onnxruntime", reason="pip install 'fastocr[page]'")

WORDS = ("the engine reads every line of a page in one batch so that whole pages stay fast while the detector "
         "finds the lines and the reading order puts the columns one after the other").split()


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    fonts = document_fonts()
    paragraphs = [list(rng.choice(WORDS, int(rng.integers(30, 60)))) for _ in range(10)]
    pages = [render_page(paragraphs, "Speed Of Pages", fonts[k % len(fonts)], rng, columns=2, size=1240,
                         font_px=24, max_chars=45).image for k in range(4)]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rec = Recognizer.load(device=device)
    detector = Detector()
    rec.read(pages[:1], detector=detector)  # warm-up
    return rec, detector, pages


@pytest.mark.parametrize("part", ["read", "detect"])
def test_pages(benchmark, setup, part):
    rec, detector, pages = setup
    benchmark.group = f"page mode, {len(pages)} rendered pages, {rec.device}"
    if part == "read":
        out = benchmark.pedantic(lambda: rec.read(pages, detector=detector, options=PageOptions()), rounds=3)
        benchmark.extra_info["lines"] = sum(len(p.lines) for p in out)
    else:
        benchmark.pedantic(lambda: [detector.detect(p) for p in pages], rounds=3)
    benchmark.extra_info["pages_per_s"] = len(pages) / benchmark.stats.stats.median
