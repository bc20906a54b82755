"""``fastocr export``: a model as ONNX graphs, for ONNX Runtime here or any ONNX runtime elsewhere, or in the
original project's layout (encoder.pth, decoder.pth, alphabet file) for its own code."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import FastOCRError
from ..files import expand_inputs
from .args import output_dir, positive_int

HELP = "export a model as ONNX graphs (and an int8 encoder), or as the original's encoder.pth/decoder.pth"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Write a model as ONNX graphs into a folder: encoder.onnx (images -> encoder outputs), decoder_step.onnx "
        "(one decoder step; dynamic batch and width) and fastocr-onnx.json (alphabet, preprocessing, decoding "
        "loop). `fastocr recognize --model FOLDER` and Recognizer.load(FOLDER) read it with ONNX Runtime "
        "(pip install 'fastocr[onnx]'); docs/onnx.md shows the loop for other runtimes. --int8 adds "
        "encoder.int8.onnx, its convolutions quantized with activation ranges measured on text lines. --original "
        "writes encoder.pth, decoder.pth and alphabet.txt in the original project's layout instead, for its "
        "inference.py and training code (models with the original's fixed-slot attention).")
    p.epilog = ("examples:\n  fastocr export --onnx en-onnx/                 # the bundled model\n"
                "  fastocr export model.safetensors --onnx out/ --int8\n"
                "  fastocr export --encoder encoder.pth --decoder decoder.pth --alphabet char_std_5990.txt "
                "--onnx zh-onnx/\n"
                "  fastocr recognize line.png --model en-onnx/ --precision int8\n"
                "  fastocr export zh.safetensors --original zh-original/")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("model", nargs="?", metavar="MODEL", help="a fastocr model file (default: the bundled model)")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--onnx", type=output_dir, metavar="FOLDER", help="folder to write the graphs into (created if "
                                                                        "missing)")
    to.add_argument("--original", type=output_dir, metavar="FOLDER",
                    help="folder to write encoder.pth, decoder.pth and alphabet.txt into, as the original project "
                         "saves and reads them")
    p.add_argument("--int8", action="store_true", help="also write an int8 encoder (static quantization)")
    p.add_argument("--calibration", nargs="+", metavar="IMAGE",
                   help="with --int8: line images (or folders of them) to measure activation ranges on, like "
                        "those to be read (default: lines rendered by fastocr.train.synth)")
    p.add_argument("--calibration-lines", type=positive_int, default=256, metavar="N",
                   help="with --int8 and no --calibration: rendered lines to calibrate on (default 256)")
    g = p.add_argument_group("the original project's checkpoints (instead of MODEL)")
    g.add_argument("--encoder", help="encoder.pth")
    g.add_argument("--decoder", help="decoder.pth")
    g.add_argument("--alphabet", help="the alphabet file, one character per line (char_std_5990.txt)")


def _rendered_lines(charset: str, count: int) -> list:
    from ..train.synth import SyntheticLines

    lines = SyntheticLines(charset, count, seed=0)
    return [lines[i][0] for i in range(count)]


def run(args: argparse.Namespace) -> int:
    from ..engine import Recognizer

    if args.calibration and not args.int8:
        raise FastOCRError("--calibration goes with --int8")
    if args.original and args.int8:
        raise FastOCRError("--int8 goes with --onnx")
    if any([args.encoder, args.decoder, args.alphabet]):
        if not all([args.encoder, args.decoder, args.alphabet]) or args.model:
            raise FastOCRError("--encoder, --decoder and --alphabet go together, instead of MODEL")
        rec = Recognizer.from_original(args.encoder, args.decoder, args.alphabet, device="cpu")
    else:
        rec = Recognizer.load(args.model, device="cpu")
    if args.original:
        return _write_original(rec, args.original)
    calibration = None
    if args.int8:
        calibration = (expand_inputs(args.calibration) if args.calibration
                       else _rendered_lines(rec.alphabet.chars, args.calibration_lines))
        if not calibration:
            raise FastOCRError(f"no image files in {', '.join(args.calibration)}")
    out = rec.export_onnx(args.onnx, int8_calibration=calibration)
    for f in sorted(Path(out).iterdir()):
        print(f"{f}  {f.stat().st_size / 2**20:.1f} MiB")
    return 0


def _write_original(rec, folder) -> int:
    paths = rec.export_original(folder)
    for f in paths.values():
        print(f"{f}  {f.stat().st_size / 2**20:.1f} MiB")
    width, slots = rec.model.config.img_width, rec.model.config.img_width // 4 + 1
    print(f"the original reads it with: python inference.py --encoder {paths['encoder']} --decoder "
          f"{paths['decoder']} --img_width {width} --max_width {slots} --img_path LINE.jpg "
          f"with {paths['alphabet']} in place of its data/char_std_5990.txt (greedy, at most 20 steps)")
    return 0
