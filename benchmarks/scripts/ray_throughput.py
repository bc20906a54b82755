"""Lines per second of `fastocr ray-recognize` on a local Ray, against one in-process Recognizer.

Run: python benchmarks/scripts/ray_throughput.py [N_IMAGES] [ACTORS]
Uses the original architecture (5,991 classes, 280 px) with random weights: the speed, not the text, is measured.
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
from PIL import Image

from fastocr.bench import random_weight_recognizer
from fastocr.engine.ray import ray_recognize


def main(n: int = 1000, actors: int = 1) -> None:
    rec = random_weight_recognizer("cpu")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "img").mkdir()
        rng = np.random.default_rng(0)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (32, 280, 3), dtype=np.uint8)).save(d / "img" / f"{i}.png")
        rec.save(d / "m.safetensors")
        paths = sorted(str(p) for p in (d / "img").iterdir())
        t = time.time()
        rec.recognize(paths, batch_size=64)
        direct = n / (time.time() - t)
        ray.init(num_cpus=actors + 1, include_dashboard=False, log_to_driver=False)
        t = time.time()
        stats = ray_recognize([str(d / "img")], str(d / "out"), str(d / "m.safetensors"), actors=actors)
        total = n / (time.time() - t)
        ray.shutdown()
    print(f"{n} images, {actors} actor(s): Recognizer in-process {direct:.0f} lines/s; ray-recognize "
          f"{total:.0f} lines/s including Ray start-up, {n / stats['seconds']:.0f} lines/s in the pipeline")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
