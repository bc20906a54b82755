"""Memory: peak RSS of recognition, and no growth over 10,000 recognitions (CPU; and CUDA when present).

Run: python -m pytest -o addopts= benchmarks/bench_memory.py -s
Prints the RSS (and on CUDA the allocated and peak device memory) after the first 1,000 and after 10,000
recognitions; fails if either grew by more than 50 MiB (allocator noise; a leak of one 32x280 float image per
call alone would be 3.4 GB).
"""

import os
import resource

import numpy as np
import pytest
import torch

from fastocr import Alphabet, ModelConfig, Recognizer
from fastocr.model import OCRModel
from fastocr.train.synth import ASCII_CHARSET


def rss() -> int:
    """Resident set size in bytes (Linux /proc: no extra dependency)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow  # no benchmark fixture, so --benchmark-skip would not skip its 10,000 recognitions
@pytest.mark.parametrize("calls", [10_000])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_no_memory_growth(calls, device):
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    torch.manual_seed(0)
    rec = Recognizer(OCRModel(ModelConfig(attention="additive", img_width=400, max_decode_len=8), 97),
                     Alphabet(ASCII_CHARSET), device=device)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (32, int(w), 3), dtype=np.uint8) for w in rng.integers(16, 200, 64)]
    cuda = device == "cuda"
    for i in range(calls):
        rec.recognize([images[i % 64]])
        if i == 999:
            after_1k = rss()
            cuda_after_1k = torch.cuda.memory_allocated() if cuda else 0
    grown = rss() - after_1k
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{device}: RSS after 1,000 calls {after_1k / 2**20:.1f} MiB, growth to {calls:,}: "
          f"{grown / 2**20:+.1f} MiB, peak {peak:.0f} MiB")
    assert grown < 50 * 2**20
    if cuda:
        cuda_grown = torch.cuda.memory_allocated() - cuda_after_1k
        print(f"CUDA allocated after 1,000 calls {cuda_after_1k / 2**20:.1f} MiB, growth to {calls:,}: "
              f"{cuda_grown / 2**20:+.1f} MiB, peak {torch.cuda.max_memory_allocated() / 2**20:.1f} MiB")
        assert cuda_grown < 50 * 2**20
