"""Load test of ``fastocr serve``: N concurrent clients, a fixed number of requests, a share of them malformed,
against a server started here on loopback (a separate process), beside offline ``recognize`` on the same images.

Reports throughput (lines/s of well-formed requests), latency p50/p99, the batch sizes the server achieved (its
/metrics), and checks every answer: each well-formed request gets its own image's offline text (0 lost or
mixed-up results), each malformed one a 4xx. Stops by itself; binds 127.0.0.1 only.

Run: python benchmarks/serve_load.py [--clients 32] [--requests 2000] [--malformed 0.05] [--model M]
     [--images DIR] [--out benchmarks/results/serve-load]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

from fastocr import Recognizer, __version__

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEV_SCENE = SHARED / "data" / "dev_scene"
MALFORMED = [  # (what, request kwargs): each must be answered 4xx
    ("bad JSON", {"content": b"{", "headers": {"content-type": "application/json"}}),
    ("bad base64", {"json": {"images": ["%%%"]}}),
    ("unknown option", {"json": {"images": ["eA=="], "beam": 2}}),
    ("no images", {"json": {"images": []}}),
]


def _images(folder: str | None, count: int) -> list[bytes]:
    if folder:
        paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    elif (DEV_SCENE / "labels.tsv").exists():
        lines = (DEV_SCENE / "labels.tsv").read_text(encoding="utf-8").splitlines()
        paths = [DEV_SCENE / line.split("\t")[0] for line in lines[:: max(1, len(lines) // count)]]
    else:
        raise SystemExit("give --images DIR (no ../shared/data/dev_scene here)")
    return [p.read_bytes() for p in paths[:count]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def offline(images: list[bytes], model: str | None, batch: int) -> tuple[list[str], float]:
    """Texts and lines/s of offline recognize on the same images (best of 2 after a warm-up)."""
    rec = Recognizer.load(model, device="cpu")
    rec.warmup()
    best = 0.0
    for _ in range(2):
        t = time.perf_counter()
        texts = [r.text for r in rec.recognize(images, batch_size=batch)]
        best = max(best, len(images) / (time.perf_counter() - t))
    return texts, best


async def load(url: str, images: list[bytes], expected: list[str], clients: int, requests: int,
               malformed: float, seed: int = 0) -> dict:
    rng = random.Random(seed)
    plan = [("bad", rng.choice(MALFORMED)) if rng.random() < malformed else ("ok", rng.randrange(len(images)))
            for _ in range(requests)]
    queue: asyncio.Queue = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)
    latencies, problems, answered = [], [], {"ok": 0, "bad": 0}
    encoded = [base64.b64encode(i).decode() for i in images]

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            kind, what = queue.get_nowait()
            t = time.perf_counter()
            if kind == "ok":
                r = await http.post("/v1/recognize", json={"images": [encoded[what]]})
                latencies.append(time.perf_counter() - t)
                text = r.json()["results"][0]["text"] if r.status_code == 200 else None
                if text != expected[what]:
                    problems.append(f"image {what}: status {r.status_code}, got {text!r}, want {expected[what]!r}")
            else:
                r = await http.post("/v1/recognize", **what[1])
                if not 400 <= r.status_code < 500:
                    problems.append(f"malformed ({what[0]}): status {r.status_code}")
            answered[kind] += 1

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(max_connections=clients)) as http:
        t = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        seconds = time.perf_counter() - t
        metrics = (await http.get("/metrics")).text
    latencies.sort()
    return {"seconds": seconds, "answered": answered, "problems": problems,
            "lines_per_s": answered["ok"] / seconds,
            "p50_ms": 1e3 * latencies[len(latencies) // 2], "p99_ms": 1e3 * latencies[int(len(latencies) * 0.99)],
            "batches": _batch_sizes(metrics)}


def _batch_sizes(metrics: str) -> dict:
    """Engine calls and mean lines per call, from the server's Prometheus text."""
    values = {line.split()[0]: float(line.split()[-1]) for line in metrics.splitlines()
              if line.startswith(("fastocr_batch_lines_count", "fastocr_batch_lines_sum", "fastocr_batch_seconds_sum"))}
    calls, lines = values.get("fastocr_batch_lines_count", 0.0), values.get("fastocr_batch_lines_sum", 0.0)
    seconds = values.get("fastocr_batch_seconds_sum", 0.0)
    return {"calls": int(calls), "mean_lines": lines / calls if calls else 0.0,
            "engine_lines_per_s": lines / seconds if seconds else 0.0}


def serve(model: str | None, port: int, max_batch: int, max_wait_ms: float, log: Path,
          extra: list[str]) -> subprocess.Popen:
    argv = [sys.executable, "-m", "fastocr.cli", "serve", "--port", str(port), "--device", "cpu",
            "--max-batch", str(max_batch), "--max-wait-ms", str(max_wait_ms), "--log-level", "warning", *extra]
    if model:
        argv += ["--model", model]
    return subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_ready(url: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=32, help="concurrent clients, one image per request (default 32)")
    p.add_argument("--requests", type=int, default=2000, help="requests in all (default 2000)")
    p.add_argument("--malformed", type=float, default=0.05, help="share of malformed requests (default 0.05)")
    p.add_argument("--images", help="folder of images (default: 256 dev_scene lines)")
    p.add_argument("--count", type=int, default=256, help="distinct images (default 256)")
    p.add_argument("--model", help="model file or exported folder (default: the bundled model)")
    p.add_argument("--max-batch", type=int, default=64)
    p.add_argument("--max-wait-ms", type=float, default=5.0)
    p.add_argument("--out", type=Path, help="write OUT.json and OUT.md")
    p.add_argument("--serve-args", default="", help="more `fastocr serve` flags, e.g. '--threads 1'")
    args = p.parse_args(argv)
    images = _images(args.images, args.count)
    expected, offline_lps = offline(images, args.model, args.max_batch)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"fastocr-serve-{port}.log"
    server = serve(args.model, port, args.max_batch, args.max_wait_ms, log, args.serve_args.split())
    try:
        wait_ready(url, server, log)
        cpu = time.process_time()
        result = asyncio.run(load(url, images, expected, args.clients, args.requests, args.malformed))
        result["client_cpu_share"] = (time.process_time() - cpu) / result["seconds"]  # of one core
    finally:
        server.terminate()
        server.wait(60)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip() or "?"
    result.update(offline_lines_per_s=offline_lps, ratio=result["lines_per_s"] / offline_lps,
                  clients=args.clients, requests=args.requests, images=len(images),
                  provenance=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, fastocr "
                             f"{__version__} at {commit}, {time.strftime('%Y-%m-%d')}, `python "
                             f"benchmarks/serve_load.py {' '.join(argv if argv is not None else sys.argv[1:])}`")
    table = (f"| clients | requests (malformed) | lines/s served | offline lines/s | served / offline | p50 ms | "
             f"p99 ms | engine calls | mean lines per call | problems |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
             f"| {args.clients} | {args.requests} ({result['answered']['bad']}) | {result['lines_per_s']:.1f} | "
             f"{offline_lps:.1f} | {result['ratio']:.2f} | {result['p50_ms']:.0f} | {result['p99_ms']:.0f} | "
             f"{result['batches']['calls']} | {result['batches']['mean_lines']:.1f} | {len(result['problems'])} |\n\n"
             f"Measured on: {result['provenance']}\n")
    print(table)
    for problem in result["problems"][:20]:
        print("problem:", problem, file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1))
        args.out.with_suffix(".md").write_text(table)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
