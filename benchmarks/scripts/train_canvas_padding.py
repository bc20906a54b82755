"""How much of a CPU training step is padding: a batch is padded to its widest line, so grouping lines into
batches decides the CNN's work (about 80% of a step on CPU).

Renders ``--lines`` synthetic words (up to ``--max-len`` characters), cuts them into batches of 32 three ways
(as drawn, sorted by label length as ``--bucket-window`` does, sorted by rendered width) and prints the canvas
pixels per line pixel of each; with ``--step``, also times a training step of the bundled architecture on one
as-drawn batch and prints its top operators.

Run: python benchmarks/scripts/train_canvas_padding.py [--lines 512] [--seed 5] [--step]
"""

import argparse
import time

import numpy as np
import torch

from fastocr.alphabet import Alphabet
from fastocr.config import ModelConfig
from fastocr.engine.preprocess import padded_width, resize_line
from fastocr.model import OCRModel
from fastocr.train.data import Collate
from fastocr.train.loop import _LossModule
from fastocr.train.synth import ASCII_CHARSET, SyntheticLines

BATCH, BUCKET, WIDEST = 32, 32, 2048


def padding(widths: np.ndarray, order) -> float:
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    canvas = sum(padded_width(int(widths[b].max()), WIDEST, BUCKET) * len(b) for b in batches)
    return canvas / widths.sum()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=512)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--max-len", type=int, default=12)
    p.add_argument("--step", action="store_true", help="also time and profile one training step")
    args = p.parse_args()
    data = SyntheticLines(ASCII_CHARSET, args.lines, seed=args.seed, max_len=args.max_len)
    items = [data[i] for i in range(args.lines)]
    widths = np.array([resize_line(np.asarray(image), 32, WIDEST).shape[1] for image, _ in items])
    lengths = np.array([len(label) for _, label in items])
    for name, order in (("as drawn", np.arange(args.lines)), ("by label length", np.argsort(lengths, kind="stable")),
                        ("by rendered width", np.argsort(widths, kind="stable"))):
        print(f"canvas pixels per line pixel, batches {name}: {padding(widths, order):.2f}")
    if not args.step:
        return
    images, targets, line_widths, _ = Collate(Alphabet(ASCII_CHARSET), width=WIDEST, bucket=BUCKET)(
        [(np.asarray(image), label) for image, label in items[:BATCH]])
    torch.manual_seed(0)
    config = ModelConfig(attention="additive", img_width=WIDEST, max_decode_len=81)
    loss_module = _LossModule(OCRModel(config, len(ASCII_CHARSET) + 2, dropout_p=0.1), ctc_weight=0.5).train()
    optimizer = torch.optim.Adam(loss_module.parameters(), 1e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_module(images, targets, True, line_widths)
        (loss[0] if isinstance(loss, tuple) else loss).backward()
        optimizer.step()

    step()
    t = time.perf_counter()
    for _ in range(3):
        step()
    seconds = (time.perf_counter() - t) / 3
    print(f"training step, {BATCH} lines on a {images.shape[3]} px canvas: {seconds:.2f} s, {BATCH / seconds:.1f} lines/s")
    with torch.profiler.profile() as prof:
        step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))


if __name__ == "__main__":
    main()
