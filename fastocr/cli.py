"""The ``fastocr`` command line: recognize, convert, info, bench, eval, train, synth, split, ray-recognize."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import vocabulary
from .argtypes import MAX_BEAM, beam_width, non_negative_int, output_file, positive_int
from .errors import FastOCRError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pbm", ".pgm", ".ppm"}


def image_files(folder: str | Path) -> list[str]:
    """The image files (by suffix) under ``folder``, recursively, sorted."""
    return [str(f) for f in sorted(Path(folder).rglob("*")) if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()]


def _expand_inputs(inputs: list[str]) -> list[str]:
    """Files as given; directories become the image files inside them."""
    return [f for item in inputs for f in (image_files(item) if Path(item).is_dir() else [item])]


def _load_recognizer(args):
    from .recognizer import Recognizer

    originals = [args.encoder, args.decoder, args.alphabet]
    if any(originals):
        if not all(originals):
            raise FastOCRError("--encoder, --decoder and --alphabet go together (the original model's files)")
        if args.model:
            raise FastOCRError("give either --model or --encoder/--decoder/--alphabet, not both")
        return Recognizer.from_original(args.encoder, args.decoder, args.alphabet, device=args.device,
                                        precision=getattr(args, "precision", "fp32"),
                                        cuda_graphs=getattr(args, "cuda_graphs", False))
    return Recognizer.load(args.model, device=args.device, precision=getattr(args, "precision", "fp32"),
                           cuda_graphs=getattr(args, "cuda_graphs", False))


def _add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model (default: the bundled model)")
    g.add_argument("--model", "-m", help="a fastocr model file (.safetensors), e.g. made by `fastocr convert`")
    g.add_argument("--encoder", help="the original project's encoder.pth (with --decoder and --alphabet)")
    g.add_argument("--decoder", help="the original project's decoder.pth")
    g.add_argument("--alphabet", help="the original alphabet file, one character per line (char_std_5990.txt)")
    g.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32",
                   help="fp32: results as the original's (default); bf16: ~2x faster encoder on CUDA and CPUs with "
                        "native bf16, rare differences in close calls; fp16: CUDA only")


def cmd_recognize(args) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rec = _load_recognizer(args)
    paths = _expand_inputs(args.images)
    if not paths:
        raise FastOCRError(f"no image files in {', '.join(args.images)}")
    results = rec.recognize(
        paths, beam_size=args.beam_size, num_hypotheses=args.num_hypotheses,
        length_penalty=args.length_penalty, batch_size=args.batch_size, max_len=args.max_len,
        vocabulary=vocabulary.from_args(args), vocabulary_bonus=args.vocabulary_bonus,
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


def cmd_convert(args) -> int:
    import torch

    from .recognizer import Recognizer

    rec = Recognizer.from_original(args.encoder, args.decoder, args.alphabet, device="cpu")
    rec.save(args.output, dtype=torch.float16 if args.fp16 else None)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size / 2**20:.1f} MiB, {len(rec.alphabet)} characters, {rec.config})")
    return 0


def cmd_info(args) -> int:
    from ._ext import backend_info

    print(json.dumps(backend_info(), indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastocr",
        description="Fast text-line OCR (the crnn_seq2seq_ocr_pytorch recognizer). "
        "Run `fastocr COMMAND --help` for each command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "recognize", help="read the text of line images",
        description="Recognise cropped text-line images and print `text => confidence` per image "
        "(prefixed with the path when there are several). Confidence is the product of the per-character "
        "probabilities, end-of-line included. Exit status: 0 all read, 1 some failed, 2 usage error.",
        epilog="examples:\n  fastocr recognize line.png\n  fastocr recognize scans/ --json > out.jsonl\n"
        "  fastocr recognize img.jpg --encoder encoder.pth --decoder decoder.pth --alphabet char_std_5990.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or directories to search for images")
    _add_model_args(p)
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
    vocabulary.add_arguments(p)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--threads", type=non_negative_int, default=0,
                   help="CPU threads for torch (default 0: torch's choice)")
    p.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines) on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_recognize)

    p = sub.add_parser(
        "convert", help="turn the original encoder.pth + decoder.pth into one fastocr model file",
        description="Load the original project's checkpoints (safely: tensors only) with their alphabet, "
        "check every shape, and write one .safetensors file holding config, alphabet and weights.",
        epilog="example:\n  fastocr convert --encoder encoder.pth --decoder decoder.pth "
        "--alphabet char_std_5990.txt -o chinese.safetensors",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--encoder", required=True, help="the original encoder.pth")
    p.add_argument("--decoder", required=True, help="the original decoder.pth")
    p.add_argument("--alphabet", required=True, help="the original alphabet file (char_std_5990.txt)")
    p.add_argument("--output", "-o", type=output_file, required=True,
                   help="the fastocr model file to write (.safetensors)")
    p.add_argument("--fp16", action="store_true", help="store weights in float16 (half the size)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser(
        "info", help="show the compiled extension, Triton and CUDA status",
        description="Print which fast paths this installation has, as JSON: the torch version, whether CUDA "
        "is available, whether the C++ extension (fastocr._C) and its CUDA part (fastocr._C_cuda) were built, "
        "and, when one is missing, the import error that explains why.",
        epilog="example:\n  fastocr info", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=cmd_info)

    from . import bench, data, distributed, evaluate, synth, train

    for name, module, help_text in (
        ("bench", bench, "measure decoding and end-to-end speed on this machine"),
        ("ray-recognize", distributed, "recognise many images with Ray Data (resumable)"),
        ("eval", evaluate, "measure accuracy on a labelled list"),
        ("train", train, "train a recognizer (label lists and/or synthetic lines)"),
        ("synth", synth, "render a synthetic text-line dataset"),
        ("split", data, "split a label list into training and held-out parts"),
    ):  # each module holds its options (add_arguments) and its command (run)
        p = sub.add_parser(name, help=help_text)
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


if __name__ == "__main__":
    sys.exit(main())
