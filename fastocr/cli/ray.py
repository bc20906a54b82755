"""``fastocr ray-recognize``: recognise many images with Ray Data, resumable (``fastocr.engine.ray``)."""

from __future__ import annotations

import argparse
import sys

from .args import beam_width, output_dir, positive_int

HELP = "recognise many images with Ray Data (resumable)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Recognise many images with Ray Data: one Recognizer per actor, results written as Parquet "
                     "or JSON Lines (path, text, confidence, error) into OUTPUT. A rerun skips inputs already "
                     "in OUTPUT, so an interrupted job resumes. Needs: pip install 'fastocr[ray]'.")
    p.epilog = ("examples:\n  fastocr ray-recognize scans/ --output results/ --actors 2\n"
                "  fastocr ray-recognize s3://bucket/lines/ --output results/ --address auto --gpus-per-actor 1")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders, or URIs Ray Data reads")
    p.add_argument("--output", "-o", type=output_dir, required=True, help="output folder (created; reruns add to it)")
    p.add_argument("--model", "-m", help="fastocr model file (default: the bundled model)")
    p.add_argument("--format", choices=["parquet", "jsonl"], default="parquet", help="output format (default parquet)")
    p.add_argument("--actors", type=positive_int, default=None,
                   help="recognizer actors (default: as many as the cluster holds with one CPU left for reading)")
    p.add_argument("--gpus-per-actor", type=float, default=0.0, help="GPUs per actor, e.g. 1 (default 0: CPU)")
    p.add_argument("--cpus-per-actor", type=float, default=1.0,
                   help="CPUs reserved per actor; actors must leave a CPU free for reading (default 1)")
    p.add_argument("--batch-size", "-b", type=positive_int, default=64, help="images per batch (default 64)")
    p.add_argument("--beam-size", "-k", type=beam_width, default=1, help="beam width (default 1: greedy)")
    p.add_argument("--address", default=None, help="Ray cluster address, e.g. auto (default: a local Ray)")
    p.add_argument("--chunk", type=positive_int, default=10_000,
                   help="inputs per Ray job, each written before the next starts: an interrupted run keeps every "
                        "finished chunk (default 10000)")


def run(args: argparse.Namespace) -> int:
    from ..engine.ray import ray_recognize

    stats = ray_recognize(args.inputs, args.output, args.model, fmt=args.format, actors=args.actors,
                          batch_size=args.batch_size, beam_size=args.beam_size,
                          gpus_per_actor=args.gpus_per_actor, cpus_per_actor=args.cpus_per_actor,
                          address=args.address, chunk=args.chunk)
    print(", ".join(f"{k}: {v}" for k, v in stats.items()))
    if stats["errors"]:
        print(f"fastocr ray-recognize: {stats['errors']} inputs failed (see the error column)", file=sys.stderr)
    return 1 if stats["errors"] else 0
