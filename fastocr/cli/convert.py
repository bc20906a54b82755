"""``fastocr convert``: the original encoder.pth + decoder.pth as one fastocr model file."""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import output_file

HELP = "turn the original encoder.pth + decoder.pth into one fastocr model file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Load the original project's checkpoints (safely: tensors only) with their alphabet, check every "
                     "shape, and write one .safetensors file holding config, alphabet and weights.")
    p.epilog = ("example:\n  fastocr convert --encoder encoder.pth --decoder decoder.pth "
                "--alphabet char_std_5990.txt -o chinese.safetensors")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--encoder", required=True, help="the original encoder.pth")
    p.add_argument("--decoder", required=True, help="the original decoder.pth")
    p.add_argument("--alphabet", required=True, help="the original alphabet file (char_std_5990.txt)")
    p.add_argument("--output", "-o", type=output_file, required=True,
                   help="the fastocr model file to write (.safetensors)")
    p.add_argument("--fp16", action="store_true", help="store weights in float16 (half the size)")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..engine import Recognizer

    rec = Recognizer.from_original(args.encoder, args.decoder, args.alphabet, device="cpu")
    rec.save(args.output, dtype=torch.float16 if args.fp16 else None)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size / 2**20:.1f} MiB, {len(rec.alphabet)} characters, {rec.config})")
    return 0
