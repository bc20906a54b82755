"""What the commands share: argparse types (a bad number or path is a usage error, exit 2, that names the option,
found before any work starts: not a traceback, nor an output that cannot be written after an hour of work), the
model and vocabulary options, and turning parsed flags into the library's typed options."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from ..engine.options import check_beam_size
from ..engine.vocabulary import DEFAULT_BONUS, Vocabulary
from ..errors import FastOCRError, OptionError


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None


def positive_int(value: str) -> int:
    n = _int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def non_negative_int(value: str) -> int:
    n = _int(value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {n}")
    return n


def beam_width(value: str) -> int:
    try:
        return check_beam_size(_int(value))
    except OptionError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("beam_size ")) from None


def output_file(value: str) -> str:
    """A file to write: its folder must exist and it must not be a folder itself."""
    p = Path(value)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"folder {parent} is not writable")
    return value


def output_dir(value: str) -> str:
    """A folder to write into (created if missing): it must not be an existing file."""
    if Path(value).exists() and not Path(value).is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a file, not a folder")
    return value


def input_file(value: str) -> str:
    """A file to read: it must exist and be a file."""
    p = Path(value)
    if not p.exists():
        raise argparse.ArgumentTypeError(f"no such file: {value}")
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder, not a file")
    return value


def options_from(cls, args: argparse.Namespace):
    """A typed options dataclass (``TrainOptions``, ...) from the parsed flags of the same names."""
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})


def add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model (default: the bundled model)")
    g.add_argument("--model", "-m", help="a bundled model by name (en: English, the default; zh: Chinese, the "
                   "original alphabet; `fastocr info` lists those installed), a fastocr model file (.safetensors), "
                   "e.g. made by `fastocr convert`, or a folder made by `fastocr export --onnx` (read with ONNX "
                   "Runtime)")
    g.add_argument("--encoder", help="the original project's encoder.pth (with --decoder and --alphabet)")
    g.add_argument("--decoder", help="the original project's decoder.pth")
    g.add_argument("--alphabet", help="the original alphabet file, one character per line (char_std_5990.txt)")
    g.add_argument("--backend", choices=["torch", "onnxruntime"], default=None,
                   help="torch (default for model files), or onnxruntime: the same decoding on ONNX Runtime's CPU "
                        "kernels (default for exported folders; a model file is exported in memory first); needs "
                        "pip install 'fastocr[onnx]'")
    g.add_argument("--precision", choices=["fp32", "bf16", "fp16", "int8"], default="fp32",
                   help="fp32: results as the original's (default); bf16: ~2x faster encoder on CUDA and CPUs with "
                        "native bf16, rare differences in close calls; fp16: CUDA only; int8: onnxruntime with an "
                        "exported folder made with --int8 (about 1.5x faster on CPU)")
    g.add_argument("--background", metavar="COLOUR", default=None,
                   help="lay transparent images over this colour before reading (e.g. white: dark text on a "
                        "transparent PNG); default: alpha dropped, as the original did")


def load_recognizer(args: argparse.Namespace):
    """The Recognizer that ``add_model_args``' flags name (and --device, --cuda-graphs where a command has them)."""
    from ..engine import Recognizer

    options = {"precision": getattr(args, "precision", "fp32"), "cuda_graphs": getattr(args, "cuda_graphs", False),
               "background": getattr(args, "background", None), "backend": getattr(args, "backend", None)}
    originals = [args.encoder, args.decoder, args.alphabet]
    if any(originals):
        if not all(originals):
            raise FastOCRError("--encoder, --decoder and --alphabet go together (the original model's files)")
        if args.model:
            raise FastOCRError("give either --model or --encoder/--decoder/--alphabet, not both")
        return Recognizer.from_original(args.encoder, args.decoder, args.alphabet, device=args.device, **options)
    return Recognizer.load(args.model, device=args.device, **options)


def add_vocabulary_args(p: argparse.ArgumentParser) -> None:
    """``--vocabulary`` and ``--vocabulary-bonus``, for the commands that recognise (recognize, eval)."""
    p.add_argument("--vocabulary", metavar="FILE",
                   help="known words (whitespace-separated, e.g. /usr/share/dict/words): among the beam's "
                        "hypotheses, readings made of them (or of numbers) are preferred; needs --beam-size >= 2")
    p.add_argument("--vocabulary-bonus", type=float, default=DEFAULT_BONUS, metavar="B",
                   help=f"log-probability such a reading is worth (default {DEFAULT_BONUS}, chosen on real scene "
                        "words)")


def vocabulary_from(args: argparse.Namespace) -> Vocabulary | None:
    return Vocabulary.from_file(args.vocabulary) if args.vocabulary else None
