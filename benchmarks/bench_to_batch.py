"""Building one batch on the calling thread while loader threads resize the next images (as ``recognize`` does):
1,024 lines copied into the upload canvas, already padded by the loaders (``fill_canvas``: ``pad_line``, then one
``torch.stack``) against one numpy copy per line (how ``to_batch`` filled its canvas before). The per-line copies give the GIL
back and must win it again, line after line, against the loaders.

Run: python -m pytest -o addopts= benchmarks/bench_to_batch.py --benchmark-enable --benchmark-columns=median
"""

import threading

import numpy as np
import pytest

from fastocr.engine.preprocess import PinnedCanvas, fill_canvas, pad_line, resize_line

LINES, WIDTH = 1024, 280


def _per_line_copies(lines, staging):
    pixels = staging.take((len(lines), 32, WIDTH, 3)).numpy()
    for i, line in enumerate(lines):
        pixels[i, :, : line.shape[1]] = line
        pixels[i, :, line.shape[1] :] = 0


@pytest.fixture(scope="module")
def lines():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (32, int(rng.integers(100, WIDTH + 1)), 3), dtype=np.uint8) for _ in range(LINES)]


@pytest.mark.parametrize("loaders", [0, 1])
@pytest.mark.parametrize("fill", ["torch.stack of padded lines", "numpy copy per line"])
def test_fill_canvas(benchmark, lines, fill, loaders):
    staging = PinnedCanvas(pin=False)
    padded = [pad_line(line, WIDTH) for line in lines]
    raw = [np.random.default_rng(i).integers(0, 256, (48, 300, 3), dtype=np.uint8) for i in range(64)]
    stop = threading.Event()

    def loader():  # what recognize's loader threads do between chunks
        while not stop.is_set():
            for image in raw:
                pad_line(resize_line(image, 32, WIDTH), WIDTH)

    benchmark.group = f"{LINES} lines into the canvas, {loaders} loader thread(s)"
    threads = [threading.Thread(target=loader, daemon=True) for _ in range(loaders)]
    for t in threads:
        t.start()
    try:
        if fill == "numpy copy per line":
            benchmark.pedantic(_per_line_copies, (lines, staging), rounds=20, warmup_rounds=2)
        else:
            benchmark.pedantic(fill_canvas, (padded, 32, WIDTH, staging), rounds=20, warmup_rounds=2)
    finally:
        stop.set()
        for t in threads:
            t.join()
