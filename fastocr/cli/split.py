"""``fastocr split``: split a label list into held-out parts and a training part."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import FastOCRError
from .args import non_negative_int, output_dir

HELP = "split a label list into training and held-out parts"


def _held_out(value: str) -> tuple[str, int]:
    name, sep, n = value.partition("=")
    if not sep or not name or not n.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=COUNT, e.g. test=1000, got {value!r}")
    return name, int(n)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Split a label list at random (fixed by --seed) into held-out parts and a training part, "
                     "written as OUT/NAME.tsv and OUT/train.tsv with absolute image paths. Fine-tune on "
                     "train.tsv, pick checkpoints on a validation part, and report only a part never used.")
    p.epilog = ("example:\n  fastocr split ../shared/data/real_dev/labels.tsv --out splits/real_dev "
                "--hold-out test=1000 --hold-out val=200")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("list", metavar="LIST", help="label list ('path<TAB>label' or 'path label' lines)")
    p.add_argument("--out", type=output_dir, required=True, help="folder for the split lists")
    p.add_argument("--hold-out", type=_held_out, action="append", required=True, metavar="NAME=COUNT",
                   help="a held-out part of COUNT items (repeatable); the rest is train")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the shuffle (default 0)")


def run(args: argparse.Namespace) -> int:
    from ..train.data import read_label_list, split_items, write_label_list

    sizes = dict(args.hold_out)
    if len(sizes) < len(args.hold_out):
        raise FastOCRError("--hold-out names must differ")
    parts = split_items(read_label_list(args.list), sizes, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, items in parts.items():
        write_label_list(out / f"{name}.tsv", items)
        print(f"{out / name}.tsv: {len(items)} lines")
    return 0
