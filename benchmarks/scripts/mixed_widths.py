"""Lines of several canvas widths read together (CPU, variable-width models) against a pass per width.

Reads 256 dev_scene lines in calls of 16 (as a server's small batches) and of 256, alternating the two paths 4
times in one process (best time of each), and compares their texts.

Run: python benchmarks/scripts/mixed_widths.py [--model M]
"""

import argparse
import time
from pathlib import Path

from fastocr import Recognizer
from fastocr.engine.recognizer import Recognizer as RecognizerClass

DEV_SCENE = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev_scene"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="a variable-width model (default: the bundled one)")
    args = p.parse_args()
    lines = (DEV_SCENE / "labels.tsv").read_text(encoding="utf-8").splitlines()
    data = [(DEV_SCENE / line.split("\t")[0]).read_bytes() for line in lines[:: len(lines) // 256]][:256]
    rec = Recognizer.load(args.model, device="cpu")
    rec.warmup()
    together, apart = RecognizerClass._mixes_widths, property(lambda self: False)
    best, texts = {}, {}
    for _ in range(4):
        for name, prop in (("together", together), ("a pass per width", apart)):
            RecognizerClass._mixes_widths = prop
            for chunk in (16, 256):
                t = time.perf_counter()
                out = [r for i in range(0, 256, chunk) for r in rec.recognize(data[i : i + chunk], batch_size=64)]
                best[name, chunk] = min(best.get((name, chunk), float("inf")), time.perf_counter() - t)
                texts[name, chunk] = [r.text for r in out]
    RecognizerClass._mixes_widths = together
    for (name, chunk), seconds in sorted(best.items()):
        print(f"{name}, calls of {chunk}: {256 / seconds:.1f} lines/s")
    for chunk in (16, 256):
        same = sum(a == b for a, b in zip(texts["together", chunk], texts["a pass per width", chunk]))
        print(f"calls of {chunk}: {same} of 256 texts identical")


if __name__ == "__main__":
    main()
