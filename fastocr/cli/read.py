"""``fastocr read``: whole pages and photos: find the text lines, read them, print them in reading order."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..engine.preprocess import load_rgb
from ..errors import FastOCRError
from ..files import atomic_write_bytes, expand_inputs
from ..ops import MAX_BEAM
from ..page import DetectorOptions, PageOptions
from ..page.draw import save_drawing
from ..page.formats import FORMATS, SUFFIXES, write
from ..page.reader import WHITE
from .args import (
    add_model_args,
    add_vocabulary_args,
    beam_width,
    non_negative_int,
    positive_int,
    vocabulary_from,
)

HELP = "read whole pages and photos (find the lines, read them in order)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Find the text lines of each image (the PP-OCRv4 detector, run with ONNX Runtime), cut each upright, read "
        "them all in one batch, and print each page's lines in reading order: columns left to right, each top "
        "to bottom. Pages turned upside down or on their side are read turned back. Needs the [page] extra: "
        "pip install 'fastocr[page]'. Exit status: 0 all read, 1 some pages failed, 2 usage error.")
    p.epilog = ("examples:\n  fastocr read page.png --format text\n  fastocr read scans/ --out ocr/ --format hocr\n"
                "  fastocr read receipt.jpg --draw boxes.png\n  fastocr read photo.jpg --beam-size 5 "
                "--vocabulary /usr/share/dict/words")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or directories to search for images")
    p.add_argument("--format", "-f", choices=FORMATS, default="json",
                   help="json: one object per page (JSON Lines: text, lines with polygons, confidences, "
                        "per-character probabilities); text: the pages' text, pages split by a form feed; hocr, "
                        "alto: one XML document holding every page (default json)")
    p.add_argument("--out", "-o", metavar="DIR",
                   help="write one file per page into DIR (IMAGE-NAME.json/.txt/.hocr/.xml) instead of stdout")
    p.add_argument("--draw", metavar="PNG",
                   help="draw the lines and their texts over the page into this image file (a folder when there "
                        "are several pages)")
    add_model_args(p)
    g = p.add_argument_group("pages")
    g.add_argument("--max-side", type=positive_int, default=PageOptions.max_side,
                   help=f"pages with a longer side are shrunk to it first, and the output says so (default "
                        f"{PageOptions.max_side})")
    g.add_argument("--detect-side", type=positive_int, default=DetectorOptions.detect_side,
                   help=f"long side the detector sees; lines are still cut from the full page (default "
                        f"{DetectorOptions.detect_side})")
    g.add_argument("--box-threshold", type=float, default=DetectorOptions.box_threshold,
                   help=f"mean text probability a box needs to count as a line, 0-1 (default "
                        f"{DetectorOptions.box_threshold})")
    g.add_argument("--no-orientation", action="store_true",
                   help="do not check for pages turned upside down (saves the line classifier's time)")
    p.add_argument("--beam-size", "-k", type=beam_width, default=1,
                   help=f"beam width per line, 1 to {MAX_BEAM}; 1 = greedy (default 1)")
    add_vocabulary_args(p)
    p.add_argument("--batch-size", "-b", type=positive_int, default=64, help="lines per forward pass (default 64)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... for the recognizer (default: cuda if "
                   "available; the detector runs on the CPU)")
    p.add_argument("--threads", type=non_negative_int, default=0,
                   help="CPU threads for torch and the detector (default 0: their choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _names(paths: list[str], suffix: str) -> list[str]:
    """One output file name per input: its stem (numbered where two inputs share one) and ``suffix``."""
    names, seen = [], {}
    for path in paths:
        stem = Path(path).stem
        seen[stem] = seen.get(stem, 0) + 1
        names.append(f"{stem}{'' if seen[stem] == 1 else '-' + str(seen[stem])}{suffix}")
    return names


def run(args: argparse.Namespace) -> int:
    import torch

    from ..page import Detector
    from .args import load_recognizer

    if args.threads:
        torch.set_num_threads(args.threads)
    paths = expand_inputs(args.images)
    if not paths:
        raise FastOCRError(f"no image files in {', '.join(args.images)}")
    detector = Detector(DetectorOptions(detect_side=args.detect_side, box_threshold=args.box_threshold,
                                        threads=args.threads or None))
    rec = load_recognizer(args)
    pages = rec.read(paths, detector=detector,
                     options=PageOptions(max_side=args.max_side, orientation=not args.no_orientation),
                     progress=not args.no_progress and len(paths) > 1 and sys.stderr.isatty(),
                     beam_size=args.beam_size, batch_size=args.batch_size, vocabulary=vocabulary_from(args),
                     vocabulary_bonus=args.vocabulary_bonus)
    good = [p for p in pages if p.ok]
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for page, name in zip(pages, _names(paths, SUFFIXES[args.format])):
            if page.ok:
                atomic_write_bytes(out / name, write([page], args.format).encode("utf-8"))
    elif good:
        sys.stdout.write(write(good, args.format))
    if args.draw:
        targets = [Path(args.draw)] if len(paths) == 1 else [Path(args.draw) / n for n in _names(paths, ".png")]
        targets[0].parent.mkdir(parents=True, exist_ok=True)
        for page, target in zip(pages, targets):
            if page.ok:
                save_drawing(page, load_rgb(page.source, page.source, WHITE), target)
    for page in pages:
        for note in page.notes:
            print(f"{page.source}: note: {note}", file=sys.stderr)
        if page.error:
            print(f"{page.source}: error: {page.error}", file=sys.stderr)
    failed = len(pages) - len(good)
    if failed:
        print(f"fastocr read: {failed} of {len(pages)} pages failed", file=sys.stderr)
    return 1 if failed else 0
