"""``fastocr eval LIST``: accuracy of a model on a labelled list (exact, case-insensitive alphanumeric, CER)."""

from __future__ import annotations

import argparse
import json
import sys

from . import vocabulary
from .checkpoint import atomic_write_bytes
from .data import read_label_list
from .metrics import score


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Recognise every image of a label list ('path<TAB>label' or the original 'path label') and "
                     "report exact match (case-sensitive), case-insensitive alphanumeric exact match (the usual "
                     "scene-text protocol), character error rate, accuracy by label length and the most frequent "
                     "confusions.")
    p.epilog = ("examples:\n  fastocr eval ../shared/data/real_dev/labels.tsv --model en.safetensors --json\n"
                "  fastocr eval heldout/labels.tsv --errors heldout-errors.tsv")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("list", metavar="LIST", help="label list file")
    p.add_argument("--model", "-m", help="fastocr model file (default: the bundled model)")
    p.add_argument("--beam-size", "-k", type=int, default=1, help="beam width (default 1: greedy)")
    p.add_argument("--batch-size", "-b", type=int, default=64, help="images per forward pass (default 64)")
    p.add_argument("--limit", type=int, default=0, help="only the first N items (default: all)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32",
                   help="compute precision (see `fastocr recognize --help`; default fp32)")
    p.add_argument("--max-len", type=int, default=None,
                   help="decode steps per line (default: the model's; lines longer than it are cut)")
    vocabulary.add_arguments(p)
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--errors", metavar="FILE",
                   help="write the misread lines (exact match) to FILE: 'path<TAB>label<TAB>read', an unreadable "
                        "image's read column empty")


def run(args: argparse.Namespace) -> int:
    from .recognizer import Recognizer

    items = read_label_list(args.list)
    if args.limit:
        items = items[: args.limit]
    rec = Recognizer.load(args.model, device=args.device, precision=args.precision)
    results = rec.recognize([p for p, _ in items], beam_size=args.beam_size, batch_size=args.batch_size,
                            max_len=args.max_len, vocabulary=vocabulary.from_args(args),
                            vocabulary_bonus=args.vocabulary_bonus, progress=sys.stderr.isatty())
    report = score([r.text for r in results], [label for _, label in items])
    report["unreadable"] = [r.source for r in results if not r.ok]
    if args.errors:
        atomic_write_bytes(args.errors, "".join(f"{path}\t{label}\t{r.text}\n" for (path, label), r
                                                in zip(items, results) if r.text != label or not r.ok).encode())
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"{report['count']} lines from {args.list}")
    print(f"exact match           {report['exact']:.4f}")
    print(f"exact (ci, alnum)     {report['exact_alnum_ci']:.4f}")
    print(f"character error rate  {report['cer']:.4f}")
    print("by label length: " + ", ".join(f"{k}: {v['exact']:.3f} (n={v['count']}, CER {v['cer']:.3f})"
                                          for k, v in report["by_length"].items()))
    print("top confusions (expected -> got): " + ", ".join(
        f"{c['expected'] or '∅'!r}->{c['got'] or '∅'!r} x{c['count']}" for c in report["confusions"]))
    if report["unreadable"]:
        print(f"{len(report['unreadable'])} unreadable images", file=sys.stderr)
    return 0
