"""How much of a training batch is text rather than padding, with and without ``fastocr train --bucket-window``.

Run: python benchmarks/scripts/bucket_padding.py [--max-len 80] [--batch-size 32] [--windows 0,4,16] [--batches 64]
A batch is padded to its widest line; label length stands in for width (no rendering needed). Prints, per
window, the share of label characters among batch size x longest label, over the first batches of the
rendered stream that ``fastocr train --synth --words /usr/share/dict/words`` draws.
"""

import argparse
from itertools import islice
from pathlib import Path

from fastocr.engine.vocabulary import load_words
from fastocr.train.loop import ResumableSampler
from fastocr.train.synth import ASCII_CHARSET, SyntheticLines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-len", type=int, default=80)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--windows", default="0,4,16", help="bucket windows to compare (0: off)")
    p.add_argument("--batches", type=int, default=64)
    p.add_argument("--words", default="/usr/share/dict/words")
    args = p.parse_args()

    words = load_words(args.words) if Path(args.words).exists() else None
    lines = SyntheticLines(ASCII_CHARSET, 2**62, seed=0, max_len=args.max_len, words=words)
    length = lambda i: len(lines.label(i))
    bs = args.batch_size
    for window in map(int, args.windows.split(",")):
        sampler = ResumableSampler(0, True, seed=0, bucket_window=window, batch_size=bs, label_length=length)
        lengths = [length(i) for i in islice(iter(sampler), bs * args.batches)]
        padded = sum(max(lengths[b : b + bs]) * bs for b in range(0, len(lengths), bs))
        print(f"--bucket-window {window}: {sum(lengths) / padded:.1%} of padded characters are text")


if __name__ == "__main__":
    main()
