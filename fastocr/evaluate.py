"""``fastocr eval LIST``: accuracy of a model on a labelled list (exact, case-insensitive alphanumeric, CER)."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from . import vocabulary
from .argtypes import beam_width, non_negative_int, output_file, positive_int
from .checkpoint import atomic_write_bytes
from .data import read_label_list
from .errors import FastOCRError
from .metrics import alnum_lower, by_confidence, score


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
    vocabulary.add_arguments(p)
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--plot", metavar="PNG", type=output_file,
                   help="draw how accuracy rises as low-confidence lines are set aside (accuracy against coverage) "
                        "and whether confidence matches accuracy (reliability), to choose a confidence threshold")
    p.add_argument("--errors", metavar="FILE", type=output_file,
                   help="write the misread lines (exact match) to FILE: 'path<TAB>label<TAB>read', an unreadable "
                        "image's read column empty")


def run(args: argparse.Namespace) -> int:
    from .recognizer import Recognizer

    items = read_label_list(args.list)
    if not items:
        raise FastOCRError(f"{args.list}: no labelled lines to evaluate")
    if args.limit:
        items = items[: args.limit]
    rec = Recognizer.load(args.model, device=args.device, precision=args.precision)
    results = rec.recognize([p for p, _ in items], beam_size=args.beam_size, batch_size=args.batch_size,
                            max_len=args.max_len, vocabulary=vocabulary.from_args(args),
                            vocabulary_bonus=args.vocabulary_bonus, progress=sys.stderr.isatty())
    preds, labels, confidences = [r.text for r in results], [label for _, label in items], [r.confidence for r in results]
    report = score(preds, labels)
    report["by_confidence"] = by_confidence(preds, labels, confidences)
    report["unreadable"] = [r.source for r in results if not r.ok]
    if args.plot:
        where = Path(args.list)
        plot_confidence(preds, labels, confidences, report["by_confidence"], args.plot,
                        title=f"{where.parent.name}/{where.name}, {len(items)} lines")
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.errors:
        atomic_write_bytes(args.errors, "".join(f"{path}\t{label}\t{r.text}\n" for (path, label), r
                                                in zip(items, results) if r.text != label or not r.ok).encode())
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_report(report, args.list)
    unreadable = report["unreadable"]
    if unreadable:
        print(f"fastocr eval: {len(unreadable)} of {len(items)} images could not be read (scored as empty "
              f"readings): {', '.join(unreadable[:3])}{' ...' if len(unreadable) > 3 else ''}", file=sys.stderr)
        return 1
    return 0


def _print_report(report: dict, list_path: str) -> None:
    print(f"{report['count']} lines from {list_path}")
    print(f"exact match           {report['exact']:.4f}")
    print(f"exact (ci, alnum)     {report['exact_alnum_ci']:.4f}")
    print(f"character error rate  {report['cer']:.4f}")
    print("by label length: " + ", ".join(f"{k}: {v['exact']:.3f} (n={v['count']}, CER {v['cer']:.3f})"
                                          for k, v in report["by_length"].items()))
    print("keeping lines of confidence >= t: " + "; ".join(
        f"{r['min_confidence']}: {r['coverage']:.1%} of lines, {r['exact']:.1%} exact" for r in report["by_confidence"]
        if r["count"]))
    print("top confusions (expected -> got): " + ", ".join(
        f"{c['expected'] or '∅'!r}->{c['got'] or '∅'!r} x{c['count']}" for c in report["confusions"]))


def plot_confidence(preds: list[str], labels: list[str], confidences: list[float], rows: list[dict],
                    path: str | Path, title: str = "") -> None:
    """Two panels: the accuracy of the most confident lines (exact, and case-insensitive alphanumeric) against the
    share of lines kept, with the exact match of ``rows`` (``by_confidence``'s thresholds) marked; and a
    reliability diagram (exact match per tenth of the confidence range)."""
    from .plots import pyplot, save_png

    plt = pyplot()
    order = sorted(range(len(preds)), key=lambda i: -confidences[i])
    kept = range(1, len(order) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for same, label, style in ((lambda p, g: p == g, "exact", "-"),
                               (lambda p, g: alnum_lower(p) == alnum_lower(g), "case-insensitive alphanumeric", "--")):
        hits = itertools.accumulate(same(preds[i], labels[i]) for i in order)
        ax1.plot([k / len(order) for k in kept], [h / k for h, k in zip(hits, kept)], style, color="C0", label=label)
    for row in rows:
        if row["count"]:
            ax1.plot(row["coverage"], row["exact"], "o", color="C1")
            ax1.annotate(f"≥{row['min_confidence']}", (row["coverage"], row["exact"]), textcoords="offset points",
                         xytext=(4, -12), fontsize=8)
    ax1.set(xlabel="share of lines kept (most confident first)", ylabel="match of the kept lines",
            title=f"accuracy against coverage{': ' + title if title else ''}", xlim=(0, 1.02))
    ax1.grid(alpha=0.3)
    ax1.legend(loc="lower left", fontsize=8)
    bins = [[] for _ in range(10)]
    for c, ok in zip(confidences, (p == g for p, g in zip(preds, labels))):
        bins[min(9, int(c * 10))].append(ok)
    centres = [(b + 0.5) / 10 for b in range(10) if bins[b]]
    ax2.bar(centres, [sum(v) / len(v) for v in bins if v], width=0.09, label="exact match of the lines in the bin")
    for x, v in zip(centres, (v for v in bins if v)):
        ax2.annotate(str(len(v)), (x, 0.02), ha="center", fontsize=8, color="white")
    ax2.plot([0, 1], [0, 1], "--", color="gray", label="confidence = accuracy")
    ax2.set(xlabel="confidence", ylabel="exact match", title="reliability (line counts in the bars)",
            xlim=(0, 1), ylim=(0, 1))
    ax2.legend(loc="upper left", fontsize=8)
    save_png(fig, path)
