"""``fastocr synth``: render a synthetic text-line dataset to disk (``fastocr.train.synth``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import FastOCRError
from .args import input_file, non_negative_int, output_dir, positive_int

HELP = "render a synthetic text-line dataset"


def _charset_arg(value: str) -> str:
    return value if value == "ascii" else input_file(value)


def _kinds_arg(value: str) -> tuple[str, ...]:
    from ..train.chinese import ChineseText

    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    if not kinds or set(kinds) - set(ChineseText.KINDS):
        raise argparse.ArgumentTypeError(f"{value!r}: give kinds of line from {', '.join(ChineseText.KINDS)}")
    return kinds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the ``fastocr synth`` options (and a description with an example) to ``parser``."""
    parser.description = (
        "Render a synthetic text-line dataset: OUT_DIR/images/*.png, a label list, and OUT_DIR/fonts.tsv (the font "
        "file of each image, to break errors down by font: benchmarks/scripts/errors_by_font.py).\n\n"
        "example:\n  fastocr synth data/synth --count 100000 --seed 1 --format tsv\n"
        "  fastocr synth data/zh --count 5000 --charset char_std_5990.txt --format original\n"
        "  fastocr synth data/zh-test --count 1000 --charset char_std_5990.txt --corpus corpus.txt --held-out\n"
        "  fastocr synth data/zh-mixed --count 500 --charset char_std_5990.txt --corpus corpus.txt --held-out "
        "--kinds mixed")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("out_dir", type=output_dir, metavar="OUT_DIR", help="output directory (created if missing)")
    add("--count", type=positive_int, default=1000, help="number of lines to render (default: 1000)")
    add("--seed", type=non_negative_int, default=0, help="dataset seed >= 0; same seed, same images (default: 0)")
    add("--format", choices=("tsv", "original"), default="tsv",
        help="label list: labels.tsv ('path<TAB>label'), or labels.txt in the original project's "
             "'path label' format, whose labels never contain spaces (default: tsv)")
    add("--charset", type=_charset_arg, default="ascii", metavar="ascii|FILE",
        help="'ascii' (95 printable characters incl. space) or an alphabet file with one "
             "character per line, as the original project's (default: ascii)")
    add("--fonts", type=Path, action="append", metavar="DIR",
        help="use every usable font under DIR instead of the system fonts (repeatable)")
    add("--words", type=input_file, metavar="FILE", help="vocabulary file, whitespace-separated words")
    add("--corpus", type=input_file, action="append", metavar="FILE",
        help="text whose sentences label the lines of a CJK --charset (repeatable), as `fastocr train --corpus`")
    add("--held-out", action="store_true",
        help="with --corpus: only the sentences that training holds out (one in 50, by a hash of its text), so "
             "the lines make a test set for a model trained with the same --corpus")
    add("--kinds", type=_kinds_arg, metavar="K[,K...]",
        help="with --corpus: only these kinds of line, of piece (a corpus piece), words (dictionary words run "
             "together), mixed (with numbers, dates, prices, Latin words), rare (around a rare character) "
             "(default: all, as training draws them)")
    add("--no-augment", action="store_true", help="clean renders: no blur, noise, warps or JPEG")
    add("--max-len", type=positive_int, default=24, help="maximum label length (default: 24)")
    add("--height", type=positive_int, default=32, help="nominal line height in pixels (default: 32)")


def run(args: argparse.Namespace) -> int:
    """Runs ``fastocr synth``; returns the process exit code."""
    from ..engine.vocabulary import load_words
    from ..train.synth import ASCII_CHARSET, TextSampler, find_fonts, load_charset, write_dataset

    try:
        charset = ASCII_CHARSET if args.charset == "ascii" else load_charset(args.charset)
        words = list(load_words(args.words)) if args.words else None
        fonts = None
        if args.fonts:
            script = "cjk" if TextSampler(charset, 0).is_cjk else "latin"
            fonts = find_fonts(script, roots=args.fonts)
        if (args.held_out or args.kinds) and not args.corpus:
            raise FastOCRError("--held-out and --kinds choose among --corpus lines: give --corpus FILE")
        corpus = None
        if args.corpus:
            from ..train.chinese import held_out, read_corpus

            corpus = held_out(read_corpus(args.corpus, charset))[1 if args.held_out else 0]
        path = write_dataset(args.out_dir, args.count, charset, args.seed, args.format, fonts=fonts,
                             words=words, augment=not args.no_augment, height=args.height,
                             max_len=args.max_len, corpus=corpus, kinds=args.kinds)
    except (OSError, RuntimeError, ValueError) as e:  # unreadable alphabet or words, no usable font, a full disk
        raise FastOCRError(str(e)) from e
    print(f"wrote {args.count} images to {Path(args.out_dir) / 'images'} and labels to {path}")
    return 0
