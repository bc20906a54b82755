"""What the device guard around each Triton launch costs the host: ``ops.on_device_of`` entered and left.

Run: python benchmarks/scripts/device_guard.py   (on a CUDA machine; on CPU only the CPU-tensor row prints)
The decoder step enters it twice (attention, GRU step), so its cost per step is twice the CUDA row.
"""

import time

import torch

from fastocr import ops


def per_block_us(t: torch.Tensor, n: int = 200_000) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        with ops.on_device_of(t):
            pass
    return (time.perf_counter() - t0) / n * 1e6


if __name__ == "__main__":
    tensors = {"cpu tensor": torch.zeros(1)}
    if torch.cuda.is_available():
        tensors["cuda tensor"] = torch.zeros(1, device="cuda")
    for name, t in tensors.items():
        print(f"on_device_of, {name}: {per_block_us(t):.2f} us per with-block")
