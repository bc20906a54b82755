"""The ``fastocr`` command line: one module per command, each with ``HELP``, ``add_arguments`` and ``run``.

The only place that knows argparse: commands turn flags into the library's typed calls.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import FastOCRError
from . import bench, convert, eval, export, info, ray, read, recognize, serve, split, synth, train

# (command, module): the order of `fastocr --help`
COMMANDS = (("recognize", recognize), ("read", read), ("convert", convert), ("export", export), ("info", info), ("bench", bench),
            ("ray-recognize", ray), ("serve", serve), ("eval", eval), ("train", train), ("synth", synth), ("split", split))


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="fastocr",
        description="Fast text-line OCR (the crnn_seq2seq_ocr_pytorch recognizer). "
        "Run `fastocr COMMAND --help` for each command.",
    )
    parser.add_argument("--version", action="version", version=f"fastocr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS:
        p = sub.add_parser(name, help=module.HELP)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FastOCRError as e:
        print(f"fastocr {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a file fastocr had to read or write (a full disk, a permission): no traceback
        print(f"fastocr {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
