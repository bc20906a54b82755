"""``fastocr serve``: the HTTP service (``fastocr.serve``) under uvicorn."""

from __future__ import annotations

import argparse
import logging

from ..errors import FastOCRError
from .args import add_model_args, load_recognizer, non_negative_int, positive_int

HELP = "serve recognition over HTTP, with dynamic batching and a web page"


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None


def _positive_float(value: str) -> float:
    if (x := _float(value)) <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {x:g}")
    return x


def _non_negative_float(value: str) -> float:
    if (x := _float(value)) < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {x:g}")
    return x


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..serve import Limits, ServeOptions  # their defaults; neither needs the [serve] extra

    limits = Limits()
    p.description = (
        "Serve the recognizer over HTTP: POST /v1/recognize (JSON with base64 images, or multipart image files; "
        "options beam_size, num_hypotheses, length_penalty, max_len, allowed_chars, lexicon), GET / (a page to "
        "read images in a browser), /healthz, /readyz (ready once the model is loaded and warmed up), /metrics "
        "(Prometheus). Concurrent requests are read together in batches of up to --max-batch lines, by "
        "--workers workers. Binds to 127.0.0.1 unless --host says otherwise. Ctrl-C (SIGINT) or SIGTERM stops taking "
        "requests and finishes those already accepted. Needs pip install 'fastocr[serve]'.")
    p.epilog = ("examples:\n  fastocr serve\n  fastocr serve --model en-onnx/ --port 8080 --max-batch 128\n"
                "  fastocr serve --workers 2 --threads 1\n"
                "      (on a 2-core CPU: one engine call per core serves many single-line clients fastest)\n"
                "  curl -F images=@line.png http://127.0.0.1:8000/v1/recognize\n"
                "docs/serve.md: behind a reverse proxy, several workers, the load test")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    add_model_args(p)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--threads", type=non_negative_int, default=0,
                   help="CPU threads for the model (default 0: torch's choice; with several servers on one "
                        "machine, give each its share of the cores)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-batch", type=positive_int, default=ServeOptions.max_batch,
                   help="lines per engine call (default %(default)s)")
    p.add_argument("--workers", type=positive_int, default=ServeOptions.workers,
                   help="engine calls at a time, each in its own thread (default %(default)s; on a CPU, try one per "
                        "core with --threads 1: small concurrent batches then keep every core busy)")
    p.add_argument("--max-wait-ms", type=_positive_float, default=ServeOptions.max_wait_ms,
                   help="how long a batch's first request waits for others, in ms (default %(default)g)")
    p.add_argument("--quiet-ms", type=_non_negative_float, default=ServeOptions.quiet_ms,
                   help="a batch closes early once no request has come for this long, in ms (default %(default)g: "
                        "clients answered together come back together, and each batch takes one such group; 0: "
                        "always wait --max-wait-ms)")
    p.add_argument("--timeout", type=_positive_float, default=ServeOptions.timeout_s,
                   help="seconds a request may wait before it is answered 504 (default %(default)g)")
    p.add_argument("--max-request-mb", type=_positive_float, default=limits.max_request_bytes / 2**20,
                   help="request body limit (default %(default)g)")
    p.add_argument("--max-images", type=positive_int, default=limits.max_images,
                   help="images per request (default %(default)s)")
    p.add_argument("--max-pixels", type=positive_int, default=limits.max_pixels,
                   help=f"pixels per image (default {limits.max_pixels:,})")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                   help="log level; request logs are one JSON object per line (default info)")


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..serve import Limits, ServeOptions, create_app
    except ImportError as e:
        raise FastOCRError(f"fastocr serve needs the [serve] extra: pip install 'fastocr[serve]' ({e})") from e
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s")
    limits = Limits(int(args.max_request_mb * 2**20), args.max_images, args.max_pixels)
    options = ServeOptions(args.max_batch, args.max_wait_ms, args.timeout, limits, workers=args.workers,
                           quiet_ms=args.quiet_ms)
    app = create_app(lambda: load_recognizer(args), options)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=30)
    return 0
