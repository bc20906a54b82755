"""Where end-to-end recognition spends its time: the stages of one ``recognize`` call, after a warm-up.

Run: python benchmarks/scripts/profile_e2e.py [--device cuda] [--precision fp16] [--cuda-graphs] [--count 4096]
Times the original architecture with random weights on noise lines, as ``fastocr bench --random-weights``
does, then profiles one call: torch.profiler's totals for the recognizer's ``fastocr.*`` ranges (load,
to_batch and, within it on a GPU, canvas_wait for the previous upload; encoder, decoder, results; host wall
time, the decoder's including its waits on the GPU), and cProfile's functions with the most own time. On a
GPU the host is the bottleneck once the decoder step is cheap: this says which step to shrink next.
"""

import argparse
import cProfile
import pstats
import time

import torch

from fastocr.bench import noise_lines, random_weight_recognizer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--cuda-graphs", action="store_true")
    p.add_argument("--count", type=int, default=4096)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()

    rec = random_weight_recognizer(args.device, precision=args.precision, cuda_graphs=args.cuda_graphs)
    images = noise_lines(args.count)

    def run():
        rec.recognize(images, batch_size=args.batch)
        if rec.device.type == "cuda":
            torch.cuda.synchronize()

    run()  # warm-up: Triton compiles, cuDNN/cuBLAS pick kernels, graphs are recorded
    t0 = time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    print(f"{args.count} lines in {seconds * 1000:.1f} ms: {args.count / seconds:.0f} lines/s "
          f"({args.device}, {args.precision}, cuda_graphs={args.cuda_graphs})")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        run()
    print("stage       calls   host ms")
    for e in sorted(prof.key_averages(), key=lambda e: -e.cpu_time_total):
        if e.key.startswith("fastocr."):
            print(f"{e.key[8:]:<10} {e.count:>6} {e.cpu_time_total / 1000:>9.1f}")
    profiler = cProfile.Profile()
    profiler.runcall(run)
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
