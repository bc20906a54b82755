"""``fastocr eval``: accuracy of a model on a labelled list (``fastocr.train.evaluate``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import FastOCRError
from .args import (
    add_vocabulary_args,
    beam_width,
    non_negative_int,
    output_file,
    positive_int,
    vocabulary_from,
)

HELP = "measure accuracy on a labelled list"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Recognise every image of a label list ('path<TAB>label' or the original 'path label') and "
                     "report exact match (case-sensitive), case-insensitive alphanumeric exact match (the usual "
                     "scene-text protocol), character error rate, accuracy by label length and the most frequent "
                     "confusions.")
    p.epilog = ("examples:\n  fastocr eval ../shared/data/real_dev/labels.tsv --model en.safetensors --json\n"
                "  fastocr eval heldout/labels.tsv --errors heldout-errors.tsv\n"
                "  fastocr eval heldout/labels.tsv --plot confidence.png   # choose a confidence threshold")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("list", metavar="LIST", help="label list file (exit status 1 when some of its images cannot be read)")
    p.add_argument("--model", "-m", help="fastocr model file (default: the bundled model)")
    p.add_argument("--beam-size", "-k", type=beam_width, default=1, help="beam width (default 1: greedy)")
    p.add_argument("--batch-size", "-b", type=positive_int, default=64, help="images per forward pass (default 64)")
    p.add_argument("--limit", type=non_negative_int, default=0, help="only the first N items (default 0: all)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32",
                   help="compute precision (see `fastocr recognize --help`; default fp32)")
    p.add_argument("--max-len", type=positive_int, default=None,
                   help="decode steps per line (default: the model's; lines longer than it are cut)")
    add_vocabulary_args(p)
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--plot", metavar="PNG", type=output_file,
                   help="draw how accuracy rises as low-confidence lines are set aside (accuracy against coverage) "
                        "and whether confidence matches accuracy (reliability), to choose a confidence threshold")
    p.add_argument("--errors", metavar="FILE", type=output_file,
                   help="write the misread lines (exact match) to FILE: 'path<TAB>label<TAB>read', an unreadable "
                        "image's read column empty")


def run(args: argparse.Namespace) -> int:
    from ..engine import Recognizer
    from ..train.data import read_label_list
    from ..train.evaluate import evaluate_items, plot_confidence, print_report, write_errors

    items = read_label_list(args.list)
    if not items:
        raise FastOCRError(f"{args.list}: no labelled lines to evaluate")
    if args.limit:
        items = items[: args.limit]
    rec = Recognizer.load(args.model, device=args.device, precision=args.precision)
    report, results = evaluate_items(rec, items, progress=sys.stderr.isatty(), beam_size=args.beam_size,
                                     batch_size=args.batch_size, max_len=args.max_len,
                                     vocabulary=vocabulary_from(args), vocabulary_bonus=args.vocabulary_bonus)
    if args.plot:
        where = Path(args.list)
        plot_confidence([r.text for r in results], [label for _, label in items], [r.confidence for r in results],
                        report["by_confidence"], args.plot, title=f"{where.parent.name}/{where.name}, {len(items)} lines")
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.errors:
        write_errors(args.errors, items, results)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report, args.list)
    unreadable = report["unreadable"]
    if unreadable:
        print(f"fastocr eval: {len(unreadable)} of {len(items)} images could not be read (scored as empty "
              f"readings): {', '.join(unreadable[:3])}{' ...' if len(unreadable) > 3 else ''}", file=sys.stderr)
        return 1
    return 0
