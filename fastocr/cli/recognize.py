"""``fastocr recognize``: read the text of line images."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import FastOCRError
from ..files import expand_inputs
from ..ops import MAX_BEAM
from .args import (
    add_model_args,
    add_vocabulary_args,
    beam_width,
    load_recognizer,
    non_negative_int,
    positive_int,
    vocabulary_from,
)

HELP = "read the text of line images"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Recognise cropped text-line images and print `text => confidence` per image (prefixed with "
                     "the path when there are several). Confidence is the product of the per-character "
                     "probabilities, end-of-line included. Exit status: 0 all read, 1 some failed, 2 usage error.")
    p.epilog = ("examples:\n  fastocr recognize line.png\n  fastocr recognize scans/ --json > out.jsonl\n"
                "  fastocr recognize img.jpg --encoder encoder.pth --decoder decoder.pth --alphabet char_std_5990.txt")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or directories to search for images")
    add_model_args(p)
    p.add_argument("--beam-size", "-k", type=beam_width, default=1,
                   help=f"beam width, 1 to {MAX_BEAM}; 1 = greedy, as the original (default 1)")
    p.add_argument("--num-hypotheses", "-n", type=positive_int, default=1,
                   help="n-best entries to print per image (<= beam)")
    p.add_argument("--length-penalty", type=float, default=0.0,
                   help="alpha >= 0 in score = log p / length**alpha; 0 ranks by probability, larger favours "
                        "longer readings (default 0)")
    p.add_argument("--batch-size", "-b", type=positive_int, default=64, help="images per forward pass (default 64)")
    p.add_argument("--max-len", type=positive_int, default=None,
                   help="decode steps per line (default: the model's: 20 for original checkpoints, 81 for the "
                        "bundled model)")
    add_vocabulary_args(p)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--threads", type=non_negative_int, default=0,
                   help="CPU threads for torch (default 0: torch's choice)")
    p.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines) on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rec = load_recognizer(args)
    paths = expand_inputs(args.images)
    if not paths:
        raise FastOCRError(f"no image files in {', '.join(args.images)}")
    results = rec.recognize(
        paths, beam_size=args.beam_size, num_hypotheses=args.num_hypotheses,
        length_penalty=args.length_penalty, batch_size=args.batch_size, max_len=args.max_len,
        vocabulary=vocabulary_from(args), vocabulary_bonus=args.vocabulary_bonus,
        progress=not args.no_progress and len(paths) > args.batch_size and sys.stderr.isatty(),
    )
    for r in results:
        if args.json:
            print(json.dumps(r.to_dict(), ensure_ascii=False))
        elif r.error:
            print(f"{r.source}: error: {r.error}", file=sys.stderr)
        else:
            prefix = f"{r.source}: " if len(results) > 1 else ""
            print(f"{prefix}{r.text} => {r.confidence}")
            for c in r.candidates[1:]:
                print(f"{' ' * len(prefix)}  alt: {c.text} => {c.confidence} (score {c.score:.4f})")
    failed = sum(not r.ok for r in results)
    if failed:
        print(f"fastocr recognize: {failed} of {len(results)} images failed", file=sys.stderr)
    return 1 if failed else 0
