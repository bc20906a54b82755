"""``fastocr bench``: measure decoding and end-to-end speed on this machine (the measuring lives in
``fastocr.bench``; this is the command around it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from ..bench import (
    PROVIDERS,
    Unavailable,
    decoder_model,
    decoder_workload,
    end_to_end_workload,
    load_json,
    machine_info,
    markdown,
    measure,
    noise_lines,
    plot,
    random_weight_recognizer,
    result,
    write_json,
)
from ..checkpoint import DEFAULT_MODEL
from ..errors import FastOCRError
from ..files import atomic_write_bytes, expand_inputs
from ..ops import MAX_BEAM
from .args import add_model_args, load_recognizer, non_negative_int, output_file, positive_int

HELP = "measure decoding and end-to-end speed on this machine"


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values


def _beams(text: str) -> list[int]:
    values = _ints(text)
    if max(values) > MAX_BEAM:
        raise argparse.ArgumentTypeError(f"beam sizes go up to {MAX_BEAM} (the beam-search extension's limit), "
                                         f"got {text!r}")
    return values


def _bench_images(args, rec, random_weights: bool) -> list:
    """The user's images, or ``--count`` synthetic lines in the model's alphabet (noise if no font draws it)."""
    if args.images:
        paths = expand_inputs(args.images)
        if not paths:
            raise FastOCRError("no image files found in the given --images paths")
        return paths
    from ..train.synth import SyntheticLines

    if not random_weights:
        try:
            lines = SyntheticLines(rec.alphabet.chars, args.count, seed=0)
            return [lines[i][0] for i in range(args.count)]
        except (RuntimeError, ValueError):  # no usable font for this alphabet
            pass
    return noise_lines(args.count)


def _recognizer(args):
    """(the recognizer to time, whether it has random weights: --random-weights, or no model given and none
    bundled)."""
    if not args.random_weights and (args.model or args.encoder or DEFAULT_MODEL.exists()):
        return load_recognizer(args), False
    if args.model or args.encoder:
        raise FastOCRError("--random-weights times the original architecture: give no model with it")
    print("timing the original architecture (5,991 classes) with random weights on noise images", file=sys.stderr)
    return random_weight_recognizer(args.device, precision=args.precision, cuda_graphs=args.cuda_graphs), True


def _case_list(args) -> list[tuple]:
    cases = []
    # the original loop runs batch 1 whatever the batch size: once per suite, with the first batch's lines
    if "decoder" in args.suites:
        cases += [("decoder", "original", 1, args.batches[0])] * ("original" in args.providers)
        cases += [("decoder", p, k, b) for k in args.beams for b in args.batches for p in args.providers
                  if p != "original"]
    if "end-to-end" in args.suites:
        cases += [("end-to-end", "original", 1, 1)] * ("original" in args.providers)
        cases += [("end-to-end", "fastocr", k, b) for k in args.beams for b in args.batches]
    return cases


def run(args: argparse.Namespace) -> int:
    """Runs ``fastocr bench``; returns the exit status."""
    from tqdm import tqdm

    args = finish_args(args)

    if args.report:
        doc = load_json(args.report)
        _write_outputs(doc, args)
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    rec, random_weights = _recognizer(args)
    device = rec.device
    images = _bench_images(args, rec, random_weights) if "end-to-end" in args.suites else []
    dec_model = (decoder_model(rec.alphabet.num_classes, rec.config.replace(max_decode_len=args.steps), device)
                 if "decoder" in args.suites else None)
    results, original_texts = [], None
    for suite, provider, beam, batch in tqdm(_case_list(args), desc="bench", unit="case"):
        try:
            if suite == "decoder":
                fn = decoder_workload(provider, beam, batch, args.steps, dec_model, device)
                lines = batch
            else:
                fn = end_to_end_workload(provider, rec, images, beam, batch)
                lines = len(images)
        except Unavailable as e:
            tqdm.write(f"skipped {suite} {provider} beam={beam} batch={batch}: {e}")
            continue
        last = []
        stats = measure(fn, min_time=args.min_time, outputs=last)
        params = {"provider": provider} if provider == "original" else {"provider": provider, "beam": beam,
                                                                          "batch": batch}
        if suite == "decoder":
            params["steps"] = args.steps
            # the encoder columns attended to: a variable-width model's widest canvas (real lines use fewer)
            group = (f"decoder, {args.steps} steps, {rec.alphabet.num_classes} classes, "
                     f"{rec.config.num_slots} encoder columns")
        else:
            group = f"end to end, {len(images)} lines, {rec.config.attention} attention"
        results.append(result(group, f"{suite}[{provider}-k{beam}-b{batch}]", params, stats, lines))
        if suite == "end-to-end" and beam == 1:  # the greedy outputs must not depend on the provider
            out = last[0]
            texts = ([rec.alphabet.decode(o.tokens[0, : int(o.lengths[0])].tolist()) for o in out]
                     if provider == "original" else [r.text for r in out])
            if provider == "original":
                original_texts = texts
            elif original_texts is not None:
                differing = sum(a != b for a, b in zip(texts, original_texts, strict=True))
                results[-1]["extra_info"].update(identical_to_original=differing == 0, texts_differing=differing)
    doc = {"machine_info": machine_info(device), "benchmarks": results}
    write_json(args.out, results, device)
    print(f"wrote {args.out}", file=sys.stderr)
    _write_outputs(doc, args)
    return 0


def _write_outputs(doc: dict, args) -> None:
    table = markdown(doc)
    print(table)
    if args.markdown:
        atomic_write_bytes(Path(args.markdown), table.encode())
    if args.png:
        plot(doc, args.png)
        print(f"wrote {args.png}", file=sys.stderr)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Measure recognition speed on this machine: the decoder alone (providers: original = the original "
        "project's batch-1 loop, reference = batched pure PyTorch, extension = + the C++/CUDA beam search, "
        "kernels = + the Triton decoder step, CUDA only; graphs = the kernels replayed from CUDA graphs, greedy, "
        "CUDA only) over beam and batch sizes, and end to end (the "
        "original loop against fastocr on the same images, with greedy outputs compared). Writes JSON, and "
        "optionally a markdown table and a PNG plot; --report renders a JSON from here or from the "
        "pytest-benchmark suites in benchmarks/.")
    p.epilog = ("examples:\n  fastocr bench --quick\n"
                "  fastocr bench --images scans/ --suite end-to-end --beams 1,5 --png bench.png\n"
                "  fastocr bench --report bench.json --markdown bench.md --png bench.png")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    add_model_args(p)
    p.add_argument("--images", nargs="+", help="images (files or directories) for the end-to-end suite "
                   "(default: --count synthetic lines)")
    p.add_argument("--count", type=positive_int, default=256, help="synthetic lines when no --images (default 256)")
    p.add_argument("--random-weights", action="store_true",
                   help="time the original architecture (slot attention, 5,991 classes) with random weights "
                        "instead of the bundled model: every line runs all decode steps")
    p.add_argument("--cuda-graphs", action="store_true",
                   help="end to end: greedy decoding replayed from CUDA graphs (Recognizer(cuda_graphs=True))")
    p.add_argument("--suite", dest="suites", action="append", choices=["decoder", "end-to-end"],
                   help="which suite to run (repeatable; default both)")
    p.add_argument("--providers", type=lambda s: s.split(","), default=list(PROVIDERS),
                   help=f"decoder providers, comma-separated (default {','.join(PROVIDERS)}); without "
                        "'original', the end-to-end suite skips the original loop too")
    p.add_argument("--beams", type=_beams, default=[1, 5, 10], help=f"beam sizes, up to {MAX_BEAM} (default 1,5,10)")
    p.add_argument("--batches", type=_ints, default=[1, 16, 64, 256], help="batch sizes (default 1,16,64,256)")
    p.add_argument("--steps", type=positive_int, default=20, help="decoder steps per line (default 20, the original's)")
    p.add_argument("--quick", action="store_true", help="beams 1,5 and batches 1,64 only (overrides both)")
    p.add_argument("--min-time", type=float, default=0.5, help="seconds to repeat each case for (default 0.5)")
    p.add_argument("--device", default=None, help="cpu, cuda ... (default: cuda if available)")
    p.add_argument("--threads", type=non_negative_int, default=0, help="torch CPU threads (default 0: torch's choice)")
    p.add_argument("--out", type=output_file, default="fastocr-bench.json",
                   help="JSON results (default fastocr-bench.json)")
    p.add_argument("--markdown", type=output_file, help="also write the table as markdown to this file")
    p.add_argument("--png", type=output_file, help="also plot lines/s against batch size to this PNG")
    p.add_argument("--report", metavar="JSON", help="only render an existing results JSON (no measuring)")


def finish_args(args: argparse.Namespace) -> argparse.Namespace:
    """Applies defaults that depend on other options."""
    args.suites = args.suites or ["decoder", "end-to-end"]
    if args.quick:
        args.beams, args.batches = [1, 5], [1, 64]
    unknown = set(args.providers) - set(PROVIDERS)
    if unknown:
        raise FastOCRError(f"unknown providers {sorted(unknown)}; known: {', '.join(PROVIDERS)}")
    return args
